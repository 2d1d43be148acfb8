/* Placeholder until the real implementation lands (being written). */
#include <errno.h>
#include <string.h>
#include "ftps/ftps_cert.h"
int ftps_cert_parse_field(const char *s, int *field, char *oid, size_t oidlen, char *err, size_t errlen) { errno = EINVAL; return -1; }
int ftps_cert_get_field(X509 *cert, int field, const char *oid, char *out, size_t outlen) { return -1; }
int ftps_cert_fingerprint(X509 *cert, char hex[FTPS_CERT_FP_HEX_LEN]) { return -1; }
int ftps_cert_subject(X509 *cert, char *out, size_t outlen) { return -1; }
int ftps_cert_issuer(X509 *cert, char *out, size_t outlen) { return -1; }
int ftps_cert_serial(X509 *cert, char *out, size_t outlen) { return -1; }
int ftps_cert_not_after(X509 *cert, char *out, size_t outlen) { return -1; }
int ftps_cert_authorized(const char *buf, size_t len, const char *fp_hex, int *bad_lines) { return -1; }
