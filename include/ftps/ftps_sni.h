/*
 * ftps_sni.h -- parsing of the TLS server_name extension (RFC 6066 §3) as
 * it arrives in a ClientHello, before OpenSSL looks at it.
 *
 * PURE: libc only (B2). Fuzzed by tests/fuzz/fuzz_sni.c.
 */
#ifndef FTPS_SNI_H
#define FTPS_SNI_H

#include <stddef.h>

/* Longest DNS name accepted (RFC 1035 §2.3.4). */
#define FTPS_SNI_MAX 255

/*
 * ext/len: the extension body (2-byte list length, then entries of type,
 * 2-byte length, name). On success copies the host_name, lower-cased and
 * NUL-terminated, into name (size >= FTPS_SNI_MAX + 1) and returns 1.
 * Returns 0 when there is no usable name (no host_name entry, or an IP
 * literal, which RFC 6066 §3 forbids and we ignore), -1/EINVAL when the
 * extension is malformed or the name has a NUL, bad characters or is too
 * long.
 */
int ftps_sni_parse(const unsigned char *ext, size_t len, char *name,
  size_t namelen);

/* 1 if name is a literal IPv4 or IPv6 address. */
int ftps_sni_is_ip_literal(const char *name);

/*
 * ALPN (RFC 7301 §3.1): returns a pointer to the length-prefixed entry equal
 * to proto inside the client's protocol list in/inlen (so OpenSSL can select
 * it), NULL if absent; -1 via *bad when the list is malformed.
 */
const unsigned char *ftps_alpn_find(const unsigned char *in, size_t inlen,
  const char *proto, int *bad);

#endif /* FTPS_SNI_H */
