/*
 * ftps_xfer.c -- glue: the buffers of each protected transfer.
 *
 * mod_xfer moves one buffer of main_server->tcp_{snd,rcv}buf_len bytes per
 * loop, each loop costing about ten syscalls besides the write; with TLS a
 * larger buffer lets one write(2)/read(2) carry many records. But the core
 * also sizes other buffers from these fields, and zeroes them: the control
 * connection's read buffer, mod_ls's listing buffer (kept for the whole
 * session) and every transfer's buffer. Raised for the whole session, they
 * cost each idle session ~0.8 MB after one LIST and each small download a
 * 256 KiB memset.
 *
 * So the fields keep their defaults, and are raised only for the command
 * that moves bulk data: uploads (size unknown), and downloads of more than
 * the default buffer, sized to what remains of the file. The data
 * connection's TLS buffers follow the same sizes (ftps_netio.c).
 *
 * The control connection's read buffer is sized at session start to what
 * the core ever reads into it: one command line (ftps_xfer_size_ctrl).
 */

#include "mod_ftps.h"

static const char *trace_channel = "ftps.xfer";

static struct {
  server_rec *server;     /* whose fields are raised, or NULL */
  int sndbuf_len;
  int rcvbuf_len;
} saved;

static int is_cmd(cmd_rec *cmd, int id) {
  return pr_cmd_cmp(cmd, id) == 0;
}

/* Bytes a RETR will send: the file's size past REST; -1 if unknown. */
static off_t retr_remaining(cmd_rec *cmd) {
  struct stat st;
  const char *path;

  if (cmd->argc < 2 || cmd->arg == NULL || *cmd->arg == '\0') {
    return -1;
  }
  path = pr_fs_decode_path(cmd->tmp_pool, cmd->arg);
  if (pr_fsio_stat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
    return -1;
  }
  if (session.restart_pos > 0 && session.restart_pos < st.st_size) {
    return st.st_size - session.restart_pos;
  }
  return st.st_size;
}

static int round_up(off_t len, int unit) {
  return (int) (((len + unit - 1) / unit) * unit);
}

/* Before a protected transfer command (PRE_CMD). */
void ftps_xfer_size(cmd_rec *cmd) {
  int snd, rcv;

  ftps_xfer_restore();
  snd = main_server->tcp_sndbuf_len;
  rcv = main_server->tcp_rcvbuf_len;
  if (is_cmd(cmd, PR_CMD_STOR_ID) || is_cmd(cmd, PR_CMD_APPE_ID) ||
      is_cmd(cmd, PR_CMD_STOU_ID)) {
    rcv = rcv < FTPS_IO_DATA_BUFSZ ? FTPS_IO_DATA_BUFSZ : rcv;
  } else if (is_cmd(cmd, PR_CMD_RETR_ID)) {
    off_t left = retr_remaining(cmd);

    if (left < 0 || left > FTPS_IO_DATA_BUFSZ) {
      left = FTPS_IO_DATA_BUFSZ;
    }
    if (left > snd) {
      snd = round_up(left, FTPS_IO_RECORD);
    }
  }
  if (snd == main_server->tcp_sndbuf_len && rcv == main_server->tcp_rcvbuf_len) {
    return;
  }
  saved.server = main_server;
  saved.sndbuf_len = main_server->tcp_sndbuf_len;
  saved.rcvbuf_len = main_server->tcp_rcvbuf_len;
  main_server->tcp_sndbuf_len = snd;
  main_server->tcp_rcvbuf_len = rcv;
  pr_trace_msg(trace_channel, 9, "%s: transfer buffers %d/%d bytes "
    "(send/receive)", (char *) cmd->argv[0], snd, rcv);
}

/* After the command (POST_CMD, POST_CMD_ERR), and before the next one. */
void ftps_xfer_restore(void) {
  if (saved.server == NULL) {
    return;
  }
  saved.server->tcp_sndbuf_len = saved.sndbuf_len;
  saved.server->tcp_rcvbuf_len = saved.rcvbuf_len;
  saved.server = NULL;
}

/* The core's own default for CommandBufferSize (src/main.c). */
#define FTPS_XFER_CMD_BUFSZ (PR_TUNABLE_PATH_MAX + 7)

/*
 * At session start, before the first command is read. The core allocates
 * the control connection's read buffer on the first read, sized like a
 * transfer buffer (tcp_rcvbuf_len: the socket's receive buffer, 128 KiB by
 * default) and zeroed, so 32 pages of every session. But it never reads
 * more than one command line into it: pr_netio_telnet_gets2() caps each
 * read at CommandBufferSize, whose default is PATH_MAX + 7. A buffer of
 * that size gets the same read(2) calls and the same bytes; a smaller one
 * would still work (lines spanning reads are joined), only with more reads.
 */
void ftps_xfer_size_ctrl(void) {
  pr_netio_stream_t *in;
  const size_t *cmd_bufsz;
  size_t len = FTPS_XFER_CMD_BUFSZ;
  int saved_len;

  if (session.c == NULL || (in = session.c->instrm) == NULL ||
      in->strm_buf != NULL) {
    return;
  }
  cmd_bufsz = get_param_ptr(main_server->conf, "CommandBufferSize", FALSE);
  if (cmd_bufsz != NULL && *cmd_bufsz > len) {
    len = *cmd_bufsz;
  }
  saved_len = main_server->tcp_rcvbuf_len;
  if (saved_len > 0 && (size_t) saved_len <= len) {
    return;
  }
  main_server->tcp_rcvbuf_len = (int) len;
  if (pr_netio_buffer_alloc(in) != NULL) {
    pr_trace_msg(trace_channel, 9, "control read buffer: %lu bytes",
      (unsigned long) len);
  }
  main_server->tcp_rcvbuf_len = saved_len;
}
