/*
 * ftps_ticketkeys.h -- the session-ticket key ring (FTPSSessionTicketKeys):
 * random keys made in memory in the master, rotated there every `age`
 * seconds; the newest encrypts new tickets, the last `count` decrypt. Session
 * processes inherit the ring at fork and never rotate it, so a ticket issued
 * by any running session stays valid in sessions forked up to age x count
 * seconds later. Keys never touch the disk: the ring is one anonymous
 * mapping, excluded from core dumps, locked (mlock) where allowed, and wiped
 * (OPENSSL_cleanse) when dropped.
 *
 * OpenSSL only; must not include ProFTPD headers (B2).
 */
#ifndef FTPS_TICKETKEYS_H
#define FTPS_TICKETKEYS_H

#include <stddef.h>
#include <time.h>

#include "ftps/ftps_ctx.h"

#define FTPS_TICKETKEYS_MAX_COUNT   32

/* Make a new ring of one fresh key, created at now (dropping any old one).
 * age >= 1 second, 1 <= count <= FTPS_TICKETKEYS_MAX_COUNT. 0, or -1 with
 * errno (EINVAL, ENOMEM, EIO: no randomness). */
int ftps_ticketkeys_configure(unsigned int age, unsigned int count,
  time_t now);

/* Master only: add the keys due by now (one per full `age` since the
 * newest, at most `count`), dropping (and wiping) the oldest beyond count.
 * The number of keys added, or -1 (EINVAL: no ring; EIO). */
int ftps_ticketkeys_rotate(time_t now);

/* Encrypt and decrypt tickets on ctx with the ring. 0, or -1/EINVAL (no
 * ring, or no ctx). */
int ftps_ticketkeys_install(ftps_ctx_t *ctx);

/* In a session process: lock the ring's pages in memory (mlock(2) locks are
 * not inherited across fork). 0, or -1 with errno from mlock(2). */
int ftps_ticketkeys_lock(void);

/* Wipe and unmap the ring; tickets are then neither issued nor accepted by
 * contexts it was installed on (full handshakes). */
void ftps_ticketkeys_wipe(void);

/* 1 if a ring exists and was made with these parameters, else 0. */
int ftps_ticketkeys_matches(unsigned int age, unsigned int count);

/* Keys in the ring now, and the bytes of memory it holds. */
unsigned int ftps_ticketkeys_count(void);
size_t ftps_ticketkeys_memory(void);

/* The shared ring (FTPSSessionTicketKeys ... shared redis, issue 12).
 * export: the whole ring as bytes (OPENSSL_malloc'ed; free with
 * ftps_ticketkeys_export_free, which wipes). import: replace this ring's
 * keys with an exported ring's (its newest `count` keys); returns how many
 * keys it now holds, or -1 (EINVAL no ring; EBADMSG malformed). newest:
 * the newest key's creation time and public name. */
int ftps_ticketkeys_export(unsigned char **buf, size_t *len);
void ftps_ticketkeys_export_free(unsigned char *buf, size_t len);
int ftps_ticketkeys_import(const unsigned char *buf, size_t len);
int ftps_ticketkeys_newest(time_t *created, unsigned char name[16]);

#endif /* FTPS_TICKETKEYS_H */
