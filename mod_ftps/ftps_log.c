/*
 * ftps_log.c -- glue: FTPSLog, the admin's log (B13): one line per
 * handshake and one per refusal, with the reason. Opened as root in
 * sess_init so the descriptor survives chroot and the privilege drop.
 */

#include <stdarg.h>

#include "mod_ftps.h"

int ftps_log_open(const char *path) {
  int res, xerrno;

  if (path == NULL) {
    errno = EINVAL;
    return -1;
  }

  pr_signals_block();
  PRIVS_ROOT
  res = pr_log_openfile(path, &ftps_sess.logfd, PR_LOG_SYSTEM_MODE);
  xerrno = errno;
  PRIVS_RELINQUISH
  pr_signals_unblock();

  if (res == 0) {
    ftps_sess.log_path = path;
    return 0;
  }

  ftps_sess.logfd = -1;
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
  if (ftps_sess.logfd >= 0) {
    (void) close(ftps_sess.logfd);
    ftps_sess.logfd = -1;
  }
  ftps_sess.log_path = NULL;
}

void ftps_log(const char *fmt, ...) {
  char buf[1024];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);

  pr_trace_msg("ftps", 5, "%s", buf);
  if (ftps_sess.logfd >= 0) {
    (void) pr_log_writefile(ftps_sess.logfd, MOD_FTPS_VERSION, "%s", buf);
  }
}
