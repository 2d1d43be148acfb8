/*
 * ftps_certinfo.c -- owns reading facts out of a built server context (its
 * certificates, its CRLs) and the expiry classification, for ftpdctl and
 * the expiry warnings. Never changes a context's configuration.
 *
 * OpenSSL only; must not include ProFTPD headers (B2).
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ftps/ftps_certinfo.h"

static time_t asn1_to_time(const ASN1_TIME *t) {
  struct tm tm;

  if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
    return 0;
  }
  return timegm(&tm);
}

static void fmt_time(time_t t, char *out, size_t outlen) {
  struct tm tm;

  if (t == 0 || gmtime_r(&t, &tm) == NULL) {
    snprintf(out, outlen, "-");
    return;
  }
  strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void name_str(const X509_NAME *name, char *out, size_t outlen) {
  BIO *bio = BIO_new(BIO_s_mem());
  int n;

  out[0] = '\0';
  if (bio == NULL) {
    return;
  }
  if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) >= 0) {
    n = BIO_read(bio, out, (int) outlen - 1);
    out[n > 0 ? n : 0] = '\0';
  }
  BIO_free(bio);
}

static void append(char *out, size_t outlen, const char *kind,
    const char *val, int len) {
  size_t used = strlen(out);

  if (used + 1 >= outlen) {
    return;
  }
  snprintf(out + used, outlen - used, "%s%s:%.*s", used ? ", " : "", kind,
    len, val);
}

static void ip_str(const ASN1_OCTET_STRING *ip, char *out, size_t outlen) {
  const unsigned char *b = ASN1_STRING_get0_data(ip);
  int i, len = ASN1_STRING_length(ip);

  out[0] = '\0';
  if (len == 4) {
    snprintf(out, outlen, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
    return;
  }
  for (i = 0; i + 1 < len && strlen(out) + 6 < outlen; i += 2) {
    snprintf(out + strlen(out), outlen - strlen(out), "%s%x", i ? ":" : "",
      (b[i] << 8) | b[i + 1]);
  }
}

static void sans_str(X509 *x, char *out, size_t outlen) {
  GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL,
    NULL);
  int i;

  out[0] = '\0';
  for (i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
    const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
    char ip[64];

    if (g->type == GEN_DNS || g->type == GEN_EMAIL) {
      append(out, outlen, g->type == GEN_DNS ? "DNS" : "email",
        (const char *) ASN1_STRING_get0_data(g->d.ia5),
        ASN1_STRING_length(g->d.ia5));
    } else if (g->type == GEN_IPADD) {
      ip_str(g->d.ip, ip, sizeof(ip));
      append(out, outlen, "IP", ip, (int) strlen(ip));
    }
  }
  GENERAL_NAMES_free(gens);
  if (out[0] == '\0') {
    snprintf(out, outlen, "-");
  }
}

static void key_str(X509 *x, char *out, size_t outlen) {
  EVP_PKEY *k = X509_get0_pubkey(x);
  char group[64];
  size_t glen = 0;

  if (k == NULL) {
    snprintf(out, outlen, "unknown");
    return;
  }
  switch (EVP_PKEY_get_base_id(k)) {
    case EVP_PKEY_RSA:
    case EVP_PKEY_RSA_PSS:
      snprintf(out, outlen, "RSA %d", EVP_PKEY_get_bits(k));
      break;
    case EVP_PKEY_EC:
      if (EVP_PKEY_get_group_name(k, group, sizeof(group), &glen) != 1) {
        snprintf(group, sizeof(group), "?");
      }
      snprintf(out, outlen, "ECDSA %d (%s)", EVP_PKEY_get_bits(k), group);
      break;
    default:
      snprintf(out, outlen, "other %d", EVP_PKEY_get_bits(k));
      break;
  }
}

static void describe(X509 *x, ftps_certinfo_cert_t *out) {
  memset(out, 0, sizeof(*out));
  name_str(X509_get_subject_name(x), out->subject, sizeof(out->subject));
  name_str(X509_get_issuer_name(x), out->issuer, sizeof(out->issuer));
  sans_str(x, out->sans, sizeof(out->sans));
  key_str(x, out->key, sizeof(out->key));
  if (ftps_cert_fingerprint(x, out->fingerprint) < 0) {
    out->fingerprint[0] = '\0';
  }
  out->not_after_t = asn1_to_time(X509_get0_notAfter(x));
  fmt_time(out->not_after_t, out->not_after, sizeof(out->not_after));
  ERR_clear_error();
}

int ftps_certinfo_certs(SSL_CTX *ctx, ftps_certinfo_cert_t *out, int max) {
  int n = 0, more;

  if (ctx == NULL || out == NULL || max < 0) {
    errno = EINVAL;
    return -1;
  }
  /* Walks the context's certificate slots (RSA, ECDSA, ...). */
  more = SSL_CTX_set_current_cert(ctx, SSL_CERT_SET_FIRST);
  while (more == 1 && n < max) {
    X509 *x = SSL_CTX_get0_certificate(ctx);

    if (x != NULL) {
      describe(x, &out[n++]);
    }
    more = SSL_CTX_set_current_cert(ctx, SSL_CERT_SET_NEXT);
  }
  ERR_clear_error();
  return n;
}

int ftps_certinfo_crls(SSL_CTX *ctx, ftps_certinfo_crl_t *out, int max) {
  X509_STORE *store;
  STACK_OF(X509_OBJECT) *objs;
  int i, n = 0;

  if (ctx == NULL || out == NULL || max < 0) {
    errno = EINVAL;
    return -1;
  }
  store = SSL_CTX_get_cert_store(ctx);
  objs = store != NULL ? X509_STORE_get0_objects(store) : NULL;
  for (i = 0; objs != NULL && i < sk_X509_OBJECT_num(objs) && n < max; i++) {
    X509_OBJECT *o = sk_X509_OBJECT_value(objs, i);
    X509_CRL *crl;

    if (X509_OBJECT_get_type(o) != X509_LU_CRL) {
      continue;
    }
    crl = X509_OBJECT_get0_X509_CRL(o);
    memset(&out[n], 0, sizeof(out[n]));
    name_str(X509_CRL_get_issuer(crl), out[n].issuer, sizeof(out[n].issuer));
    out[n].next_update_t = asn1_to_time(X509_CRL_get0_nextUpdate(crl));
    fmt_time(out[n].next_update_t, out[n].next_update,
      sizeof(out[n].next_update));
    n++;
  }
  return n;
}

int ftps_certinfo_ca_count(SSL_CTX *ctx) {
  X509_STORE *store;
  STACK_OF(X509_OBJECT) *objs;
  int i, n = 0;

  if (ctx == NULL) {
    errno = EINVAL;
    return -1;
  }
  store = SSL_CTX_get_cert_store(ctx);
  objs = store != NULL ? X509_STORE_get0_objects(store) : NULL;
  for (i = 0; objs != NULL && i < sk_X509_OBJECT_num(objs); i++) {
    if (X509_OBJECT_get_type(sk_X509_OBJECT_value(objs, i)) ==
        X509_LU_X509) {
      n++;
    }
  }
  return n;
}

int ftps_certinfo_file(const char *file, ftps_certinfo_cert_t *out) {
  BIO *bio;
  X509 *x;

  if (file == NULL || out == NULL) {
    errno = EINVAL;
    return -1;
  }
  ERR_clear_error();
  bio = BIO_new_file(file, "r");
  if (bio == NULL) {
    ERR_clear_error();
    return -1;
  }
  x = PEM_read_bio_X509(bio, NULL, ftps_cert_no_passphrase, NULL);
  BIO_free(bio);
  if (x == NULL) {
    ERR_clear_error();
    errno = EINVAL;
    return -1;
  }
  describe(x, out);
  X509_free(x);
  return 0;
}

long ftps_certinfo_days_left(time_t t, time_t now) {
  long long d = (long long) t - (long long) now;

  /* Round toward minus infinity: one second past is day -1. */
  return (long) (d >= 0 ? d / 86400 : -((-d + 86399) / 86400));
}

int ftps_certinfo_expiry_class(time_t not_after, time_t now) {
  if (not_after <= now) {
    return FTPS_EXPIRY_EXPIRED;
  }
  if (not_after - now <= (time_t) FTPS_EXPIRY_ERROR_DAYS * 86400) {
    return FTPS_EXPIRY_ERROR;
  }
  if (not_after - now <= (time_t) FTPS_EXPIRY_WARN_DAYS * 86400) {
    return FTPS_EXPIRY_WARN;
  }
  return FTPS_EXPIRY_OK;
}

const char *ftps_certinfo_stapling(SSL_CTX *ctx) {
  /* Hook for the stapling work (FTPSStapling): replace with its accessor
   * to the stapled response's status (good/revoked/unknown, next update). */
  (void) ctx;
  return "off";
}
