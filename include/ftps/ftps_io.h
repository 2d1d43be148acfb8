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
#include "ftps/ftps_cert.h"
#include "ftps/ftps_ctx.h"

typedef struct ftps_io ftps_io_t;

/* Called whenever an operation is about to wait or was interrupted by a
 * signal. Return 0 to keep waiting, -1 (errno set) to give up. */
typedef int (*ftps_io_wait_cb)(void *arg);

/* A server-side TLS connection on fd, created from ctx, marked with role
 * (FTPS_ROLE_*). The fd is made non-blocking until ftps_io_free(). */
ftps_io_t *ftps_io_new(ftps_ctx_t *ctx, int fd, int role);

/* Data connections moving bulk data read records ahead and write them
 * through a buffer of up to this size, so one syscall carries many
 * records; FTPS_IO_RECORD is the most one record carries. */
#define FTPS_IO_DATA_BUFSZ  (256 * 1024)
#define FTPS_IO_RECORD      (16 * 1024)

/* Before the handshake of a data connection: size its buffers for the
 * transfer. send_len: the most the caller passes to one ftps_io_write;
 * recv_len: the most it asks of one ftps_io_read (0: that way carries
 * only the handshake and close_notify). Capped at FTPS_IO_DATA_BUFSZ;
 * nothing is allocated for a transfer one record holds. 0 or -1. */
int ftps_io_size_data(ftps_io_t *io, size_t send_len, size_t recv_len);

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

ftps_conn_t *ftps_io_conn(ftps_io_t *io);
int ftps_io_fd(ftps_io_t *io);
int ftps_io_truncated(ftps_io_t *io);
int ftps_io_got_close_notify(ftps_io_t *io);

/*
 * Facts of an established connection, in the style of libtls's
 * tls_conn_version(): "TLSv1.3", the cipher's name, whether the session
 * was resumed, the SNI name the client sent (lower case; NULL: none), the
 * bytes read from the socket so far (0: the peer has sent nothing, so a
 * clear-text reply can still be read).
 */
const char *ftps_io_version(ftps_io_t *io);
const char *ftps_io_cipher(ftps_io_t *io);
int ftps_io_resumed(ftps_io_t *io);
const char *ftps_io_sni(ftps_io_t *io);
/* 1 if the control connection resumed a session from the farm (Redis). */
int ftps_io_from_farm(ftps_io_t *io);
unsigned long ftps_io_bytes_read(ftps_io_t *io);

/* The client certificate, verified: a new reference (ftps_cert_free()),
 * or NULL if none was presented or it did not verify. */
ftps_cert_t *ftps_io_peer_cert(ftps_io_t *io);

/* The client certificate as presented, verified or not (for logs only):
 * a borrowed pointer, valid until ftps_io_free(). */
ftps_cert_t *ftps_io_peer_cert_any(ftps_io_t *io);

/* "SUCCESS", "NONE" (no certificate) or "FAILED:<reason>" (for logs and
 * FTPS_CLIENT_VERIFY). Valid until ftps_io_free(). */
const char *ftps_io_verify_verdict(ftps_io_t *io);

/*
 * The client-certificate verification of a handshake (passed or failed):
 * FTPS_IO_VERIFY_NONE (no certificate), FTPS_IO_VERIFY_OK, or
 * FTPS_IO_VERIFY_FAILED with the X.509 verification error number in *code
 * (X509_V_ERR_*, what mod_tls passes with mod_tls.verify-client-failed).
 * -1/EINVAL for NULL arguments.
 */
#define FTPS_IO_VERIFY_NONE     0
#define FTPS_IO_VERIFY_OK       1
#define FTPS_IO_VERIFY_FAILED   2
int ftps_io_verify_result(ftps_io_t *io, int *code);

/* The engine's error number (SSL_ERROR_*, as SSL_get_error() returns it)
 * of the last failed ftps_io_accept(), or 0: what mod_tls passes with
 * mod_tls.ctrl-handshake-failed and mod_tls.data-handshake-failed. */
int ftps_io_failure_code(ftps_io_t *io);

/* The TLS library's version string. */
const char *ftps_io_library_version(void);

/*
 * The one record of why a handshake failed, read by the reply, FTPSLog and
 * the trace: a certificate verification failure (reason, depth, subject,
 * issuer, serial), else a callback's refusal (SNI, ALPN), else the engine's
 * own error (OpenSSL reason, errno, timeout).
 */
const char *ftps_io_failure(ftps_io_t *io);

/* Detail of the last failure (OpenSSL reason, errno), for logs only. */
const char *ftps_io_error(ftps_io_t *io);

#endif /* FTPS_IO_H */
