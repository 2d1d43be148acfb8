/*
 * testpki.c -- owns the test certificates: generated in-process with the
 * OpenSSL 3 API at test time (never checked in, never expiring), written as
 * PEM into a mkdtemp(3) directory that the creating process removes at exit.
 */

#include <limits.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tests.h"

#define PKI_MAX_PATHS   32

static struct {
  int ready;
  pid_t owner;
  char dir[PATH_MAX];
  int npaths;
  char *paths[PKI_MAX_PATHS];
} pki;

/* Files created, for the cleanup. */
static const char *const pki_files[] = {
  "ec.crt", "ec.key", "rsa.crt", "rsa.key", "other.key", "garbage.pem",
  "ca.crt", "chain.crt", "chain.key", "combined.pem", "enc.key",
};

static void pki_cleanup(void) {
  char path[PATH_MAX];
  int i;

  /* Check's forked test processes exit too: only the creator cleans up. */
  if (!pki.ready || pki.owner != getpid()) {
    return;
  }
  for (i = 0; i < TESTS_NELEMS(pki_files); i++) {
    if (snprintf(path, sizeof(path), "%s/%s", pki.dir, pki_files[i]) <
        (int) sizeof(path)) {
      (void) unlink(path);
    }
  }
  (void) rmdir(pki.dir);
  pki.ready = 0;
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value) {
  X509V3_CTX v3;
  X509_EXTENSION *ext;
  int ok;

  X509V3_set_ctx(&v3, issuer, cert, NULL, NULL, 0);
  ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
  if (ext == NULL) {
    return -1;
  }
  ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  return ok == 1 ? 0 : -1;
}

/* A certificate for key named cn, signed by issuer (NULL: self-signed). */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer,
    EVP_PKEY *issuer_key, int is_ca, long serial) {
  X509 *cert = X509_new();
  X509_NAME *name;

  if (cert == NULL) {
    return NULL;
  }
  name = X509_get_subject_name(cert);
  if (X509_set_version(cert, X509_VERSION_3) != 1 ||
      ASN1_INTEGER_set(X509_get_serialNumber(cert), serial) != 1 ||
      X509_gmtime_adj(X509_getm_notBefore(cert), -3600) == NULL ||
      X509_gmtime_adj(X509_getm_notAfter(cert), 7L * 86400) == NULL ||
      X509_set_pubkey(cert, key) != 1 ||
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
        (const unsigned char *) cn, -1, -1, 0) != 1 ||
      X509_set_issuer_name(cert, issuer != NULL ?
        X509_get_subject_name(issuer) : name) != 1) {
    goto err;
  }
  if (issuer == NULL) {
    issuer = cert;
    issuer_key = key;
  }
  if (add_ext(cert, issuer, NID_subject_key_identifier, "hash") < 0 ||
      add_ext(cert, issuer, NID_authority_key_identifier, "keyid") < 0) {
    goto err;
  }
  if (is_ca) {
    if (add_ext(cert, issuer, NID_basic_constraints, "critical,CA:TRUE") < 0 ||
        add_ext(cert, issuer, NID_key_usage, "critical,keyCertSign,cRLSign")
          < 0) {
      goto err;
    }
  } else if (add_ext(cert, issuer, NID_basic_constraints, "CA:FALSE") < 0 ||
      add_ext(cert, issuer, NID_subject_alt_name,
        "DNS:localhost,IP:127.0.0.1") < 0) {
    goto err;
  }
  if (X509_sign(cert, issuer_key, EVP_sha256()) <= 0) {
    goto err;
  }
  return cert;

err:
  X509_free(cert);
  return NULL;
}

static FILE *open_out(const char *name) {
  char path[PATH_MAX];

  if (snprintf(path, sizeof(path), "%s/%s", pki.dir, name) >=
      (int) sizeof(path)) {
    return NULL;
  }
  return fopen(path, "w");
}

/* Writes certs (NULL-terminated) then key (may be NULL) to one file. */
static int write_pem(const char *name, X509 *const *certs, EVP_PKEY *key) {
  FILE *fp = open_out(name);
  int ok = (fp != NULL);

  for (; ok && certs != NULL && *certs != NULL; certs++) {
    ok = PEM_write_X509(fp, *certs) == 1;
  }
  if (ok && key != NULL) {
    ok = PEM_write_PrivateKey(fp, key, NULL, NULL, 0, NULL, NULL) == 1;
  }
  if (fp != NULL && fclose(fp) != 0) {
    ok = 0;
  }
  return ok ? 0 : -1;
}

/* key, encrypted with a passphrase nobody will type. */
static int write_encrypted_key(const char *name, EVP_PKEY *key) {
  static const char pass[] = "not-typed-at-startup";
  FILE *fp = open_out(name);
  int ok;

  if (fp == NULL) {
    return -1;
  }
  ok = PEM_write_PrivateKey(fp, key, EVP_aes_128_cbc(),
    (const unsigned char *) pass, (int) sizeof(pass) - 1, NULL, NULL) == 1;
  if (fclose(fp) != 0) {
    ok = 0;
  }
  return ok ? 0 : -1;
}

static int write_garbage(const char *name) {
  static const char text[] =
    "-----BEGIN CERTIFICATE-----\n"
    "this is not base64 at all, and not DER either!\n"
    "-----END CERTIFICATE-----\n"
    "\x01\x02\x03 random trailing bytes\n";
  FILE *fp = open_out(name);

  if (fp == NULL) {
    return -1;
  }
  if (fwrite(text, 1, sizeof(text) - 1, fp) != sizeof(text) - 1) {
    (void) fclose(fp);
    return -1;
  }
  return fclose(fp) == 0 ? 0 : -1;
}

/* A self-signed server certificate: <base>.crt and <base>.key. */
static int write_self_signed(const char *base, EVP_PKEY *key, long serial) {
  char crt[64], keyname[64];
  X509 *cert = make_cert(key, "localhost", NULL, NULL, 0, serial);
  X509 *list[2] = { cert, NULL };
  int res;

  if (cert == NULL) {
    return -1;
  }
  snprintf(crt, sizeof(crt), "%s.crt", base);
  snprintf(keyname, sizeof(keyname), "%s.key", base);
  res = (write_pem(crt, list, NULL) == 0 &&
    write_pem(keyname, NULL, key) == 0) ? 0 : -1;
  if (res == 0 && strcmp(base, "ec") == 0) {
    res = write_pem("combined.pem", list, key);
  }
  X509_free(cert);
  return res;
}

static int write_chain(EVP_PKEY *ca_key, EVP_PKEY *leaf_key) {
  X509 *ca = make_cert(ca_key, "mod_ftps test CA", NULL, NULL, 1, 100);
  X509 *leaf = NULL;
  int res = -1;

  if (ca != NULL) {
    leaf = make_cert(leaf_key, "localhost", ca, ca_key, 0, 101);
  }
  if (leaf != NULL) {
    X509 *chain[3] = { leaf, ca, NULL };
    X509 *root[2] = { ca, NULL };

    res = (write_pem("ca.crt", root, NULL) == 0 &&
      write_pem("chain.crt", chain, NULL) == 0 &&
      write_pem("chain.key", NULL, leaf_key) == 0) ? 0 : -1;
  }
  X509_free(leaf);
  X509_free(ca);
  return res;
}

static int generate(void) {
  EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
  EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 2048);
  EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
  EVP_PKEY *ca = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
  EVP_PKEY *leaf = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
  int res = -1;

  if (ec != NULL && rsa != NULL && other != NULL && ca != NULL &&
      leaf != NULL &&
      write_self_signed("ec", ec, 1) == 0 &&
      write_self_signed("rsa", rsa, 2) == 0 &&
      write_pem("other.key", NULL, other) == 0 &&
      write_encrypted_key("enc.key", ec) == 0 &&
      write_garbage("garbage.pem") == 0 &&
      write_chain(ca, leaf) == 0) {
    res = 0;
  }
  EVP_PKEY_free(ec);
  EVP_PKEY_free(rsa);
  EVP_PKEY_free(other);
  EVP_PKEY_free(ca);
  EVP_PKEY_free(leaf);
  return res;
}

int testpki_setup(void) {
  const char *tmp = getenv("TMPDIR");

  if (pki.ready) {
    return 0;
  }
  snprintf(pki.dir, sizeof(pki.dir), "%s/mod_ftps-pki.XXXXXX",
    tmp != NULL && *tmp == '/' ? tmp : "/tmp");
  if (mkdtemp(pki.dir) == NULL) {
    fprintf(stderr, "testpki: mkdtemp(%s): %s\n", pki.dir, strerror(errno));
    return -1;
  }
  pki.owner = getpid();
  pki.ready = 1;
  (void) atexit(pki_cleanup);

  if (generate() < 0) {
    fprintf(stderr, "testpki: cannot generate test certificates in %s: %s\n",
      pki.dir, ERR_error_string(ERR_get_error(), NULL));
    pki_cleanup();
    return -1;
  }
  return 0;
}

const char *testpki_dir(void) {
  return testpki_setup() == 0 ? pki.dir : NULL;
}

const char *testpki_path(const char *name) {
  char path[PATH_MAX];
  int i;

  if (name == NULL || testpki_setup() < 0) {
    return NULL;
  }
  if (snprintf(path, sizeof(path), "%s/%s", pki.dir, name) >=
      (int) sizeof(path)) {
    return NULL;
  }
  for (i = 0; i < pki.npaths; i++) {
    if (strcmp(pki.paths[i], path) == 0) {
      return pki.paths[i];
    }
  }
  if (pki.npaths == PKI_MAX_PATHS) {
    return NULL;
  }
  pki.paths[pki.npaths] = strdup(path);
  return pki.paths[pki.npaths++];
}
