/*
 * ftps_farmbox.h -- TLS layer: the sealed entry format of everything
 * mod_ftps keeps in Redis (issue 12, FTPSSharedKeyFile). No OpenSSL types
 * here: the glue includes this header.
 *
 * An entry is
 *   "FTPSFARM" | version (1) | kind (1) | expires (8, big-endian, time_t)
 *   | nonce (12) | ciphertext | tag (16)
 * sealed with AES-256-GCM under the farm's 32-byte shared key. The AAD is
 * the entry's header (magic, version, kind, expiry) and the entry's Redis
 * key name, so an entry moved to another key, relabelled as another kind
 * or given another expiry fails authentication.
 */

#ifndef FTPS_FARMBOX_H
#define FTPS_FARMBOX_H

#include <stddef.h>
#include <time.h>

#define FTPS_FARM_KEY_LEN        32
#define FTPS_FARM_KIND_SESSION   1     /* a TLS 1.2 session (by ID) */
#define FTPS_FARM_KIND_TICKETKEYS 2    /* the session-ticket key ring */
#define FTPS_FARM_OVERHEAD       (8 + 1 + 1 + 8 + 12 + 16)

/* Seal plaintext into a malloc(3)ed entry (*out, *outlen). 0 or -1
 * (errno EINVAL, ENOMEM, EIO). */
int ftps_farmbox_seal(const unsigned char key[FTPS_FARM_KEY_LEN],
  const char *name, unsigned int kind, time_t expires,
  const void *pt, size_t ptlen, unsigned char **out, size_t *outlen);

/* Open an entry into a malloc(3)ed plaintext. -1 with errno EBADMSG (not
 * ours, tampered, wrong key, wrong name or kind), ESTALE (expired at now),
 * EINVAL or ENOMEM. */
int ftps_farmbox_open(const unsigned char key[FTPS_FARM_KEY_LEN],
  const char *name, unsigned int kind, time_t now,
  const unsigned char *in, size_t inlen, unsigned char **pt, size_t *ptlen);

/* The farm's public name: 16 hex digits of a hash of the key (domain-
 * separated), so farms with different keys never share Redis names. */
int ftps_farmbox_key_id(const unsigned char key[FTPS_FARM_KEY_LEN],
  char out[17]);

/* Free and wipe a buffer from seal/open. */
void ftps_farmbox_free(void *buf, size_t len);

#endif /* FTPS_FARMBOX_H */
