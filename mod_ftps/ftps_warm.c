/*
 * ftps_warm.c -- owns the warm-up of a freshly built server context: one
 * full handshake and one resumption, in memory, in the master, so that
 * OpenSSL's lazily built state (algorithm fetch caches, curve tables...)
 * exists before the session processes fork and is shared with them
 * instead of being rebuilt in each one.
 *
 * OpenSSL only; must not include ProFTPD headers (B2).
 */

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "ftps/ftps_warm.h"

int ftps_warm_pump(SSL *client, SSL *server) {
  int i;

  for (i = 0; i < 64; i++) {
    int c = SSL_do_handshake(client), s = SSL_do_handshake(server);
    if (c == 1 && s == 1) {
      return 0;
    }
    if ((c <= 0 && SSL_get_error(client, c) != SSL_ERROR_WANT_READ) ||
        (s <= 0 && SSL_get_error(server, s) != SSL_ERROR_WANT_READ)) {
      return -1;
    }
  }
  return -1;
}

/* One client/server exchange; returns the client's session for reuse. */
static SSL_SESSION *warm_exchange(SSL_CTX *cctx, SSL_CTX *sctx,
    SSL_SESSION *resume) {
  SSL *client = SSL_new(cctx), *server = SSL_new(sctx);
  BIO *cb = NULL, *sb = NULL;
  SSL_SESSION *sess = NULL;
  char buf[16];
  size_t n;

  if (client != NULL && server != NULL &&
      BIO_new_bio_pair(&cb, 0, &sb, 0) == 1) {
    SSL_set_bio(client, cb, cb);
    SSL_set_bio(server, sb, sb);
    SSL_set_connect_state(client);
    SSL_set_accept_state(server);
    if (resume != NULL) {
      (void) SSL_set_session(client, resume);
    }
    if (ftps_warm_pump(client, server) == 0 &&
        SSL_write_ex(server, "ok", 2, &n) == 1 &&
        SSL_read_ex(client, buf, sizeof(buf), &n) == 1) {
      sess = SSL_get1_session(client);
    }
  }
  /* A client freed without close_notify marks its session not resumable,
   * and the second exchange would be a full handshake again. */
  if (client != NULL) {
    (void) SSL_shutdown(client);
  }
  SSL_free(client);
  SSL_free(server);
  ERR_clear_error();
  return sess;
}

void ftps_warm_up(SSL_CTX *ctx) {
  SSL_CTX *cctx;
  SSL_SESSION *sess;
  long mode;

  if (ctx == NULL || (cctx = SSL_CTX_new(TLS_client_method())) == NULL) {
    ERR_clear_error();
    return;
  }
  /* Leave nothing behind in the server's session cache. */
  mode = SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  sess = warm_exchange(cctx, ctx, NULL);
  SSL_SESSION_free(warm_exchange(cctx, ctx, sess));
  SSL_SESSION_free(sess);
  (void) SSL_CTX_set_session_cache_mode(ctx, mode);
  SSL_CTX_free(cctx);
  ERR_clear_error();
}

