/*
 * ftps_text.h -- making untrusted text safe for a log line: USER names,
 * command names, certificate names, anything a peer chose.
 *
 * PURE: libc only (B2). Fuzzed by tests/fuzz/fuzz_text.c.
 *
 * The scheme (also in docs/mod_ftps.html, FTPSLog; one byte at a time, so it
 * is the same whatever the input's encoding):
 *
 *   '\\'                       -> \\     (so a real escape is never faked)
 *   LF, CR, TAB                -> \n  \r  \t
 *   other bytes < 0x20, 0x7f,
 *   and every byte >= 0x80     -> \xNN   (two lower-case hex digits)
 *   printable ASCII 0x20-0x7e  -> itself
 *
 * Bytes >= 0x80 are escaped even when they are valid UTF-8: that is the
 * simplest rule that also removes the C1 controls (U+0080-U+009F, e.g.
 * NEL 0x85 and CSI 0x9b, and their UTF-8 forms C2 85 / C2 9B), which some
 * terminals obey.
 *
 * When the escaped text does not fit, it is cut between two escapes and
 * FTPS_TEXT_TRUNC_MARK is appended. The marker starts with a backslash
 * not followed by n, r, t, \ or x, which no escape produces, so it cannot
 * be confused with escaped input.
 */
#ifndef FTPS_TEXT_H
#define FTPS_TEXT_H

#include <stddef.h>

#define FTPS_TEXT_TRUNC_MARK  "\\..."

/* Smallest out buffer ftps_text_escape() accepts: room for the marker. */
#define FTPS_TEXT_MIN_OUT     sizeof(FTPS_TEXT_TRUNC_MARK)

/* Longest escape of one input byte (\xNN). */
#define FTPS_TEXT_ESC_MAX     4

/*
 * Escapes inlen bytes of in (which may hold NUL bytes; they become \x00)
 * into out, NUL-terminated, at most outlen - 1 characters. Returns 0 when
 * all of in was written, 1 when it was cut and the marker appended, -1
 * with errno EINVAL (in NULL with inlen > 0, out NULL) or ERANGE (outlen <
 * FTPS_TEXT_MIN_OUT); out is then "" if outlen > 0.
 */
int ftps_text_escape(const char *in, size_t inlen, char *out, size_t outlen);

/*
 * The inverse, for text ftps_text_escape() returned 0 for: decodes the
 * NUL-terminated in into out and stores the byte count in *outn (out is
 * also NUL-terminated). -1 with errno EINVAL on NULL arguments or text the
 * escaper never produces (a raw control or high byte, an unknown or short
 * escape, upper-case hex, the truncation marker), ERANGE if out is too
 * small (strlen(in) + 1 always suffices).
 */
int ftps_text_unescape(const char *in, char *out, size_t outlen,
  size_t *outn);

#endif /* FTPS_TEXT_H */
