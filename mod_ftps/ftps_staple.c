/*
 * ftps_staple.c -- TLS layer: owns a vhost's OCSP staple (the response
 * bytes, the certificate they are for, their validity window) and the
 * status callback that staples them.
 *
 * SECURITY: a response is stapled only for the certificate it names and
 * only while fresh; an expired response is never sent (RFC 6066 §8,
 * RFC 6960 §4.2.2.1). Includes libc and OpenSSL only (B2).
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/http.h>
#include <openssl/ocsp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "ftps/ftps_staple.h"
#include "ftps/ftps_tlserr.h"

typedef struct {
  unsigned char *der;      /* NULL until fetched (FTPSStapling on alone) */
  int len;
  X509 *leaf;              /* the certificate the response is for */
  time_t this_update;
  time_t next_update;      /* 0: none given (never stapled) */

  /* Fetch mode: the responder named by leaf, asked about leaf. */
  char *url;
  X509 *issuer;
} staple_t;


static void staple_free(staple_t *st) {
  if (st != NULL) {
    OPENSSL_free(st->der);
    X509_free(st->leaf);
    OPENSSL_free(st->url);
    X509_free(st->issuer);
    OPENSSL_free(st);
  }
}

/* SECURITY (reloads): the record is the context's status-callback
 * argument, which OpenSSL never frees, and ftps_ctx_free() frees it
 * through ftps_staple_free_ctx(); never an ex_data index, whose free
 * callback libcrypto would call after mod_dso unloads the module. */
static staple_t *staple_of(const SSL_CTX *ctx) {
  void *arg = NULL;

  if (ctx == NULL ||
      SSL_CTX_get_tlsext_status_arg((SSL_CTX *) ctx, &arg) != 1) {
    return NULL;
  }
  return arg;
}

static void attach(SSL_CTX *ctx, staple_t *st) {
  (void) SSL_CTX_set_tlsext_status_arg(ctx, st);
}

void ftps_staple_free_ctx(SSL_CTX *ctx) {
  staple_t *st = staple_of(ctx);

  if (st != NULL) {
    attach(ctx, NULL);
    staple_free(st);
  }
}

static time_t asn1_to_time(const ASN1_GENERALIZEDTIME *t) {
  struct tm tm;

  memset(&tm, 0, sizeof(tm));
  if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
    return 0;
  }
  return timegm(&tm);
}

static int state_at(const staple_t *st, time_t now) {
  if (st == NULL || st->der == NULL) {
    return FTPS_STAPLE_NONE;
  }
  if (st->this_update > now + 300) {        /* 5 minutes of clock skew */
    return FTPS_STAPLE_NOT_YET;
  }
  if (st->next_update == 0 || now >= st->next_update) {
    return FTPS_STAPLE_EXPIRED;
  }
  return FTPS_STAPLE_OK;
}

int ftps_staple_state(const SSL_CTX *ctx, time_t now) {
  return state_at(staple_of(ctx), now);
}

/* Is single's certificate ID leaf's? The issuer's name hash and the serial
 * number identify a certificate (RFC 6960 §4.1.1) without needing the
 * issuer's certificate, which the certificate file may not hold. */
static int id_is(const OCSP_CERTID *id, X509 *leaf) {
  ASN1_OCTET_STRING *name_hash = NULL;
  ASN1_OBJECT *md_oid = NULL;
  ASN1_INTEGER *serial = NULL;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  const EVP_MD *alg;

  if (OCSP_id_get0_info(&name_hash, &md_oid, NULL, &serial,
      (OCSP_CERTID *) id) != 1 || serial == NULL || name_hash == NULL ||
      ASN1_INTEGER_cmp(serial, X509_get0_serialNumber(leaf)) != 0) {
    return 0;
  }
  alg = EVP_get_digestbyobj(md_oid);
  return alg != NULL &&
    X509_NAME_digest(X509_get_issuer_name(leaf), alg, md, &mdlen) == 1 &&
    (int) mdlen == ASN1_STRING_length(name_hash) &&
    memcmp(md, ASN1_STRING_get0_data(name_hash), mdlen) == 0;
}

/* Does basic hold a status for leaf? Fills the window if so. */
static int matches(OCSP_BASICRESP *basic, X509 *leaf, staple_t *st) {
  int i;

  for (i = 0; i < OCSP_resp_count(basic); i++) {
    OCSP_SINGLERESP *single = OCSP_resp_get0(basic, i);
    ASN1_GENERALIZEDTIME *thisupd = NULL, *nextupd = NULL;

    if (single != NULL && id_is(OCSP_SINGLERESP_get0_id(single), leaf) &&
        OCSP_single_get0_status(single, NULL, NULL, &thisupd,
          &nextupd) >= 0) {
      st->this_update = asn1_to_time(thisupd);
      st->next_update = asn1_to_time(nextupd);
      return 1;
    }
  }
  return 0;
}

/* Which of ctx's certificates basic is for (NULL: none). */
static X509 *find_leaf(SSL_CTX *ctx, OCSP_BASICRESP *basic, staple_t *st) {
  int more = SSL_CTX_set_current_cert(ctx, SSL_CERT_SET_FIRST);

  while (more == 1) {
    X509 *leaf = SSL_CTX_get0_certificate(ctx);

    if (leaf != NULL && matches(basic, leaf, st)) {
      return leaf;
    }
    more = SSL_CTX_set_current_cert(ctx, SSL_CERT_SET_NEXT);
  }
  return NULL;
}

static int parse_into(SSL_CTX *ctx, const unsigned char *der, size_t len,
    staple_t *st, char *err, size_t errlen) {
  const unsigned char *p = der;
  OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &p, (long) len);
  OCSP_BASICRESP *basic = NULL;
  X509 *leaf = NULL;
  int status;

  if (resp == NULL || p != der + len) {
    OCSP_RESPONSE_free(resp);
    return ftps_tlserr_fail(err, errlen, "is not a DER OCSP response");
  }
  status = OCSP_response_status(resp);
  if (status != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
    OCSP_RESPONSE_free(resp);
    return ftps_tlserr_fail(err, errlen, "is an unsuccessful OCSP response (%s)",
      OCSP_response_status_str(status));
  }
  basic = OCSP_response_get1_basic(resp);
  if (basic != NULL) {
    leaf = find_leaf(ctx, basic, st);
  }
  OCSP_BASICRESP_free(basic);
  OCSP_RESPONSE_free(resp);
  if (leaf == NULL) {
    return ftps_tlserr_fail(err, errlen, "is not a response for this server's "
      "certificate(s)");
  }
  st->leaf = X509_dup(leaf);
  return st->leaf != NULL ? 0 : ftps_tlserr_fail(err, errlen, "out of memory");
}

/* SSL_CTX_set_tlsext_status_cb(3), server side. */
static int status_cb(SSL *ssl, void *arg) {
  const staple_t *st = staple_of(SSL_get_SSL_CTX(ssl));
  X509 *served = SSL_get_certificate(ssl);
  unsigned char *copy;

  if (st == NULL || st->der == NULL || served == NULL ||
      X509_cmp(served, st->leaf) != 0 ||
      state_at(st, time(NULL)) != FTPS_STAPLE_OK) {
    return SSL_TLSEXT_ERR_NOACK;
  }
  copy = OPENSSL_memdup(st->der, (size_t) st->len);
  if (copy == NULL || SSL_set_tlsext_status_ocsp_resp(ssl, copy,
      st->len) != 1) {
    OPENSSL_free(copy);
    return SSL_TLSEXT_ERR_NOACK;
  }
  return SSL_TLSEXT_ERR_OK;
}

int ftps_staple_set(SSL_CTX *ctx, const unsigned char *der, size_t len,
    char *err, size_t errlen) {
  staple_t *st, *old;

  if (ctx == NULL || der == NULL || len == 0 || len > FTPS_STAPLE_MAX_LEN ||
      err == NULL || errlen == 0) {
    errno = EINVAL;
    return -1;
  }
  st = OPENSSL_zalloc(sizeof(*st));
  if (st == NULL || (st->der = OPENSSL_memdup(der, len)) == NULL) {
    staple_free(st);
    return ftps_tlserr_fail(err, errlen, "out of memory");
  }
  st->len = (int) len;
  ERR_clear_error();
  if (parse_into(ctx, der, len, st, err, errlen) < 0) {
    staple_free(st);
    ERR_clear_error();
    return -1;
  }
  old = staple_of(ctx);
  if (old != NULL) {
    /* A fetched response replaces the last one; the fetch set-up stays. */
    st->url = old->url;
    st->issuer = old->issuer;
    old->url = NULL;
    old->issuer = NULL;
  }
  staple_free(old);
  attach(ctx, st);
  (void) SSL_CTX_set_tlsext_status_cb(ctx, status_cb);
  return 0;
}

static int read_file(const char *path, unsigned char **out, size_t *len) {
  FILE *fp = fopen(path, "rb");
  unsigned char *buf;
  size_t n;

  if (fp == NULL) {
    return -1;
  }
  buf = OPENSSL_malloc(FTPS_STAPLE_MAX_LEN + 1);
  n = buf != NULL ? fread(buf, 1, FTPS_STAPLE_MAX_LEN + 1, fp) : 0;
  fclose(fp);
  if (buf == NULL || n == 0 || n > FTPS_STAPLE_MAX_LEN) {
    OPENSSL_free(buf);
    errno = buf == NULL ? ENOMEM : EFBIG;
    return -1;
  }
  *out = buf;
  *len = n;
  return 0;
}

int ftps_staple_load(SSL_CTX *ctx, const ftps_policy_t *p, char *err,
    size_t errlen) {
  unsigned char *der = NULL;
  char why[256];
  size_t len = 0;
  int rc;

  if (ctx == NULL || p == NULL || err == NULL || errlen == 0) {
    errno = EINVAL;
    return -1;
  }
  if (p->stapling != 1) {
    return 0;
  }
  if (p->stapling_response == NULL) {
    return ftps_staple_fetch_setup(ctx, err, errlen);
  }
  if (read_file(p->stapling_response, &der, &len) < 0) {
    return ftps_tlserr_fail(err, errlen, "FTPSStaplingResponse: cannot read '%s': %s",
      p->stapling_response, errno == EFBIG ? "empty or larger than 64 KiB" :
      strerror(errno));
  }
  rc = ftps_staple_set(ctx, der, len, why, sizeof(why));
  OPENSSL_free(der);
  if (rc < 0) {
    return ftps_tlserr_fail(err, errlen, "FTPSStaplingResponse: '%s' %s",
      p->stapling_response, why);
  }
  return 0;
}

/* ------------------------------------------ fetching from the responder */

/* The issuer of leaf among the chain of ctx's current certificate. */
static X509 *issuer_of(SSL_CTX *ctx, X509 *leaf) {
  STACK_OF(X509) *chain = NULL;
  int i;

  (void) SSL_CTX_get0_chain_certs(ctx, &chain);
  for (i = 0; chain != NULL && i < sk_X509_num(chain); i++) {
    X509 *c = sk_X509_value(chain, i);
    if (X509_check_issued(c, leaf) == X509_V_OK) {
      return c;
    }
  }
  return NULL;
}

/* The first certificate of ctx with an OCSP URL and its issuer at hand. */
static int pick_fetch(SSL_CTX *ctx, staple_t *st) {
  int more = SSL_CTX_set_current_cert(ctx, SSL_CERT_SET_FIRST);

  while (more == 1) {
    X509 *leaf = SSL_CTX_get0_certificate(ctx), *issuer;
    STACK_OF(OPENSSL_STRING) *urls = leaf ? X509_get1_ocsp(leaf) : NULL;

    issuer = leaf != NULL ? issuer_of(ctx, leaf) : NULL;
    if (urls != NULL && sk_OPENSSL_STRING_num(urls) > 0 && issuer != NULL) {
      st->url = OPENSSL_strdup(sk_OPENSSL_STRING_value(urls, 0));
      st->leaf = X509_dup(leaf);
      st->issuer = X509_dup(issuer);
      X509_email_free(urls);
      return st->url != NULL && st->leaf != NULL && st->issuer != NULL ?
        0 : -1;
    }
    X509_email_free(urls);
    more = SSL_CTX_set_current_cert(ctx, SSL_CERT_SET_NEXT);
  }
  return -1;
}

int ftps_staple_fetch_setup(SSL_CTX *ctx, char *err, size_t errlen) {
  staple_t *st;

  if (ctx == NULL || (st = OPENSSL_zalloc(sizeof(*st))) == NULL) {
    errno = EINVAL;
    return -1;
  }
  if (pick_fetch(ctx, st) < 0) {
    staple_free(st);
    ERR_clear_error();
    return ftps_tlserr_fail(err, errlen, "FTPSStapling on without FTPSStaplingResponse: "
      "no certificate of this server names an OCSP responder "
      "(authorityInfoAccess) with its issuer in the certificate file; give "
      "FTPSStaplingResponse");
  }
  staple_free(staple_of(ctx));
  attach(ctx, st);
  (void) SSL_CTX_set_tlsext_status_cb(ctx, status_cb);
  return 0;
}

int ftps_staple_fetch_due(const SSL_CTX *ctx, time_t now) {
  const staple_t *st = staple_of(ctx);

  if (st == NULL || st->url == NULL) {
    return 0;
  }
  /* Fetch again halfway through the response's life. */
  return state_at(st, now) != FTPS_STAPLE_OK ||
    now >= st->this_update + (st->next_update - st->this_update) / 2;
}

/* POST one request for st->leaf to st->url; the DER response or NULL. */
static BIO *post_request(const staple_t *st, int timeout, char *err,
    size_t errlen) {
  OCSP_REQUEST *req = OCSP_REQUEST_new();
  OCSP_CERTID *id = OCSP_cert_to_id(NULL, st->leaf, st->issuer);
  char *host = NULL, *port = NULL, *path = NULL, why[256];
  BIO *body = NULL, *resp = NULL;
  int use_ssl = 0;

  if (req == NULL || id == NULL || OCSP_request_add0_id(req, id) == NULL) {
    OCSP_CERTID_free(id);
    ftps_tlserr_fail(err, errlen, "cannot make an OCSP request");
  } else if (OSSL_HTTP_parse_url(st->url, &use_ssl, NULL, &host, &port,
      NULL, &path, NULL, NULL) != 1 || use_ssl) {
    ftps_tlserr_fail(err, errlen, "responder URL '%s' is not an http:// URL", st->url);
  } else if ((body = ASN1_item_i2d_mem_bio(ASN1_ITEM_rptr(OCSP_REQUEST),
      (const ASN1_VALUE *) req)) == NULL ||
      (resp = OSSL_HTTP_transfer(NULL, host, port, path, 0, NULL, NULL,
        NULL, NULL, NULL, NULL, 0, NULL, "application/ocsp-request", body,
        "application/ocsp-response", 1, FTPS_STAPLE_MAX_LEN, timeout,
        0)) == NULL) {
    ftps_tlserr_fail(err, errlen, "responder '%s' gave no response within %d seconds: "
      "%s", st->url, timeout, ftps_tlserr_reason(why, sizeof(why)));
  }
  BIO_free(body);
  OPENSSL_free(host);
  OPENSSL_free(port);
  OPENSSL_free(path);
  OCSP_REQUEST_free(req);
  return resp;
}

int ftps_staple_fetch(SSL_CTX *ctx, int timeout, char *err, size_t errlen) {
  const staple_t *st = staple_of(ctx);
  unsigned char buf[FTPS_STAPLE_MAX_LEN];
  char why[256];
  BIO *resp;
  int n, rc;

  if (st == NULL || st->url == NULL) {
    return 0;
  }
  ERR_clear_error();
  resp = post_request(st, timeout > 0 ? timeout : 5, err, errlen);
  if (resp == NULL) {
    ERR_clear_error();
    return -1;
  }
  n = BIO_read(resp, buf, sizeof(buf));
  BIO_free(resp);
  rc = n > 0 ? ftps_staple_set(ctx, buf, (size_t) n, why, sizeof(why)) : -1;
  if (rc < 0) {
    ftps_tlserr_fail(err, errlen, "responder '%s': the response %s", st->url,
      n > 0 ? why : "is empty");
  }
  OPENSSL_cleanse(buf, sizeof(buf));
  ERR_clear_error();
  return rc;
}
