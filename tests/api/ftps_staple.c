/*
 * ftps_staple.c -- tests of mod_ftps/ftps_staple.c: which responses are
 * accepted for a context (successful, for one of its certificates) and
 * when one may be stapled (thisUpdate <= now < nextUpdate), with responses
 * built in-process for the test PKI.
 *
 * OpenSSL and Check only; no ProFTPD (B2, B19).
 */

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "tlspair.h"
#include "ftps/ftps_staple.h"

#define NOW   ((time_t) 1900000000)
#define NONE  LONG_MIN               /* no nextUpdate */

static X509 *read_cert(const char *name) {
  BIO *b = BIO_new_file(testpki_path(name), "r");
  X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);

  BIO_free(b);
  ck_assert_ptr_nonnull(x);
  return x;
}

static EVP_PKEY *read_key(const char *name) {
  BIO *b = BIO_new_file(testpki_path(name), "r");
  EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);

  BIO_free(b);
  ck_assert_ptr_nonnull(k);
  return k;
}

/* A DER response for leaf (issued by ca.crt) valid from NOW+this_d to
 * NOW+next_d; status: OCSP_RESPONSE_STATUS_*. */
static int make_response(const char *leaf_name, long this_d, long next_d,
    int status, unsigned char **der) {
  X509 *leaf = read_cert(leaf_name), *ca = read_cert("ca.crt");
  X509 *signer = read_cert("chain.crt");
  EVP_PKEY *key = read_key("chain.key");
  OCSP_BASICRESP *basic = OCSP_BASICRESP_new();
  OCSP_CERTID *id = OCSP_cert_to_id(NULL, leaf, ca);
  ASN1_TIME *t1 = ASN1_TIME_set(NULL, NOW + this_d);
  ASN1_TIME *t2 = next_d == NONE ? NULL : ASN1_TIME_set(NULL, NOW + next_d);
  OCSP_RESPONSE *resp;
  int len;

  ck_assert_ptr_nonnull(OCSP_basic_add1_status(basic, id,
    V_OCSP_CERTSTATUS_GOOD, 0, NULL, t1, t2));
  ck_assert_int_eq(OCSP_basic_sign(basic, signer, key, EVP_sha256(), NULL,
    0), 1);
  resp = OCSP_response_create(status, status ==
    OCSP_RESPONSE_STATUS_SUCCESSFUL ? basic : NULL);
  *der = NULL;
  len = i2d_OCSP_RESPONSE(resp, der);
  ck_assert_int_gt(len, 0);
  OCSP_RESPONSE_free(resp);
  ASN1_TIME_free(t1);
  ASN1_TIME_free(t2);
  OCSP_CERTID_free(id);
  OCSP_BASICRESP_free(basic);
  EVP_PKEY_free(key);
  X509_free(signer);
  X509_free(ca);
  X509_free(leaf);
  return len;
}

START_TEST(ftps_staple_set_args_test) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
  unsigned char b = 0;
  char err[64];

  mark_point();
  ck_assert_int_eq(ftps_staple_set(NULL, &b, 1, err, sizeof(err)), -1);
  ck_assert_int_eq(errno, EINVAL);
  ck_assert_int_eq(ftps_staple_set(ctx, NULL, 1, err, sizeof(err)), -1);
  ck_assert_int_eq(ftps_staple_set(ctx, &b, 0, err, sizeof(err)), -1);
  ck_assert_int_eq(ftps_staple_set(ctx, &b, FTPS_STAPLE_MAX_LEN + 1, err,
    sizeof(err)), -1);
  ck_assert_int_eq(ftps_staple_state(ctx, NOW), FTPS_STAPLE_NONE);
  ck_assert_int_eq(ftps_staple_state(NULL, NOW), FTPS_STAPLE_NONE);
  SSL_CTX_free(ctx);
}
END_TEST

static const struct {
  const char *name;
  const char *served;           /* the context's certificate */
  const char *for_leaf;         /* the response's certificate */
  long this_d, next_d;
  int status;
  int want_set;                 /* 0 or -1 */
  const char *want_err;
  int want_state;               /* at NOW */
} rows[] = {
  { "fresh", "chain", "chain.crt", -60, 3600, OCSP_RESPONSE_STATUS_SUCCESSFUL,
    0, NULL, FTPS_STAPLE_OK },
  { "expired", "chain", "chain.crt", -7200, -1, OCSP_RESPONSE_STATUS_SUCCESSFUL,
    0, NULL, FTPS_STAPLE_EXPIRED },
  { "expires_now", "chain", "chain.crt", -7200, 0,
    OCSP_RESPONSE_STATUS_SUCCESSFUL, 0, NULL, FTPS_STAPLE_EXPIRED },
  { "no_next_update", "chain", "chain.crt", -60, NONE,
    OCSP_RESPONSE_STATUS_SUCCESSFUL, 0, NULL, FTPS_STAPLE_EXPIRED },
  { "not_yet", "chain", "chain.crt", 3600, 7200,
    OCSP_RESPONSE_STATUS_SUCCESSFUL, 0, NULL, FTPS_STAPLE_NOT_YET },
  { "small_skew_ok", "chain", "chain.crt", 120, 7200,
    OCSP_RESPONSE_STATUS_SUCCESSFUL, 0, NULL, FTPS_STAPLE_OK },
  { "other_certificate", "ec", "chain.crt", -60, 3600,
    OCSP_RESPONSE_STATUS_SUCCESSFUL, -1, "not a response for this server",
    FTPS_STAPLE_NONE },
  { "unsuccessful", "chain", "chain.crt", -60, 3600,
    OCSP_RESPONSE_STATUS_TRYLATER, -1, "unsuccessful", FTPS_STAPLE_NONE },
};

START_TEST(ftps_staple_set_values_test) {
  char cert[32], key[32], err[256] = "";
  unsigned char *der = NULL;
  SSL_CTX *ctx;
  int len, res;

  snprintf(cert, sizeof(cert), "%s.crt", rows[_i].served);
  snprintf(key, sizeof(key), "%s.key", rows[_i].served);
  ctx = tlspair_server_ctx(FTPS_PROTO_ALL, cert, key, NULL, NULL);
  len = make_response(rows[_i].for_leaf, rows[_i].this_d, rows[_i].next_d,
    rows[_i].status, &der);
  mark_point();
  res = ftps_staple_set(ctx, der, (size_t) len, err, sizeof(err));
  ck_assert_msg(res == rows[_i].want_set, "%s: Expected %d, got %d (%s)",
    rows[_i].name, rows[_i].want_set, res, err);
  if (res < 0) {
    ck_assert_msg(strstr(err, rows[_i].want_err) != NULL, "%s: Expected "
      "'%s' in '%s'", rows[_i].name, rows[_i].want_err, err);
  }
  ck_assert_msg(ftps_staple_state(ctx, NOW) == rows[_i].want_state,
    "%s: Expected state %d, got %d", rows[_i].name, rows[_i].want_state,
    ftps_staple_state(ctx, NOW));
  OPENSSL_free(der);
  ftps_ctx_free(ctx);
}
END_TEST

START_TEST(ftps_staple_set_garbage_test) {
  SSL_CTX *ctx = tlspair_server_ctx_ec(FTPS_PROTO_ALL);
  static const unsigned char junk[] = "not an OCSP response";
  char err[256] = "";

  mark_point();
  ck_assert_int_eq(ftps_staple_set(ctx, junk, sizeof(junk), err,
    sizeof(err)), -1);
  ck_assert_msg(strstr(err, "not a DER OCSP response") != NULL, "%s", err);
  ftps_ctx_free(ctx);
}
END_TEST

/* FTPSStapling on without a file: a certificate without a responder. */
START_TEST(ftps_staple_fetch_setup_no_responder_test) {
  SSL_CTX *ctx = tlspair_server_ctx(FTPS_PROTO_ALL, "chain.crt", "chain.key",
    NULL, NULL);
  char err[512] = "";

  mark_point();
  ck_assert_int_eq(ftps_staple_fetch_setup(NULL, err, sizeof(err)), -1);
  ck_assert_int_eq(ftps_staple_fetch_setup(ctx, err, sizeof(err)), -1);
  ck_assert_msg(strstr(err, "names an OCSP responder") != NULL, "%s", err);
  ck_assert_int_eq(ftps_staple_fetch_due(ctx, NOW), 0);
  ck_assert_int_eq(ftps_staple_fetch(ctx, 1, err, sizeof(err)), 0);
  ftps_ctx_free(ctx);
}
END_TEST

/* A loaded file is never fetched again by the master. */
START_TEST(ftps_staple_fetch_due_file_test) {
  SSL_CTX *ctx = tlspair_server_ctx(FTPS_PROTO_ALL, "chain.crt", "chain.key",
    NULL, NULL);
  unsigned char *der = NULL;
  char err[256];
  int len = make_response("chain.crt", -60, 3600,
    OCSP_RESPONSE_STATUS_SUCCESSFUL, &der);

  ck_assert_int_eq(ftps_staple_set(ctx, der, (size_t) len, err,
    sizeof(err)), 0);
  ck_assert_int_eq(ftps_staple_fetch_due(ctx, NOW + 7200), 0);
  OPENSSL_free(der);
  ftps_ctx_free(ctx);
}
END_TEST

Suite *tests_get_staple_suite(void) {
  Suite *suite = suite_create("ftps_staple");
  TCase *tc = tcase_create("staple");

  tcase_add_unchecked_fixture(tc, tlspair_pki_setup, NULL);
  tcase_add_test(tc, ftps_staple_set_args_test);
  tcase_add_loop_test(tc, ftps_staple_set_values_test, 0,
    TESTS_NELEMS(rows));
  tcase_add_test(tc, ftps_staple_set_garbage_test);
  tcase_add_test(tc, ftps_staple_fetch_setup_no_responder_test);
  tcase_add_test(tc, ftps_staple_fetch_due_file_test);
  suite_add_tcase(suite, tc);
  return suite;
}
