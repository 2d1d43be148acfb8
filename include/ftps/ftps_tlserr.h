/*
 * ftps_tlserr.h -- the TLS layer's one way to report a failure while
 * building a context: a message into the caller's buffer (errno EINVAL),
 * and the most specific OpenSSL reason from the error queue.
 *
 * libc only in this header; OpenSSL in ftps_tlserr.c; no ProFTPD (B2).
 */
#ifndef FTPS_TLSERR_H
#define FTPS_TLSERR_H

#include <stddef.h>

/* vsnprintf into err, errno = EINVAL; always -1 (for `return fail(...)`). */
int ftps_tlserr_fail(char *err, size_t errlen, const char *fmt, ...)
#ifdef __GNUC__
  __attribute__ ((format (printf, 3, 4)))
#endif
  ;

/* The last (most specific) reason in OpenSSL's error queue, into buf;
 * strerror(errno) when the queue is empty. Clears the queue. Returns buf. */
const char *ftps_tlserr_reason(char *buf, size_t len);

#endif /* FTPS_TLSERR_H */
