/*
 * ftps_cert.c -- unit tests of mod_ftps/ftps_cert.c: FTPSUserName parsing,
 * field values from certificates built in-process (CN, rfc822Name SAN,
 * subject emailAddress, UPN otherName, dotted OIDs; ambiguous, NUL-embedded
 * and malformed values; a 5 KB subject and 3000 SANs), the fingerprint,
 * the log strings and the authorized-certificates file format.
 *
 * OpenSSL and Check only; no ProFTPD (B2, B19, B20). Every certificate is
 * DER-encoded and decoded again before use, so the code under test sees
 * what a peer would send.
 */

#include <ctype.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tests.h"
#include "ftps/ftps_cert.h"

Suite *tests_get_cert_suite(void);

#define ERRLEN          256
#define SENTINEL        (-12345)
#define OID_CUSTOM      "1.3.6.1.4.1.99999.1"
#define OID_OTHER       "1.3.6.1.4.1.99999.2"
#define OID_UPN         "1.3.6.1.4.1.311.20.2.3"
#define MANY_SANS       3000
#define BIG_SUBJECT     5120
#define NAMEBUF         (FTPS_CERT_NAME_MAX + 1)
#define A16             "aaaaaaaaaaaaaaaa"
#define A256            A16 A16 A16 A16 A16 A16 A16 A16 \
                        A16 A16 A16 A16 A16 A16 A16 A16
_Static_assert(sizeof(A256) - 1 == FTPS_CERT_NAME_MAX, "A256 is the maximum");

/* mark_point() before each call (B19), errno cleared so it can be checked. */
#define RUN(res, call) \
  do { mark_point(); errno = 0; (res) = (call); } while (0)

/* The NULL/EINVAL contract: -1 and errno EINVAL (a macro, for the line). */
#define ASSERT_EINVAL(res, what) do { \
    ck_assert_msg((res) == -1, "%s: Expected %d, got %d", (what), -1, (res)); \
    ck_assert_msg(errno == EINVAL, "%s: Expected errno %d, got %d", (what), \
      EINVAL, errno); \
  } while (0)

/* ---- Test certificates ------------------------------------------------- */

typedef struct {
  const char *attr;         /* "CN", "O", "emailAddress", dotted OID */
  int type;                 /* V_ASN1_*; 0: UTF8String */
  const char *value;
  int len;                  /* 0: strlen(value) */
} name_spec_t;

typedef struct {
  int kind;                 /* GEN_EMAIL, GEN_DNS, GEN_OTHERNAME */
  const char *oid;          /* otherName type-id */
  int vtype;                /* otherName value: UTF8String or INTEGER */
  const char *value;        /* NULL and no oid: end of list */
  int len;                  /* 0: strlen(value) */
} san_spec_t;

typedef struct {
  name_spec_t subj[4];
  san_spec_t san[4];
  int repeat;               /* san[0] this many times (0: once) */
  int san_exts;             /* SAN extensions (0: 1 if san[0] is set) */
  int big_subject;          /* pad the subject with OUs to 5 KB */
  const char *issuer_cn;    /* NULL: self-issued */
  long serial;              /* 0: 1 */
  const char *serial_hex;   /* overrides serial */
  const char *not_after;    /* NULL: a day from now */
} cert_spec_t;

enum {
  CRT_ALICE, CRT_CN_TWO, CRT_CN_DUP, CRT_CN_NUL, CRT_CN_CTRL, CRT_CN_BMP,
  CRT_CN_UTF8, CRT_CN_EMPTY, CRT_CN_LONG, CRT_CN_MAX, CRT_NO_CN,
  CRT_EMAIL_SAN, CRT_EMAIL_SAN_TWO, CRT_EMAIL_SAN_DUP, CRT_EMAIL_SUBJ,
  CRT_EMAIL_BOTH, CRT_EMAIL_DNS_SUBJ, CRT_EMAIL_SAN_NUL, CRT_UPN,
  CRT_UPN_INT, CRT_UPN_OTHER, CRT_UPN_TWO, CRT_OID, CRT_OID_BITSTR,
  CRT_BIG_SUBJECT, CRT_MANY_SANS, CRT_MANY_EMAILS, CRT_MANY_EMAILS_DIFF,
  CRT_TWO_SAN_EXTS, CRT_ISSUED, CRT_SERIAL_BIG, CRT_SERIAL_NEG,
  CRT_UTCTIME, CRT_OTHER, CRT_COUNT
};

#define N_O       { "O", 0, "Example", 0 }
#define N_CN(v)   { "CN", 0, (v), 0 }
#define S_EMAIL(v) { GEN_EMAIL, NULL, 0, (v), 0 }
#define S_DNS(v)  { GEN_DNS, NULL, 0, (v), 0 }
#define S_UPN(v)  { GEN_OTHERNAME, OID_UPN, V_ASN1_UTF8STRING, (v), 0 }

static const cert_spec_t cert_specs[CRT_COUNT] = {
  [CRT_ALICE] = { { N_O, N_CN("alice") }, .serial = 0x1234,
    .not_after = "20300102030405Z" },
  [CRT_CN_TWO] = { { N_CN("alice"), N_CN("mallory") } },
  [CRT_CN_DUP] = { { N_CN("alice"), N_CN("alice") } },
  [CRT_CN_NUL] = { { { "CN", 0, "alice\0.evil", 11 } } },
  [CRT_CN_CTRL] = { { N_CN("alice\r\nmallory") } },
  [CRT_CN_BMP] = { { { "CN", V_ASN1_BMPSTRING, "\0a\0l\0i\0c\0e", 10 } } },
  [CRT_CN_UTF8] = { { N_CN("Zo\xc3\xab") } },
  [CRT_CN_EMPTY] = { { N_O, { "CN", V_ASN1_UTF8STRING, "", 0 } } },
  [CRT_CN_LONG] = { { N_CN(A256 "a") } },
  [CRT_CN_MAX] = { { N_CN(A256) } },
  [CRT_NO_CN] = { { N_O } },
  [CRT_EMAIL_SAN] = { { N_CN("alice") }, { S_EMAIL("alice@example.com") } },
  [CRT_EMAIL_SAN_TWO] = { { N_CN("alice") },
    { S_EMAIL("alice@example.com"), S_EMAIL("mallory@example.com") } },
  [CRT_EMAIL_SAN_DUP] = { { N_CN("alice") },
    { S_EMAIL("alice@example.com"), S_EMAIL("alice@example.com") } },
  [CRT_EMAIL_SUBJ] = { { N_CN("bob"),
    { "emailAddress", V_ASN1_IA5STRING, "bob@example.com", 0 } } },
  [CRT_EMAIL_BOTH] = { { N_CN("alice"),
    { "emailAddress", V_ASN1_IA5STRING, "bob@example.com", 0 } },
    { S_EMAIL("alice@example.com") } },
  [CRT_EMAIL_DNS_SUBJ] = { { N_CN("bob"),
    { "emailAddress", V_ASN1_IA5STRING, "bob@example.com", 0 } },
    { S_DNS("host.example.com") } },
  [CRT_EMAIL_SAN_NUL] = { { N_CN("alice") },
    { { GEN_EMAIL, NULL, 0, "alice@example.com\0.evil", 23 } } },
  [CRT_UPN] = { { N_CN("alice") }, { S_UPN("alice@corp.example") } },
  [CRT_UPN_INT] = { { N_CN("alice") },
    { { GEN_OTHERNAME, OID_UPN, V_ASN1_INTEGER, NULL, 0 } } },
  [CRT_UPN_OTHER] = { { N_CN("alice") },
    { { GEN_OTHERNAME, OID_OTHER, V_ASN1_INTEGER, NULL, 0 },
      S_UPN("alice@corp.example"), S_EMAIL("x@example.com") } },
  [CRT_UPN_TWO] = { { N_CN("alice") },
    { S_UPN("alice@corp.example"), S_UPN("mallory@corp.example") } },
  [CRT_OID] = { { N_O, N_CN("alice"), { OID_CUSTOM, 0, "ftpuser", 0 } } },
  [CRT_OID_BITSTR] = { { N_CN("alice"),
    { OID_CUSTOM, V_ASN1_BIT_STRING, "ftpuser", 0 } } },
  [CRT_BIG_SUBJECT] = { { N_O, N_CN("alice") }, .big_subject = 1 },
  [CRT_MANY_SANS] = { { N_CN("alice") }, { S_DNS("host.example.com"),
    S_EMAIL("alice@example.com"), S_UPN("alice@corp.example") },
    .repeat = MANY_SANS },
  [CRT_MANY_EMAILS] = { { N_CN("alice") }, { S_EMAIL("alice@example.com") },
    .repeat = MANY_SANS },
  [CRT_MANY_EMAILS_DIFF] = { { N_CN("alice") },
    { S_EMAIL("alice@example.com"), S_EMAIL("mallory@example.com") },
    .repeat = MANY_SANS },
  [CRT_TWO_SAN_EXTS] = { { N_CN("alice") },
    { S_EMAIL("alice@example.com"), S_UPN("alice@corp.example") },
    .san_exts = 2 },
  [CRT_ISSUED] = { { N_CN("alice") }, .issuer_cn = "Test CA" },
  [CRT_SERIAL_BIG] = { { N_CN("alice") },
    .serial_hex = "7FEDCBA9876543210FEDCBA9876543210FEDCBA9" },
  [CRT_SERIAL_NEG] = { { N_CN("alice") }, .serial = -5 },
  [CRT_UTCTIME] = { { N_CN("alice") }, .not_after = "491231235959Z" },
  [CRT_OTHER] = { { N_O, N_CN("other") } },
};

static X509 *certs[CRT_COUNT];
static EVP_PKEY *cert_key;

static int add_name(X509_NAME *name, const name_spec_t *n) {
  return X509_NAME_add_entry_by_txt(name, n->attr,
    n->type != 0 ? n->type : V_ASN1_UTF8STRING,
    (const unsigned char *) n->value, n->len > 0 ? n->len : -1, -1, 0) == 1 ?
    0 : -1;
}

/* About BIG_SUBJECT bytes of OU entries, then the spec's attributes. */
static int add_subject(X509 *x, const cert_spec_t *spec) {
  X509_NAME *name = X509_get_subject_name(x);
  const name_spec_t ou = { "OU", 0, "unit-of-a-rather-large-organisation-"
    "with-a-long-name-0123456789", 0 };
  int i, total = 0;

  while (spec->big_subject && total < BIG_SUBJECT) {
    if (add_name(name, &ou) < 0) {
      return -1;
    }
    total += (int) strlen(ou.value) + 11;
  }
  for (i = 0; i < 4 && spec->subj[i].attr != NULL; i++) {
    if (add_name(name, &spec->subj[i]) < 0) {
      return -1;
    }
  }
  return 0;
}

/* An INTEGER otherName value is the ASN1_STRING 0x05 typed as INTEGER. */
static GENERAL_NAME *san_entry(const san_spec_t *s) {
  GENERAL_NAME *gen = GENERAL_NAME_new();
  ASN1_STRING *str = ASN1_STRING_type_new(s->kind == GEN_OTHERNAME ?
    s->vtype : V_ASN1_IA5STRING);
  ASN1_TYPE *t;

  ck_assert(gen != NULL && str != NULL);
  ck_assert(ASN1_STRING_set(str, s->value != NULL ? s->value : "\x05",
    s->len > 0 ? s->len : -1) == 1);
  if (s->kind != GEN_OTHERNAME) {
    GENERAL_NAME_set0_value(gen, s->kind, str);
    return gen;
  }
  t = ASN1_TYPE_new();
  ck_assert(t != NULL);
  ASN1_TYPE_set(t, s->vtype, str);
  ck_assert(GENERAL_NAME_set0_othername(gen, OBJ_txt2obj(s->oid, 1), t) ==
    1);
  return gen;
}

static int add_sans(X509 *x, const cert_spec_t *spec) {
  GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
  int i, n, res = 0;

  ck_assert(gens != NULL);
  for (n = 1; n < spec->repeat; n++) {
    sk_GENERAL_NAME_push(gens, san_entry(&spec->san[0]));
  }
  for (i = 0; i < 4 && (spec->san[i].value != NULL ||
      spec->san[i].oid != NULL); i++) {
    sk_GENERAL_NAME_push(gens, san_entry(&spec->san[i]));
  }
  n = spec->san_exts > 0 ? spec->san_exts : (i > 0 ? 1 : 0);
  for (i = 0; res == 0 && i < n; i++) {
    res = X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0,
      X509V3_ADD_APPEND) == 1 ? 0 : -1;
  }
  GENERAL_NAMES_free(gens);
  return res;
}

static int set_serial(X509 *x, const cert_spec_t *spec) {
  BIGNUM *bn = NULL;
  int ok;

  if (spec->serial_hex == NULL) {
    return ASN1_INTEGER_set(X509_get_serialNumber(x),
      spec->serial != 0 ? spec->serial : 1) == 1 ? 0 : -1;
  }
  ok = BN_hex2bn(&bn, spec->serial_hex) > 0 &&
    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
  BN_free(bn);
  return ok ? 0 : -1;
}

static int set_issuer(X509 *x, const cert_spec_t *spec) {
  X509_NAME *issuer;
  int ok;

  if (spec->issuer_cn == NULL) {
    return X509_set_issuer_name(x, X509_get_subject_name(x)) == 1 ? 0 : -1;
  }
  issuer = X509_NAME_new();
  ok = issuer != NULL && X509_NAME_add_entry_by_txt(issuer, "CN",
    MBSTRING_ASC, (const unsigned char *) spec->issuer_cn, -1, -1, 0) == 1 &&
    X509_set_issuer_name(x, issuer) == 1;
  X509_NAME_free(issuer);
  return ok ? 0 : -1;
}

/* X509_dup() encodes and decodes: the result is what a peer would send. */
static X509 *roundtrip(X509 *x) {
  X509 *y = X509_dup(x);

  X509_free(x);
  return y;
}

static X509 *cert_build(const cert_spec_t *spec) {
  X509 *x = X509_new();
  int ok;

  ck_assert(x != NULL);
  ok = X509_set_version(x, X509_VERSION_3) == 1 && set_serial(x, spec) == 0 &&
    X509_gmtime_adj(X509_getm_notBefore(x), -3600) != NULL &&
    (spec->not_after != NULL ?
      ASN1_TIME_set_string(X509_getm_notAfter(x), spec->not_after) == 1 :
      X509_gmtime_adj(X509_getm_notAfter(x), 86400) != NULL) &&
    X509_set_pubkey(x, cert_key) == 1 && add_subject(x, spec) == 0 &&
    set_issuer(x, spec) == 0 && add_sans(x, spec) == 0 &&
    X509_sign(x, cert_key, EVP_sha256()) > 0;
  if (!ok) {
    X509_free(x);
    return NULL;
  }
  return roundtrip(x);
}

/* Unchecked fixture: built once in the runner, inherited by forked tests. */
static void certs_setup(void) {
  int i;

  if (cert_key == NULL) {
    cert_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    ck_assert_msg(cert_key != NULL, "cannot generate a P-256 key");
  }
  for (i = 0; i < CRT_COUNT; i++) {
    if (certs[i] == NULL) {
      certs[i] = cert_build(&cert_specs[i]);
      ck_assert_msg(certs[i] != NULL, "cannot build test certificate %d: %s",
        i, ERR_error_string(ERR_get_error(), NULL));
    }
  }
}

static void certs_teardown(void) {
  int i;

  for (i = 0; i < CRT_COUNT; i++) {
    X509_free(certs[i]);
    certs[i] = NULL;
  }
  EVP_PKEY_free(cert_key);
  cert_key = NULL;
}

/* The SHA-256 of the DER, computed without X509_digest. */
static void fp_of(X509 *x, unsigned char md[32], char hex[65]) {
  unsigned char *der = NULL;
  unsigned int n = 0;
  int i, len = i2d_X509(x, &der);

  ck_assert(len > 0);
  ck_assert(EVP_Digest(der, (size_t) len, md, &n, EVP_sha256(), NULL) == 1);
  ck_assert(n == 32);
  OPENSSL_free(der);
  for (i = 0; i < 32; i++) {
    snprintf(hex + 2 * i, 3, "%02x", md[i]);
  }
}

/* ---- ftps_cert_parse_field --------------------------------------------- */

static const struct {
  const char *in;
  int want_rc;
  int want_field;
  const char *want_oid;
  const char *want_err;
} parse_rows[] = {
  { "off",            0, FTPS_CERT_FIELD_NONE,  "", NULL },
  { "OFF",            0, FTPS_CERT_FIELD_NONE,  "", NULL },
  { "CommonName",     0, FTPS_CERT_FIELD_CN,    "", NULL },
  { "commonname",     0, FTPS_CERT_FIELD_CN,    "", NULL },
  { "EmailAddress",   0, FTPS_CERT_FIELD_EMAIL, "", NULL },
  { "EMAILADDRESS",   0, FTPS_CERT_FIELD_EMAIL, "", NULL },
  { "UPN",            0, FTPS_CERT_FIELD_UPN,   "", NULL },
  { "upn",            0, FTPS_CERT_FIELD_UPN,   "", NULL },
  { OID_CUSTOM,       0, FTPS_CERT_FIELD_OID,   OID_CUSTOM, NULL },
  { "2.5.4.3",        0, FTPS_CERT_FIELD_OID,   "2.5.4.3", NULL },
  { "2.5.4.03",       0, FTPS_CERT_FIELD_OID,   "2.5.4.3", NULL },
  { "0.9.2342.19200300.100.1.1", 0, FTPS_CERT_FIELD_OID,
    "0.9.2342.19200300.100.1.1", NULL },
  { "",               -1, SENTINEL, "", "unknown field ''; expected off, "
    "CommonName, EmailAddress, UPN or a dotted OID" },
  { "CN",             -1, SENTINEL, "", "unknown field 'CN'" },
  { "emailAddress.",  -1, SENTINEL, "", "unknown field" },
  { "on",             -1, SENTINEL, "", "expected off, CommonName" },
  { "CommonName ",    -1, SENTINEL, "", "unknown field" },
  { " 2.5.4.3",       -1, SENTINEL, "", "unknown field" },
  { "2.5.4.3 ",       -1, SENTINEL, "", "unknown field" },
  { "1",              -1, SENTINEL, "", "unknown field" },
  { "1.",             -1, SENTINEL, "", "unknown field" },
  { ".1.2",           -1, SENTINEL, "", "unknown field" },
  { "1..2",           -1, SENTINEL, "", "unknown field" },
  { "1.2.abc",        -1, SENTINEL, "", "unknown field" },
  { "1.2.-3",         -1, SENTINEL, "", "unknown field" },
  { "3.1",            -1, SENTINEL, "", "invalid OID '3.1'" },
  { "1.40",           -1, SENTINEL, "", "invalid OID '1.40'" },
  { "0.99.1",         -1, SENTINEL, "", "invalid OID" },
  { "1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17.18.19.20.21.22.23.24.25.26."
    "27.28.29.30.31.32.33.34.35.36.37.38.39.40.41.42.43.44.45.46.47.48.49",
    -1, SENTINEL, "", "unknown field" },
};

START_TEST (ftps_cert_parse_field_args_test) {
  char err[ERRLEN] = "", oid[128] = "";
  int field = SENTINEL, res;

  RUN(res, ftps_cert_parse_field(NULL, &field, oid, sizeof(oid), err,
    sizeof(err)));
  ASSERT_EINVAL(res, "NULL value");
  ck_assert_msg(field == SENTINEL, "Expected %d, got %d", SENTINEL, field);
  ck_assert_msg(strstr(err, "missing value") != NULL, "got '%s'", err);

  RUN(res, ftps_cert_parse_field("UPN", NULL, oid, sizeof(oid), err,
    sizeof(err)));
  ASSERT_EINVAL(res, "NULL field");

  /* An OID needs somewhere to go. */
  RUN(res, ftps_cert_parse_field(OID_CUSTOM, &field, NULL, 0, err,
    sizeof(err)));
  ASSERT_EINVAL(res, "OID, NULL buffer");
  ck_assert_msg(field == SENTINEL, "Expected %d, got %d", SENTINEL, field);

  RUN(res, ftps_cert_parse_field(OID_CUSTOM, &field, oid, 8, err,
    sizeof(err)));
  ASSERT_EINVAL(res, "OID, short buffer");
  ck_assert_msg(strstr(err, "OID too long") != NULL, "got '%s'", err);

  /* Names need no OID buffer, and no message buffer is ever required. */
  RUN(res, ftps_cert_parse_field("EmailAddress", &field, NULL, 0, NULL, 0));
  ck_assert_msg(res == 0, "Expected %d, got %d", 0, res);
  ck_assert_msg(field == FTPS_CERT_FIELD_EMAIL, "Expected %d, got %d",
    FTPS_CERT_FIELD_EMAIL, field);

  RUN(res, ftps_cert_parse_field("bogus", &field, oid, sizeof(oid), NULL, 0));
  ASSERT_EINVAL(res, "no err buffer");
}
END_TEST

START_TEST (ftps_cert_parse_field_values_test) {
  char err[ERRLEN] = "", oid[128] = "stale";
  int field = SENTINEL, res;

  RUN(res, ftps_cert_parse_field(parse_rows[_i].in, &field, oid, sizeof(oid),
    err, sizeof(err)));
  ck_assert_msg(res == parse_rows[_i].want_rc, "'%s': Expected %d, got %d",
    parse_rows[_i].in, parse_rows[_i].want_rc, res);
  ck_assert_msg(field == parse_rows[_i].want_field,
    "'%s': Expected %d, got %d", parse_rows[_i].in,
    parse_rows[_i].want_field, field);
  ck_assert_msg(strcmp(oid, parse_rows[_i].want_oid) == 0,
    "'%s': Expected OID '%s', got '%s'", parse_rows[_i].in,
    parse_rows[_i].want_oid, oid);
  if (res < 0) {
    ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL,
      errno);
    ck_assert_msg(strstr(err, parse_rows[_i].want_err) != NULL,
      "'%s': Expected error containing '%s', got '%s'", parse_rows[_i].in,
      parse_rows[_i].want_err, err);
  } else {
    ck_assert_msg(err[0] == '\0', "Expected no message, got '%s'", err);
  }
}
END_TEST

/* ---- ftps_cert_get_field ----------------------------------------------- */

#define CN      FTPS_CERT_FIELD_CN
#define EMAIL   FTPS_CERT_FIELD_EMAIL
#define UPN     FTPS_CERT_FIELD_UPN
#define OID     FTPS_CERT_FIELD_OID

static const struct {
  const char *name;
  int cert;
  int field;
  const char *oid;
  size_t outlen;            /* 0: NAMEBUF */
  int want_rc;
  const char *want_value;   /* rc 1 */
  int want_errno;           /* rc -1 */
} field_rows[] = {
  { "cn",                  CRT_ALICE, CN, NULL, 0, 1, "alice", 0 },
  { "cn_two_different",    CRT_CN_TWO, CN, NULL, 0, -1, "", EPERM },
  { "cn_two_identical",    CRT_CN_DUP, CN, NULL, 0, 1, "alice", 0 },
  { "cn_embedded_nul",     CRT_CN_NUL, CN, NULL, 0, -1, "", EILSEQ },
  { "cn_crlf",             CRT_CN_CTRL, CN, NULL, 0, -1, "", EILSEQ },
  { "cn_bmpstring",        CRT_CN_BMP, CN, NULL, 0, 1, "alice", 0 },
  { "cn_utf8",             CRT_CN_UTF8, CN, NULL, 0, 1, "Zo\xc3\xab", 0 },
  { "cn_empty",            CRT_CN_EMPTY, CN, NULL, 0, -1, "", EILSEQ },
  { "cn_none",             CRT_NO_CN, CN, NULL, 0, 0, "", 0 },
  { "cn_exact_fit",        CRT_ALICE, CN, NULL, 6, 1, "alice", 0 },
  { "cn_one_short",        CRT_ALICE, CN, NULL, 5, -1, "", ENAMETOOLONG },
  { "cn_outlen_1",         CRT_ALICE, CN, NULL, 1, -1, "", ENAMETOOLONG },
  { "cn_name_max",         CRT_CN_MAX, CN, NULL, 1024, 1, A256, 0 },
  { "cn_over_name_max",    CRT_CN_LONG, CN, NULL, 1024, -1, "",
    ENAMETOOLONG },
  { "cn_big_subject",      CRT_BIG_SUBJECT, CN, NULL, 0, 1, "alice", 0 },
  { "cn_many_sans",        CRT_MANY_SANS, CN, NULL, 0, 1, "alice", 0 },
  { "email_san",           CRT_EMAIL_SAN, EMAIL, NULL, 0, 1,
    "alice@example.com", 0 },
  { "email_san_two",       CRT_EMAIL_SAN_TWO, EMAIL, NULL, 0, -1, "", EPERM },
  { "email_san_identical", CRT_EMAIL_SAN_DUP, EMAIL, NULL, 0, 1,
    "alice@example.com", 0 },
  { "email_subject_only",  CRT_EMAIL_SUBJ, EMAIL, NULL, 0, 1,
    "bob@example.com", 0 },
  { "email_san_wins",      CRT_EMAIL_BOTH, EMAIL, NULL, 0, 1,
    "alice@example.com", 0 },
  { "email_dns_san_only",  CRT_EMAIL_DNS_SUBJ, EMAIL, NULL, 0, 1,
    "bob@example.com", 0 },
  { "email_san_nul",       CRT_EMAIL_SAN_NUL, EMAIL, NULL, 0, -1, "",
    EILSEQ },
  { "email_none",          CRT_ALICE, EMAIL, NULL, 0, 0, "", 0 },
  { "email_many_sans",     CRT_MANY_SANS, EMAIL, NULL, 0, 1,
    "alice@example.com", 0 },
  { "email_3000_same",     CRT_MANY_EMAILS, EMAIL, NULL, 0, 1,
    "alice@example.com", 0 },
  { "email_3000_then_other", CRT_MANY_EMAILS_DIFF, EMAIL, NULL, 0, -1, "",
    EPERM },
  { "email_two_san_exts",  CRT_TWO_SAN_EXTS, EMAIL, NULL, 0, -1, "", EILSEQ },
  { "upn",                 CRT_UPN, UPN, NULL, 0, 1, "alice@corp.example", 0 },
  { "upn_integer",         CRT_UPN_INT, UPN, NULL, 0, -1, "", EILSEQ },
  { "upn_other_othername", CRT_UPN_OTHER, UPN, NULL, 0, 1,
    "alice@corp.example", 0 },
  { "upn_two_different",   CRT_UPN_TWO, UPN, NULL, 0, -1, "", EPERM },
  { "upn_none",            CRT_EMAIL_SAN, UPN, NULL, 0, 0, "", 0 },
  { "upn_no_san",          CRT_ALICE, UPN, NULL, 0, 0, "", 0 },
  { "upn_many_sans",       CRT_MANY_SANS, UPN, NULL, 0, 1,
    "alice@corp.example", 0 },
  { "upn_two_san_exts",    CRT_TWO_SAN_EXTS, UPN, NULL, 0, -1, "", EILSEQ },
  { "upn_is_not_email",    CRT_UPN, EMAIL, NULL, 0, 0, "", 0 },
  { "oid_custom",          CRT_OID, OID, OID_CUSTOM, 0, 1, "ftpuser", 0 },
  { "oid_cn",              CRT_ALICE, OID, "2.5.4.3", 0, 1, "alice", 0 },
  { "oid_cn_ambiguous",    CRT_CN_TWO, OID, "2.5.4.3", 0, -1, "", EPERM },
  { "oid_email_subject",   CRT_EMAIL_SUBJ, OID, "1.2.840.113549.1.9.1", 0, 1,
    "bob@example.com", 0 },
  { "oid_absent",          CRT_ALICE, OID, OID_CUSTOM, 0, 0, "", 0 },
  { "oid_bit_string",      CRT_OID_BITSTR, OID, OID_CUSTOM, 0, -1, "",
    EILSEQ },
  { "oid_big_subject",     CRT_BIG_SUBJECT, OID, "2.5.4.10", 0, 1, "Example",
    0 },
};

START_TEST (ftps_cert_get_field_args_test) {
  char out[NAMEBUF];
  X509 *x = certs[CRT_ALICE];
  static const struct {
    int field;
    const char *oid;
  } bad[] = {
    { FTPS_CERT_FIELD_NONE, NULL }, { 99, NULL }, { -1, NULL },
    { OID, NULL }, { OID, "" }, { OID, "CN" }, { OID, "commonName" },
    { OID, "3.1" }, { OID, "2.5.4.3 " },
  };
  int i, res;

  RUN(res, ftps_cert_get_field(NULL, CN, NULL, out, sizeof(out)));
  ASSERT_EINVAL(res, "NULL cert");
  ck_assert_msg(out[0] == '\0', "Expected empty out, got '%s'", out);

  RUN(res, ftps_cert_get_field(x, CN, NULL, NULL, sizeof(out)));
  ASSERT_EINVAL(res, "NULL out");

  mark_point();
  errno = 0;
  out[0] = 'x';
  res = ftps_cert_get_field(x, CN, NULL, out, 0);
  ASSERT_EINVAL(res, "outlen 0");
  ck_assert_msg(out[0] == 'x', "outlen 0: Expected no write");

  for (i = 0; i < TESTS_NELEMS(bad); i++) {
    RUN(res, ftps_cert_get_field(x, bad[i].field, bad[i].oid, out,
      sizeof(out)));
    ASSERT_EINVAL(res, "bad row");
  }
}
END_TEST

START_TEST (ftps_cert_get_field_values_test) {
  char out[1024];
  size_t outlen = field_rows[_i].outlen > 0 ? field_rows[_i].outlen : NAMEBUF;
  const char *want_value = field_rows[_i].want_value;
  int res;

  memset(out, 'x', sizeof(out));
  RUN(res, ftps_cert_get_field(certs[field_rows[_i].cert],
    field_rows[_i].field, field_rows[_i].oid, out, outlen));
  ck_assert_msg(res == field_rows[_i].want_rc, "%s: Expected %d, got %d",
    field_rows[_i].name, field_rows[_i].want_rc, res);
  ck_assert_msg(strcmp(out, res == 1 ? want_value : "") == 0,
    "%s: Expected '%s', got '%s'", field_rows[_i].name,
    res == 1 ? want_value : "", out);
  if (res < 0) {
    ck_assert_msg(errno == field_rows[_i].want_errno,
      "%s: Expected errno %d, got %d", field_rows[_i].name,
      field_rows[_i].want_errno, errno);
  }
  ck_assert_msg(ERR_peek_error() == 0, "%s: OpenSSL error queue not empty",
    field_rows[_i].name);
}
END_TEST

/* ---- ftps_cert_fingerprint --------------------------------------------- */

static const int fp_certs[] = {
  CRT_ALICE, CRT_OTHER, CRT_BIG_SUBJECT, CRT_MANY_SANS, CRT_CN_NUL,
};

START_TEST (ftps_cert_fingerprint_args_test) {
  char hex[FTPS_CERT_FP_HEX_LEN] = "x";
  int res;

  RUN(res, ftps_cert_fingerprint(NULL, hex));
  ASSERT_EINVAL(res, "NULL cert");
  ck_assert_msg(hex[0] == '\0', "Expected empty hex, got '%s'", hex);

  RUN(res, ftps_cert_fingerprint(certs[CRT_ALICE], NULL));
  ASSERT_EINVAL(res, "NULL hex");
}
END_TEST

START_TEST (ftps_cert_fingerprint_known_answer_test) {
  char hex[FTPS_CERT_FP_HEX_LEN], want[65];
  unsigned char md[32];
  int res;

  fp_of(certs[fp_certs[_i]], md, want);
  memset(hex, 'x', sizeof(hex));
  RUN(res, ftps_cert_fingerprint(certs[fp_certs[_i]], hex));
  ck_assert_msg(res == 0, "Expected %d, got %d", 0, res);
  ck_assert_msg(strcmp(hex, want) == 0, "Expected '%s', got '%s'", want, hex);
  ck_assert_msg(strspn(hex, "0123456789abcdef") == 64,
    "Expected 64 lower-case hex digits, got '%s'", hex);
}
END_TEST

/* ---- ftps_cert_subject / issuer / serial / not_after ------------------- */

typedef int (*log_fn)(X509 *, char *, size_t);

typedef struct {
  const char *name;
  int cert;
  size_t outlen;
  const char *want;         /* NULL: only length and character set */
  size_t want_len;
} log_row_t;

static const log_row_t subject_rows[] = {
  { "plain",       CRT_ALICE, 256, "CN=alice,O=Example", 18 },
  { "truncated",   CRT_ALICE, 10, "CN=ali...", 9 },
  { "exact_fit",   CRT_ALICE, 19, "CN=alice,O=Example", 18 },
  { "one_short",   CRT_ALICE, 18, "CN=alice,O=Exa...", 17 },
  { "outlen_1",    CRT_ALICE, 1, "", 0 },
  { "tiny",        CRT_ALICE, 3, "CN", 2 },
  { "nul",         CRT_CN_NUL, 256, "CN=alice\\00.evil", 16 },
  { "crlf",        CRT_CN_CTRL, 256, "CN=alice\\0D\\0Amallory", 21 },
  { "utf8",        CRT_CN_UTF8, 256, "CN=Zo\\C3\\AB", 11 },
  { "empty_cn",    CRT_CN_EMPTY, 256, "CN=,O=Example", 13 },
  { "big_subject", CRT_BIG_SUBJECT, 256, NULL, 255 },
};

static const log_row_t issuer_rows[] = {
  { "self_issued", CRT_ALICE, 256, "CN=alice,O=Example", 18 },
  { "ca",          CRT_ISSUED, 256, "CN=Test CA", 10 },
  { "truncated",   CRT_ISSUED, 8, "CN=T...", 7 },
  { "big_subject", CRT_BIG_SUBJECT, 256, NULL, 255 },
};

static const log_row_t serial_rows[] = {
  { "plain",     CRT_ALICE, 64, "1234", 4 },
  { "one",       CRT_CN_TWO, 64, "01", 2 },
  { "20_bytes",  CRT_SERIAL_BIG, 64,
    "7FEDCBA9876543210FEDCBA9876543210FEDCBA9", 40 },
  { "negative",  CRT_SERIAL_NEG, 64, "-05", 3 },
  { "truncated", CRT_SERIAL_BIG, 11, "7FEDCBA...", 10 },
};

static const log_row_t not_after_rows[] = {
  { "generalized_time", CRT_ALICE, 64, "2030-01-02T03:04:05Z", 20 },
  { "utctime",          CRT_UTCTIME, 64, "2049-12-31T23:59:59Z", 20 },
  { "exact_fit",        CRT_ALICE, 21, "2030-01-02T03:04:05Z", 20 },
  { "truncated",        CRT_ALICE, 11, "2030-01...", 10 },
};

/* The NULL/EINVAL contract shared by the four log-string functions. */
static void check_log_args(log_fn fn, const char *what) {
  char out[64] = "x";
  int res;

  RUN(res, fn(NULL, out, sizeof(out)));
  ASSERT_EINVAL(res, what);
  ck_assert_msg(out[0] == '\0', "%s: Expected empty out", what);

  RUN(res, fn(certs[CRT_ALICE], NULL, sizeof(out)));
  ASSERT_EINVAL(res, what);

  mark_point();
  errno = 0;
  out[0] = 'x';
  res = fn(certs[CRT_ALICE], out, 0);
  ASSERT_EINVAL(res, what);
  ck_assert_msg(out[0] == 'x', "%s: outlen 0: Expected no write", what);
}

static void check_log_row(log_fn fn, const log_row_t *row) {
  char out[1024];
  size_t i, len;
  int res;

  memset(out, 'x', sizeof(out));
  RUN(res, fn(certs[row->cert], out, row->outlen));
  ck_assert_msg(res == 0, "%s: Expected %d, got %d", row->name, 0, res);
  len = strlen(out);
  ck_assert_msg(len == row->want_len, "%s: Expected %zu, got %zu",
    row->name, row->want_len, len);
  ck_assert_msg(row->want == NULL || strcmp(out, row->want) == 0,
    "%s: Expected '%s', got '%s'", row->name, row->want, out);
  for (i = 0; i < len; i++) {
    ck_assert_msg(out[i] >= 0x20 && out[i] < 0x7f,
      "%s: non-printable byte 0x%02x at %zu", row->name,
      (unsigned char) out[i], i);
  }
  ck_assert_msg(ERR_peek_error() == 0, "%s: OpenSSL error queue not empty",
    row->name);
}

START_TEST (ftps_cert_subject_args_test) {
  check_log_args(ftps_cert_subject, "subject");
}
END_TEST

START_TEST (ftps_cert_subject_values_test) {
  check_log_row(ftps_cert_subject, &subject_rows[_i]);
}
END_TEST

START_TEST (ftps_cert_issuer_args_test) {
  check_log_args(ftps_cert_issuer, "issuer");
}
END_TEST

START_TEST (ftps_cert_issuer_values_test) {
  check_log_row(ftps_cert_issuer, &issuer_rows[_i]);
}
END_TEST

START_TEST (ftps_cert_serial_args_test) {
  check_log_args(ftps_cert_serial, "serial");
}
END_TEST

START_TEST (ftps_cert_serial_values_test) {
  check_log_row(ftps_cert_serial, &serial_rows[_i]);
}
END_TEST

START_TEST (ftps_cert_not_after_args_test) {
  check_log_args(ftps_cert_not_after, "not_after");
}
END_TEST

START_TEST (ftps_cert_not_after_values_test) {
  check_log_row(ftps_cert_not_after, &not_after_rows[_i]);
}
END_TEST

/* ---- ftps_cert_authorized ---------------------------------------------- */

/*
 * File templates; tokens expand to text about CRT_ALICE (the certificate
 * whose fingerprint is asked about) or CRT_OTHER:
 *   @C  AB:CD:... (upper case, colons)   @h / @H  64 hex, lower / upper
 *   @P  PEM of alice (LF)   @R  the same with CRLF   @Q  PEM of other
 *   @B  alice's PEM without its BEGIN line
 *   @T  alice's PEM cut in the middle (no END line)
 *   @X  alice's PEM with a corrupted body   @O  other's fingerprint
 *   @s  31 bytes of alice's fp   @l  33 bytes   @0  a NUL byte
 */
static const struct {
  const char *name;
  const char *text;
  int want_rc;
  int want_bad;
} auth_rows[] = {
  { "sha256_colons_upper", "SHA256:@C\n", 1, 0 },
  { "colons_upper",        "@C\n", 1, 0 },
  { "sha256_lower_prefix", "sha256:@h\n", 1, 0 },
  { "plain_hex",           "@h\n", 1, 0 },
  { "plain_hex_upper",     "@H\n", 1, 0 },
  { "no_final_newline",    "@h", 1, 0 },
  { "pem",                 "@P", 1, 0 },
  { "pem_crlf",            "@R", 1, 0 },
  { "pem_among_others",    "# certs\n@Q\n@P\n@Q", 1, 0 },
  { "pem_indented_comment", "  -----BEGIN CERTIFICATE----- # alice\n@B", 1,
    0 },
  { "other_fp",            "SHA256:@O\n@O\n", 0, 0 },
  { "other_pem",           "@Q", 0, 0 },
  { "garbage_counted",     "hello\nworld\n@h\n", 1, 2 },
  { "garbage_only",        "ssh-rsa AAAA\n-----END CERTIFICATE-----\n", 0, 2 },
  { "truncated_pem",       "@T", 0, 1 },
  { "truncated_pem_eats_rest", "@T@h\n", 0, 1 },
  { "corrupt_pem",         "@X@h\n", 1, 1 },
  { "crlf",                "# list\r\n\r\nSHA256:@C\r\n", 1, 0 },
  { "crlf_other",          "# list\r\n@O\r\n", 0, 0 },
  { "comments_blank",      "# nothing here\n\n   \n\t# @h\n", 0, 0 },
  { "empty",               "", 0, 0 },
  { "trailing_comment",    "@h   # alice's laptop\n", 1, 0 },
  { "surrounding_blanks",  " \t@h \t\n", 1, 0 },
  { "short_fp",            "@s\n", 0, 1 },
  { "long_fp",             "@l\n", 0, 1 },
  { "fp_inside_text",      "key @h\n", 0, 1 },
  { "fp_space_inside",     "SHA256: @h\n", 0, 1 },
  { "sha1_prefix",         "SHA1:@h\n", 0, 1 },
  { "colon_leading",       ":@C\n", 0, 1 },
  { "colon_trailing",      "@C:\n", 0, 1 },
  { "nul_byte",            "junk@0\n@h\n", 1, 1 },
  { "nul_in_fp",           "@h@0\n", 0, 1 },
  { "after_match_counted", "@h\nbad\nworse\n", 1, 2 },
};

static char alice_hex[65], other_hex[65];
static unsigned char alice_md[32];

static void out_str(char **p, const char *s, size_t n) {
  memcpy(*p, s, n);
  *p += n;
}

static char *pem_of(X509 *x, size_t *len) {
  BIO *bio = BIO_new(BIO_s_mem());
  char *data, *copy;
  long n;

  ck_assert(bio != NULL && PEM_write_bio_X509(bio, x) == 1);
  n = BIO_get_mem_data(bio, &data);
  copy = malloc((size_t) n + 1);
  ck_assert(copy != NULL);
  memcpy(copy, data, (size_t) n);
  copy[n] = '\0';
  *len = (size_t) n;
  BIO_free(bio);
  return copy;
}

/* The token's text, written at *p. */
static void expand_token(char **p, char tok) {
  char colon[3 * 32], hex[2 * 33 + 1];
  size_t i, len;
  char *pem = pem_of(certs[tok == 'Q' ? CRT_OTHER : CRT_ALICE], &len);

  for (i = 0; i < 32; i++) {
    snprintf(colon + 3 * i, 4, "%02X%s", alice_md[i], i < 31 ? ":" : "");
  }
  memcpy(hex, alice_hex, 64);
  memcpy(hex + 64, "ab", 3);
  switch (tok) {
  case 'C': out_str(p, colon, strlen(colon)); break;
  case 'h': out_str(p, alice_hex, 64); break;
  case 'H': for (i = 0; i < 64; i++) { *(*p)++ = (char) toupper(
      (unsigned char) alice_hex[i]); } break;
  case 'O': out_str(p, other_hex, 64); break;
  case 's': out_str(p, hex, 62); break;
  case 'l': out_str(p, hex, 66); break;
  case '0': *(*p)++ = '\0'; break;
  case 'P': case 'Q': out_str(p, pem, len); break;
  case 'B': out_str(p, pem + 28, len - 28); break;
  case 'T': out_str(p, pem, len / 2); *(*p)++ = '\n'; break;
  case 'X': pem[len / 2] = '!'; pem[len / 2 + 1] = '*'; out_str(p, pem, len);
    break;
  case 'R': for (i = 0; i < len; i++) { if (pem[i] == '\n') *(*p)++ = '\r';
      *(*p)++ = pem[i]; } break;
  default: ck_abort_msg("unknown token @%c", tok);
  }
  free(pem);
}

/* Expands a template into buf (big enough: 16 KB); the length. */
static size_t expand(const char *text, char *buf) {
  char *p = buf;

  for (; *text != '\0'; text++) {
    if (*text == '@') {
      expand_token(&p, *++text);
    } else {
      *p++ = *text;
    }
  }
  return (size_t) (p - buf);
}

static void auth_setup(void) {
  unsigned char md[32];

  certs_setup();
  fp_of(certs[CRT_ALICE], alice_md, alice_hex);
  fp_of(certs[CRT_OTHER], md, other_hex);
}

START_TEST (ftps_cert_authorized_args_test) {
  static const char *bad_fps[] = {
    NULL, "", "abc", "SHA256:00",
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1",
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f0",
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1g",
    "00:01:02:03:04:05:06:07:08:09:0a:0b:0c:0d:0e:0f:10:11:12:13:14:15",
  };
  char upper[65];
  int bad = SENTINEL, i, res;

  for (i = 0; i < TESTS_NELEMS(bad_fps); i++) {
    bad = SENTINEL;
    RUN(res, ftps_cert_authorized("x\n", 2, bad_fps[i], &bad));
    ASSERT_EINVAL(res, "fp row");
    ck_assert_msg(bad == 0, "fp %d: Expected %d, got %d", i, 0, bad);
  }

  RUN(res, ftps_cert_authorized(NULL, 1, alice_hex, &bad));
  ASSERT_EINVAL(res, "NULL buf, len 1");

  RUN(res, ftps_cert_authorized(NULL, 0, alice_hex, &bad));
  ck_assert_msg(res == 0, "Expected %d, got %d", 0, res);

  /* bad_lines may be NULL; the caller's fingerprint may be upper case. */
  for (i = 0; i < 64; i++) {
    upper[i] = (char) toupper((unsigned char) alice_hex[i]);
  }
  upper[64] = '\0';
  RUN(res, ftps_cert_authorized(alice_hex, 64, upper, NULL));
  ck_assert_msg(res == 1, "Expected %d, got %d", 1, res);
}
END_TEST

START_TEST (ftps_cert_authorized_file_test) {
  static char buf[16384];
  size_t len = expand(auth_rows[_i].text, buf);
  int bad = SENTINEL, res;

  RUN(res, ftps_cert_authorized(buf, len, alice_hex, &bad));
  ck_assert_msg(res == auth_rows[_i].want_rc, "%s: Expected %d, got %d",
    auth_rows[_i].name, auth_rows[_i].want_rc, res);
  ck_assert_msg(bad == auth_rows[_i].want_bad,
    "%s: Expected %d bad lines, got %d", auth_rows[_i].name,
    auth_rows[_i].want_bad, bad);
  ck_assert_msg(ERR_peek_error() == 0, "%s: OpenSSL error queue not empty",
    auth_rows[_i].name);
}
END_TEST

/* Bounded work: 200,000 garbage lines and 300 PEM blocks stay linear. */
START_TEST (ftps_cert_authorized_large_test) {
  size_t pem_len, len, i, lines = 200000, blocks = 300;
  char *pem = pem_of(certs[CRT_OTHER], &pem_len);
  char *buf = malloc(lines * 4 + (blocks + 1) * pem_len + 128);
  char *p = buf;
  int bad = 0, res;

  ck_assert(buf != NULL);
  for (i = 0; i < lines; i++) {
    out_str(&p, "zz\r\n", 4);
  }
  for (i = 0; i < blocks; i++) {
    out_str(&p, pem, pem_len);
  }
  out_str(&p, alice_hex, 64);
  len = (size_t) (p - buf);
  RUN(res, ftps_cert_authorized(buf, len, alice_hex, &bad));
  ck_assert_msg(res == 1, "Expected %d, got %d", 1, res);
  ck_assert_msg(bad == (int) lines, "Expected %d, got %d", (int) lines, bad);
  free(buf);
  free(pem);
}
END_TEST

Suite *tests_get_cert_suite(void) {
  Suite *suite = suite_create("ftps_cert");
  TCase *tc;

  tc = tcase_create("parse_field");
  tcase_add_test(tc, ftps_cert_parse_field_args_test);
  tcase_add_loop_test(tc, ftps_cert_parse_field_values_test, 0,
    TESTS_NELEMS(parse_rows));
  suite_add_tcase(suite, tc);

  tc = tcase_create("get_field");
  tcase_add_unchecked_fixture(tc, certs_setup, certs_teardown);
  tcase_add_test(tc, ftps_cert_get_field_args_test);
  tcase_add_loop_test(tc, ftps_cert_get_field_values_test, 0,
    TESTS_NELEMS(field_rows));
  suite_add_tcase(suite, tc);

  tc = tcase_create("fingerprint");
  tcase_add_unchecked_fixture(tc, certs_setup, certs_teardown);
  tcase_add_test(tc, ftps_cert_fingerprint_args_test);
  tcase_add_loop_test(tc, ftps_cert_fingerprint_known_answer_test, 0,
    TESTS_NELEMS(fp_certs));
  suite_add_tcase(suite, tc);

  tc = tcase_create("log_strings");
  tcase_add_unchecked_fixture(tc, certs_setup, certs_teardown);
  tcase_add_test(tc, ftps_cert_subject_args_test);
  tcase_add_loop_test(tc, ftps_cert_subject_values_test, 0,
    TESTS_NELEMS(subject_rows));
  tcase_add_test(tc, ftps_cert_issuer_args_test);
  tcase_add_loop_test(tc, ftps_cert_issuer_values_test, 0,
    TESTS_NELEMS(issuer_rows));
  tcase_add_test(tc, ftps_cert_serial_args_test);
  tcase_add_loop_test(tc, ftps_cert_serial_values_test, 0,
    TESTS_NELEMS(serial_rows));
  tcase_add_test(tc, ftps_cert_not_after_args_test);
  tcase_add_loop_test(tc, ftps_cert_not_after_values_test, 0,
    TESTS_NELEMS(not_after_rows));
  suite_add_tcase(suite, tc);

  tc = tcase_create("authorized");
  tcase_add_unchecked_fixture(tc, auth_setup, certs_teardown);
  tcase_add_test(tc, ftps_cert_authorized_args_test);
  tcase_add_loop_test(tc, ftps_cert_authorized_file_test, 0,
    TESTS_NELEMS(auth_rows));
  tcase_add_test(tc, ftps_cert_authorized_large_test);
  suite_add_tcase(suite, tc);

  return suite;
}
