/*
 * ftps_warm.h -- warming up a server context in the master before the
 * session processes fork (see ftps_warm.c).
 *
 * OpenSSL types stay opaque here: the glue includes this header (B2).
 */
#ifndef FTPS_WARM_H
#define FTPS_WARM_H

#include "ftps/ftps_ctx.h"

/* Drive a handshake between two connections joined by a BIO pair (one
 * client, one server) until both finish: 0, or -1 if either fails. The
 * warm-up's, and the tests' and bench tools' in-memory handshakes. */
int ftps_warm_pump(ftps_conn_t *client, ftps_conn_t *server);

/* Run one full handshake and one resumption against ctx, in memory, leaving
 * nothing in its session cache. Best effort: failures are ignored. */
void ftps_warm_up(ftps_ctx_t *ctx);

#endif /* FTPS_WARM_H */
