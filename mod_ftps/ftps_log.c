/*
 * ftps_log.c -- glue: FTPSLog, the admin's log (B13): one line per
 * handshake and one per refusal, with the reason. Opened as root in
 * sess_init so the descriptor survives chroot and the privilege drop.
 * The open log (descriptor, path) is this sink's own state, kept here and
 * nowhere else; it is not session state.
 *
 * Line format (documented in docs/mod_ftps.html, FTPSLog), after ProFTPD's
 * "<date> <time>,<ms> mod_ftps/<version>[<pid>]: ":
 *     <severity> <client address>: <message>
 * severity is error (our own failure), warning (a refusal, or signs of an
 * attack) or info (normal events); the client address is "-" outside a
 * session.
 *
 * Owns the only way mod_ftps writes a message that may carry peer text
 * (FTPSLog and trace): every message is escaped and bounded here, at the
 * sink, so no caller can forget to.
 */

#include <stdarg.h>

#include "mod_ftps.h"
#include "ftps/ftps_text.h"

/* Longest record written, escaped, with its NUL. */
#define FTPS_LOG_LINE_MAX  1024

/* The unescaped message. Larger than a line, so a message vsnprintf() cuts
 * is always cut again, visibly (with the marker), by the escaper. */
#define FTPS_LOG_RAW_MAX   (4 * FTPS_LOG_LINE_MAX)

static struct {
  int fd;                       /* -1: not open */
  const char *path;
} sink = { -1, NULL };

static const char *const severities[] = { "error", "warning", "info" };

int ftps_log_open(const char *path) {
  int res, xerrno;

  if (path == NULL) {
    errno = EINVAL;
    return -1;
  }

  pr_signals_block();
  PRIVS_ROOT
  res = pr_log_openfile(path, &sink.fd, PR_LOG_SYSTEM_MODE);
  xerrno = errno;
  PRIVS_RELINQUISH
  pr_signals_unblock();

  if (res == 0) {
    sink.path = path;
    return 0;
  }

  sink.fd = -1;
  if (res == PR_LOG_WRITABLE_DIR) {
    pr_log_pri(PR_LOG_WARNING, MOD_FTPS_VERSION ": FTPSLog '%s': parent "
      "directory is world-writable; not logging there", path);
  } else if (res == PR_LOG_SYMLINK) {
    pr_log_pri(PR_LOG_WARNING, MOD_FTPS_VERSION ": FTPSLog '%s' is a "
      "symlink; not logging there", path);
  } else {
    pr_log_pri(PR_LOG_WARNING, MOD_FTPS_VERSION ": cannot open FTPSLog "
      "'%s': %s", path, strerror(xerrno));
  }
  errno = xerrno;
  return -1;
}

void ftps_log_close(void) {
  if (sink.fd >= 0) {
    (void) close(sink.fd);
    sink.fd = -1;
  }
  sink.path = NULL;
}

const char *ftps_log_path(void) {
  return sink.fd >= 0 ? sink.path : NULL;
}

/*
 * SECURITY: messages carry peer text (USER, command names, certificate
 * names, paths). The whole formatted message is escaped (ftps_text.h):
 * our own format strings hold no control or non-ASCII bytes, so only the
 * peer's bytes change, and a peer can neither end the record (LF, CR) nor
 * send escape sequences to the admin's terminal (ESC, C1).
 */
static void format_line(char *line, size_t linelen, const char *fmt,
    va_list ap) {
  char raw[FTPS_LOG_RAW_MAX];
  int n;

  n = vsnprintf(raw, sizeof(raw), fmt, ap);
  if (n < 0) {
    raw[0] = '\0';
    n = 0;
  }
  if ((size_t) n >= sizeof(raw)) {
    n = (int) sizeof(raw) - 1;
  }
  if (ftps_text_escape(raw, (size_t) n, line, linelen) < 0) {
    line[0] = '\0';
  }
}

void ftps_log(int severity, const char *fmt, ...) {
  char line[FTPS_LOG_LINE_MAX];
  const char *who = (session.c != NULL && session.c->remote_addr != NULL) ?
    pr_netaddr_get_ipstr(session.c->remote_addr) : "-";
  va_list ap;

  if (severity < FTPS_LOG_ERROR || severity > FTPS_LOG_INFO) {
    severity = FTPS_LOG_ERROR;
  }
  va_start(ap, fmt);
  format_line(line, sizeof(line), fmt, ap);
  va_end(ap);

  pr_trace_msg("ftps", 5, "%s %s: %s", severities[severity], who, line);
  if (sink.fd >= 0) {
    (void) pr_log_writefile(sink.fd, MOD_FTPS_VERSION, "%s %s: %s",
      severities[severity], who, line);
  }
}

void ftps_log_trace(const char *channel, int level, const char *fmt, ...) {
  char line[FTPS_LOG_LINE_MAX];
  va_list ap;

  /* Formatting costs; skip it when nobody listens on the channel. */
  if (pr_trace_get_level(channel) < level) {
    return;
  }
  va_start(ap, fmt);
  format_line(line, sizeof(line), fmt, ap);
  va_end(ap);
  pr_trace_msg(channel, level, "%s", line);
}
