/*
 * ftps_netio.c -- glue: the control and data NetIOs. Both are registered
 * once per session and pass through to the core while no TLS is attached,
 * so plain FTP, PROT C and CCC need no re-registration (notes §3.1); this
 * also keeps mod_deflate's patched data NetIO intact.
 *
 * Owns: the control handshake (AUTH, implicit), CCC's bidirectional
 * shutdown, the data handshake with its reuse check, close_notify, and
 * truncation detection on uploads.
 */

#include <malloc.h>
#include <netinet/tcp.h>

#include "mod_ftps.h"

static const char *trace_channel = "ftps.netio";

/* Send buffer of protected data connections (see raise_sndbuf). */
#define FTPS_DATA_SNDBUF  (4 * 1024 * 1024)

/* The core's default callbacks, for pass-through. Set once, never changed. */
static struct {
  int (*close)(pr_netio_stream_t *);
  int (*poll)(pr_netio_stream_t *);
  int (*postopen)(pr_netio_stream_t *);
  int (*read)(pr_netio_stream_t *, char *, size_t);
  int (*shutdown)(pr_netio_stream_t *, int);
  int (*write)(pr_netio_stream_t *, char *, size_t);
} core;

static int handshake_timeout_ms(void) {
  return ftps_session()->vhost->policy.handshake_timeout * 1000;
}

/* Timers (SIGALRM) and aborts run while we wait on a TLS socket. errno is
 * cleared first: pr_signals_handle() sleeps 0.2 s when it finds EINTR. */
static int wait_cb(void *arg) {
  int xerrno = errno;

  errno = 0;
  pr_signals_handle();
  errno = xerrno;
  return 0;
}

/* Data connections also stop waiting when the transfer is aborted: the
 * core's SIGURG handler (ABOR with urgent data) marks the session. */
static int data_wait_cb(void *arg) {
  (void) wait_cb(arg);
  if (session.sf_flags & SF_ABORT) {
    errno = ECONNABORTED;
    return -1;
  }
  return 0;
}

/* ftpdctl ftps sessions (ftps_stats.c). */
static void count_handshake(int ctrl, int resumed, int from_farm) {
  ftps_stats_count(ctrl ? FTPS_STAT_CTRL_HANDSHAKE : FTPS_STAT_DATA_HANDSHAKE);
  if (resumed) {
    ftps_stats_count(ctrl ? FTPS_STAT_CTRL_RESUMED : FTPS_STAT_DATA_RESUMED);
    if (ctrl && !from_farm) {
      ftps_stats_count(FTPS_STAT_CTRL_LOCAL_HIT);
    }
  }
}

static void log_handshake(const char *what, ftps_io_t *io) {
  ftps_cert_t *peer = ftps_io_peer_cert_any(io);
  const char *sni = ftps_io_sni(io);
  char subject[512] = "none";

  if (peer != NULL) {
    (void) ftps_cert_subject(peer, subject, sizeof(subject));
  }
  ftps_log(FTPS_LOG_INFO, "%s handshake ok: %s, %s, resumed=%s, sni=%s, "
    "client=%s", what, ftps_io_version(io), ftps_io_cipher(io),
    ftps_io_resumed(io) ? "yes" : "no", sni != NULL ? sni : "-", subject);
  count_handshake(what[0] == 'c', ftps_io_resumed(io), ftps_io_from_farm(io));
}

/* ------------------------------------------------------------ control */

static ftps_io_t *ctrl_io(void) {
  return ftps_session()->ctrl;
}

static ftps_io_t *data_io(void) {
  return ftps_session()->data;
}

static int ctrl_read(pr_netio_stream_t *nstrm, char *buf, size_t len) {
  if (ctrl_io() == NULL) {
    return core.read(nstrm, buf, len);
  }
  return (int) ftps_io_read(ctrl_io(), buf, len);
}

static int ctrl_write(pr_netio_stream_t *nstrm, char *buf, size_t len) {
  if (ctrl_io() == NULL) {
    return core.write(nstrm, buf, len);
  }
  return (int) ftps_io_write(ctrl_io(), buf, len);
}

static int ctrl_poll(pr_netio_stream_t *nstrm) {
  /* Buffered TLS data would never wake select(2) (notes §3.2). */
  if (ctrl_io() != NULL && nstrm->strm_mode == PR_NETIO_IO_RD &&
      ftps_io_pending(ctrl_io())) {
    return 1;
  }
  return core.poll(nstrm);
}

static int ctrl_shutdown(pr_netio_stream_t *nstrm, int how) {
  if (ctrl_io() != NULL && how != SHUT_RD) {
    (void) ftps_io_shutdown(ctrl_io(), FALSE, 1000);
  }
  return core.shutdown(nstrm, how);
}

static int ctrl_close(pr_netio_stream_t *nstrm) {
  if (ctrl_io() != NULL) {
    (void) ftps_io_shutdown(ctrl_io(), FALSE, 1000);
    ftps_session_ctrl_closed();
  }
  return core.close(nstrm);
}

void ftps_netio_discard_pending(void) {
  pr_buffer_t *pbuf;

  if (session.c == NULL || session.c->instrm == NULL ||
      (pbuf = session.c->instrm->strm_buf) == NULL) {
    return;
  }

  /* SECURITY: bytes the client pipelined after AUTH arrived in clear and
   * must never run as if protected (STARTTLS injection, CVE-2011-1575). */
  if (pbuf->current != NULL && pbuf->remaining < pbuf->buflen) {
    ftps_log(FTPS_LOG_WARNING, "discarded %lu plaintext bytes sent after "
      "AUTH", (unsigned long) (pbuf->buflen - pbuf->remaining));
  }
  pbuf->current = NULL;
  pbuf->remaining = pbuf->buflen;
}

/* The handshake failed: one record of why (ftps_io_failure) for the log;
 * the client learns nothing more than the 421 (B12). */
static int ctrl_refused(ftps_io_t *io) {
  /* Nothing read yet: the channel is still clear, so 421 is readable. */
  int quiet = ftps_io_bytes_read(io) == 0, xerrno = errno;

  ftps_log(FTPS_LOG_WARNING, "control handshake refused: %s",
    ftps_io_failure(io));
  ftps_stats_count(FTPS_STAT_CTRL_REFUSED);
  ftps_events_handshake_failed(FTPS_ROLE_CTRL, io);
  ftps_io_free(io);
  if (quiet && ftps_session()->vhost->policy.implicit != 1) {
    pr_response_send_async(R_421, "TLS negotiation failed; closing "
      "control connection");
  }
  errno = xerrno;
  return -1;
}

int ftps_netio_ctrl_accept(void) {
  ftps_ctx_t *ctx = ftps_session()->vhost->ctx;
  ftps_io_t *io;
  int xerrno;

  io = ftps_io_new(ctx, session.c->rfd, FTPS_ROLE_CTRL);
  if (io == NULL) {
    xerrno = errno;
    ftps_log(FTPS_LOG_ERROR, "cannot start TLS: %s", strerror(xerrno));
    errno = xerrno;
    return -1;
  }
  ftps_io_set_wait_cb(io, wait_cb, NULL);
  (void) ftps_ctx_set_allow_any_alpn(ftps_io_conn(io),
    ftps_session()->rules.options & FTPS_OPT_ALLOW_ANY_ALPN);
  ftps_events_ctrl_handshake();
  if (ftps_io_accept(io, handshake_timeout_ms()) < 0) {
    return ctrl_refused(io);
  }
  if (ftps_session_ctrl_secured(io, ctx) < 0) {
    ftps_io_free(io);
    errno = EPERM;
    return -1;
  }

  (void) malloc_trim(0);    /* the handshake's scratch memory */
  session.rfc2228_mech = "TLS";
  (void) pr_session_set_protocol("ftps");
  log_handshake("control", io);
  ftps_events_verified(io);
  ftps_facts_ctrl(io);
  ftps_vhost_after_handshake(io);
  return 0;
}

int ftps_netio_ctrl_clear(void) {
  int res;

  /* RFC 4217 §12.3: a bidirectional shutdown, so the client's close_notify
   * is consumed and the following clear text is read cleanly. */
  res = ftps_io_shutdown(ctrl_io(), TRUE, 10000);
  if (res < 0) {
    ftps_log(FTPS_LOG_WARNING, "CCC shutdown failed: %s",
      ftps_io_error(ctrl_io()));
  } else {
    ftps_log(FTPS_LOG_INFO, "control channel cleared (CCC)");
  }
  if (ftps_session_ctrl_cleared() < 0) {
    return -1;
  }
  return res;
}

/* ---------------------------------------------------------------- data */

/*
 * Every refused data connection ends here: one FTPSLog line with the
 * detail, one explanatory line before the core's 425 (together one
 * multi-line reply), the TLS state freed. io may be NULL (nothing was
 * negotiated yet).
 */
static int refuse_data(ftps_io_t *io, const char *reason, const char *detail) {
  ftps_log(FTPS_LOG_WARNING, "data connection refused: %s%s%s", reason,
    detail != NULL ? ": " : "", detail != NULL ? detail : "");
  ftps_stats_count(FTPS_STAT_DATA_REFUSED);
  ftps_stats_refusal(reason);
  if (io != NULL) {
    (void) ftps_io_shutdown(io, FALSE, 1000);
    ftps_io_free(io);
  }

  /* The core adds its own 425 line; together they form one reply. */
  pr_response_add_err(R_425, "Data channel TLS refused: %s", reason);
  session.d->xerrno = EPERM;
  errno = EPERM;
  return -1;
}

/*
 * A download is a pipeline: we encrypt while the client decrypts. With the
 * autotuned send buffer both sides stall in turn (measured: ~600 MB/s);
 * 4 MiB of socket buffer lets them overlap (~750 MB/s on loopback).
 */
static void raise_sndbuf(int fd) {
  int cur = 0, want = FTPS_DATA_SNDBUF;
  socklen_t len = sizeof(cur);

  if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &cur, &len) == 0 &&
      cur < want) {
    (void) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &want, sizeof(want));
  }
}

/* A data TLS connection on fd: made from the control connection's
 * context, whose sessions and tickets it must resume, then dressed in the
 * current vhost's settings (they differ after an SNI or HOST switch). */
static ftps_io_t *data_new(int fd, const char **why) {
  const ftps_sess_t *s = ftps_session();
  ftps_ctx_t *ctx = s->ctrl_ctx != NULL ? s->ctrl_ctx : s->vhost->ctx;
  ftps_io_t *io = ftps_io_new(ctx, fd, FTPS_ROLE_DATA);
  int sending = session.xfer.direction == PR_NETIO_IO_WR;

  if (io == NULL) {
    *why = strerror(errno);
    return NULL;
  }
  /* As large as mod_xfer's buffer for this transfer (ftps_xfer.c). */
  (void) ftps_io_size_data(io,
    sending ? (size_t) pr_config_get_server_xfer_bufsz(PR_NETIO_IO_WR) : 0,
    sending ? 0 : (size_t) pr_config_get_server_xfer_bufsz(PR_NETIO_IO_RD));
  ftps_io_set_wait_cb(io, data_wait_cb, NULL);
  (void) ftps_ctx_set_allow_any_alpn(ftps_io_conn(io),
    s->rules.options & FTPS_OPT_ALLOW_ANY_ALPN);
  if (s->vhost->ctx != NULL && ctx != s->vhost->ctx &&
      ftps_ctx_apply(ftps_io_conn(io), s->vhost->ctx) < 0) {
    *why = "cannot apply the vhost's TLS settings";
    ftps_io_free(io);
    return NULL;
  }
  /* After the vhost's settings: applying them resets the SSL's options. */
  if (s->rules.options & FTPS_OPT_KERNEL_TLS) {
    (void) ftps_io_enable_ktls(io);
  }
  return io;
}

/*
 * SECURITY: RFC 4217 §10.2 — only a session resumed from this FTP
 * session's control connection proves the data peer is our client (stops
 * data-connection theft from the PASV port), and it must carry the control
 * connection's client certificate. The FTPSOptions exemptions and their
 * order: ftps_policy_data_verdict(). Every exempted connection is logged,
 * so the exemptions can be audited. 0, or -1 (refused, reply queued).
 */
static int admit_data(ftps_io_t *io) {
  const ftps_sess_t *s = ftps_session();
  int reuse = ftps_ctx_check_reuse(ftps_io_conn(io));
  const char *data_addr = pr_netaddr_get_ipstr(session.d->remote_addr);
  ftps_data_facts_t facts;

  facts.resumed = (reuse == FTPS_REUSE_OK);
  facts.same_addr = pr_netaddr_cmp(session.c->remote_addr,
    session.d->remote_addr) == 0;
  facts.cert_ok = ftps_auth_data_matches(io);

  switch (ftps_policy_data_verdict(s->rules.options, &facts)) {
    case FTPS_DATA_ACCEPT:
      return 0;
    case FTPS_DATA_ACCEPT_NO_REUSE:
      ftps_log(FTPS_LOG_WARNING, "data connection exempted from session "
        "reuse (FTPSOptions NoSessionReuseRequired): from %s, not resumed: "
        "%s", data_addr, ftps_ctx_reuse_str(reuse));
      return 0;
    case FTPS_DATA_ACCEPT_SAME_ADDR:
      ftps_log(FTPS_LOG_WARNING, "data connection exempted from session "
        "reuse (FTPSOptions NoSessionReuseSameAddress): same address %s, "
        "client certificate %s; not resumed: %s", data_addr,
        s->client_fp[0] != '\0' ? "same as control's" : "none on control",
        ftps_ctx_reuse_str(reuse));
      return 0;
    case FTPS_DATA_REFUSE_ADDR:
      return refuse_data(io, "not from the control connection's address",
        pstrcat(session.d->pool, "from ", data_addr, " (FTPSOptions "
        "NoSessionReuseSameAddress), not resumed: ",
        ftps_ctx_reuse_str(reuse), NULL));
    case FTPS_DATA_REFUSE_CERT:
      return refuse_data(io, "client certificate differs from the control "
        "connection's", NULL);
    case FTPS_DATA_REFUSE_REUSE:
    default:
      return refuse_data(io, ftps_ctx_reuse_str(reuse), NULL);
  }
}

static int data_accept(pr_netio_stream_t *nstrm) {
  const char *why = NULL;
  ftps_io_t *io;
  int off = 0;

  /* The core corks data sockets (TCP_CORK, inherited from the listening
   * socket): a corked handshake flight waits 200 ms in the kernel. */
  (void) setsockopt(nstrm->strm_fd, IPPROTO_TCP, TCP_CORK, &off, sizeof(off));
  if (session.xfer.direction == PR_NETIO_IO_WR &&
      pr_config_get_server_xfer_bufsz(PR_NETIO_IO_WR) >= FTPS_IO_DATA_BUFSZ) {
    raise_sndbuf(nstrm->strm_fd);     /* bulk download */
  }

  io = data_new(nstrm->strm_fd, &why);
  if (io == NULL) {
    return refuse_data(NULL, "handshake failed", why);
  }
  if (ftps_io_accept(io, handshake_timeout_ms()) < 0) {
    ftps_events_handshake_failed(FTPS_ROLE_DATA, io);
    return refuse_data(io, "handshake failed", ftps_io_failure(io));
  }
  if (admit_data(io) < 0) {
    return -1;
  }
  if (ftps_session_data_secured(io) < 0) {
    return refuse_data(io, "not allowed in this session state", NULL);
  }

  log_handshake("data", io);
  ftps_events_verified(io);
  if (ftps_session()->rules.options & FTPS_OPT_KERNEL_TLS) {
    ftps_log(FTPS_LOG_INFO, "kernel TLS %s for this data connection",
      ftps_io_ktls_active(io) ? "active" : "not available (kernel or cipher)");
  }
  if (ftps_fsio_commit() < 0) {
    why = strerror(errno);
    ftps_session_data_closed();
    return refuse_data(NULL, "cannot create the upload's file", why);
  }
  return 0;
}

static int data_postopen(pr_netio_stream_t *nstrm) {
  /* Both streams of the connection are post-opened; handshake once. */
  if (ftps_session()->prot.prot != 'P' || data_io() != NULL) {
    return core.postopen(nstrm);
  }
  return data_accept(nstrm);
}

static int data_read(pr_netio_stream_t *nstrm, char *buf, size_t len) {
  int res;

  if (data_io() == NULL) {
    return core.read(nstrm, buf, len);
  }

  res = (int) ftps_io_read(data_io(), buf, len);
  if (res < 0 && ftps_io_truncated(data_io()) &&
      !ftps_session()->upload_truncated) {
    int xerrno = errno;

    ftps_session_upload_truncated();
    ftps_log(FTPS_LOG_WARNING, "data connection truncated: closed without "
      "TLS close_notify (possible truncation attack); transfer failed");
    errno = xerrno;
  }
  return res;
}

static int data_write(pr_netio_stream_t *nstrm, char *buf, size_t len) {
  if (data_io() == NULL) {
    return core.write(nstrm, buf, len);
  }
  return (int) ftps_io_write(data_io(), buf, len);
}

static int data_poll(pr_netio_stream_t *nstrm) {
  if (data_io() != NULL && nstrm->strm_mode == PR_NETIO_IO_RD &&
      ftps_io_pending(data_io())) {
    return 1;
  }
  return core.poll(nstrm);
}

static int data_shutdown(pr_netio_stream_t *nstrm, int how) {
  /* The end of every download carries close_notify. */
  if (data_io() != NULL && how != SHUT_RD) {
    (void) ftps_io_shutdown(data_io(), FALSE, 2000);
  }
  return core.shutdown(nstrm, how);
}

static int data_close(pr_netio_stream_t *nstrm) {
  ftps_session_data_closed();
  return core.close(nstrm);
}

/* ------------------------------------------------------- registration */

static pr_netio_t *alloc_netio(void) {
  pr_netio_t *n = pr_alloc_netio2(session.pool, &ftps_module, NULL);

  if (n != NULL && core.read == NULL) {
    core.close = n->close;
    core.poll = n->poll;
    core.postopen = n->postopen;
    core.read = n->read;
    core.shutdown = n->shutdown;
    core.write = n->write;
  }
  return n;
}

int ftps_netio_register(void) {
  pr_netio_t *ctrl, *data;

  ctrl = alloc_netio();
  data = alloc_netio();
  if (ctrl == NULL || data == NULL) {
    return -1;
  }

  ctrl->close = ctrl_close;
  ctrl->poll = ctrl_poll;
  ctrl->read = ctrl_read;
  ctrl->shutdown = ctrl_shutdown;
  ctrl->write = ctrl_write;

  data->close = data_close;
  data->poll = data_poll;
  data->postopen = data_postopen;
  data->read = data_read;
  data->shutdown = data_shutdown;
  data->write = data_write;

  if (pr_register_netio(ctrl, PR_NETIO_STRM_CTRL) < 0 ||
      pr_register_netio(data, PR_NETIO_STRM_DATA) < 0) {
    return -1;
  }
  pr_trace_msg(trace_channel, 9, "control and data NetIOs registered");
  return 0;
}

void ftps_netio_unregister(void) {
  static const int types[] = { PR_NETIO_STRM_CTRL, PR_NETIO_STRM_DATA };
  unsigned int i;

  for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
    pr_netio_t *n = pr_get_netio(types[i]);
    if (n != NULL && n->owner == &ftps_module) {
      (void) pr_unregister_netio(types[i]);
    }
  }
}
