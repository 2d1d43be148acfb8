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
#include <openssl/x509.h>

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
int ftps_cert_get_field(X509 *cert, int field, const char *oid, char *out,
  size_t outlen);

/* SHA-256 fingerprint of the DER certificate, as lower-case hex. 0 or -1. */
int ftps_cert_fingerprint(X509 *cert, char hex[FTPS_CERT_FP_HEX_LEN]);

/* RFC 2253 subject / issuer, serial (hex), notAfter (ISO 8601, UTC) for
 * logs; always NUL-terminated, truncated to fit. 0 or -1. */
int ftps_cert_subject(X509 *cert, char *out, size_t outlen);
int ftps_cert_issuer(X509 *cert, char *out, size_t outlen);
int ftps_cert_serial(X509 *cert, char *out, size_t outlen);
int ftps_cert_not_after(X509 *cert, char *out, size_t outlen);

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

#endif /* FTPS_CERT_H */
