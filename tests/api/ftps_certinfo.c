/*
 * ftps_certinfo.c -- unit tests of mod_ftps/ftps_certinfo.c: the facts of
 * a context built from the test PKI (RSA and ECDSA certificates: subject,
 * SANs, key type, fingerprint, not-after), of a certificate file, and the
 * expiry classification table (30 days warning, 7 days error, expired).
 */

#include <time.h>

#include "tests.h"
#include "ftps/ftps_certinfo.h"
#include "ftps/ftps_policy.h"

static ftps_ctx_t *build(const char *c1, const char *k1, const char *c2,
    const char *k2) {
  ftps_policy_t p, d;
  char err[512];
  ftps_ctx_t *ctx;

  ftps_policy_init(&p);
  p.engine = 1;
  p.certs[0].cert_file = testpki_path(c1);
  p.certs[0].key_file = testpki_path(k1);
  p.ncerts = 1;
  if (c2 != NULL) {
    p.certs[1].cert_file = testpki_path(c2);
    p.certs[1].key_file = testpki_path(k2);
    p.ncerts = 2;
  }
  ftps_policy_defaults(&d);
  ck_assert_int_eq(ftps_policy_merge(&p, &p, &d), 0);
  ctx = ftps_ctx_build(&p, "certinfo-test", err, sizeof(err));
  ck_assert_msg(ctx != NULL, "build: %s", err);
  return ctx;
}

START_TEST (ftps_certinfo_certs_args_test) {
  ftps_certinfo_cert_t c[2];
  ftps_certinfo_crl_t r[2];

  mark_point();
  ck_assert_int_eq(ftps_certinfo_certs(NULL, c, 2), -1);
  ck_assert_int_eq(errno, EINVAL);
  ck_assert_int_eq(ftps_certinfo_crls(NULL, r, 2), -1);
  ck_assert_int_eq(ftps_certinfo_ca_count(NULL), -1);
  ck_assert_int_eq(ftps_certinfo_file(NULL, c), -1);
  ck_assert_int_eq(ftps_certinfo_file(testpki_path("ec.crt"), NULL), -1);
}
END_TEST

START_TEST (ftps_certinfo_certs_rsa_and_ecdsa_test) {
  ftps_ctx_t *ctx = build("rsa.crt", "rsa.key", "ec.crt", "ec.key");
  ftps_certinfo_cert_t c[FTPS_CERTINFO_MAX_CERTS], f;
  ftps_certinfo_crl_t r[2];
  int n, i, rsa = -1, ec = -1;

  mark_point();
  n = ftps_certinfo_certs(ctx, c, FTPS_CERTINFO_MAX_CERTS);
  ck_assert_msg(n == 2, "Expected 2 certificates, got %d", n);
  for (i = 0; i < n; i++) {
    if (strncmp(c[i].key, "RSA 2048", 8) == 0) rsa = i;
    if (strncmp(c[i].key, "ECDSA 256 (prime256v1)", 22) == 0) ec = i;
  }
  ck_assert_msg(rsa >= 0 && ec >= 0, "key types: '%s', '%s'", c[0].key,
    c[1].key);
  ck_assert_str_eq(c[ec].subject, "CN=localhost");
  ck_assert_str_eq(c[ec].sans, "DNS:localhost, IP:127.0.0.1");
  ck_assert_int_eq((int) strlen(c[ec].fingerprint), 64);
  ck_assert_int_eq((int) strlen(c[ec].not_after), 20);
  ck_assert_msg(ftps_certinfo_days_left(c[ec].not_after_t, time(NULL)) == 6,
    "testpki certificates are valid 7 days; got %ld days left",
    ftps_certinfo_days_left(c[ec].not_after_t, time(NULL)));

  /* The file gives the same facts. */
  ck_assert_int_eq(ftps_certinfo_file(testpki_path("ec.crt"), &f), 0);
  ck_assert_str_eq(f.fingerprint, c[ec].fingerprint);
  ck_assert_int_eq(ftps_certinfo_file(testpki_path("garbage.pem"), &f), -1);
  ck_assert_int_eq(ftps_certinfo_file(testpki_path("missing.pem"), &f), -1);

  /* Only one slot asked for: one given. */
  ck_assert_int_eq(ftps_certinfo_certs(ctx, c, 1), 1);
  /* No verification store content. */
  ck_assert_int_eq(ftps_certinfo_crls(ctx, r, 2), 0);
  ck_assert_int_eq(ftps_certinfo_ca_count(ctx), 0);
  ck_assert_str_eq(ftps_certinfo_stapling(ctx), "off");
  ftps_ctx_free(ctx);
}
END_TEST

typedef struct {
  const char *name;
  long offset;                  /* not_after - now, seconds */
  int want_class;
  long want_days;
} expiry_row_t;

#define DAY 86400L
static const expiry_row_t expiry_rows[] = {
  { "a_year",        365 * DAY,       FTPS_EXPIRY_OK,      365 },
  { "31_days",       31 * DAY,        FTPS_EXPIRY_OK,      31 },
  { "30_days",       30 * DAY,        FTPS_EXPIRY_WARN,    30 },
  { "8_days",        8 * DAY,         FTPS_EXPIRY_WARN,    8 },
  { "7_days",        7 * DAY,         FTPS_EXPIRY_ERROR,   7 },
  { "5_days_less",   5 * DAY - 10,    FTPS_EXPIRY_ERROR,   4 },
  { "one_second",    1,               FTPS_EXPIRY_ERROR,   0 },
  { "now",           0,               FTPS_EXPIRY_EXPIRED, 0 },
  { "second_ago",    -1,              FTPS_EXPIRY_EXPIRED, -1 },
  { "two_days_ago",  -2 * DAY,        FTPS_EXPIRY_EXPIRED, -2 },
};

START_TEST (ftps_certinfo_expiry_class_values_test) {
  const expiry_row_t *row = &expiry_rows[_i];
  time_t now = 1800000000;
  int cls;
  long days;

  mark_point();
  cls = ftps_certinfo_expiry_class(now + row->offset, now);
  days = ftps_certinfo_days_left(now + row->offset, now);
  ck_assert_msg(cls == row->want_class, "%s: expected class %d, got %d",
    row->name, row->want_class, cls);
  ck_assert_msg(days == row->want_days, "%s: expected %ld days, got %ld",
    row->name, row->want_days, days);
}
END_TEST

static void pki_setup(void) {
  ck_assert_int_eq(testpki_setup(), 0);
}

Suite *tests_get_certinfo_suite(void) {
  Suite *suite = suite_create("ftps_certinfo");
  TCase *tc;

  tc = tcase_create("certs");
  tcase_add_unchecked_fixture(tc, pki_setup, NULL);
  tcase_add_test(tc, ftps_certinfo_certs_args_test);
  tcase_add_test(tc, ftps_certinfo_certs_rsa_and_ecdsa_test);
  suite_add_tcase(suite, tc);

  tc = tcase_create("expiry");
  tcase_add_loop_test(tc, ftps_certinfo_expiry_class_values_test, 0,
    TESTS_NELEMS(expiry_rows));
  suite_add_tcase(suite, tc);
  return suite;
}
