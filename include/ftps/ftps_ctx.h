/*
 * ftps_ctx.h -- builds one server SSL_CTX per virtual host from a merged
 * ftps_policy_t, and owns the data-channel session binding: every ticket or
 * cached session issued on a control connection carries this process's
 * random binding nonce, and a data connection is accepted only if it resumed
 * such a session (RFC 4217 §10.2 lets the server insist on reuse).
 *
 * OpenSSL only; must not include ProFTPD headers (B2).
 */
#ifndef FTPS_CTX_H
#define FTPS_CTX_H

#include <stddef.h>

/* OpenSSL's SSL_CTX and SSL, opaque to callers: only the TLS layer
 * (ftps_ctx.c, ftps_io.c, ftps_cert.c) includes OpenSSL. */
typedef struct ssl_ctx_st ftps_ctx_t;
typedef struct ssl_st ftps_conn_t;

/* TLS alert numbers (RFC 8446 §6) an SNI chooser may answer with. */
#define FTPS_ALERT_ACCESS_DENIED      49
#define FTPS_ALERT_INTERNAL_ERROR     80
#define FTPS_ALERT_UNRECOGNIZED_NAME  112

#include "ftps/ftps_policy.h"

#define FTPS_ROLE_CTRL  1
#define FTPS_ROLE_DATA  2

/* Why a data connection was refused. */
#define FTPS_REUSE_OK           0
#define FTPS_REUSE_NONE         1   /* the client offered no session */
#define FTPS_REUSE_FOREIGN      2   /* a session of another connection/server */
#define FTPS_REUSE_UNKNOWN      3   /* offered, not found (evicted or expired) */

/* Lifetime of sessions and tickets; bound sessions are refreshed on use. */
#define FTPS_SESSION_TIMEOUT    7200

/* Build and fully configure a server context (certificates, protocols,
 * ciphers, session handling). vhost_id names the vhost (e.g. ServerName,
 * address and port): with every setting a session proves, it makes the
 * session-ID context, so sessions resume only on the vhost and settings
 * that made them. NULL with a message naming the directive, file and
 * reason in err. Reads files: call with the needed privileges. */
ftps_ctx_t *ftps_ctx_build(const ftps_policy_t *p, const char *vhost_id,
  char *err, size_t errlen);

/* Free a context from ftps_ctx_build() with what mod_ftps attached to it.
 * Never SSL_CTX_free() such a context directly. */
void ftps_ctx_free(ftps_ctx_t *ctx);

/* Start a new binding: a fresh random nonce for this process. Call once in
 * every session process, before the first handshake. 0 or -1. */
int ftps_ctx_new_binding(void);

/* Mark a new SSL as a control or data connection (for the callbacks),
 * before its handshake and before any SNI switch. */
int ftps_ctx_set_role(ftps_conn_t *ssl, int role);

/* FTPSOptions AllowAnyALPN decided per session (e.g. in <IfClass>): on
 * this connection, ALPN without "ftp" is answered without ALPN instead of
 * refused, even if the context's own policy refuses it. After
 * ftps_ctx_set_role(); 0 or -1/EINVAL. */
int ftps_ctx_set_allow_any_alpn(ftps_conn_t *ssl, int on);

/* Free what ftps_ctx_set_role() attached; call before SSL_free(). */
void ftps_ctx_clear_role(ftps_conn_t *ssl);

/* After a data handshake: FTPS_REUSE_OK if it resumed a session bound to
 * this process's control connection, else the reason (FTPS_REUSE_*). */
int ftps_ctx_check_reuse(ftps_conn_t *data);

/* Text for a FTPS_REUSE_* value, for replies and logs. */
const char *ftps_ctx_reuse_str(int reason);

/*
 * SNI on control connections: called from the ClientHello callback with
 * the server name (NULL if the client sent none, or an IP literal). Return
 * 0 to keep the current context, 1 with *out set to switch to another
 * vhost's context, or -1 with *alert set (FTPS_ALERT_*) to refuse.
 */
typedef int (*ftps_ctx_sni_fn)(ftps_conn_t *ssl, const char *name,
  ftps_ctx_t **out,  int *alert, void *arg);
int ftps_ctx_set_sni_fn(ftps_ctx_t *ctx, ftps_ctx_sni_fn fn, void *arg);

/* Put ctx's certificates and every TLS setting of its policy (protocol
 * range, ciphers, options, verification) on ssl. 0 or -1. */
int ftps_ctx_apply(ftps_conn_t *ssl, ftps_ctx_t *ctx);

/* The SNI name the client sent (lower case), or NULL. */
const char *ftps_ctx_sni(ftps_conn_t *ssl);

/* Why the last handshake on ssl was refused by a callback, or NULL. */
const char *ftps_ctx_refusal(ftps_conn_t *ssl);

/* The first client-certificate verification failure on ssl (reason,
 * depth, subject, issuer, serial), or NULL. For logs only (B12). */
const char *ftps_ctx_verify_error(ftps_conn_t *ssl);

/* The farm (issue 12, FTPSSessionCache redis): the glue's Redis I/O.
 * put: store an entry until `expires` (0 or -1). get: 0 and a malloc(3)ed
 * entry, 1 not there, -1 Redis failed. event: a FTPS_FARM_EV_* outcome
 * (for `ftpdctl ftps sessions`). Every call must be bounded in time and
 * must never fail a handshake. */
#define FTPS_FARM_EV_HIT   1    /* a control session resumed from Redis */
#define FTPS_FARM_EV_MISS  2    /* asked Redis, nothing usable there */
#define FTPS_FARM_EV_BAD   3    /* an entry failed authentication */
typedef struct {
  int (*put)(const char *name, const unsigned char *val, size_t len,
    time_t expires);
  int (*get)(const char *name, unsigned char **val, size_t *len);
  void (*event)(int ev);
} ftps_farm_io_t;

/* Share TLS 1.2 control sessions through io, sealed with the 32-byte key,
 * under names starting with prefix, for at most timeout seconds. Process-
 * wide; set in the master before forking. 0 or -1 (EINVAL). */
int ftps_ctx_set_farm(const unsigned char *key, const char *prefix,
  long timeout, const ftps_farm_io_t *io);
/* The ticket keys are shared: other nodes' TLS 1.2 tickets resume control
 * connections (data connections still need this FTP session's own). */
void ftps_ctx_set_farm_tickets(int shared);
void ftps_ctx_clear_farm(void);
/* 1 if this (control) connection resumed a session from the farm. */
int ftps_ctx_from_farm(ftps_conn_t *ssl);

#endif /* FTPS_CTX_H */
