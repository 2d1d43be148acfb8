/*
 * ftps_io.h -- the TLS engine over one file descriptor (server side):
 * handshake with a deadline, read/write that wait with poll(2) on
 * non-blocking sockets, close_notify, truncation detection, and error text.
 *
 * OpenSSL only; must not include ProFTPD headers (B2). Signals and timers
 * of the host program are serviced through the wait callback.
 */
#ifndef FTPS_IO_H
#define FTPS_IO_H

#include <sys/types.h>
#include <openssl/ssl.h>

typedef struct ftps_io ftps_io_t;

/* Called whenever an operation is about to wait or was interrupted by a
 * signal. Return 0 to keep waiting, -1 (errno set) to give up. */
typedef int (*ftps_io_wait_cb)(void *arg);

/* A server-side TLS connection on fd, created from ctx, marked with role
 * (FTPS_ROLE_*). The fd is made non-blocking until ftps_io_free(). */
ftps_io_t *ftps_io_new(SSL_CTX *ctx, int fd, int role);

/* Data connections move bulk data: records are read ahead and written
 * through a buffer of this size, so one syscall carries many records. */
#define FTPS_IO_DATA_BUFSZ  (256 * 1024)

/* Before the handshake of a data connection: let OpenSSL hand the record
 * layer to the kernel (kTLS) when the kernel and cipher allow it. Replaces
 * the write buffer (kTLS needs the socket itself). 0 or -1. */
int ftps_io_enable_ktls(ftps_io_t *io);

/* After the handshake: 1 if the kernel encrypts what we send (kTLS TX). */
int ftps_io_ktls_active(ftps_io_t *io);

/* Restore the fd's blocking mode and free the TLS state (fd stays open). */
void ftps_io_free(ftps_io_t *io);

void ftps_io_set_wait_cb(ftps_io_t *io, ftps_io_wait_cb cb, void *arg);

/* Handshake; timeout_ms <= 0 means none. 0, or -1 with errno (ETIMEDOUT,
 * ECONNRESET, EPROTO...) and ftps_io_error() set. */
int ftps_io_accept(ftps_io_t *io, int timeout_ms);

/* > 0 bytes; 0 at the peer's close_notify; -1 with errno. An EOF without
 * close_notify returns -1/ECONNABORTED and sets ftps_io_truncated(). */
ssize_t ftps_io_read(ftps_io_t *io, void *buf, size_t len);

/* Writes all of buf (waiting as needed). len, or -1 with errno. */
ssize_t ftps_io_write(ftps_io_t *io, const void *buf, size_t len);

/* 1 if decrypted or undecoded bytes are buffered (no need to poll). */
int ftps_io_pending(ftps_io_t *io);

/* Send close_notify; with wait_peer, also wait (up to timeout_ms) for the
 * peer's close_notify so nothing after it is consumed. 0 or -1. */
int ftps_io_shutdown(ftps_io_t *io, int wait_peer, int timeout_ms);

/* Queue fresh session tickets (TLS 1.3), sent with the next write. */
int ftps_io_refresh_session(ftps_io_t *io);

SSL *ftps_io_ssl(ftps_io_t *io);
int ftps_io_fd(ftps_io_t *io);
int ftps_io_truncated(ftps_io_t *io);
int ftps_io_got_close_notify(ftps_io_t *io);

/* Detail of the last failure (OpenSSL reason, errno), for logs only. */
const char *ftps_io_error(ftps_io_t *io);

#endif /* FTPS_IO_H */
