/*
 * ftps_policy_keys.c -- tests of the issue-11 parsers of
 * mod_ftps/ftps_policy.c (kept apart so tests/api/ftps_policy.c does not
 * grow): FTPSSessionTicketKeys and what an FTPSCertificate argument names.
 *
 * libc and Check only (B2, B19).
 */

#include "tests.h"
#include "ftps/ftps_policy.h"

/* ---- FTPSSessionTicketKeys (issue 11) --------------------------------- */

START_TEST(ftps_policy_parse_ticket_keys_args_test) {
  unsigned int age = 0, count = 0;
  char err[256];

  mark_point();
  ck_assert_int_eq(ftps_policy_parse_ticket_keys(0, NULL, NULL, &count, err,
    sizeof(err)), -1);
  ck_assert_int_eq(errno, EINVAL);
  ck_assert_int_eq(ftps_policy_parse_ticket_keys(0, NULL, &age, NULL, err,
    sizeof(err)), -1);
  ck_assert_int_eq(ftps_policy_parse_ticket_keys(1, NULL, &age, &count, err,
    sizeof(err)), -1);
  ck_assert_int_eq(ftps_policy_parse_ticket_keys(0, NULL, &age, &count, err,
    sizeof(err)), 0);
  ck_assert_uint_eq(age, FTPS_DEFAULT_TICKET_KEY_AGE);
  ck_assert_uint_eq(count, FTPS_DEFAULT_TICKET_KEY_COUNT);
}
END_TEST

static const struct {
  const char *name;
  const char *argv[5];
  int want_res;
  unsigned int want_age, want_count;
  const char *want_err;
} ticket_key_rows[] = {
  { "defaults", { NULL }, 0, 43200, 3, NULL },
  { "age", { "age", "3600", NULL }, 0, 3600, 3, NULL },
  { "count", { "count", "5", NULL }, 0, 43200, 5, NULL },
  { "both", { "age", "1", "count", "2", NULL }, 0, 1, 2, NULL },
  { "both_reversed", { "COUNT", "2", "Age", "60", NULL }, 0, 60, 2, NULL },
  { "max", { "age", "604800", "count", "32", NULL }, 0, 604800, 32, NULL },
  { "age_zero", { "age", "0", NULL }, -1, 0, 0, "from 1 to" },
  { "age_too_big", { "age", "604801", NULL }, -1, 0, 0, "from 1 to 604800" },
  { "count_zero", { "count", "0", NULL }, -1, 0, 0, "from 1 to 32" },
  { "count_too_big", { "count", "33", NULL }, -1, 0, 0, "from 1 to 32" },
  { "negative", { "age", "-5", NULL }, -1, 0, 0, "not a number" },
  { "junk", { "age", "12h", NULL }, -1, 0, 0, "not a number" },
  { "missing_value", { "age", NULL }, -1, 0, 0, "needs a value" },
  { "unknown", { "lifetime", "5", NULL }, -1, 0, 0, "unknown parameter" },
  { "twice", { "age", "5", "age", "6", NULL }, -1, 0, 0, "twice" },
};

START_TEST(ftps_policy_parse_ticket_keys_values_test) {
  unsigned int age = 0, count = 0;
  char err[256] = "";
  int argc = 0, res;

  while (ticket_key_rows[_i].argv[argc] != NULL) {
    argc++;
  }
  mark_point();
  res = ftps_policy_parse_ticket_keys(argc,
    (char *const *) ticket_key_rows[_i].argv, &age, &count, err,
    sizeof(err));
  ck_assert_msg(res == ticket_key_rows[_i].want_res, "%s: Expected %d, "
    "got %d (%s)", ticket_key_rows[_i].name, ticket_key_rows[_i].want_res,
    res, err);
  if (res == 0) {
    ck_assert_uint_eq(age, ticket_key_rows[_i].want_age);
    ck_assert_uint_eq(count, ticket_key_rows[_i].want_count);
  } else {
    ck_assert_msg(strstr(err, ticket_key_rows[_i].want_err) != NULL,
      "%s: Expected '%s' in '%s'", ticket_key_rows[_i].name,
      ticket_key_rows[_i].want_err, err);
  }
}
END_TEST

static const struct {
  const char *arg;
  int want;
} cert_source_rows[] = {
  { "/etc/ssl/ftp.pem", FTPS_CERT_SRC_PEM },
  { "/etc/ssl/ftp.p12", FTPS_CERT_SRC_PKCS12 },
  { "/etc/ssl/ftp.PFX", FTPS_CERT_SRC_PKCS12 },
  { "/etc/ssl/.p12", FTPS_CERT_SRC_PKCS12 },
  { "file:/etc/ssl/ftp.pem", FTPS_CERT_SRC_URI },
  { "pkcs11:token=ftp;object=key;type=private", FTPS_CERT_SRC_URI },
  { "org.openssl.x+y-z:rest", FTPS_CERT_SRC_URI },
  { "ftp.pem", -1 },
  { "./ftp.pem", -1 },
  { "", -1 },
  { "file:", -1 },
  { ":x", -1 },
  { "1file:/x", -1 },
  { "fi le:/x", -1 },
};

START_TEST(ftps_policy_cert_source_values_test) {
  int res;

  mark_point();
  res = ftps_policy_cert_source(cert_source_rows[_i].arg);
  ck_assert_msg(res == cert_source_rows[_i].want, "'%s': Expected %d, got "
    "%d", cert_source_rows[_i].arg, cert_source_rows[_i].want, res);
}
END_TEST

START_TEST(ftps_policy_cert_source_args_test) {
  mark_point();
  ck_assert_int_eq(ftps_policy_cert_source(NULL), -1);
  ck_assert_int_eq(errno, EINVAL);
}
END_TEST

Suite *tests_get_policy_keys_suite(void) {
  Suite *suite = suite_create("ftps_policy_keys");
  TCase *tc = tcase_create("parsers");

  tcase_add_test(tc, ftps_policy_parse_ticket_keys_args_test);
  tcase_add_loop_test(tc, ftps_policy_parse_ticket_keys_values_test, 0,
    TESTS_NELEMS(ticket_key_rows));
  tcase_add_test(tc, ftps_policy_cert_source_args_test);
  tcase_add_loop_test(tc, ftps_policy_cert_source_values_test, 0,
    TESTS_NELEMS(cert_source_rows));
  suite_add_tcase(suite, tc);
  return suite;
}
