/*
 * ftps_sidctx.c -- owns the canonical description of a vhost that its
 * session-ID context is the SHA-256 of: the vhost's identity, every
 * setting that decides what a session proves (verification mode, depth,
 * trust anchor and CRL files and their DER contents, protocols, groups,
 * ciphers, certificate logins). Sessions resume only where it is equal.
 *
 * OpenSSL only; must not include ProFTPD headers (B2).
 */

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ftps/ftps_sidctx.h"

/* One length-prefixed field of the canonical vhost description. */
static int digest_field(EVP_MD_CTX *md, const char *name, const char *value) {
  char head[64];
  size_t vlen = value != NULL ? strlen(value) : 0;

  snprintf(head, sizeof(head), "%s=%c%zu:", name, value != NULL ? 's' : '-',
    vlen);
  return EVP_DigestUpdate(md, head, strlen(head)) == 1 &&
    EVP_DigestUpdate(md, value != NULL ? value : "", vlen) == 1 ? 0 : -1;
}

static int digest_int(EVP_MD_CTX *md, const char *name, long value) {
  char buf[32];

  snprintf(buf, sizeof(buf), "%ld", value);
  return digest_field(md, name, buf);
}

/* The DER of every certificate and CRL the context trusts. */
static int digest_store(EVP_MD_CTX *md, X509_STORE *store) {
  STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(store);
  int i;

  for (i = 0; objs != NULL && i < sk_X509_OBJECT_num(objs); i++) {
    X509_OBJECT *o = sk_X509_OBJECT_value(objs, i);
    X509 *x = X509_OBJECT_get0_X509(o);
    X509_CRL *crl = X509_OBJECT_get0_X509_CRL(o);
    unsigned char *der = NULL;
    int len = x != NULL ? i2d_X509(x, &der) :
      crl != NULL ? i2d_X509_CRL(crl, &der) : 0;
    int res = len < 0 ? -1 : EVP_DigestUpdate(md, der, (size_t) len) - 1;

    OPENSSL_free(der);
    if (res < 0) {
      return -1;
    }
  }
  return 0;
}

static int digest_policy(EVP_MD_CTX *md, const ftps_policy_t *p,
    const char *vhost_id) {
  return digest_field(md, "mod_ftps sid_ctx v1 vhost", vhost_id) < 0 ||
    digest_int(md, "verify", p->verify_client) < 0 ||
    digest_int(md, "depth", p->verify_depth) < 0 ||
    digest_field(md, "ca_file", p->ca_file) < 0 ||
    digest_field(md, "ca_path", p->ca_path) < 0 ||
    digest_field(md, "crl_file", p->crl_file) < 0 ||
    digest_field(md, "crl_path", p->crl_path) < 0 ||
    digest_int(md, "protocols", p->protocols) < 0 ||
    digest_field(md, "groups", p->groups) < 0 ||
    digest_field(md, "ciphers", p->ciphers) < 0 ||
    digest_field(md, "ciphersuites", p->ciphersuites) < 0 ||
    digest_int(md, "cert_login", p->cert_login) < 0 ||
    digest_int(md, "user_field", p->user_field) < 0 ? -1 : 0;
}

int ftps_sidctx_digest(EVP_MD_CTX *md, const ftps_policy_t *p,
    const char *vhost_id, X509_STORE *store) {
  if (md == NULL || p == NULL || store == NULL) {
    return -1;
  }
  return digest_policy(md, p, vhost_id) == 0 &&
    digest_store(md, store) == 0 ? 0 : -1;
}
