/*
 * ftps_env.c -- tests of mod_ftps/ftps_env.c: mod_tls's environment view of
 * a certificate (names and formats, known answers from the test PKI), the
 * scrubbing of control characters, and the NULL/EINVAL contract.
 */

#include <regex.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "tests.h"
#include "ftps/ftps_env.h"

#define MAX_PAIRS 64

typedef struct {
  int n;
  char name[MAX_PAIRS][64];
  char value[MAX_PAIRS][512];
} pairs_t;

static void collect(const char *name, const char *value, void *arg) {
  pairs_t *p = arg;

  if (p->n < MAX_PAIRS) {
    snprintf(p->name[p->n], sizeof(p->name[0]), "%s", name);
    snprintf(p->value[p->n], sizeof(p->value[0]), "%s", value);
    p->n++;
  }
}

/* The last value of name (as with setenv), or NULL. */
static const char *lookup(const pairs_t *p, const char *name) {
  const char *v = NULL;
  int i;

  for (i = 0; i < p->n; i++) {
    if (strcmp(p->name[i], name) == 0) {
      v = p->value[i];
    }
  }
  return v;
}

static X509 *load(const char *file) {
  FILE *f = fopen(testpki_path(file), "r");
  X509 *x = f != NULL ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;

  if (f != NULL) {
    fclose(f);
  }
  ck_assert_msg(x != NULL, "cannot read %s", file);
  return x;
}

static void pki_setup(void) {
  ck_assert_msg(testpki_setup() == 0, "test PKI");
}

START_TEST (ftps_env_cert_args_test) {
  pairs_t p = { 0 };
  X509 *x = load("chain.crt");
  int res;

  mark_point();
  errno = 0;
  res = ftps_env_cert(NULL, "TLS_CLIENT_", collect, &p);
  ck_assert_msg(res == -1 && errno == EINVAL, "Expected -1/EINVAL, got %d/%d",
    res, errno);
  mark_point();
  errno = 0;
  res = ftps_env_cert(x, NULL, collect, &p);
  ck_assert_msg(res == -1 && errno == EINVAL, "Expected -1/EINVAL, got %d/%d",
    res, errno);
  mark_point();
  errno = 0;
  res = ftps_env_cert(x, "TLS_CLIENT_", NULL, &p);
  ck_assert_msg(res == -1 && errno == EINVAL, "Expected -1/EINVAL, got %d/%d",
    res, errno);
  ck_assert_msg(p.n == 0, "Expected no pairs, got %d", p.n);
  X509_free(x);
}
END_TEST

START_TEST (ftps_env_export_args_test) {
  pairs_t p = { 0 };
  int res;

  mark_point();
  errno = 0;
  res = ftps_env_export(NULL, FTPS_ENV_STD, collect, &p);
  ck_assert_msg(res == -1 && errno == EINVAL, "Expected -1/EINVAL, got %d/%d",
    res, errno);
}
END_TEST

/* Known answers: the test PKI's certificates as mod_tls names them. */
static const struct {
  const char *file;
  const char *name;
  const char *want;         /* exact value, or a regex if want_re */
  int want_re;
} cert_rows[] = {
  { "chain.crt", "TLS_CLIENT_M_VERSION", "3", 0 },
  { "chain.crt", "TLS_CLIENT_M_SERIAL", "101", 0 },
  { "rsa.crt",   "TLS_CLIENT_M_SERIAL", "2", 0 },
  { "chain.crt", "TLS_CLIENT_S_DN", "CN = localhost", 0 },
  { "chain.crt", "TLS_CLIENT_S_DN_CN", "localhost", 0 },
  { "chain.crt", "TLS_CLIENT_I_DN", "CN = mod_ftps test CA", 0 },
  { "chain.crt", "TLS_CLIENT_I_DN_CN", "mod_ftps test CA", 0 },
  { "chain.crt", "TLS_CLIENT_A_KEY", "id-ecPublicKey", 0 },
  { "rsa.crt",   "TLS_CLIENT_A_KEY", "rsaEncryption", 0 },
  { "chain.crt", "TLS_CLIENT_A_SIG", "^ecdsa-with-SHA(256|384|512)$", 1 },
  { "rsa.crt",   "TLS_CLIENT_A_SIG", "^sha(256|384|512)WithRSAEncryption$", 1 },
  { "chain.crt", "TLS_CLIENT_V_START",
    "^[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} [0-9]{4} GMT$", 1 },
  { "chain.crt", "TLS_CLIENT_V_END",
    "^[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} [0-9]{4} GMT$", 1 },
  { "chain.crt", "TLS_CLIENT_S_DN_O", NULL, 0 },      /* no O: not set */
  { "chain.crt", "TLS_CLIENT_EXT_", NULL, 0 },        /* none, as mod_tls */
};

START_TEST (ftps_env_cert_values_test) {
  pairs_t p = { 0 };
  X509 *x = load(cert_rows[_i].file);
  const char *got;
  int res;

  mark_point();
  res = ftps_env_cert(x, "TLS_CLIENT_", collect, &p);
  X509_free(x);
  ck_assert_msg(res == 0, "Expected %d, got %d", 0, res);
  got = lookup(&p, cert_rows[_i].name);
  if (cert_rows[_i].want == NULL) {
    ck_assert_msg(got == NULL, "%s: Expected unset, got '%s'",
      cert_rows[_i].name, got);
  } else if (cert_rows[_i].want_re) {
    regex_t re;

    ck_assert_msg(got != NULL, "%s: Expected a value", cert_rows[_i].name);
    ck_assert_msg(regcomp(&re, cert_rows[_i].want, REG_EXTENDED) == 0, "re");
    ck_assert_msg(regexec(&re, got, 0, NULL, 0) == 0,
      "%s: Expected /%s/, got '%s'", cert_rows[_i].name, cert_rows[_i].want,
      got);
    regfree(&re);
  } else {
    ck_assert_msg(got != NULL && strcmp(got, cert_rows[_i].want) == 0,
      "%s: Expected '%s', got '%s'", cert_rows[_i].name, cert_rows[_i].want,
      got ? got : "(unset)");
  }
}
END_TEST

/* SECURITY: C0 and C1 controls from a certificate never reach a script. */
START_TEST (ftps_env_cert_scrub_test) {
  static const unsigned char cn[] = "a\r\nb\x1b[31m\xc2\x85\xc2\x9b" "c\xc3\xa9";
  EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
  X509 *x = X509_new();
  pairs_t p = { 0 };
  const char *got;
  int i;

  ck_assert_msg(key != NULL && x != NULL, "setup");
  ck_assert_msg(X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
    MBSTRING_UTF8, cn, -1, -1, 0) == 1, "CN");
  ck_assert_msg(X509_set_issuer_name(x, X509_get_subject_name(x)) == 1 &&
    X509_set_pubkey(x, key) == 1 && X509_sign(x, key, EVP_sha256()) > 0,
    "sign");

  mark_point();
  ck_assert_msg(ftps_env_cert(x, "TLS_CLIENT_", collect, &p) == 0, "export");
  got = lookup(&p, "TLS_CLIENT_S_DN_CN");
  ck_assert_msg(got != NULL && strcmp(got, "a??b?[31m????c\xc3\xa9") == 0,
    "Expected controls replaced, got '%s'", got ? got : "(unset)");
  for (i = 0; i < p.n; i++) {
    const unsigned char *v = (const unsigned char *) p.value[i];

    for (; *v != '\0'; v++) {
      ck_assert_msg(*v >= 0x20 && *v != 0x7f, "%s holds byte 0x%02x",
        p.name[i], *v);
    }
  }
  X509_free(x);
  EVP_PKEY_free(key);
}
END_TEST

Suite *tests_get_env_suite(void) {
  Suite *suite = suite_create("ftps_env");
  TCase *tc = tcase_create("cert");

  tcase_add_unchecked_fixture(tc, pki_setup, NULL);
  tcase_add_test(tc, ftps_env_cert_args_test);
  tcase_add_test(tc, ftps_env_export_args_test);
  tcase_add_loop_test(tc, ftps_env_cert_values_test, 0,
    TESTS_NELEMS(cert_rows));
  tcase_add_test(tc, ftps_env_cert_scrub_test);
  suite_add_tcase(suite, tc);
  return suite;
}
