/*
 * fuzz_cert_name.c -- libFuzzer driver for mod_ftps/ftps_cert.c (B23): the
 * input is tried as a DER certificate (every FTPSUserName field, the
 * fingerprint and the log strings), as an authorized-certificates file and
 * as an FTPSUserName value. Invariants of the header are checked and a
 * violation aborts, so the fuzzer reports it like a crash.
 *
 * OpenSSL and libc only. Build and run: tests/fuzz/run-fuzz.sh.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "ftps/ftps_cert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An arbitrary fingerprint: what matters is parsing the file. */
static const char fixed_fp[] =
  "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

static const struct {
  int field;
  const char *oid;
} fields[] = {
  { FTPS_CERT_FIELD_CN,    NULL },
  { FTPS_CERT_FIELD_EMAIL, NULL },
  { FTPS_CERT_FIELD_UPN,   NULL },
  { FTPS_CERT_FIELD_OID,   "1.3.6.1.4.1.311.20.2.3" },
  { FTPS_CERT_FIELD_OID,   "2.5.4.3" },
};

static void require(int ok) {
  if (!ok) {
    abort();
  }
}

/* A value is NUL-terminated inside the buffer, non-empty, without control
 * characters; anything but 1 leaves an empty string. */
static void check_value(int rc, const char *out, size_t outlen) {
  size_t len = strnlen(out, outlen);
  size_t i;

  require(len < outlen);
  require(rc == 1 ? len > 0 && len <= FTPS_CERT_NAME_MAX : len == 0);
  for (i = 0; i < len; i++) {
    require((unsigned char) out[i] >= 0x20 && out[i] != 0x7f);
  }
}

static void fuzz_fields(X509 *cert) {
  char out[FTPS_CERT_NAME_MAX + 1], small[8];
  size_t i;
  int rc;

  for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
    rc = ftps_cert_get_field(cert, fields[i].field, fields[i].oid, out,
      sizeof(out));
    require(rc >= -1 && rc <= 1);
    check_value(rc, out, sizeof(out));
    rc = ftps_cert_get_field(cert, fields[i].field, fields[i].oid, small,
      sizeof(small));
    check_value(rc, small, sizeof(small));
  }
}

/* Log strings: 0 or -1, NUL-terminated printable ASCII. */
static void check_log(int rc, const char *out, size_t outlen) {
  size_t len = strnlen(out, outlen), i;

  require(rc == 0 || (rc == -1 && len == 0));
  require(len < outlen);
  for (i = 0; i < len; i++) {
    require(out[i] >= 0x20 && out[i] < 0x7f);
  }
}

static void fuzz_facts(X509 *cert) {
  char fp[FTPS_CERT_FP_HEX_LEN], out[300];

  if (ftps_cert_fingerprint(cert, fp) == 0) {
    require(strlen(fp) == 64 && strspn(fp, "0123456789abcdef") == 64);
  }
  check_log(ftps_cert_subject(cert, out, sizeof(out)), out, sizeof(out));
  check_log(ftps_cert_issuer(cert, out, sizeof(out)), out, sizeof(out));
  check_log(ftps_cert_serial(cert, out, sizeof(out)), out, sizeof(out));
  check_log(ftps_cert_not_after(cert, out, sizeof(out)), out, sizeof(out));
  check_log(ftps_cert_subject(cert, out, 5), out, 5);
}

static void fuzz_parse_field(const uint8_t *data, size_t size) {
  char s[200], oid[128], err[256];
  size_t n = size < sizeof(s) - 1 ? size : sizeof(s) - 1;
  int field = -1;

  memcpy(s, data, n);
  s[n] = '\0';
  if (ftps_cert_parse_field(s, &field, oid, sizeof(oid), err,
      sizeof(err)) == 0) {
    require(field >= FTPS_CERT_FIELD_NONE && field <= FTPS_CERT_FIELD_OID);
    require(field != FTPS_CERT_FIELD_OID || strlen(oid) < sizeof(oid));
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const unsigned char *p = data;
  X509 *cert = NULL;
  int bad = -1, rc;

  if (size <= 1024 * 1024) {
    cert = d2i_X509(NULL, &p, (long) size);
  }
  ERR_clear_error();
  if (cert != NULL) {
    fuzz_fields(cert);
    fuzz_facts(cert);
    X509_free(cert);
  }

  rc = ftps_cert_authorized((const char *) data, size, fixed_fp, &bad);
  require(rc == 0 || rc == 1);
  require(bad >= 0 && (size_t) bad <= size);

  fuzz_parse_field(data, size);
  require(ERR_peek_error() == 0);
  return 0;
}
