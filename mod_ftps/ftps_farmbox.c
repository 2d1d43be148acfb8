/*
 * ftps_farmbox.c -- TLS layer: seals and opens the entries mod_ftps keeps
 * in Redis (see include/ftps/ftps_farmbox.h for the format). AES-256-GCM,
 * a random 96-bit nonce per entry; the header and the Redis key name are
 * authenticated as AAD. Includes libc and OpenSSL only (B2).
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "ftps/ftps_farmbox.h"

#define MAGIC      "FTPSFARM"
#define MAGIC_LEN  8
#define VERSION    1
#define HDR_LEN    (MAGIC_LEN + 1 + 1 + 8)
#define NONCE_LEN  12
#define TAG_LEN    16

static void put_be64(unsigned char *p, unsigned long long v) {
  int i;

  for (i = 7; i >= 0; i--) {
    p[i] = (unsigned char) (v & 0xff);
    v >>= 8;
  }
}

static unsigned long long get_be64(const unsigned char *p) {
  unsigned long long v = 0;
  int i;

  for (i = 0; i < 8; i++) {
    v = (v << 8) | p[i];
  }
  return v;
}

/* AAD = header | key name. */
static int add_aad(EVP_CIPHER_CTX *c, const unsigned char *hdr,
    const char *name) {
  int n = 0;

  return EVP_CipherUpdate(c, NULL, &n, hdr, HDR_LEN) == 1 &&
    EVP_CipherUpdate(c, NULL, &n, (const unsigned char *) name,
      (int) strlen(name)) == 1 ? 0 : -1;
}

void ftps_farmbox_free(void *buf, size_t len) {
  if (buf != NULL) {
    OPENSSL_cleanse(buf, len);
    free(buf);
  }
}

int ftps_farmbox_seal(const unsigned char key[FTPS_FARM_KEY_LEN],
    const char *name, unsigned int kind, time_t expires,
    const void *pt, size_t ptlen, unsigned char **out, size_t *outlen) {
  EVP_CIPHER_CTX *c = NULL;
  unsigned char *buf, *nonce, *ct;
  size_t len;
  int n = 0, ok = 0;

  if (key == NULL || name == NULL || kind == 0 || kind > 255 ||
      (pt == NULL && ptlen > 0) || ptlen > (1U << 24) || out == NULL ||
      outlen == NULL) {
    errno = EINVAL;
    return -1;
  }
  len = HDR_LEN + NONCE_LEN + ptlen + TAG_LEN;
  buf = malloc(len);
  if (buf == NULL) {
    errno = ENOMEM;
    return -1;
  }
  memcpy(buf, MAGIC, MAGIC_LEN);
  buf[MAGIC_LEN] = VERSION;
  buf[MAGIC_LEN + 1] = (unsigned char) kind;
  put_be64(buf + MAGIC_LEN + 2, (unsigned long long) expires);
  nonce = buf + HDR_LEN;
  ct = nonce + NONCE_LEN;

  c = EVP_CIPHER_CTX_new();
  if (c != NULL && RAND_bytes(nonce, NONCE_LEN) == 1 &&
      EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
      EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) == 1 &&
      EVP_EncryptInit_ex(c, NULL, NULL, key, nonce) == 1 &&
      add_aad(c, buf, name) == 0 &&
      (ptlen == 0 ||
       EVP_EncryptUpdate(c, ct, &n, pt, (int) ptlen) == 1) &&
      EVP_EncryptFinal_ex(c, ct + n, &n) == 1 &&
      EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG_LEN,
        ct + ptlen) == 1) {
    ok = 1;
  }
  EVP_CIPHER_CTX_free(c);
  if (!ok) {
    ftps_farmbox_free(buf, len);
    errno = EIO;
    return -1;
  }
  *out = buf;
  *outlen = len;
  return 0;
}

int ftps_farmbox_open(const unsigned char key[FTPS_FARM_KEY_LEN],
    const char *name, unsigned int kind, time_t now,
    const unsigned char *in, size_t inlen, unsigned char **pt,
    size_t *ptlen) {
  EVP_CIPHER_CTX *c = NULL;
  unsigned char *buf;
  size_t len;
  int n = 0, ok = 0;

  if (key == NULL || name == NULL || in == NULL || pt == NULL ||
      ptlen == NULL) {
    errno = EINVAL;
    return -1;
  }
  if (inlen < HDR_LEN + NONCE_LEN + TAG_LEN ||
      memcmp(in, MAGIC, MAGIC_LEN) != 0 || in[MAGIC_LEN] != VERSION ||
      in[MAGIC_LEN + 1] != (unsigned char) kind) {
    errno = EBADMSG;
    return -1;
  }
  len = inlen - HDR_LEN - NONCE_LEN - TAG_LEN;
  buf = malloc(len > 0 ? len : 1);
  if (buf == NULL) {
    errno = ENOMEM;
    return -1;
  }
  c = EVP_CIPHER_CTX_new();
  if (c != NULL &&
      EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
      EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) == 1 &&
      EVP_DecryptInit_ex(c, NULL, NULL, key, in + HDR_LEN) == 1 &&
      add_aad(c, in, name) == 0 &&
      (len == 0 || EVP_DecryptUpdate(c, buf, &n,
        in + HDR_LEN + NONCE_LEN, (int) len) == 1) &&
      EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG_LEN,
        (void *) (in + inlen - TAG_LEN)) == 1 &&
      EVP_DecryptFinal_ex(c, buf + n, &n) == 1) {
    ok = 1;
  }
  EVP_CIPHER_CTX_free(c);
  if (!ok) {
    ftps_farmbox_free(buf, len > 0 ? len : 1);
    errno = EBADMSG;
    return -1;
  }
  /* Checked only once authenticated: the expiry is part of the AAD. */
  if ((unsigned long long) now >= get_be64(in + MAGIC_LEN + 2)) {
    ftps_farmbox_free(buf, len > 0 ? len : 1);
    errno = ESTALE;
    return -1;
  }
  *pt = buf;
  *ptlen = len;
  return 0;
}

int ftps_farmbox_key_id(const unsigned char key[FTPS_FARM_KEY_LEN],
    char out[17]) {
  static const char label[] = "mod_ftps farm id v1";
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0, i;
  EVP_MD_CTX *c = EVP_MD_CTX_new();
  int ok;

  ok = c != NULL && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
    EVP_DigestUpdate(c, label, sizeof(label)) == 1 &&
    EVP_DigestUpdate(c, key, FTPS_FARM_KEY_LEN) == 1 &&
    EVP_DigestFinal_ex(c, md, &mdlen) == 1 && mdlen >= 8;
  EVP_MD_CTX_free(c);
  if (!ok) {
    errno = EIO;
    return -1;
  }
  for (i = 0; i < 8; i++) {
    snprintf(out + 2 * i, 3, "%02x", md[i]);
  }
  return 0;
}
