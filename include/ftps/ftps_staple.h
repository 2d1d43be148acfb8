/*
 * ftps_staple.h -- OCSP stapling (FTPSStapling, FTPSStaplingResponse): a
 * DER OCSP response read with the certificates (at startup and on every
 * rebuild of the context), checked to be a successful, signed-by-someone
 * response for one of the vhost's certificates, and stapled only to
 * handshakes that serve that very certificate, while it is fresh
 * (thisUpdate <= now < nextUpdate). Clients verify its signature.
 *
 * OpenSSL only; must not include ProFTPD headers (B2).
 */
#ifndef FTPS_STAPLE_H
#define FTPS_STAPLE_H

#include <stddef.h>
#include <time.h>

#include "ftps/ftps_policy.h"

struct ssl_ctx_st;

/* The largest response file read. */
#define FTPS_STAPLE_MAX_LEN   (64 * 1024)

/* Why a response is not stapled right now. */
#define FTPS_STAPLE_OK          0
#define FTPS_STAPLE_NONE        1   /* stapling off or nothing loaded */
#define FTPS_STAPLE_NOT_YET     2   /* thisUpdate in the future */
#define FTPS_STAPLE_EXPIRED     3   /* nextUpdate passed (or absent) */

/*
 * With p->stapling on and a response file: load it into ctx (after the
 * certificates) and install the status callback. 0 (also when stapling is
 * off), or -1 with a message naming FTPSStaplingResponse, the file and the
 * reason (unreadable, not an OCSP response, unsuccessful, for none of the
 * vhost's certificates).
 */
int ftps_staple_load(struct ssl_ctx_st *ctx, const ftps_policy_t *p,
  char *err, size_t errlen);

/* Load DER bytes as the response of ctx (what ftps_staple_load() does with
 * the file's contents). 0 or -1 with a message in err. */
int ftps_staple_set(struct ssl_ctx_st *ctx, const unsigned char *der,
  size_t len, char *err, size_t errlen);

/*
 * FTPSStapling on without a file: the master fetches the response from the
 * OCSP responder (http://) named by the first certificate that has one and
 * whose issuer is in its certificate file, outside any handshake.
 * ftps_staple_fetch_setup() (called by ftps_staple_load()) picks it, or -1
 * with a message; ftps_staple_fetch_due() says a fetch is needed (none yet,
 * stale, or past half its life); ftps_staple_fetch() asks the responder
 * (timeout seconds, 0 = 5) and keeps the response if it is one for the
 * certificate: 0 (also when ctx fetches nothing), or -1 with a message.
 */
int ftps_staple_fetch_setup(struct ssl_ctx_st *ctx, char *err,
  size_t errlen);
int ftps_staple_fetch_due(const struct ssl_ctx_st *ctx, time_t now);
int ftps_staple_fetch(struct ssl_ctx_st *ctx, int timeout, char *err,
  size_t errlen);

/* FTPS_STAPLE_* for ctx's response at time now. */
int ftps_staple_state(const struct ssl_ctx_st *ctx, time_t now);

/* Free the response ctx carries (ftps_ctx_free() calls it). */
void ftps_staple_free_ctx(struct ssl_ctx_st *ctx);

#endif /* FTPS_STAPLE_H */
