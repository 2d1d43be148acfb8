/*
 * ftps_keys.h -- private keys that need more than a plain PEM read:
 * encrypted PEM keys and PKCS#12 files unlocked with a passphrase from the
 * FTPSPassPhraseProvider program (or, with none, the terminal), and
 * OpenSSL store URIs (file:, pkcs11: and whatever providers openssl.cnf
 * configures). A passphrase lives in one locked page (mlock) only while the
 * key it unlocks is read, and is wiped (OPENSSL_cleanse) right after.
 *
 * OpenSSL and libc only; must not include ProFTPD headers (B2).
 */
#ifndef FTPS_KEYS_H
#define FTPS_KEYS_H

#include <stddef.h>

struct ssl_ctx_st;
struct bio_st;
struct evp_pkey_st;

/* mod_tls's limit: a provider that has not answered by then is killed. */
#define FTPS_PASSPHRASE_TIMEOUT     10
#define FTPS_PASSPHRASE_MAX         1023

/*
 * Where passphrases come from, for the keys loaded until the next call:
 * program (absolute path, run as `program server-name key-file`; the first
 * line of its stdout is the passphrase) or NULL; allow_tty: with no
 * program, ask on the terminal (only if stdin is one). server_name: the
 * first argument. timeout_ms: 0 = FTPS_PASSPHRASE_TIMEOUT seconds.
 */
void ftps_keys_set_source(const char *program, const char *server_name,
  int allow_tty, int timeout_ms);

/* Run the provider for key_file into buf (NUL-terminated, without the
 * newline). Its length, or -1 with a reason in err (exit status, signal,
 * timeout, empty output). */
int ftps_keys_run_provider(const char *program, const char *server_name,
  const char *key_file, int timeout_ms, char *buf, size_t buflen, char *err,
  size_t errlen);

/* cert_file is not a PEM file for the plain path: a store URI
 * ("scheme:...", e.g. file:/x.pem, pkcs11:...) or a PKCS#12 file (.p12,
 * .pfx), as ftps_policy_cert_source() tells. */
int ftps_keys_is_special(const char *cert_file);

/*
 * Load the certificate (with its chain) and key of a special cert_file
 * (key_file: another URI for the key, or NULL/the same) into ctx, the key
 * checked against the certificate. *key_type: the leaf's EVP_PKEY base id.
 * 0, or -1 with a message naming FTPSCertificate, the file and the reason.
 */
int ftps_keys_use_special(struct ssl_ctx_st *ctx, const char *cert_file,
  const char *key_file, int *key_type, char *err, size_t errlen);

/* A PEM private key from bio, encrypted or not (passphrase as above).
 * NULL with a reason in err (without the file name). */
struct evp_pkey_st *ftps_keys_read_pem_key(struct bio_st *bio,
  const char *key_file, char *err, size_t errlen);

#endif /* FTPS_KEYS_H */
