/*
 * bench_ctx.h -- the server context the bench tools (ticket_cost.c,
 * handshake_cost.c) measure: the module's own ftps_ctx_build() for TLS 1.3
 * with one certificate, and this process's binding. Header-only, for
 * single-file tools. OpenSSL and the TLS layer only (B2).
 */
#ifndef MOD_FTPS_BENCH_CTX_H
#define MOD_FTPS_BENCH_CTX_H

#include <stdio.h>

#include <openssl/ssl.h>

#include "ftps/ftps_ctx.h"
#include "ftps/ftps_policy.h"

/* The policy: FTPS on, TLS 1.3 only, one certificate and key. */
static void bench_policy(ftps_policy_t *p, const char *cert, const char *key) {
  ftps_policy_defaults(p);
  p->engine = 1;
  p->protocols = FTPS_PROTO_TLS13;
  p->certs[0].cert_file = cert;
  p->certs[0].key_file = key;
  p->ncerts = 1;
}

/* The context for p, and a fresh binding; NULL (reason on stderr). */
static SSL_CTX *bench_server_ctx(const ftps_policy_t *p) {
  char err[512];
  SSL_CTX *ctx = ftps_ctx_build(p, "bench", err, sizeof(err));

  if (ctx == NULL) {
    fprintf(stderr, "ftps_ctx_build: %s\n", err);
    return NULL;
  }
  ftps_ctx_new_binding();
  return ctx;
}

#endif /* MOD_FTPS_BENCH_CTX_H */
