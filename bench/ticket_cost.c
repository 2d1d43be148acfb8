/*
 * ticket_cost.c -- measures what the fresh TLS 1.3 ticket mod_ftps sends on
 * the control connection before every data connection costs the server:
 * bytes on the wire and CPU time, per data connection. In process, over a
 * BIO pair, with the module's own context (ftps_ctx_build) and binding.
 *
 *   bench/ticket_cost CERT KEY [CA CLIENT-CERT CLIENT-KEY]   (make bench-tickets)
 *
 * With a client certificate the ticket carries it, so it grows. Finally a
 * data connection resumes the last ticket, checking that it is bound.
 * OpenSSL and the TLS layer only (B2).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "bench_ctx.h"
#include "ftps/ftps_warm.h"

#define ROUNDS 2000
static const char reply[] = "227 Entering Passive Mode (127,0,0,1,195,80).\r\n";

static double now_us(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}


static SSL *pair(SSL_CTX *sctx, SSL_CTX *cctx, int role, SSL_SESSION *sess,
    SSL **client) {
  SSL *s = SSL_new(sctx), *c = SSL_new(cctx);
  BIO *sb, *cb;

  BIO_new_bio_pair(&sb, 0, &cb, 0);
  SSL_set_bio(s, sb, sb);
  SSL_set_bio(c, cb, cb);
  SSL_set_accept_state(s);
  SSL_set_connect_state(c);
  ftps_ctx_set_role(s, role);
  if (sess != NULL) {
    SSL_set_session(c, sess);
  }
  if (ftps_warm_pump(c, s) < 0) {
    ERR_print_errors_fp(stderr);
    return NULL;
  }
  *client = c;
  return s;
}

/* ROUNDS replies, each after a fresh ticket or not: (bytes, us) per round. */
static void rounds(SSL *s, SSL *c, int with_ticket, double *bytes,
    double *us) {
  unsigned long w0 = BIO_number_written(SSL_get_wbio(s));
  char buf[256];
  double t = 0;
  int i;

  for (i = 0; i < ROUNDS; i++) {
    double t0 = now_us();
    if (with_ticket) {
      SSL_new_session_ticket(s);
    }
    SSL_write(s, reply, (int) strlen(reply));
    t += now_us() - t0;
    while (SSL_read(c, buf, sizeof(buf)) <= 0 && SSL_pending(c) == 0) {
      break;    /* one reply per round; the tickets are read with it */
    }
  }
  *bytes = (double) (BIO_number_written(SSL_get_wbio(s)) - w0) / ROUNDS;
  *us = t / ROUNDS;
}

int main(int argc, char **argv) {
  ftps_policy_t p;
  SSL_CTX *sctx, *cctx;
  SSL *s, *c, *ds, *dc;
  double b0, u0, b1, u1;

  if (argc != 3 && argc != 6) {
    fprintf(stderr, "usage: %s CERT KEY [CA CLIENT-CERT CLIENT-KEY]\n", argv[0]);
    return 2;
  }
  bench_policy(&p, argv[1], argv[2]);
  if (argc == 6) {
    p.verify_client = FTPS_VERIFY_ON;
    p.ca_file = argv[3];
  }
  if ((sctx = bench_server_ctx(&p)) == NULL) {
    return 1;
  }
  cctx = SSL_CTX_new(TLS_client_method());
  if (argc == 6 && (SSL_CTX_use_certificate_file(cctx, argv[4], SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_use_PrivateKey_file(cctx, argv[5], SSL_FILETYPE_PEM) != 1)) {
    ERR_print_errors_fp(stderr);
    return 1;
  }
  if ((s = pair(sctx, cctx, FTPS_ROLE_CTRL, NULL, &c)) == NULL) {
    return 1;
  }
  rounds(s, c, 0, &b0, &u0);     /* warm up, then measure each way */
  rounds(s, c, 0, &b0, &u0);
  rounds(s, c, 1, &b1, &u1);
  printf("TLS 1.3 control, %s client certificate, %d rounds:\n",
    argc == 6 ? "with a" : "no", ROUNDS);
  printf("  reply alone:          %6.0f bytes  %7.1f us\n", b0, u0);
  printf("  fresh ticket + reply: %6.0f bytes  %7.1f us\n", b1, u1);
  printf("  per data connection:  %6.0f bytes  %7.1f us of server CPU\n",
    b1 - b0, u1 - u0);

  ds = pair(sctx, cctx, FTPS_ROLE_DATA, SSL_get0_session(c), &dc);
  if (ds == NULL || ftps_ctx_check_reuse(ds) != FTPS_REUSE_OK) {
    printf("  the last ticket did NOT resume a data connection\n");
    return 1;
  }
  printf("  the last ticket resumed a data connection (bound)\n");
  return 0;
}
