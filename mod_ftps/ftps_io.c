/*
 * ftps_io.c -- owns the server-side TLS engine over one file descriptor:
 * handshake under a deadline, reads and writes that wait with poll(2),
 * close_notify in both directions, truncation detection and error text.
 *
 * OpenSSL only; must not include ProFTPD headers (B2). The host program's
 * signals and timers run through the wait callback on every wait.
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "ftps/ftps_ctx.h"
#include "ftps/ftps_io.h"

struct ftps_io {
  SSL *ssl;
  BIO *wbuf;                  /* write buffer (data connections), or NULL */
  int role;                   /* FTPS_ROLE_CTRL or FTPS_ROLE_DATA */
  int fd;
  int fd_flags;               /* to restore at free */
  int truncated;              /* EOF without close_notify */
  int close_notify;           /* peer's close_notify seen */
  ftps_io_wait_cb wait_cb;
  void *wait_arg;
  char error[256];
  char verdict[160];          /* ftps_io_verify_verdict() */
  int failure_code;           /* SSL_get_error() of a failed handshake */
};

static long long now_ms(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Record the most specific OpenSSL reason (or errno), clearing the queue. */
static void set_error(ftps_io_t *io, const char *what, int ssl_err) {
  unsigned long e, last = 0;
  char reason[200];
  int xerrno = errno;

  while ((e = ERR_get_error()) != 0) {
    last = e;
  }
  if (last != 0) {
    ERR_error_string_n(last, reason, sizeof(reason));
  } else if (ssl_err == SSL_ERROR_SYSCALL && xerrno == 0) {
    snprintf(reason, sizeof(reason), "connection closed by peer");
  } else {
    snprintf(reason, sizeof(reason), "%s", strerror(xerrno));
  }
  snprintf(io->error, sizeof(io->error), "%s: %s", what, reason);
  errno = xerrno;
}

ftps_io_t *ftps_io_new(SSL_CTX *ctx, int fd, int role) {
  ftps_io_t *io;

  if (ctx == NULL || fd < 0) {
    errno = EINVAL;
    return NULL;
  }
  io = calloc(1, sizeof(*io));
  if (io == NULL) {
    return NULL;
  }

  io->fd = fd;
  io->role = role;
  io->fd_flags = fcntl(fd, F_GETFL);
  ERR_clear_error();
  io->ssl = SSL_new(ctx);
  if (io->fd_flags < 0 || io->ssl == NULL ||
      SSL_set_fd(io->ssl, fd) != 1 || ftps_ctx_set_role(io->ssl, role) < 0 ||
      fcntl(fd, F_SETFL, io->fd_flags | O_NONBLOCK) < 0) {
    int xerrno = errno ? errno : ENOMEM;
    ftps_ctx_clear_role(io->ssl);
    SSL_free(io->ssl);
    free(io);
    errno = xerrno;
    return NULL;
  }

  if (role == FTPS_ROLE_DATA) {
    /* TLS 1.3: a data connection issues no tickets; an upload's server
     * never writes, so a ticket would stall the client (mod_tls #959). */
    (void) SSL_set_num_tickets(io->ssl, 0);
    /* Several records per read(2). SECURITY: never on the control
     * connection, where bytes after a CCC close_notify must stay in the
     * socket for the clear-text reader. */
    SSL_set_read_ahead(io->ssl, 1);
  }
  return io;
}

/* Bytes of TLS framing around len bytes of records (header, tag, type). */
static size_t framed(size_t len) {
  return len + (len / 16384 + 1) * 64;
}

/*
 * Size a data connection for its transfer, before the handshake. Buffers
 * cost per connection: a 4 KiB download that set up 2 x 256 KiB spent more
 * on mapping and faulting them than on its TLS handshake. So only bulk
 * gets them: the receiver a read-ahead buffer of recv_len (several records
 * per read(2)), the sender a write buffer holding one send_len write as
 * records (one write(2) per ftps_io_write), kept for the transfer.
 */
int ftps_io_size_data(ftps_io_t *io, size_t send_len, size_t recv_len) {
  BIO *sock, *buf;

  if (io == NULL || io->role != FTPS_ROLE_DATA) {
    errno = EINVAL;
    return -1;
  }
  if (send_len > FTPS_IO_DATA_BUFSZ) {
    send_len = FTPS_IO_DATA_BUFSZ;
  }
  if (recv_len > FTPS_IO_DATA_BUFSZ) {
    recv_len = FTPS_IO_DATA_BUFSZ;
  }
  if (recv_len > FTPS_IO_RECORD) {
    SSL_set_default_read_buffer_len(io->ssl, framed(recv_len));
    /* Released after every drained read, a large buffer would be
     * re-mapped and re-faulted per record batch. */
    SSL_clear_mode(io->ssl, SSL_MODE_RELEASE_BUFFERS);
  }
  if (send_len <= FTPS_IO_RECORD || io->wbuf != NULL) {
    return 0;     /* one write is one record: nothing to gather */
  }
  sock = SSL_get_wbio(io->ssl);
  buf = BIO_new(BIO_f_buffer());
  if (buf == NULL || BIO_set_write_buffer_size(buf, framed(send_len)) != 1) {
    BIO_free(buf);
    return 0;     /* unbuffered still works */
  }
  SSL_clear_mode(io->ssl, SSL_MODE_RELEASE_BUFFERS);
  BIO_up_ref(sock);
  BIO_push(buf, sock);
  SSL_set0_wbio(io->ssl, buf);
  io->wbuf = buf;
  return 0;
}

int ftps_io_enable_ktls(ftps_io_t *io) {
  BIO *sock;

  if (io == NULL) {
    errno = EINVAL;
    return -1;
  }
  if (io->wbuf != NULL) {
    sock = BIO_next(io->wbuf);
    BIO_up_ref(sock);
    SSL_set0_wbio(io->ssl, sock);
    io->wbuf = NULL;
  }
  SSL_set_options(io->ssl, SSL_OP_ENABLE_KTLS);
  return 0;
}

int ftps_io_ktls_active(ftps_io_t *io) {
  return io != NULL && BIO_get_ktls_send(SSL_get_wbio(io->ssl)) > 0;
}

void ftps_io_free(ftps_io_t *io) {
  if (io == NULL) {
    return;
  }
  if (io->role == FTPS_ROLE_DATA) {
    /* A data connection ending without close_notify (ABOR, a vanished
     * client) must not evict the resumed control session from the cache:
     * OpenSSL drops "bad" sessions on free unless shutdown was sent. */
    SSL_set_shutdown(io->ssl, SSL_get_shutdown(io->ssl) | SSL_SENT_SHUTDOWN);
  }
  if (io->fd_flags >= 0) {
    (void) fcntl(io->fd, F_SETFL, io->fd_flags);
  }
  ftps_ctx_clear_role(io->ssl);
  SSL_free(io->ssl);
  free(io);
}

void ftps_io_set_wait_cb(ftps_io_t *io, ftps_io_wait_cb cb, void *arg) {
  if (io != NULL) {
    io->wait_cb = cb;
    io->wait_arg = arg;
  }
}

/*
 * Wait until the fd is ready for what OpenSSL asked (WANT_READ/WRITE),
 * until deadline (ms, 0 = none). 0 ready, -1 with errno.
 */
static int wait_fd(ftps_io_t *io, int ssl_err, long long deadline) {
  struct pollfd pfd;

  pfd.fd = io->fd;
  pfd.events = (ssl_err == SSL_ERROR_WANT_WRITE) ? POLLOUT : POLLIN;

  for (;;) {
    int timeout = -1, res;

    if (io->wait_cb != NULL && io->wait_cb(io->wait_arg) < 0) {
      return -1;
    }
    if (deadline > 0) {
      long long left = deadline - now_ms();
      if (left <= 0) {
        errno = ETIMEDOUT;
        return -1;
      }
      timeout = (int) (left > 1000 ? 1000 : left);
    }

    pfd.revents = 0;
    res = poll(&pfd, 1, timeout);
    if (res > 0) {
      return 0;
    }
    if (res < 0 && errno != EINTR) {
      return -1;
    }
  }
}

/* Shared retry logic: 1 = retry, 0 = done/failed (see *ssl_err). */
static int should_retry(ftps_io_t *io, int ret, int *ssl_err,
    long long deadline) {
  *ssl_err = SSL_get_error(io->ssl, ret);
  if (*ssl_err != SSL_ERROR_WANT_READ && *ssl_err != SSL_ERROR_WANT_WRITE) {
    return 0;
  }
  if (wait_fd(io, *ssl_err, deadline) < 0) {
    *ssl_err = SSL_ERROR_SYSCALL;
    return 0;
  }
  return 1;
}

int ftps_io_accept(ftps_io_t *io, int timeout_ms) {
  long long deadline;
  int ret, ssl_err;

  if (io == NULL) {
    errno = EINVAL;
    return -1;
  }

  deadline = timeout_ms > 0 ? now_ms() + timeout_ms : 0;
  do {
    ERR_clear_error();
    errno = 0;
    ret = SSL_accept(io->ssl);
    if (ret == 1) {
      return 0;
    }
  } while (should_retry(io, ret, &ssl_err, deadline));

  if (errno == 0) {
    errno = (ssl_err == SSL_ERROR_SYSCALL) ? ECONNRESET : EPROTO;
  }
  io->failure_code = ssl_err;
  set_error(io, errno == ETIMEDOUT ? "handshake timed out" :
    "handshake failed", ssl_err);
  return -1;
}

/* Classify a failed SSL_read: close_notify, truncation, or error. */
static ssize_t read_failed(ftps_io_t *io, int ssl_err) {
  unsigned long e = ERR_peek_last_error();

  if (ssl_err == SSL_ERROR_ZERO_RETURN) {
    io->close_notify = 1;
    return 0;
  }

  /* SECURITY: TCP EOF without close_notify may be a truncation attack
   * (an attacker ending an upload early): never report it as a clean EOF. */
  if ((ssl_err == SSL_ERROR_SSL &&
       ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) ||
      (ssl_err == SSL_ERROR_SYSCALL && errno == 0)) {
    io->truncated = 1;
    ERR_clear_error();
    snprintf(io->error, sizeof(io->error),
      "connection closed without TLS close_notify (possible truncation)");
    errno = ECONNABORTED;
    return -1;
  }

  if (errno == 0) {
    errno = EIO;
  }
  set_error(io, "read failed", ssl_err);
  return -1;
}

/* After one record: take whatever else is already buffered, without
 * waiting, so the caller gets many records per call. Errors and EOF are
 * left for the next ftps_io_read() to report. */
static size_t read_more(ftps_io_t *io, unsigned char *buf, size_t len) {
  size_t total = 0;

  while (total < len && SSL_has_pending(io->ssl)) {
    size_t n = 0;

    ERR_clear_error();
    if (SSL_read_ex(io->ssl, buf + total, len - total, &n) != 1) {
      ERR_clear_error();
      break;
    }
    total += n;
  }
  return total;
}

ssize_t ftps_io_read(ftps_io_t *io, void *buf, size_t len) {
  int ret, ssl_err;
  size_t n = 0;

  if (io == NULL || buf == NULL) {
    errno = EINVAL;
    return -1;
  }
  if (len == 0) {
    return 0;
  }

  do {
    ERR_clear_error();
    errno = 0;
    ret = SSL_read_ex(io->ssl, buf, len, &n);
    if (ret == 1) {
      return (ssize_t) (n + read_more(io, (unsigned char *) buf + n,
        len - n));
    }
  } while (should_retry(io, ret, &ssl_err, 0));

  return read_failed(io, ssl_err);
}

/* Push buffered records to the socket, waiting while it is full. */
static int flush_wbuf(ftps_io_t *io, long long deadline) {
  if (io->wbuf == NULL) {
    return 0;
  }
  while (BIO_flush(io->wbuf) <= 0) {
    if (!BIO_should_retry(io->wbuf)) {
      if (errno == 0) {
        errno = EPIPE;
      }
      return -1;
    }
    if (wait_fd(io, SSL_ERROR_WANT_WRITE, deadline) < 0) {
      return -1;
    }
  }
  return 0;
}

ssize_t ftps_io_write(ftps_io_t *io, const void *buf, size_t len) {
  const unsigned char *p = buf;
  size_t done = 0;

  if (io == NULL || (buf == NULL && len > 0)) {
    errno = EINVAL;
    return -1;
  }

  while (done < len) {
    size_t n = 0;
    int ret, ssl_err;

    ERR_clear_error();
    errno = 0;
    ret = SSL_write_ex(io->ssl, p + done, len - done, &n);
    if (ret == 1) {
      done += n;
      continue;
    }
    if (!should_retry(io, ret, &ssl_err, 0)) {
      if (errno == 0) {
        errno = EPIPE;
      }
      set_error(io, "write failed", ssl_err);
      return -1;
    }
  }
  if (flush_wbuf(io, 0) < 0) {
    set_error(io, "write failed", SSL_ERROR_SYSCALL);
    return -1;
  }
  return (ssize_t) done;
}

/* Read-ahead may already have consumed the peer's close_notify (read_more
 * reads past the data records): that is pending too, or a poll(2) on the
 * drained socket would wait for bytes that never come while the peer waits
 * for our close_notify (an upload's end took ~5 s this way). */
int ftps_io_pending(ftps_io_t *io) {
  return io != NULL && (SSL_has_pending(io->ssl) ||
    (SSL_get_shutdown(io->ssl) & SSL_RECEIVED_SHUTDOWN));
}

/* Read and discard until the peer's close_notify (or deadline). */
static int await_peer_close(ftps_io_t *io, long long deadline) {
  unsigned char sink[512];

  for (;;) {
    size_t n = 0;
    int ret, ssl_err;

    /* SECURITY: a peer that streams data instead of close_notify must
     * not keep us here: the deadline holds whether or not we would block. */
    if (now_ms() >= deadline) {
      errno = ETIMEDOUT;
      set_error(io, "waiting for close_notify", SSL_ERROR_WANT_READ);
      return -1;
    }
    ERR_clear_error();
    errno = 0;
    ret = SSL_read_ex(io->ssl, sink, sizeof(sink), &n);
    if (ret == 1) {
      continue;
    }
    ssl_err = SSL_get_error(io->ssl, ret);
    if (ssl_err == SSL_ERROR_ZERO_RETURN) {
      io->close_notify = 1;
      return 0;
    }
    if ((ssl_err != SSL_ERROR_WANT_READ && ssl_err != SSL_ERROR_WANT_WRITE) ||
        wait_fd(io, ssl_err, deadline) < 0) {
      set_error(io, "waiting for close_notify", ssl_err);
      return -1;
    }
  }
}

int ftps_io_shutdown(ftps_io_t *io, int wait_peer, int timeout_ms) {
  long long deadline;
  int ret, ssl_err = SSL_ERROR_NONE;

  if (io == NULL) {
    errno = EINVAL;
    return -1;
  }

  deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 5000);
  do {
    ERR_clear_error();
    errno = 0;
    ret = SSL_shutdown(io->ssl);
    if (ret >= 0) {
      break;
    }
  } while (should_retry(io, ret, &ssl_err, deadline));

  if (ret < 0 || flush_wbuf(io, deadline) < 0) {
    set_error(io, "sending close_notify", ssl_err);
    return -1;
  }
  if (ret == 1 || io->close_notify || !wait_peer) {
    return 0;
  }
  return await_peer_close(io, deadline);
}

int ftps_io_refresh_session(ftps_io_t *io) {
  if (io == NULL) {
    errno = EINVAL;
    return -1;
  }
  if (SSL_version(io->ssl) < TLS1_3_VERSION) {
    /* TLS 1.2: the control session sits in this process's cache; restart
     * its clock (tickets are refreshed when a data connection resumes). */
    SSL_SESSION *sess = SSL_get0_session(io->ssl);
    if (sess != NULL) {
      (void) SSL_SESSION_set_time(sess, (long) time(NULL));
    }
    return 0;
  }
  return SSL_new_session_ticket(io->ssl) == 1 ? 0 : -1;
}

ftps_conn_t *ftps_io_conn(ftps_io_t *io) {
  return io != NULL ? io->ssl : NULL;
}

const char *ftps_io_version(ftps_io_t *io) {
  return io != NULL ? SSL_get_version(io->ssl) : "-";
}

const char *ftps_io_cipher(ftps_io_t *io) {
  const char *c = io != NULL ? SSL_get_cipher_name(io->ssl) : NULL;

  return c != NULL ? c : "-";
}

int ftps_io_resumed(ftps_io_t *io) {
  return io != NULL && SSL_session_reused(io->ssl) == 1;
}

int ftps_io_from_farm(ftps_io_t *io) {
  return io != NULL && ftps_ctx_from_farm(io->ssl);
}

const char *ftps_io_sni(ftps_io_t *io) {
  return io != NULL ? ftps_ctx_sni(io->ssl) : NULL;
}

unsigned long ftps_io_bytes_read(ftps_io_t *io) {
  BIO *rbio = io != NULL ? SSL_get_rbio(io->ssl) : NULL;

  return rbio != NULL ? (unsigned long) BIO_number_read(rbio) : 0;
}

ftps_cert_t *ftps_io_peer_cert(ftps_io_t *io) {
  X509 *peer = io != NULL ? SSL_get0_peer_certificate(io->ssl) : NULL;

  if (peer == NULL || SSL_get_verify_result(io->ssl) != X509_V_OK ||
      X509_up_ref(peer) != 1) {
    return NULL;
  }
  return peer;
}

ftps_cert_t *ftps_io_peer_cert_any(ftps_io_t *io) {
  return io != NULL ? SSL_get0_peer_certificate(io->ssl) : NULL;
}

const char *ftps_io_verify_verdict(ftps_io_t *io) {
  long res;

  if (io == NULL || SSL_get0_peer_certificate(io->ssl) == NULL) {
    return "NONE";
  }
  res = SSL_get_verify_result(io->ssl);
  if (res == X509_V_OK) {
    return "SUCCESS";
  }
  snprintf(io->verdict, sizeof(io->verdict), "FAILED:%s",
    X509_verify_cert_error_string(res));
  return io->verdict;
}

int ftps_io_verify_result(ftps_io_t *io, int *code) {
  if (io == NULL || code == NULL) {
    errno = EINVAL;
    return -1;
  }
  *code = (int) SSL_get_verify_result(io->ssl);
  if (ftps_ctx_verify_error(io->ssl) != NULL ||
      (SSL_get0_peer_certificate(io->ssl) != NULL && *code != X509_V_OK)) {
    return FTPS_IO_VERIFY_FAILED;
  }
  *code = 0;
  return SSL_get0_peer_certificate(io->ssl) != NULL ? FTPS_IO_VERIFY_OK :
    FTPS_IO_VERIFY_NONE;
}

int ftps_io_failure_code(ftps_io_t *io) {
  return io != NULL ? io->failure_code : 0;
}

const char *ftps_io_library_version(void) {
  return OpenSSL_version(OPENSSL_VERSION);
}

const char *ftps_io_failure(ftps_io_t *io) {
  const char *why;

  if (io == NULL) {
    return "no connection";
  }
  why = ftps_ctx_verify_error(io->ssl);
  if (why == NULL) {
    why = ftps_ctx_refusal(io->ssl);
  }
  return why != NULL ? why : io->error;
}

int ftps_io_fd(ftps_io_t *io) {
  return io != NULL ? io->fd : -1;
}

int ftps_io_truncated(ftps_io_t *io) {
  return io != NULL && io->truncated;
}

int ftps_io_got_close_notify(ftps_io_t *io) {
  return io != NULL && io->close_notify;
}

const char *ftps_io_error(ftps_io_t *io) {
  return (io != NULL && io->error[0] != '\0') ? io->error : "no error";
}
