/*
 * ftps_ticketkeys.c -- TLS layer: owns the session-ticket key ring
 * (FTPSSessionTicketKeys) and the OpenSSL ticket-key callback that uses it.
 * The glue decides when to rotate (a timer in the master) and when to lock
 * (in each session process); this file owns the keys and their memory.
 *
 * Includes libc and OpenSSL only; never ProFTPD headers (B2).
 */

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "ftps/ftps_ticketkeys.h"

#define KEY_NAME_LEN  16
#define KEY_LEN       32

typedef struct {
  unsigned char name[KEY_NAME_LEN];  /* public: sent in every ticket */
  unsigned char aes[KEY_LEN];        /* AES-256-CBC */
  unsigned char hmac[KEY_LEN];       /* HMAC-SHA256 */
  time_t created;
} ticket_key_t;

/* keys[0] is the newest (it alone encrypts); n <= count. */
typedef struct {
  unsigned int age;
  unsigned int count;
  unsigned int n;
  ticket_key_t keys[FTPS_TICKETKEYS_MAX_COUNT];
} ring_t;

/* The one ring of this process: an anonymous mapping (never a file),
 * excluded from core dumps; inherited by the session processes at fork. */
static ring_t *ring = NULL;
static size_t ring_len = 0;

static int fresh_key(ticket_key_t *k, time_t now) {
  if (RAND_bytes(k->name, sizeof(k->name)) != 1 ||
      RAND_priv_bytes(k->aes, sizeof(k->aes)) != 1 ||
      RAND_priv_bytes(k->hmac, sizeof(k->hmac)) != 1) {
    OPENSSL_cleanse(k, sizeof(*k));
    errno = EIO;
    return -1;
  }
  k->created = now;
  return 0;
}

/* Make room at keys[0]: the oldest beyond count is wiped. */
static void shift_down(void) {
  unsigned int last = ring->n < ring->count ? ring->n : ring->count - 1;

  if (ring->n >= ring->count) {
    OPENSSL_cleanse(&ring->keys[ring->count - 1], sizeof(ticket_key_t));
  }
  memmove(&ring->keys[1], &ring->keys[0], last * sizeof(ticket_key_t));
  if (ring->n < ring->count) {
    ring->n++;
  }
}

static int push_key(time_t created) {
  ticket_key_t k;

  if (fresh_key(&k, created) < 0) {
    return -1;
  }
  shift_down();
  memcpy(&ring->keys[0], &k, sizeof(k));
  OPENSSL_cleanse(&k, sizeof(k));
  return 0;
}

void ftps_ticketkeys_wipe(void) {
  if (ring != NULL) {
    OPENSSL_cleanse(ring, ring_len);
    (void) munlock(ring, ring_len);
    (void) munmap(ring, ring_len);
  }
  ring = NULL;
  ring_len = 0;
}

static int map_ring(void) {
  long page = sysconf(_SC_PAGESIZE);
  size_t len;
  void *m;

  if (page <= 0) {
    page = 4096;
  }
  len = (sizeof(ring_t) + (size_t) page - 1) & ~((size_t) page - 1);
  m = mmap(NULL, len, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) {
    errno = ENOMEM;
    return -1;
  }
#ifdef MADV_DONTDUMP
  (void) madvise(m, len, MADV_DONTDUMP);
#endif
  (void) mlock(m, len);   /* best effort here; see ftps_ticketkeys_lock() */
  ring = m;
  ring_len = len;
  return 0;
}

int ftps_ticketkeys_configure(unsigned int age, unsigned int count,
    time_t now) {
  if (age == 0 || count == 0 || count > FTPS_TICKETKEYS_MAX_COUNT) {
    errno = EINVAL;
    return -1;
  }
  ftps_ticketkeys_wipe();
  if (map_ring() < 0) {
    return -1;
  }
  ring->age = age;
  ring->count = count;
  if (push_key(now) < 0) {
    ftps_ticketkeys_wipe();
    errno = EIO;
    return -1;
  }
  return 0;
}

int ftps_ticketkeys_rotate(time_t now) {
  time_t newest;
  unsigned long due;
  unsigned int i;

  if (ring == NULL || ring->n == 0) {
    errno = EINVAL;
    return -1;
  }
  newest = ring->keys[0].created;
  if (now < newest + (time_t) ring->age) {
    return 0;
  }
  /* One key per full period since the newest: after a long idle spell the
   * older keys are as stale as if the timer had run all along. */
  due = (unsigned long) ((now - newest) / (time_t) ring->age);
  if (due > ring->count) {
    due = ring->count;
  }
  for (i = 0; i < due; i++) {
    if (push_key(now) < 0) {
      return -1;
    }
  }
  return (int) due;
}

static const ticket_key_t *find_key(const unsigned char *name, int *index) {
  unsigned int i;

  for (i = 0; ring != NULL && i < ring->n; i++) {
    if (CRYPTO_memcmp(ring->keys[i].name, name, KEY_NAME_LEN) == 0) {
      *index = (int) i;
      return &ring->keys[i];
    }
  }
  return NULL;
}

static int set_keys(const ticket_key_t *k, EVP_CIPHER_CTX *cctx,
    EVP_MAC_CTX *hctx, const unsigned char *iv, int enc) {
  OSSL_PARAM params[3];

  params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY,
    (void *) k->hmac, sizeof(k->hmac));
  params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
    (char *) "SHA256", 0);
  params[2] = OSSL_PARAM_construct_end();
  if (EVP_MAC_CTX_set_params(hctx, params) != 1) {
    return -1;
  }
  if (enc) {
    return EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k->aes, iv) == 1
      ? 0 : -1;
  }
  return EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k->aes, iv) == 1
    ? 0 : -1;
}

/*
 * SSL_CTX_set_tlsext_ticket_key_evp_cb(3). Encrypt: always with the newest
 * key. Decrypt: 0 (unknown or dropped key: full handshake), 1 (newest), 2
 * (older key: use it and renew the ticket under the newest). What a
 * decrypted ticket may open is still decided by ftps_ctx.c's ticket_dec_cb
 * (vhost session-ID context, data-channel binding nonce).
 */
static int ticket_key_cb(SSL *ssl, unsigned char *name, unsigned char *iv,
    EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc) {
  const ticket_key_t *k;
  int index = 0;

  if (enc) {
    if (ring == NULL || ring->n == 0) {
      return 0;
    }
    k = &ring->keys[0];
    if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(EVP_aes_256_cbc())) != 1) {
      return -1;
    }
    memcpy(name, k->name, KEY_NAME_LEN);
    return set_keys(k, cctx, hctx, iv, 1) == 0 ? 1 : -1;
  }

  k = find_key(name, &index);
  if (k == NULL) {
    return 0;
  }
  if (set_keys(k, cctx, hctx, iv, 0) < 0) {
    return -1;
  }
  return index == 0 ? 1 : 2;
}

int ftps_ticketkeys_install(SSL_CTX *ctx) {
  if (ctx == NULL || ring == NULL) {
    errno = EINVAL;
    return -1;
  }
  if (SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_key_cb) != 1) {
    errno = EINVAL;
    return -1;
  }
  return 0;
}

int ftps_ticketkeys_lock(void) {
  if (ring == NULL) {
    return 0;
  }
  return mlock(ring, ring_len);
}

int ftps_ticketkeys_matches(unsigned int age, unsigned int count) {
  return ring != NULL && ring->age == age && ring->count == count;
}

unsigned int ftps_ticketkeys_count(void) {
  return ring != NULL ? ring->n : 0;
}

size_t ftps_ticketkeys_memory(void) {
  return ring_len;
}

/* ---- the shared ring (issue 12): export for Redis, import from it ---- */

/* Wire form: n (1) | per key: name (16) | aes (32) | hmac (32) |
 * created (8, big-endian). Sealed by ftps_farmbox.c before it leaves the
 * process; age and count are each node's own configuration. */
#define WIRE_KEY_LEN  (KEY_NAME_LEN + KEY_LEN + KEY_LEN + 8)

int ftps_ticketkeys_export(unsigned char **buf, size_t *len) {
  unsigned char *b, *p;
  unsigned int i;
  int j;

  if (ring == NULL || ring->n == 0 || buf == NULL || len == NULL) {
    errno = EINVAL;
    return -1;
  }
  b = OPENSSL_malloc(1 + ring->n * WIRE_KEY_LEN);
  if (b == NULL) {
    errno = ENOMEM;
    return -1;
  }
  b[0] = (unsigned char) ring->n;
  p = b + 1;
  for (i = 0; i < ring->n; i++) {
    unsigned long long t = (unsigned long long) ring->keys[i].created;

    memcpy(p, ring->keys[i].name, KEY_NAME_LEN);
    memcpy(p + KEY_NAME_LEN, ring->keys[i].aes, KEY_LEN);
    memcpy(p + KEY_NAME_LEN + KEY_LEN, ring->keys[i].hmac, KEY_LEN);
    for (j = 7; j >= 0; j--) {
      p[KEY_NAME_LEN + 2 * KEY_LEN + j] = (unsigned char) (t & 0xff);
      t >>= 8;
    }
    p += WIRE_KEY_LEN;
  }
  *buf = b;
  *len = 1 + ring->n * WIRE_KEY_LEN;
  return 0;
}

void ftps_ticketkeys_export_free(unsigned char *buf, size_t len) {
  OPENSSL_clear_free(buf, len);
}

int ftps_ticketkeys_import(const unsigned char *buf, size_t len) {
  unsigned int i, n;
  const unsigned char *p;

  if (ring == NULL || buf == NULL || len < 1) {
    errno = EINVAL;
    return -1;
  }
  n = buf[0];
  if (n == 0 || n > FTPS_TICKETKEYS_MAX_COUNT ||
      len != 1 + (size_t) n * WIRE_KEY_LEN) {
    errno = EBADMSG;
    return -1;
  }
  if (n > ring->count) {
    n = ring->count;    /* this node keeps fewer: the newest ones */
  }
  OPENSSL_cleanse(ring->keys, sizeof(ring->keys));
  p = buf + 1;
  for (i = 0; i < n; i++) {
    unsigned long long t = 0;
    int j;

    memcpy(ring->keys[i].name, p, KEY_NAME_LEN);
    memcpy(ring->keys[i].aes, p + KEY_NAME_LEN, KEY_LEN);
    memcpy(ring->keys[i].hmac, p + KEY_NAME_LEN + KEY_LEN, KEY_LEN);
    for (j = 0; j < 8; j++) {
      t = (t << 8) | p[KEY_NAME_LEN + 2 * KEY_LEN + j];
    }
    ring->keys[i].created = (time_t) t;
    p += WIRE_KEY_LEN;
  }
  ring->n = n;
  return (int) n;
}

int ftps_ticketkeys_newest(time_t *created, unsigned char name[16]) {
  if (ring == NULL || ring->n == 0) {
    errno = EINVAL;
    return -1;
  }
  if (created != NULL) {
    *created = ring->keys[0].created;
  }
  if (name != NULL) {
    memcpy(name, ring->keys[0].name, KEY_NAME_LEN);
  }
  return 0;
}
