/*
 * ftps_warm.h -- warming up a server context in the master before the
 * session processes fork (see ftps_warm.c).
 *
 * OpenSSL types stay opaque here: the glue includes this header (B2).
 */
#ifndef FTPS_WARM_H
#define FTPS_WARM_H

#include "ftps/ftps_ctx.h"

/* Run one full handshake and one resumption against ctx, in memory, leaving
 * nothing in its session cache. Best effort: failures are ignored. */
void ftps_warm_up(ftps_ctx_t *ctx);

#endif /* FTPS_WARM_H */
