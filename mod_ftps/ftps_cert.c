/*
 * ftps_cert.c -- owns what mod_ftps reads out of a client certificate: the
 * FTPSUserName field (subject CN, rfc822Name SAN / subject emailAddress,
 * UPN otherName, any subject attribute by dotted OID), the SHA-256
 * fingerprint, the subject/issuer/serial/notAfter strings for logs, and the
 * FTPSAuthorizedCertificates file format.
 *
 * OpenSSL only; must not include ProFTPD headers (B2). Fuzzed by
 * tests/fuzz/fuzz_cert_name.c, unit-tested by tests/api/ftps_cert.c.
 *
 * Errors (B11): -1 with errno EINVAL (bad argument), EPERM (the field holds
 * several different values), EILSEQ (unusable value: embedded NUL or control
 * character, empty, not a string, malformed extension), ENAMETOOLONG (value
 * longer than the caller's buffer or FTPS_CERT_NAME_MAX), ENOMEM or EIO
 * (OpenSSL failed). The OpenSSL error queue is left empty.
 */

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ftps/ftps_cert.h"

#define CERT_NELEMS(a)    (sizeof(a) / sizeof((a)[0]))

#define CERT_FP_LEN       32    /* SHA-256 digest bytes */
#define CERT_OID_MAX      128   /* longest dotted OID text, with its NUL */
#define CERT_SERIAL_MAX   64    /* serial bytes shown (RFC 5280 allows 20) */

#define CERT_PEM_BEGIN    "-----BEGIN CERTIFICATE-----"
#define CERT_PEM_END      "-----END CERTIFICATE-----"

static const char hex_lower[] = "0123456789abcdef";
static const char hex_upper[] = "0123456789ABCDEF";

/* ---- FTPSUserName parsing --------------------------------------------- */

static const struct {
  const char *name;
  int field;
} field_names[] = {
  { "off",          FTPS_CERT_FIELD_NONE },
  { "CommonName",   FTPS_CERT_FIELD_CN },
  { "EmailAddress", FTPS_CERT_FIELD_EMAIL },
  { "UPN",          FTPS_CERT_FIELD_UPN },
};

static void set_err(char *err, size_t errlen, const char *fmt, ...) {
  va_list ap;

  if (err == NULL || errlen == 0) {
    return;
  }
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
}

/* Digits and single dots, two arcs or more: "2.5.4.3", never "CN", "1.",
 * ".1", "1..2" or " 1.2" (OBJ_txt2obj would accept some of those). */
static int oid_syntax_ok(const char *s) {
  size_t i, arcs = 1, digits = 0;

  for (i = 0; s[i] != '\0' && i < CERT_OID_MAX; i++) {
    if (s[i] >= '0' && s[i] <= '9') {
      digits++;
    } else if (s[i] == '.' && digits > 0) {
      arcs++;
      digits = 0;
    } else {
      return 0;
    }
  }
  return s[i] == '\0' && i < CERT_OID_MAX && digits > 0 && arcs >= 2;
}

/* The object for a dotted OID, or NULL/EINVAL. Caller frees. */
static ASN1_OBJECT *oid_parse(const char *s) {
  ASN1_OBJECT *obj;

  if (s == NULL || !oid_syntax_ok(s)) {
    errno = EINVAL;
    return NULL;
  }
  /* no_name = 1: numeric form only, so "CN" or "emailAddress" never pass;
   * OpenSSL also checks the arcs (first 0-2, second < 40 under 0 and 1). */
  ERR_clear_error();
  obj = OBJ_txt2obj(s, 1);
  ERR_clear_error();
  if (obj == NULL) {
    errno = EINVAL;
  }
  return obj;
}

/* Stores the canonical dotted form of obj, so "2.5.4.03" is kept as
 * "2.5.4.3" and the runtime reparses exactly what was checked (B6). */
static int oid_store(const ASN1_OBJECT *obj, char *oid, size_t oidlen,
    char *err, size_t errlen) {
  int n;

  ERR_clear_error();
  n = oid != NULL && oidlen > 0 && oidlen <= INT_MAX ?
    OBJ_obj2txt(oid, (int) oidlen, obj, 1) : -1;
  ERR_clear_error();
  if (n <= 0 || (size_t) n >= oidlen) {
    if (oid != NULL && oidlen > 0) {
      oid[0] = '\0';
    }
    set_err(err, errlen, "OID too long; at most %d characters",
      CERT_OID_MAX - 1);
    errno = EINVAL;
    return -1;
  }
  return 0;
}

int ftps_cert_parse_field(const char *s, int *field, char *oid,
    size_t oidlen, char *err, size_t errlen) {
  ASN1_OBJECT *obj;
  size_t i;
  int res;

  set_err(err, errlen, "%s", "");
  if (oid != NULL && oidlen > 0) {
    oid[0] = '\0';
  }
  if (s == NULL || field == NULL) {
    set_err(err, errlen, "missing value; expected off, CommonName, "
      "EmailAddress, UPN or a dotted OID");
    errno = EINVAL;
    return -1;
  }
  for (i = 0; i < CERT_NELEMS(field_names); i++) {
    if (strcasecmp(s, field_names[i].name) == 0) {
      *field = field_names[i].field;
      return 0;
    }
  }
  if (!oid_syntax_ok(s)) {
    set_err(err, errlen, "unknown field '%.64s'; expected off, CommonName, "
      "EmailAddress, UPN or a dotted OID such as 2.5.4.3", s);
    errno = EINVAL;
    return -1;
  }
  obj = oid_parse(s);
  if (obj == NULL) {
    set_err(err, errlen, "invalid OID '%.64s'; expected a dotted OID whose "
      "first arc is 0, 1 or 2 (second arc below 40 under 0 and 1)", s);
    errno = EINVAL;
    return -1;
  }
  res = oid_store(obj, oid, oidlen, err, errlen);
  ASN1_OBJECT_free(obj);
  if (res == 0) {
    *field = FTPS_CERT_FIELD_OID;
  }
  return res;
}

/* ---- Field values ------------------------------------------------------ */

/* The one distinct value seen so far for a field. */
typedef struct {
  char val[FTPS_CERT_NAME_MAX + 1];
  size_t len;
  size_t max;         /* longest acceptable value, bytes */
  int found;
} cert_name_t;

typedef int (*cert_collect_fn)(X509 *cert, const char *oid, cert_name_t *nm);

/* Character-string types a name can be; ASN1_STRING_to_UTF8 knows each. */
static const int string_types[] = {
  V_ASN1_UTF8STRING, V_ASN1_PRINTABLESTRING, V_ASN1_IA5STRING,
  V_ASN1_T61STRING, V_ASN1_BMPSTRING, V_ASN1_UNIVERSALSTRING,
  V_ASN1_VISIBLESTRING, V_ASN1_NUMERICSTRING,
};

static int string_type_ok(const ASN1_STRING *s) {
  size_t i;

  for (i = 0; s != NULL && i < CERT_NELEMS(string_types); i++) {
    if (ASN1_STRING_type(s) == string_types[i]) {
      return 1;
    }
  }
  return 0;
}

/* Adds one UTF-8 candidate; -1 (errno set) makes the whole field unusable,
 * never just this entry, so no check can be dodged by adding entries. */
static int name_keep(cert_name_t *nm, const unsigned char *v, size_t len) {
  size_t i;

  /* SECURITY: a NUL inside the value ("alice\0.evil") makes every C-string
   * consumer see "alice" (mod_tls bug 3275); control characters would
   * reach log lines (CR/LF injection). No user name contains either. */
  for (i = 0; i < len; i++) {
    if (v[i] < 0x20 || v[i] == 0x7f) {
      errno = EILSEQ;
      return -1;
    }
  }
  if (len == 0) {
    errno = EILSEQ;
    return -1;
  }
  /* SECURITY: never match on a truncated prefix of a longer value. */
  if (len > nm->max) {
    errno = ENAMETOOLONG;
    return -1;
  }
  if (!nm->found) {
    memcpy(nm->val, v, len);
    nm->val[len] = '\0';
    nm->len = len;
    nm->found = 1;
    return 0;
  }
  /* SECURITY: two different values are ambiguous; picking either one would
   * let whoever got the second value into the certificate choose the
   * account. Identical duplicates are harmless. */
  if (len != nm->len || memcmp(v, nm->val, len) != 0) {
    errno = EPERM;
    return -1;
  }
  return 0;
}

static int name_add(cert_name_t *nm, const ASN1_STRING *s) {
  unsigned char *utf8 = NULL;
  int n, res;

  /* SECURITY: only character strings; a BIT STRING or SEQUENCE value is
   * bytes chosen by the issuer's software, not a name. */
  if (!string_type_ok(s)) {
    errno = EILSEQ;
    return -1;
  }
  /* UTF-8 needs at least a quarter of the bytes of any input encoding:
   * refuse hopelessly long values without converting them. */
  if ((size_t) ASN1_STRING_length(s) / 4 > nm->max) {
    errno = ENAMETOOLONG;
    return -1;
  }
  ERR_clear_error();
  n = ASN1_STRING_to_UTF8(&utf8, s);
  ERR_clear_error();
  if (n < 0 || utf8 == NULL) {
    errno = EILSEQ;
    return -1;
  }
  /* The length comes from the conversion, never from strlen(). */
  res = name_keep(nm, utf8, (size_t) n);
  OPENSSL_free(utf8);
  return res;
}

/* Every subject attribute of type obj; linear in the number of entries. */
static int collect_subject(X509 *cert, const ASN1_OBJECT *obj,
    cert_name_t *nm) {
  const X509_NAME *name = X509_get_subject_name(cert);
  const X509_NAME_ENTRY *ne;
  int i = -1;

  if (name == NULL || obj == NULL) {
    return 0;
  }
  for (;;) {
    i = X509_NAME_get_index_by_OBJ(name, obj, i);
    if (i < 0) {
      return 0;
    }
    ne = X509_NAME_get_entry(name, i);
    if (ne == NULL || name_add(nm, X509_NAME_ENTRY_get_data(ne)) < 0) {
      if (ne == NULL) {
        errno = EILSEQ;
      }
      return -1;
    }
  }
}

/* The subjectAltName entries (*gens NULL when there are none). */
static int san_get(X509 *cert, GENERAL_NAMES **gens) {
  int crit = -1;

  ERR_clear_error();
  *gens = X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, NULL);
  ERR_clear_error();
  if (*gens != NULL || crit == -1) {
    return 0;
  }
  /* SECURITY: a SAN that does not decode, or that appears twice (RFC 5280
   * §4.2), is malformed: it must not count as "no SAN" and fall back to
   * the subject's emailAddress. */
  errno = EILSEQ;
  return -1;
}

static int collect_cn(X509 *cert, const char *oid, cert_name_t *nm) {
  return collect_subject(cert, OBJ_nid2obj(NID_commonName), nm);
}

/* Feed every subjectAltName entry to take(); stops at the first error. */
static int san_walk(X509 *cert, cert_name_t *nm,
    int (*take)(const GENERAL_NAME *, cert_name_t *)) {
  GENERAL_NAMES *gens;
  int i, res = 0;

  if (san_get(cert, &gens) < 0) {
    return -1;
  }
  for (i = 0; res == 0 && i < sk_GENERAL_NAME_num(gens); i++) {
    res = take(sk_GENERAL_NAME_value(gens, i), nm);
  }
  GENERAL_NAMES_free(gens);
  return res;
}

static int take_email(const GENERAL_NAME *gen, cert_name_t *nm) {
  return gen->type == GEN_EMAIL ? name_add(nm, gen->d.rfc822Name) : 0;
}

static int collect_email(X509 *cert, const char *oid, cert_name_t *nm) {
  int res = san_walk(cert, nm, take_email);

  if (res < 0 || nm->found) {
    return res;
  }
  /* RFC 5280 §4.2.1.6: emailAddress in the subject is legacy; it counts
   * only when the certificate has no rfc822Name SAN at all. */
  return collect_subject(cert, OBJ_nid2obj(NID_pkcs9_emailAddress), nm);
}

static int upn_add(cert_name_t *nm, const ASN1_TYPE *value) {
  /* SECURITY: a UPN is a UTF8String (MS-WCCE); any other type is
   * malformed, never a value to reinterpret. */
  if (value == NULL || value->type != V_ASN1_UTF8STRING) {
    errno = EILSEQ;
    return -1;
  }
  return name_add(nm, value->value.utf8string);
}

static int take_upn(const GENERAL_NAME *gen, cert_name_t *nm) {
  if (gen->type != GEN_OTHERNAME ||
      OBJ_cmp(gen->d.otherName->type_id, OBJ_nid2obj(NID_ms_upn)) != 0) {
    return 0;
  }
  return upn_add(nm, gen->d.otherName->value);
}

static int collect_upn(X509 *cert, const char *oid, cert_name_t *nm) {
  return san_walk(cert, nm, take_upn);
}

static int collect_oid(X509 *cert, const char *oid, cert_name_t *nm) {
  ASN1_OBJECT *obj = oid_parse(oid);
  int res;

  if (obj == NULL) {
    return -1;
  }
  res = collect_subject(cert, obj, nm);
  ASN1_OBJECT_free(obj);
  return res;
}

static const struct {
  int field;
  cert_collect_fn collect;
} collectors[] = {
  { FTPS_CERT_FIELD_CN,    collect_cn },
  { FTPS_CERT_FIELD_EMAIL, collect_email },
  { FTPS_CERT_FIELD_UPN,   collect_upn },
  { FTPS_CERT_FIELD_OID,   collect_oid },
};

static cert_collect_fn collector_for(int field) {
  size_t i;

  for (i = 0; i < CERT_NELEMS(collectors); i++) {
    if (collectors[i].field == field) {
      return collectors[i].collect;
    }
  }
  return NULL;
}

int ftps_cert_get_field(X509 *cert, int field, const char *oid, char *out,
    size_t outlen) {
  cert_collect_fn collect = collector_for(field);
  cert_name_t nm;

  if (out != NULL && outlen > 0) {
    out[0] = '\0';
  }
  if (cert == NULL || out == NULL || outlen == 0 || collect == NULL) {
    errno = EINVAL;
    return -1;
  }
  memset(&nm, 0, sizeof(nm));
  nm.max = outlen - 1 < FTPS_CERT_NAME_MAX ? outlen - 1 : FTPS_CERT_NAME_MAX;
  if (collect(cert, oid, &nm) < 0) {
    return -1;
  }
  if (!nm.found) {
    return 0;
  }
  memcpy(out, nm.val, nm.len + 1);
  return 1;
}

/* ---- Fingerprint and log strings -------------------------------------- */

static void hex_encode(const unsigned char *in, size_t n, const char *digits,
    char *out) {
  size_t i;

  for (i = 0; i < n; i++) {
    out[2 * i] = digits[in[i] >> 4];
    out[2 * i + 1] = digits[in[i] & 0x0f];
  }
  out[2 * n] = '\0';
}

void ftps_cert_free(ftps_cert_t *cert) {
  X509_free(cert);
}

int ftps_cert_fingerprint(X509 *cert, char hex[FTPS_CERT_FP_HEX_LEN]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  int ok;

  if (hex != NULL) {
    hex[0] = '\0';
  }
  if (cert == NULL || hex == NULL) {
    errno = EINVAL;
    return -1;
  }
  ERR_clear_error();
  ok = X509_digest(cert, EVP_sha256(), md, &n);
  ERR_clear_error();
  if (ok != 1 || n != CERT_FP_LEN) {
    errno = EIO;
    return -1;
  }
  hex_encode(md, n, hex_lower, hex);
  return 0;
}

/* Copies len bytes of text for a log line, truncated with "..." when it
 * does not fit; always NUL-terminated. */
static void log_copy(char *out, size_t outlen, const char *s, size_t len) {
  size_t i, n = len < outlen - 1 ? len : outlen - 1;

  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char) s[i];

    /* SECURITY: peer-chosen text goes into log lines and environment
     * variables: printable ASCII only, so no CR/LF injection or NUL. */
    out[i] = (c >= 0x20 && c < 0x7f) ? (char) c : '?';
  }
  out[n] = '\0';
  if (n < len && n >= 3) {
    memcpy(out + n - 3, "...", 3);
  }
}

static int log_args_ok(X509 *cert, char *out, size_t outlen) {
  if (out != NULL && outlen > 0) {
    out[0] = '\0';
  }
  if (cert == NULL || out == NULL || outlen == 0) {
    errno = EINVAL;
    return 0;
  }
  return 1;
}

/* RFC 2253 form; its escaping already turns control and non-ASCII bytes
 * into \XX, log_copy() is the second line of defence. */
static int name_print(const X509_NAME *name, char *out, size_t outlen) {
  BIO *bio;
  char *data = NULL;
  long len;
  int res = -1;

  if (name == NULL) {
    errno = EILSEQ;
    return -1;
  }
  ERR_clear_error();
  bio = BIO_new(BIO_s_mem());
  if (bio == NULL) {
    errno = ENOMEM;
    return -1;
  }
  if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) >= 0 &&
      (len = BIO_get_mem_data(bio, &data)) >= 0) {
    log_copy(out, outlen, data, (size_t) len);
    res = 0;
  } else {
    errno = EIO;
  }
  BIO_free(bio);
  ERR_clear_error();
  return res;
}

int ftps_cert_subject(X509 *cert, char *out, size_t outlen) {
  if (!log_args_ok(cert, out, outlen)) {
    return -1;
  }
  return name_print(X509_get_subject_name(cert), out, outlen);
}

int ftps_cert_issuer(X509 *cert, char *out, size_t outlen) {
  if (!log_args_ok(cert, out, outlen)) {
    return -1;
  }
  return name_print(X509_get_issuer_name(cert), out, outlen);
}

/* Upper-case hex of the serial's magnitude, as `openssl x509 -serial`
 * prints it ("-" first if negative, which RFC 5280 forbids but parsers
 * accept). */
int ftps_cert_serial(X509 *cert, char *out, size_t outlen) {
  char buf[1 + 2 * CERT_SERIAL_MAX + 4];
  const ASN1_INTEGER *sn;
  size_t n = 0, len;

  if (!log_args_ok(cert, out, outlen)) {
    return -1;
  }
  sn = X509_get0_serialNumber(cert);
  if (sn == NULL) {
    errno = EILSEQ;
    return -1;
  }
  if (ASN1_STRING_type(sn) == V_ASN1_NEG_INTEGER) {
    buf[n++] = '-';
  }
  len = (size_t) ASN1_STRING_length(sn);
  if (len == 0) {
    memcpy(buf + n, "00", 3);
  } else {
    hex_encode(ASN1_STRING_get0_data(sn),
      len < CERT_SERIAL_MAX ? len : CERT_SERIAL_MAX, hex_upper, buf + n);
  }
  if (len > CERT_SERIAL_MAX) {
    strcat(buf, "...");
  }
  log_copy(out, outlen, buf, strlen(buf));
  return 0;
}

int ftps_cert_not_after(X509 *cert, char *out, size_t outlen) {
  const ASN1_TIME *t;
  struct tm tm;
  char buf[64];
  int ok;

  if (!log_args_ok(cert, out, outlen)) {
    return -1;
  }
  /* ASN1_TIME_to_tm(NULL) would give the current time. */
  t = X509_get0_notAfter(cert);
  memset(&tm, 0, sizeof(tm));
  ERR_clear_error();
  ok = t != NULL && ASN1_TIME_to_tm(t, &tm) == 1;
  ERR_clear_error();
  if (!ok || strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
    errno = EILSEQ;
    return -1;
  }
  log_copy(out, outlen, buf, strlen(buf));
  return 0;
}

/* ---- Authorized-certificates file -------------------------------------- */

typedef struct {
  const char *buf;
  size_t len;
  size_t pos;
} cert_cursor_t;

typedef struct {
  const char *p;      /* content: no comment, CR or surrounding blanks */
  size_t len;
} cert_line_t;

typedef struct {
  unsigned char want[CERT_FP_LEN];
  int listed;
  int bad;
  int failed;         /* out of memory: the answer would be unreliable */
} cert_auth_t;

static int is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static void line_trim(cert_line_t *line, const char *s, size_t len) {
  const char *hash = memchr(s, '#', len);

  if (hash != NULL) {
    len = (size_t) (hash - s);
  }
  while (len > 0 && is_blank(s[len - 1])) {
    len--;
  }
  while (len > 0 && is_blank(*s)) {
    s++;
    len--;
  }
  line->p = s;
  line->len = len;
}

/* The next line, '\n' or CRLF terminated or the unterminated last one. */
static int line_next(cert_cursor_t *cur, cert_line_t *line) {
  const char *start, *nl;
  size_t rest, len;

  if (cur->pos >= cur->len) {
    return 0;
  }
  start = cur->buf + cur->pos;
  rest = cur->len - cur->pos;
  nl = memchr(start, '\n', rest);
  len = nl != NULL ? (size_t) (nl - start) : rest;
  cur->pos += nl != NULL ? len + 1 : len;
  line_trim(line, start, len);
  return 1;
}

static int line_is(const cert_line_t *line, const char *text) {
  size_t n = strlen(text);

  return line->len == n && memcmp(line->p, text, n) == 0;
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

/* "SHA256:" (any case) optional, then exactly 32 bytes of hex in any case;
 * a ':' may separate bytes ("AB:CD:..."), never split one or lead/trail. */
static int fp_parse(const char *s, size_t len, unsigned char fp[CERT_FP_LEN]) {
  size_t i, n = 0;
  int v, hi = -1;

  if (len >= 7 && strncasecmp(s, "SHA256:", 7) == 0) {
    s += 7;
    len -= 7;
  }
  for (i = 0; i < len; i++) {
    if (s[i] == ':' && hi < 0 && n > 0 && s[i - 1] != ':' && i + 1 < len) {
      continue;
    }
    v = hex_value(s[i]);
    if (v < 0 || n == CERT_FP_LEN) {
      return -1;
    }
    if (hi < 0) {
      hi = v;
    } else {
      fp[n++] = (unsigned char) ((hi << 4) | v);
      hi = -1;
    }
  }
  return n == CERT_FP_LEN && hi < 0 ? 0 : -1;
}

/* The caller's fingerprint: exactly 64 hex digits (any case), nothing else. */
static int fp_want(const char *fp_hex, unsigned char fp[CERT_FP_LEN]) {
  if (fp_hex == NULL || strnlen(fp_hex, 2 * CERT_FP_LEN + 1) !=
      2 * CERT_FP_LEN || strchr(fp_hex, ':') != NULL) {
    return -1;
  }
  return fp_parse(fp_hex, 2 * CERT_FP_LEN, fp);
}

static void auth_bad(cert_auth_t *st) {
  if (st->bad < INT_MAX) {
    st->bad++;
  }
}

static void auth_match(cert_auth_t *st, const unsigned char fp[CERT_FP_LEN]) {
  /* Constant time: how much of a listed fingerprint matched stays private. */
  if (CRYPTO_memcmp(fp, st->want, CERT_FP_LEN) == 0) {
    st->listed = 1;
  }
}

/* SECURITY: a file can hold anything; never prompt for a PEM password
 * (the default callback reads the terminal) or block on one. */
int ftps_cert_no_passphrase(char *buf, int size, int rwflag, void *u) {
  return -1;
}

/* Decodes the certificate of one PEM block (in bio) and matches it. */
static void auth_pem_decode(cert_auth_t *st, BIO *bio) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  X509 *x;

  ERR_clear_error();
  x = PEM_read_bio_X509(bio, NULL, ftps_cert_no_passphrase, NULL);
  if (x != NULL && X509_digest(x, EVP_sha256(), md, &n) == 1 &&
      n == CERT_FP_LEN) {
    auth_match(st, md);
  } else {
    auth_bad(st);
  }
  X509_free(x);
  ERR_clear_error();
}

static int bio_put_line(BIO *bio, const cert_line_t *line) {
  if (line->len > INT_MAX - 1) {
    return -1;
  }
  return (line->len == 0 || BIO_write(bio, line->p, (int) line->len) ==
    (int) line->len) && BIO_write(bio, "\n", 1) == 1 ? 0 : -1;
}

/* After a BEGIN line: copies the block's lines, trimmed like every other
 * line, into a memory BIO up to the END line and decodes exactly that. An
 * undecodable block counts as one bad line; so does an unterminated one,
 * which runs to the end of the file. Each line is read once. */
static void auth_pem(cert_auth_t *st, cert_cursor_t *cur,
    const cert_line_t *begin) {
  cert_line_t line;
  BIO *bio;
  int ok;

  ERR_clear_error();
  bio = BIO_new(BIO_s_mem());
  ok = bio != NULL && bio_put_line(bio, begin) == 0;
  while (ok && line_next(cur, &line)) {
    if (line.len == 0) {
      continue;
    }
    ok = bio_put_line(bio, &line) == 0;
    if (ok && line_is(&line, CERT_PEM_END)) {
      auth_pem_decode(st, bio);
      BIO_free(bio);
      return;
    }
  }
  if (!ok) {
    st->failed = 1;
  }
  auth_bad(st);
  BIO_free(bio);
  ERR_clear_error();
}

static void auth_line(cert_auth_t *st, cert_cursor_t *cur,
    const cert_line_t *line) {
  unsigned char fp[CERT_FP_LEN];

  if (line->len == 0) {
    return;
  }
  if (line_is(line, CERT_PEM_BEGIN)) {
    auth_pem(st, cur, line);
  } else if (fp_parse(line->p, line->len, fp) == 0) {
    auth_match(st, fp);
  } else {
    auth_bad(st);
  }
}

int ftps_cert_authorized(const char *buf, size_t len, const char *fp_hex,
    int *bad_lines) {
  cert_cursor_t cur;
  cert_line_t line;
  cert_auth_t st;

  if (bad_lines != NULL) {
    *bad_lines = 0;
  }
  memset(&st, 0, sizeof(st));
  if ((buf == NULL && len > 0) || fp_want(fp_hex, st.want) < 0) {
    errno = EINVAL;
    return -1;
  }
  cur.buf = buf;
  cur.len = len;
  cur.pos = 0;
  /* Every line is read, even after a match: the bad-line count is then
   * complete and the time taken does not tell where the match was. */
  while (line_next(&cur, &line)) {
    auth_line(&st, &cur, &line);
  }
  if (bad_lines != NULL) {
    *bad_lines = st.bad;
  }
  if (st.failed) {
    errno = ENOMEM;
    return -1;
  }
  return st.listed;
}
