/*
 * ftps_sni.c -- owns parsing of the ClientHello server_name extension
 * (RFC 6066 §3): bounds-checked, strict about what a host name may hold.
 *
 * PURE: libc only; must not include OpenSSL or ProFTPD headers (B2).
 */

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "ftps/ftps_sni.h"

#define SNI_HOST_NAME 0

static unsigned int be16(const unsigned char *p) {
  return ((unsigned int) p[0] << 8) | p[1];
}

int ftps_sni_is_ip_literal(const char *name) {
  unsigned char buf[16];

  return name != NULL && (inet_pton(AF_INET, name, buf) == 1 ||
    inet_pton(AF_INET6, name, buf) == 1);
}

/* SECURITY: letters, digits, '-', '_' and '.' only; no NUL (an embedded
 * NUL could make "a.example\0.evil" compare equal to "a.example"). */
static int valid_host_char(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

static int copy_name(const unsigned char *p, size_t n, char *name,
    size_t namelen) {
  size_t i;

  if (n == 0 || n > FTPS_SNI_MAX || n >= namelen) {
    errno = EINVAL;
    return -1;
  }
  for (i = 0; i < n; i++) {
    unsigned char c = p[i];
    if (!valid_host_char(c)) {
      errno = EINVAL;
      return -1;
    }
    name[i] = (char) ((c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c);
  }
  name[n] = '\0';
  if (ftps_sni_is_ip_literal(name)) {
    name[0] = '\0';
    return 0;
  }
  return 1;
}

int ftps_sni_parse(const unsigned char *ext, size_t len, char *name,
    size_t namelen) {
  size_t list_len, off = 2;

  if (ext == NULL || name == NULL || namelen == 0) {
    errno = EINVAL;
    return -1;
  }
  name[0] = '\0';
  if (len < 2 || (list_len = be16(ext)) != len - 2 || list_len == 0) {
    errno = EINVAL;
    return -1;
  }

  while (off < len) {
    unsigned int type;
    size_t n;

    if (len - off < 3) {
      errno = EINVAL;
      return -1;
    }
    type = ext[off];
    n = be16(ext + off + 1);
    off += 3;
    if (n > len - off) {
      errno = EINVAL;
      return -1;
    }
    if (type == SNI_HOST_NAME) {
      /* RFC 6066 §3: at most one name of each type; use the first. */
      return copy_name(ext + off, n, name, namelen);
    }
    off += n;
  }
  return 0;
}

const unsigned char *ftps_alpn_find(const unsigned char *in, size_t inlen,
    const char *proto, int *bad) {
  size_t off = 0, plen;

  if (bad != NULL) {
    *bad = 0;
  }
  if (in == NULL || proto == NULL) {
    errno = EINVAL;
    return NULL;
  }

  plen = strlen(proto);
  while (off < inlen) {
    size_t n = in[off];

    if (n == 0 || n > inlen - off - 1) {
      if (bad != NULL) {
        *bad = 1;
      }
      return NULL;
    }
    if (n == plen && memcmp(in + off + 1, proto, n) == 0) {
      return in + off;
    }
    off += 1 + n;
  }
  return NULL;
}
