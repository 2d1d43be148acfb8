/*
 * ftps_trust.c -- owns loading what a vhost's TLS context trusts and shows:
 * its certificates and keys (FTPSCertificate: one RSA and one ECDSA at
 * most, each key checked against its own certificate) and the CAs and CRLs
 * that verify client certificates (FTPSCACertificate*, FTPSCARevocation*),
 * read in full at startup, before any chroot.
 *
 * OpenSSL only; must not include ProFTPD headers (B2).
 */

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "ftps/ftps_cert.h"
#include "ftps/ftps_keys.h"
#include "ftps/ftps_trust.h"
#include "ftps/ftps_tlserr.h"

/* Add every PEM certificate (want_crls 0) or CRL (1) in file to store.
 * Returns the number added, or -1. */
static int load_pem_file(X509_STORE *store, const char *file, int want_crls) {
  BIO *bio = BIO_new_file(file, "r");
  int n = 0;

  if (bio == NULL) {
    return -1;
  }
  for (;;) {
    int ok;

    if (want_crls) {
      X509_CRL *crl = PEM_read_bio_X509_CRL(bio, NULL,
        ftps_cert_no_passphrase, NULL);
      if (crl == NULL) {
        break;
      }
      ok = X509_STORE_add_crl(store, crl);
      X509_CRL_free(crl);
    } else {
      X509 *x = PEM_read_bio_X509(bio, NULL, ftps_cert_no_passphrase, NULL);
      if (x == NULL) {
        break;
      }
      ok = X509_STORE_add_cert(store, x);
      X509_free(x);
    }
    if (ok != 1) {
      BIO_free(bio);
      return -1;
    }
    n++;
  }
  BIO_free(bio);
  ERR_clear_error();   /* the loop ends on "no start line" */
  return n;
}

/*
 * Load a whole directory now, in the master: OpenSSL's hashed-directory
 * lookup would read it lazily at verification time, after chroot.
 */
static int load_pem_dir(X509_STORE *store, const char *dir, int want_crls) {
  DIR *d = opendir(dir);
  struct dirent *de;
  int total = 0;

  if (d == NULL) {
    return -1;
  }
  while ((de = readdir(d)) != NULL) {
    char path[4096];
    int n;

    if (de->d_name[0] == '.') {
      continue;
    }
    snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
    n = load_pem_file(store, path, want_crls);
    total += n > 0 ? n : 0;
  }
  closedir(d);
  return total;
}

static int load_trust(X509_STORE *store, const char *directive,
    const char *path, int is_dir, int want_crls, char *err, size_t errlen) {
  char why[256];
  int n;

  if (path == NULL) {
    return 0;
  }
  ERR_clear_error();
  errno = 0;
  n = is_dir ? load_pem_dir(store, path, want_crls) :
    load_pem_file(store, path, want_crls);
  if (n < 0) {
    return ftps_tlserr_fail(err, errlen, "%s: cannot load '%s': %s", directive, path,
      errno != 0 ? strerror(errno) : ftps_tlserr_reason(why, sizeof(why)));
  }
  if (n == 0) {
    return ftps_tlserr_fail(err, errlen, "%s: '%s' holds no PEM %s", directive, path,
      want_crls ? "CRL" : "certificate");
  }
  return n;
}

int ftps_trust_load_store(X509_STORE *store, const ftps_policy_t *p,
    char *err, size_t errlen) {
  if (store == NULL || p == NULL || err == NULL || errlen == 0) {
    errno = EINVAL;
    return -1;
  }
  if (load_trust(store, "FTPSCACertificateFile", p->ca_file, 0, 0, err,
        errlen) < 0 ||
      load_trust(store, "FTPSCACertificatePath", p->ca_path, 1, 0, err,
        errlen) < 0 ||
      load_trust(store, "FTPSCARevocationFile", p->crl_file, 0, 1, err,
        errlen) < 0 ||
      load_trust(store, "FTPSCARevocationPath", p->crl_path, 1, 1, err,
        errlen) < 0) {
    return -1;
  }
  return 0;
}

static int key_type_name(int type, const char **name) {
  switch (type) {
    case EVP_PKEY_RSA:
    case EVP_PKEY_RSA_PSS:
      *name = "RSA";
      return 0;
    case EVP_PKEY_EC:
      *name = "ECDSA";
      return 1;
    default:
      *name = "other";
      return 2;
  }
}

/* FTPSReload / issue 11: an expired server certificate is refused at
 * startup and at every reload, with its date, rather than served. */
static int refuse_expired(X509 *leaf, const char *file, char *err,
    size_t errlen) {
  char when[64];

  if (X509_cmp_current_time(X509_get0_notAfter(leaf)) > 0) {
    return 0;
  }
  if (ftps_cert_not_after(leaf, when, sizeof(when)) < 0) {
    snprintf(when, sizeof(when), "(unreadable date)");
  }
  ERR_clear_error();
  return ftps_tlserr_fail(err, errlen, "FTPSCertificate: certificate '%s' expired on "
    "%s; renew it", file, when);
}

/* Reads the leaf certificate to learn its key type before loading. */
static int read_leaf_type(const char *file, int *type, char *err,
    size_t errlen) {
  char why[256];
  BIO *bio;
  X509 *leaf;

  ERR_clear_error();
  bio = BIO_new_file(file, "r");
  if (bio == NULL) {
    int xerrno = errno;
    ERR_clear_error();
    return ftps_tlserr_fail(err, errlen, "FTPSCertificate: cannot open certificate "
      "file '%s': %s", file, strerror(xerrno));
  }
  leaf = PEM_read_bio_X509(bio, NULL, ftps_cert_no_passphrase, NULL);
  BIO_free(bio);
  if (leaf == NULL) {
    return ftps_tlserr_fail(err, errlen, "FTPSCertificate: '%s' holds no PEM "
      "certificate (%s)", file, ftps_tlserr_reason(why, sizeof(why)));
  }
  *type = EVP_PKEY_get_base_id(X509_get0_pubkey(leaf));
  if (refuse_expired(leaf, file, err, errlen) < 0) {
    X509_free(leaf);
    return -1;
  }
  X509_free(leaf);
  return 0;
}

static int load_key(SSL_CTX *ctx, const ftps_cert_pair_t *pair, char *err,
    size_t errlen) {
  char why[256];
  EVP_PKEY *key;
  BIO *bio;

  ERR_clear_error();
  bio = BIO_new_file(pair->key_file, "r");
  if (bio == NULL) {
    int xerrno = errno;
    ERR_clear_error();
    return ftps_tlserr_fail(err, errlen, "FTPSCertificate: cannot open key file '%s': "
      "%s", pair->key_file, strerror(xerrno));
  }
  /* Encrypted keys: the passphrase comes from FTPSPassPhraseProvider or
   * the terminal (ftps_keys.c). */
  key = ftps_keys_read_pem_key(bio, pair->key_file, why, sizeof(why));
  BIO_free(bio);
  if (key == NULL) {
    return ftps_tlserr_fail(err, errlen, "FTPSCertificate: '%s' holds no usable private "
      "key: %s", pair->key_file, why);
  }

  /* Check against this pair's certificate: SSL_CTX_use_PrivateKey() files
   * the key by its type, so a wrong key could land in the other slot. */
  ERR_clear_error();
  if (X509_check_private_key(SSL_CTX_get0_certificate(ctx), key) != 1 ||
      SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1) {
    EVP_PKEY_free(key);
    return ftps_tlserr_fail(err, errlen, "FTPSCertificate: key '%s' does not match "
      "certificate '%s': %s", pair->key_file, pair->cert_file,
      ftps_tlserr_reason(why, sizeof(why)));
  }
  EVP_PKEY_free(key);
  return 0;
}

int ftps_trust_load_certs(SSL_CTX *ctx, const ftps_policy_t *p, char *err,
    size_t errlen) {
  int i, seen[3] = { 0, 0, 0 };
  char why[256];

  if (ctx == NULL || p == NULL || err == NULL || errlen == 0) {
    errno = EINVAL;
    return -1;
  }
  for (i = 0; i < p->ncerts; i++) {
    ftps_cert_pair_t pair = p->certs[i];
    const char *tname;
    int type = 0, slot;

    if (pair.key_file == NULL) {
      pair.key_file = pair.cert_file;
    }
    if (ftps_keys_is_special(pair.cert_file)) {
      /* PKCS#12 or a store URI: certificate, chain and key in one go. */
      if (ftps_keys_use_special(ctx, pair.cert_file, pair.key_file, &type,
          err, errlen) < 0) {
        return -1;
      }
    } else if (read_leaf_type(pair.cert_file, &type, err, errlen) < 0) {
      return -1;
    }
    slot = key_type_name(type, &tname);
    if (slot == 2) {
      return ftps_tlserr_fail(err, errlen, "FTPSCertificate: '%s' has an unsupported "
        "key type; expected RSA or ECDSA", pair.cert_file);
    }
    if (seen[slot]++) {
      return ftps_tlserr_fail(err, errlen, "FTPSCertificate: '%s' is a second %s "
        "certificate; give at most one RSA and one ECDSA certificate",
        pair.cert_file, tname);
    }

    if (ftps_keys_is_special(pair.cert_file)) {
      continue;   /* loaded above */
    }
    ERR_clear_error();
    if (SSL_CTX_use_certificate_chain_file(ctx, pair.cert_file) != 1) {
      return ftps_tlserr_fail(err, errlen, "FTPSCertificate: cannot load certificate "
        "chain '%s': %s", pair.cert_file, ftps_tlserr_reason(why, sizeof(why)));
    }
    if (load_key(ctx, &pair, err, errlen) < 0) {
      return -1;
    }
  }
  return 0;
}
