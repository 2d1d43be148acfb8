/*
 * ftps_certinfo.h -- facts about what a built server context holds, for
 * `ftpdctl ftps certinfo` and the expiry warnings: each certificate's
 * subject, SANs, issuer, key type, fingerprint and not-after date, and each
 * CRL's issuer and next-update time. Read-only: nothing here changes a
 * context.
 *
 * OpenSSL only (the types stay opaque); must not include ProFTPD headers
 * (B2). The glue includes this header.
 */
#ifndef FTPS_CERTINFO_H
#define FTPS_CERTINFO_H

#include <stddef.h>
#include <time.h>

#include "ftps/ftps_ctx.h"
#include "ftps/ftps_cert.h"

/* At most this many certificates per context (one RSA, one ECDSA). */
#define FTPS_CERTINFO_MAX_CERTS   2
#define FTPS_CERTINFO_MAX_CRLS    16

typedef struct {
  char subject[256];
  char issuer[256];
  char sans[512];               /* "DNS:a, IP:127.0.0.1", or "-" */
  char key[96];                 /* "RSA 2048", "ECDSA P-256 (prime256v1)" */
  char fingerprint[FTPS_CERT_FP_HEX_LEN];  /* SHA-256 */
  char not_after[32];           /* ISO 8601, UTC */
  time_t not_after_t;
} ftps_certinfo_cert_t;

typedef struct {
  char issuer[256];
  char next_update[32];         /* ISO 8601, UTC, or "-" if none */
  time_t next_update_t;         /* 0 if none */
} ftps_certinfo_crl_t;

/* The server certificates of ctx. Returns how many were written to out
 * (at most max), or -1/EINVAL. */
int ftps_certinfo_certs(ftps_ctx_t *ctx, ftps_certinfo_cert_t *out, int max);

/* The CRLs in ctx's verification store. Returns how many were written
 * (at most max), or -1/EINVAL. */
int ftps_certinfo_crls(ftps_ctx_t *ctx, ftps_certinfo_crl_t *out, int max);

/* How many CA certificates ctx's verification store holds, -1/EINVAL. */
int ftps_certinfo_ca_count(ftps_ctx_t *ctx);

/* The same facts for a certificate (the first PEM one in file), for
 * checks outside a context. 0 or -1 (errno; EINVAL if no certificate). */
int ftps_certinfo_file(const char *file, ftps_certinfo_cert_t *out);

/*
 * Days from now to t, rounded down (negative once past). The expiry
 * classification: FTPS_EXPIRY_OK, _WARN (within 30 days), _ERROR (within
 * 7 days), _EXPIRED (past).
 */
#define FTPS_EXPIRY_OK        0
#define FTPS_EXPIRY_WARN      1
#define FTPS_EXPIRY_ERROR     2
#define FTPS_EXPIRY_EXPIRED   3
#define FTPS_EXPIRY_WARN_DAYS   30
#define FTPS_EXPIRY_ERROR_DAYS  7
long ftps_certinfo_days_left(time_t t, time_t now);
int ftps_certinfo_expiry_class(time_t not_after, time_t now);

/*
 * The stapled OCSP response's status of ctx, for certinfo. Stapling is not
 * implemented by this half of the module: "off" until the stapling work
 * provides its own accessor (the hook to replace).
 */
const char *ftps_certinfo_stapling(ftps_ctx_t *ctx);

#endif /* FTPS_CERTINFO_H */
