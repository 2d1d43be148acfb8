/*
 * ftps_tlserr.c -- owns the TLS layer's failure reporting while contexts
 * are built (see include/ftps/ftps_tlserr.h).
 *
 * OpenSSL only; must not include ProFTPD headers (B2).
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

#include "ftps/ftps_tlserr.h"

int ftps_tlserr_fail(char *err, size_t errlen, const char *fmt, ...) {
  va_list ap;

  if (err != NULL && errlen > 0) {
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  errno = EINVAL;
  return -1;
}

const char *ftps_tlserr_reason(char *buf, size_t len) {
  unsigned long e, last = 0;
  int xerrno = errno;

  while ((e = ERR_get_error()) != 0) {
    last = e;
  }
  if (last != 0) {
    ERR_error_string_n(last, buf, len);
  } else {
    snprintf(buf, len, "%s", xerrno != 0 ? strerror(xerrno) : "no detail");
  }
  return buf;
}
