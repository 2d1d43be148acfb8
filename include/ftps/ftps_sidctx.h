/*
 * ftps_sidctx.h -- the canonical description of a vhost digested into its
 * session-ID context (see ftps_sidctx.c). Used by ftps_ctx.c only.
 *
 * OpenSSL only; must not include ProFTPD headers (B2).
 */
#ifndef FTPS_SIDCTX_H
#define FTPS_SIDCTX_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ftps/ftps_policy.h"

/* Feed md (initialised for SHA-256) with vhost_id, p's settings and the
 * DER of every certificate and CRL in store. 0 or -1. */
int ftps_sidctx_digest(EVP_MD_CTX *md, const ftps_policy_t *p,
  const char *vhost_id, X509_STORE *store);

#endif /* FTPS_SIDCTX_H */
