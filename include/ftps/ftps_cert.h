/*
 * ftps_cert.h -- client certificate facts and the certificate -> user
 * mapping: the field FTPSUserName names (CN, rfc822Name/emailAddress, UPN,
 * any dotted OID), SHA-256 fingerprints, distinguished names for logs, and
 * the authorized-certificates file format (FTPSAuthorizedCertificates).
 *
 * OpenSSL only; must not include ProFTPD headers (B2). Fuzzed by
 * tests/fuzz/fuzz_cert_name.c.
 */
#ifndef FTPS_CERT_H
#define FTPS_CERT_H

#include <stddef.h>

/* An X.509 certificate (OpenSSL's X509), opaque to callers: the glue holds
 * and passes it, only this layer looks inside. */
typedef struct x509_st ftps_cert_t;

/* FTPSUserName fields. */
#define FTPS_CERT_FIELD_NONE     0
#define FTPS_CERT_FIELD_CN       1   /* subject commonName */
#define FTPS_CERT_FIELD_EMAIL    2   /* SAN rfc822Name, else subject emailAddress */
#define FTPS_CERT_FIELD_UPN      3   /* SAN otherName 1.3.6.1.4.1.311.20.2.3 */
#define FTPS_CERT_FIELD_OID      4   /* subject attribute with a dotted OID */

/* Longest mapped value we accept (a user name). */
#define FTPS_CERT_NAME_MAX       256

/* SHA-256 fingerprint as 64 lower-case hex digits + NUL. */
#define FTPS_CERT_FP_HEX_LEN     65

/*
 * Parse an FTPSUserName value: off|CommonName|EmailAddress|UPN|<dotted OID>
 * (names case-insensitive). Sets *field and, for an OID, copies it into
 * oid (size >= 128). 0, or -1/EINVAL with a message in err.
 */
int ftps_cert_parse_field(const char *s, int *field, char *oid,
  size_t oidlen, char *err, size_t errlen);

/*
 * The value of field in cert. 1 and the value in out (NUL-terminated, no
 * embedded NUL) when the certificate holds exactly one distinct value;
 * 0 when it holds none; -1 when it is ambiguous (several different values)
 * or unusable (embedded NUL, not a string, too long, malformed). Never
 * matches on a truncated or partial value.
 */
int ftps_cert_get_field(ftps_cert_t *cert, int field, const char *oid, char *out,
  size_t outlen);

/* SHA-256 fingerprint of the DER certificate, as lower-case hex. 0 or -1. */
int ftps_cert_fingerprint(ftps_cert_t *cert, char hex[FTPS_CERT_FP_HEX_LEN]);

/* RFC 2253 subject / issuer, serial (hex), notAfter (ISO 8601, UTC) for
 * logs; always NUL-terminated, truncated to fit. 0 or -1. */
int ftps_cert_subject(ftps_cert_t *cert, char *out, size_t outlen);
int ftps_cert_issuer(ftps_cert_t *cert, char *out, size_t outlen);
int ftps_cert_serial(ftps_cert_t *cert, char *out, size_t outlen);
int ftps_cert_not_after(ftps_cert_t *cert, char *out, size_t outlen);

/*
 * Is the certificate with fingerprint fp_hex listed in an authorized-
 * certificates file's contents (buf, len)? The format: one entry per line,
 * '#' comments and blank lines ignored; an entry is a SHA-256 fingerprint
 * ("SHA256:" prefix optional; hex, colons optional, case-insensitive) or a
 * PEM certificate block. Lines that are neither are skipped and counted in
 * *bad_lines (may be NULL). Returns 1 listed, 0 not listed, -1/EINVAL.
 */
int ftps_cert_authorized(const char *buf, size_t len, const char *fp_hex,
  int *bad_lines);

/* A PEM password callback that never prompts on a terminal and never
 * supplies a password: encrypted keys and blocks fail to load (-1). The
 * one callback for every PEM read of the TLS layer. */
int ftps_cert_no_passphrase(char *buf, int size, int rwflag, void *u);

/* Drop a reference (NULL is fine). */
void ftps_cert_free(ftps_cert_t *cert);

#endif /* FTPS_CERT_H */
