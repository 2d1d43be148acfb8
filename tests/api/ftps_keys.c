/*
 * ftps_keys.c -- tests of mod_ftps/ftps_keys.c: the passphrase provider run
 * (answer, failure, hang with a bounded wait, empty answer, its arguments),
 * encrypted PEM keys unlocked through it, PKCS#12 files with and without a
 * passphrase, and file: store URIs, each loaded into a real context.
 *
 * OpenSSL and Check only; no ProFTPD (B2, B19).
 */

#include <limits.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/ssl.h>

#include "tlspair.h"
#include "ftps/ftps_keys.h"

#define PASS  "not-typed-at-startup"    /* testpki's enc.key */

static char dir[64];

static const char *path(const char *name) {
  static char buf[4][PATH_MAX];
  static int i;

  i = (i + 1) % 4;
  snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
  return buf[i];
}

static void script(const char *name, const char *body) {
  FILE *fp = fopen(path(name), "w");

  ck_assert_ptr_nonnull(fp);
  fprintf(fp, "#!/bin/sh\n%s\n", body);
  fclose(fp);
  ck_assert_int_eq(chmod(path(name), 0700), 0);
}

static void write_p12(const char *name, const char *pass) {
  BIO *cb = BIO_new_file(testpki_path("ec.crt"), "r");
  BIO *kb = BIO_new_file(testpki_path("ec.key"), "r");
  X509 *x = PEM_read_bio_X509(cb, NULL, NULL, NULL);
  EVP_PKEY *k = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL);
  PKCS12 *p12 = PKCS12_create(pass, "ftps", k, x, NULL, 0, 0, 0, 0, 0);
  BIO *out = BIO_new_file(path(name), "wb");

  ck_assert_ptr_nonnull(p12);
  ck_assert_int_eq(i2d_PKCS12_bio(out, p12), 1);
  BIO_free(out);
  PKCS12_free(p12);
  EVP_PKEY_free(k);
  X509_free(x);
  BIO_free(kb);
  BIO_free(cb);
}

static void setup(void) {
  tlspair_pki_setup();
  snprintf(dir, sizeof(dir), "/tmp/ftps-keys-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(dir));
  script("ok.sh", "echo '" PASS "'");
  script("crlf.sh", "printf 'a b\\r\\n'");
  script("args.sh", "echo \"$1|$2\"");
  script("fails.sh", "echo nope; exit 3");
  script("hangs.sh", "exec sleep 30");
  script("empty.sh", "exit 0");
  script("wrong.sh", "echo wrong-passphrase");
  write_p12("plain.p12", NULL);
  write_p12("secret.p12", PASS);
}

static void teardown(void) {
  char cmd[128];

  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  if (system(cmd) != 0) {
    fprintf(stderr, "cannot remove %s\n", dir);
  }
}

static void checked_teardown(void) {
  ftps_keys_set_source(NULL, NULL, 0, 0);
}

/* ---- ftps_keys_run_provider ------------------------------------------- */

START_TEST(ftps_keys_run_provider_args_test) {
  char buf[64], err[256];

  mark_point();
  ck_assert_int_eq(ftps_keys_run_provider(NULL, "s", "k", 0, buf,
    sizeof(buf), err, sizeof(err)), -1);
  ck_assert_int_eq(errno, EINVAL);
  ck_assert_int_eq(ftps_keys_run_provider("relative.sh", "s", "k", 0, buf,
    sizeof(buf), err, sizeof(err)), -1);
  ck_assert_int_eq(ftps_keys_run_provider("/bin/true", "s", NULL, 0, buf,
    sizeof(buf), err, sizeof(err)), -1);
  ck_assert_int_eq(ftps_keys_run_provider("/bin/true", "s", "k", 0, buf, 1,
    err, sizeof(err)), -1);
}
END_TEST

static const struct {
  const char *name, *program;
  int want_len;
  const char *want;             /* the passphrase, or a part of err */
} provider_rows[] = {
  { "answers", "ok.sh", 20, PASS },
  { "crlf_stripped", "crlf.sh", 3, "a b" },
  { "arguments", "args.sh", 14, "ftp.test:21|/k" },
  { "fails", "fails.sh", -1, "exit status 3" },
  { "hangs", "hangs.sh", -1, "did not answer within" },
  { "empty", "empty.sh", -1, "printed no passphrase" },
  { "missing", "missing.sh", -1, "exit status 127" },
};

START_TEST(ftps_keys_run_provider_values_test) {
  char buf[64] = "", err[256] = "";
  long long t0 = tlspair_now_ms();
  int res;

  mark_point();
  res = ftps_keys_run_provider(path(provider_rows[_i].program), "ftp.test:21",
    "/k", 700, buf, sizeof(buf), err, sizeof(err));
  ck_assert_msg(res == provider_rows[_i].want_len, "%s: Expected %d, got %d "
    "(%s)", provider_rows[_i].name, provider_rows[_i].want_len, res, err);
  if (res >= 0) {
    ck_assert_str_eq(buf, provider_rows[_i].want);
  } else {
    ck_assert_msg(strstr(err, provider_rows[_i].want) != NULL, "%s: "
      "Expected '%s' in '%s'", provider_rows[_i].name,
      provider_rows[_i].want, err);
    ck_assert_msg(buf[0] == '\0' || strcmp(buf, "nope") != 0,
      "%s: a failed provider's output was kept", provider_rows[_i].name);
  }
  /* SECURITY: a hanging provider cannot stall startup. */
  ck_assert_msg(tlspair_now_ms() - t0 < 3000, "%s: took %lld ms",
    provider_rows[_i].name, tlspair_now_ms() - t0);
}
END_TEST

/* ---- encrypted PEM keys ------------------------------------------------ */

static const struct {
  const char *name, *program;
  int want_ok;
  const char *want_err;
} pem_rows[] = {
  { "provider", "ok.sh", 1, NULL },
  { "wrong_passphrase", "wrong.sh", 0, "wrong passphrase" },
  { "provider_fails", "fails.sh", 0, "exit status 3" },
  { "no_source", NULL, 0, "FTPSPassPhraseProvider" },
};

START_TEST(ftps_keys_read_pem_key_values_test) {
  BIO *bio = BIO_new_file(testpki_path("enc.key"), "r");
  char err[512] = "";
  EVP_PKEY *key;

  ftps_keys_set_source(pem_rows[_i].program ? path(pem_rows[_i].program) :
    NULL, "ftp.test:21", 0, 700);
  mark_point();
  key = ftps_keys_read_pem_key(bio, testpki_path("enc.key"), err,
    sizeof(err));
  ck_assert_msg((key != NULL) == pem_rows[_i].want_ok, "%s: Expected %d, "
    "got %p (%s)", pem_rows[_i].name, pem_rows[_i].want_ok, (void *) key,
    err);
  if (!pem_rows[_i].want_ok) {
    ck_assert_msg(strstr(err, pem_rows[_i].want_err) != NULL, "%s: Expected "
      "'%s' in '%s'", pem_rows[_i].name, pem_rows[_i].want_err, err);
  }
  EVP_PKEY_free(key);
  BIO_free(bio);
}
END_TEST

/* A plain key needs no passphrase source at all. */
START_TEST(ftps_keys_read_pem_key_plain_test) {
  BIO *bio = BIO_new_file(testpki_path("ec.key"), "r");
  char err[256] = "";
  EVP_PKEY *key;

  ftps_keys_set_source(NULL, NULL, 0, 0);
  key = ftps_keys_read_pem_key(bio, "ec.key", err, sizeof(err));
  ck_assert_msg(key != NULL, "plain key refused: %s", err);
  EVP_PKEY_free(key);
  BIO_free(bio);
}
END_TEST

/* ---- PKCS#12 and store URIs ------------------------------------------- */

typedef struct {
  const char *name;
  const char *cert, *key;       /* "@x": path(x); "~x": testpki x; "uri:" */
  const char *program;
  const char *want_err;         /* NULL: loads */
} special_row_t;

static const special_row_t special_rows[] = {
  { "p12_no_passphrase", "@plain.p12", NULL, NULL, NULL },
  { "p12_provider", "@secret.p12", NULL, "ok.sh", NULL },
  { "p12_wrong_passphrase", "@secret.p12", NULL, "wrong.sh",
    "wrong passphrase" },
  { "p12_no_source", "@secret.p12", NULL, NULL, "FTPSPassPhraseProvider" },
  { "p12_with_key_file", "@plain.p12", "~ec.key", NULL, "give no key-file" },
  { "p12_missing", "@missing.p12", NULL, NULL, "not a readable PKCS#12" },
  { "uri_combined", "file:~combined.pem", NULL, NULL, NULL },
  { "uri_cert_and_key", "file:~ec.crt", "file:~ec.key", NULL, NULL },
  { "uri_encrypted_key", "file:~ec.crt", "file:~enc.key", "ok.sh", NULL },
  { "uri_encrypted_no_source", "file:~ec.crt", "file:~enc.key", NULL,
    "private key" },
  { "uri_key_mismatch", "file:~ec.crt", "file:~other.key", NULL,
    "does not match" },
  { "uri_key_not_uri", "file:~ec.crt", "~ec.key", NULL, "store URI too" },
  { "uri_missing", "file:~missing.pem", NULL, NULL, "gives no certificate" },
};

static const char *resolve(const char *spec, char *buf, size_t len) {
  const char *prefix = "";

  if (spec == NULL) {
    return NULL;
  }
  if (strncmp(spec, "file:", 5) == 0) {
    prefix = "file:";
    spec += 5;
  }
  snprintf(buf, len, "%s%s", prefix, spec[0] == '@' ? path(spec + 1) :
    testpki_path(spec + 1));
  return buf;
}

START_TEST(ftps_keys_use_special_values_test) {
  const special_row_t *row = &special_rows[_i];
  SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
  char cert[PATH_MAX + 8], key[PATH_MAX + 8], err[512] = "";
  int type = 0, res;

  ftps_keys_set_source(row->program ? path(row->program) : NULL,
    "ftp.test:21", 0, 700);
  mark_point();
  res = ftps_keys_use_special(ctx, resolve(row->cert, cert, sizeof(cert)),
    resolve(row->key, key, sizeof(key)), &type, err, sizeof(err));
  if (row->want_err == NULL) {
    ck_assert_msg(res == 0, "%s: Expected 0, got %d (%s)", row->name, res,
      err);
    ck_assert_int_eq(type, EVP_PKEY_EC);
    ck_assert_int_eq(SSL_CTX_check_private_key(ctx), 1);
  } else {
    ck_assert_msg(res == -1, "%s: Expected -1, got %d", row->name, res);
    ck_assert_msg(strstr(err, row->want_err) != NULL, "%s: Expected '%s' in "
      "'%s'", row->name, row->want_err, err);
    ck_assert_msg(strstr(err, "FTPSCertificate") != NULL, "%s: '%s' names "
      "no directive", row->name, err);
  }
  SSL_CTX_free(ctx);
}
END_TEST

START_TEST(ftps_keys_use_special_args_test) {
  char err[64];
  int type;

  mark_point();
  ck_assert_int_eq(ftps_keys_use_special(NULL, "file:/x", NULL, &type, err,
    sizeof(err)), -1);
  ck_assert_int_eq(errno, EINVAL);
  ck_assert_int_eq(ftps_keys_is_special("/etc/x.pem"), 0);
  ck_assert_int_eq(ftps_keys_is_special("/etc/x.P12"), 1);
  ck_assert_int_eq(ftps_keys_is_special("/etc/x.pfx"), 1);
  ck_assert_int_eq(ftps_keys_is_special("pkcs11:token=a"), 1);
  ck_assert_int_eq(ftps_keys_is_special("x.pem"), 0);
}
END_TEST

Suite *tests_get_keys_suite(void) {
  Suite *suite = suite_create("ftps_keys");
  TCase *tc = tcase_create("keys");

  tcase_add_unchecked_fixture(tc, setup, teardown);
  tcase_add_checked_fixture(tc, NULL, checked_teardown);
  tcase_set_timeout(tc, 30);
  tcase_add_test(tc, ftps_keys_run_provider_args_test);
  tcase_add_loop_test(tc, ftps_keys_run_provider_values_test, 0,
    TESTS_NELEMS(provider_rows));
  tcase_add_loop_test(tc, ftps_keys_read_pem_key_values_test, 0,
    TESTS_NELEMS(pem_rows));
  tcase_add_test(tc, ftps_keys_read_pem_key_plain_test);
  tcase_add_test(tc, ftps_keys_use_special_args_test);
  tcase_add_loop_test(tc, ftps_keys_use_special_values_test, 0,
    TESTS_NELEMS(special_rows));
  suite_add_tcase(suite, tc);
  return suite;
}
