/*
 * ftps_trust.h -- loads a vhost's certificates and keys into its server
 * context, and the CAs and CRLs that verify client certificates into its
 * store. Everything is read at once, in the master, before chroot.
 *
 * OpenSSL only (the types stay opaque here); must not include ProFTPD
 * headers (B2). Only the TLS layer includes this header.
 */
#ifndef FTPS_TRUST_H
#define FTPS_TRUST_H

#include <stddef.h>

#include "ftps/ftps_policy.h"

struct ssl_ctx_st;
struct x509_store_st;

/* FTPSCertificate: every configured pair (at most one RSA and one ECDSA),
 * each key checked against its own certificate. 0, or -1 with a message
 * naming the directive, the file and the reason in err. */
int ftps_trust_load_certs(struct ssl_ctx_st *ctx, const ftps_policy_t *p,
  char *err, size_t errlen);

/* FTPSCACertificateFile/Path and FTPSCARevocationFile/Path into store; a
 * file or directory without any PEM object is an error. 0, or -1 with a
 * message in err. */
int ftps_trust_load_store(struct x509_store_st *store, const ftps_policy_t *p,
  char *err, size_t errlen);

#endif /* FTPS_TRUST_H */
