/*
 * ftps_text.c -- owns the escaping of untrusted text for log lines (the
 * scheme is documented in include/ftps/ftps_text.h).
 *
 * PURE: libc only; must not include OpenSSL or ProFTPD headers (B2).
 *
 * SECURITY: FTPSLog, the trace log and syslog are read by people and
 * parsed by tools line by line. A peer that can put LF or CR into a line
 * forges whole records; ESC and the C1 controls drive the terminal of the
 * admin who runs `tail -f`. Every byte that could do either is escaped,
 * and the backslash too, so an escape in the log always means the peer
 * sent that byte.
 */

#include <errno.h>
#include <string.h>

#include "ftps/ftps_text.h"

static const char hex_digits[] = "0123456789abcdef";

/* The two-character escapes; every other unsafe byte is \xNN. */
static const struct {
  unsigned char byte;
  char letter;
} short_escapes[] = {
  { '\\', '\\' },
  { '\n', 'n' },
  { '\r', 'r' },
  { '\t', 't' },
};

#define NSHORT (sizeof(short_escapes) / sizeof(short_escapes[0]))

static int is_plain(unsigned char c) {
  return c >= 0x20 && c < 0x7f && c != '\\';
}

/* Writes the escaped form of c into buf; returns its length (1 to 4). */
static size_t escape_one(unsigned char c, char buf[FTPS_TEXT_ESC_MAX]) {
  size_t i;

  if (is_plain(c)) {
    buf[0] = (char) c;
    return 1;
  }
  buf[0] = '\\';
  for (i = 0; i < NSHORT; i++) {
    if (short_escapes[i].byte == c) {
      buf[1] = short_escapes[i].letter;
      return 2;
    }
  }
  buf[1] = 'x';
  buf[2] = hex_digits[c >> 4];
  buf[3] = hex_digits[c & 0x0f];
  return 4;
}

static int escape_args_ok(const char *in, size_t inlen, char *out,
    size_t outlen) {
  if (out != NULL && outlen > 0) {
    out[0] = '\0';
  }
  if ((in == NULL && inlen > 0) || out == NULL) {
    errno = EINVAL;
    return 0;
  }
  if (outlen < FTPS_TEXT_MIN_OUT) {
    errno = ERANGE;
    return 0;
  }
  return 1;
}

int ftps_text_escape(const char *in, size_t inlen, char *out, size_t outlen) {
  const size_t mark_len = sizeof(FTPS_TEXT_TRUNC_MARK) - 1;
  const size_t room = outlen - 1;
  size_t i, pos = 0, cut = 0;
  char esc[FTPS_TEXT_ESC_MAX];

  if (!escape_args_ok(in, inlen, out, outlen)) {
    return -1;
  }
  for (i = 0; i < inlen; i++) {
    size_t n = escape_one((unsigned char) in[i], esc);

    /* The last place the marker still fits, in case we must cut. */
    if (pos + mark_len <= room) {
      cut = pos;
    }
    if (pos + n > room) {
      /* Cut between escapes, never inside one: "\x1" would be garbage. */
      memcpy(out + cut, FTPS_TEXT_TRUNC_MARK, mark_len);
      out[cut + mark_len] = '\0';
      return 1;
    }
    memcpy(out + pos, esc, n);
    pos += n;
  }
  out[pos] = '\0';
  return 0;
}

static int hex_value(char c) {
  const char *p;

  if (c == '\0') {
    return -1;
  }
  p = strchr(hex_digits, c);
  return p != NULL ? (int) (p - hex_digits) : -1;
}

/* Decodes the escape at in (in[0] == '\\'); returns its length or 0. */
static size_t unescape_one(const char *in, unsigned char *byte) {
  size_t i;
  int hi, lo;

  for (i = 0; i < NSHORT; i++) {
    if (in[1] == short_escapes[i].letter) {
      *byte = short_escapes[i].byte;
      return 2;
    }
  }
  if (in[1] != 'x' || (hi = hex_value(in[2])) < 0 ||
      (lo = hex_value(in[3])) < 0) {
    return 0;
  }
  *byte = (unsigned char) ((hi << 4) | lo);
  /* Only bytes the escaper writes as \xNN; "\x41" is not its output. */
  return is_plain(*byte) || *byte == '\\' || *byte == '\n' ||
    *byte == '\r' || *byte == '\t' ? 0 : 4;
}

int ftps_text_unescape(const char *in, char *out, size_t outlen,
    size_t *outn) {
  size_t n = 0;

  if (in == NULL || out == NULL || outn == NULL) {
    errno = EINVAL;
    return -1;
  }
  *outn = 0;
  while (*in != '\0') {
    unsigned char c = (unsigned char) *in;
    size_t used = 1;

    if (c == '\\') {
      used = unescape_one(in, &c);
    } else if (!is_plain(c)) {
      used = 0;
    }
    if (used == 0) {
      errno = EINVAL;
      return -1;
    }
    if (n + 1 >= outlen) {
      errno = ERANGE;
      return -1;
    }
    out[n++] = (char) c;
    in += used;
  }
  if (outlen == 0) {
    errno = ERANGE;
    return -1;
  }
  out[n] = '\0';
  *outn = n;
  return 0;
}
