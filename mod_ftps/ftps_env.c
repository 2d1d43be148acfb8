/*
 * ftps_env.c -- owns the mod_tls-compatible view of a TLS connection as
 * environment variables: the names and value formats of mod_tls 1.3.8's
 * TLSOptions StdEnvVars and ExportCertData, so that mod_exec scripts,
 * LogFormat %{env:...} and CGI-style consumers written for mod_tls keep
 * working. The glue decides where the pairs go.
 *
 * OpenSSL only; must not include ProFTPD headers (B2).
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "ftps/ftps_ctx.h"
#include "ftps/ftps_env.h"

/* The DN components mod_tls names, and its suffix for each. */
static const struct {
  int nid;
  const char *suffix;
} dn_parts[] = {
  { NID_countryName,            "C" },
  { NID_commonName,             "CN" },
  { NID_description,            "D" },
  { NID_givenName,              "G" },
  { NID_initials,               "I" },
  { NID_localityName,           "L" },
  { NID_organizationName,       "O" },
  { NID_organizationalUnitName, "OU" },
  { NID_surname,                "S" },
  { NID_stateOrProvinceName,    "ST" },
  { NID_title,                  "T" },
  { NID_x500UniqueIdentifier,   "UID" },
  { NID_pkcs9_emailAddress,     "Email" },
};

#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* SECURITY: certificate text reaches scripts and logs: no C0 or C1
 * control characters (C1 in UTF-8 is C2 80..C2 9F), nothing else lost. */
static void scrub(char *s) {
  for (; *s != '\0'; s++) {
    unsigned char c = (unsigned char) *s, next = (unsigned char) s[1];

    if (c < 0x20 || c == 0x7f) {
      *s = '?';
    } else if (c == 0xc2 && next >= 0x80 && next <= 0x9f) {
      s[0] = s[1] = '?';
      s++;
    }
  }
}

static void put(ftps_env_fn fn, void *arg, const char *prefix,
    const char *name, char *value) {
  char key[128];

  snprintf(key, sizeof(key), "%s%s", prefix, name);
  scrub(value);
  fn(key, value, arg);
}

/* What a memory BIO collected, as a string; NULL on failure. */
static char *bio_text(BIO *bio, char *buf, size_t len) {
  char *data = NULL;
  long n = bio != NULL ? BIO_get_mem_data(bio, &data) : -1;

  if (n < 0 || data == NULL) {
    return NULL;
  }
  if ((size_t) n >= len) {
    n = (long) len - 1;
  }
  memcpy(buf, data, (size_t) n);
  buf[n] = '\0';
  return buf;
}

static void put_name(ftps_env_fn fn, void *arg, const char *prefix,
    const char *what, const X509_NAME *name) {
  BIO *bio = BIO_new(BIO_s_mem());
  char buf[1024], key[16];
  int i;

  if (bio != NULL &&
      X509_NAME_print_ex(bio, name, 0, XN_FLAG_ONELINE) >= 0 &&
      bio_text(bio, buf, sizeof(buf)) != NULL) {
    put(fn, arg, prefix, what, buf);
  }
  BIO_free(bio);

  for (i = 0; i < X509_NAME_entry_count(name); i++) {
    const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
    int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
    unsigned char *utf8 = NULL;
    size_t j;

    for (j = 0; j < NELEMS(dn_parts) && dn_parts[j].nid != nid; j++) {
    }
    if (j == NELEMS(dn_parts) ||
        ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e)) < 0) {
      continue;
    }
    snprintf(key, sizeof(key), "%s_%s", what, dn_parts[j].suffix);
    put(fn, arg, prefix, key, (char *) utf8);
    OPENSSL_free(utf8);
  }
}

static void put_time(ftps_env_fn fn, void *arg, const char *prefix,
    const char *what, const ASN1_TIME *t) {
  BIO *bio = BIO_new(BIO_s_mem());
  char buf[64];

  if (bio != NULL && ASN1_TIME_print(bio, t) == 1 &&
      bio_text(bio, buf, sizeof(buf)) != NULL) {
    put(fn, arg, prefix, what, buf);
  }
  BIO_free(bio);
}

static void put_obj(ftps_env_fn fn, void *arg, const char *prefix,
    const char *what, const ASN1_OBJECT *obj) {
  char buf[128];

  if (obj != NULL && OBJ_obj2txt(buf, sizeof(buf), obj, 0) > 0) {
    put(fn, arg, prefix, what, buf);
  }
}

static void put_serial(ftps_env_fn fn, void *arg, const char *prefix,
    X509 *cert) {
  BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
  char *dec = bn != NULL ? BN_bn2dec(bn) : NULL;

  if (dec != NULL) {
    put(fn, arg, prefix, "M_SERIAL", dec);
  }
  OPENSSL_free(dec);
  BN_free(bn);
}

int ftps_env_cert(X509 *cert, const char *prefix, ftps_env_fn fn,
    void *arg) {
  const X509_ALGOR *sig = NULL;
  X509_ALGOR *key = NULL;
  const ASN1_OBJECT *obj = NULL;
  char buf[32];

  if (cert == NULL || prefix == NULL || fn == NULL) {
    errno = EINVAL;
    return -1;
  }
  snprintf(buf, sizeof(buf), "%ld", X509_get_version(cert) + 1);
  put(fn, arg, prefix, "M_VERSION", buf);
  put_serial(fn, arg, prefix, cert);
  put_name(fn, arg, prefix, "S_DN", X509_get_subject_name(cert));
  put_name(fn, arg, prefix, "I_DN", X509_get_issuer_name(cert));
  put_time(fn, arg, prefix, "V_START", X509_get0_notBefore(cert));
  put_time(fn, arg, prefix, "V_END", X509_get0_notAfter(cert));
  X509_get0_signature(NULL, &sig, cert);
  if (sig != NULL) {
    X509_ALGOR_get0(&obj, NULL, NULL, sig);
    put_obj(fn, arg, prefix, "A_SIG", obj);
  }
  if (X509_PUBKEY_get0_param(NULL, NULL, NULL, &key,
      X509_get_X509_PUBKEY(cert)) == 1 && key != NULL) {
    X509_ALGOR_get0(&obj, NULL, NULL, key);
    put_obj(fn, arg, prefix, "A_KEY", obj);
  }
  ERR_clear_error();
  return 0;
}

static void put_pem(ftps_env_fn fn, void *arg, const char *name, X509 *x) {
  BIO *bio = BIO_new(BIO_s_mem());
  char buf[16384];

  if (bio != NULL && PEM_write_bio_X509(bio, x) == 1 &&
      bio_text(bio, buf, sizeof(buf)) != NULL) {
    fn(name, buf, arg);
  }
  BIO_free(bio);
}

/* ExportCertData: the certificates themselves, PEM. */
static void export_certs(SSL *ssl, ftps_env_fn fn, void *arg) {
  STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
  X509 *own = SSL_get_certificate(ssl);
  X509 *peer = SSL_get0_peer_certificate(ssl);
  char name[64];
  int i;

  /* As mod_tls: on a server the peer chain does not hold the leaf. */
  for (i = 0; chain != NULL && i < sk_X509_num(chain); i++) {
    snprintf(name, sizeof(name), "TLS_CLIENT_CERT_CHAIN%d", i + 1);
    put_pem(fn, arg, name, sk_X509_value(chain, i));
  }
  if (own != NULL) {
    put_pem(fn, arg, "TLS_SERVER_CERT", own);
  }
  if (peer != NULL) {
    put_pem(fn, arg, "TLS_CLIENT_CERT", peer);
  }
}

static void export_cipher(SSL *ssl, ftps_env_fn fn, void *arg) {
  const SSL_CIPHER *cipher = SSL_get_current_cipher(ssl);
  int used, possible = 0;
  char buf[32];

  if (cipher == NULL) {
    return;
  }
  fn("TLS_CIPHER", SSL_CIPHER_get_name(cipher), arg);
  used = SSL_CIPHER_get_bits(cipher, &possible);
  if (used < 56) {
    fn("TLS_CIPHER_EXPORT", "1", arg);
  }
  snprintf(buf, sizeof(buf), "%d", possible);
  fn("TLS_CIPHER_KEYSIZE_POSSIBLE", buf, arg);
  snprintf(buf, sizeof(buf), "%d", used);
  fn("TLS_CIPHER_KEYSIZE_USED", buf, arg);
}

static void export_session(SSL *ssl, ftps_env_fn fn, void *arg) {
  static const char hex[] = "0123456789ABCDEF";
  SSL_SESSION *sess = SSL_get_session(ssl);
  const unsigned char *id;
  unsigned int len = 0, i;
  char buf[2 * SSL_MAX_SSL_SESSION_ID_LENGTH + 1];

  fn("TLS_PROTOCOL", SSL_get_version(ssl), arg);
  if (sess == NULL) {
    return;
  }
  id = SSL_SESSION_get_id(sess, &len);
  for (i = 0; i < len && i < SSL_MAX_SSL_SESSION_ID_LENGTH; i++) {
    buf[2 * i] = hex[id[i] >> 4];
    buf[2 * i + 1] = hex[id[i] & 0x0f];
  }
  buf[2 * i] = '\0';
  fn("TLS_SESSION_ID", buf, arg);
}

int ftps_env_export(ftps_io_t *io, int what, ftps_env_fn fn, void *arg) {
  SSL *ssl = io != NULL ? ftps_io_conn(io) : NULL;
  X509 *cert;

  if (ssl == NULL || fn == NULL) {
    errno = EINVAL;
    return -1;
  }
  if (what & FTPS_ENV_STD) {
    const char *sni = ftps_ctx_sni(ssl);

    export_session(ssl, fn, arg);
    export_cipher(ssl, fn, arg);
    if (sni != NULL) {
      fn("TLS_SERVER_NAME", sni, arg);
    }
    fn("TLS_LIBRARY_VERSION", OpenSSL_version(OPENSSL_VERSION), arg);
    if ((cert = SSL_get_certificate(ssl)) != NULL) {
      (void) ftps_env_cert(cert, "TLS_SERVER_", fn, arg);
    }
    if ((cert = SSL_get0_peer_certificate(ssl)) != NULL) {
      (void) ftps_env_cert(cert, "TLS_CLIENT_", fn, arg);
    }
  }
  if (what & FTPS_ENV_CERTS) {
    export_certs(ssl, fn, arg);
  }
  return 0;
}
