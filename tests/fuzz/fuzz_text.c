/*
 * fuzz_text.c -- libFuzzer target for the log escaper of the pure core
 * (ftps_text.c): every FTPSLog and trace record passes through it, with
 * whatever bytes a peer sent. The first input byte picks the bound (the
 * out buffer size); the rest is the text.
 *
 * Invariants (a violation traps, so the fuzzer reports it like a crash):
 *   - out holds only printable ASCII 0x20-0x7e: no control byte, no DEL,
 *     nothing >= 0x80; it never exceeds outlen - 1 characters;
 *   - an uncut result decodes back to exactly the input;
 *   - a cut result is a prefix of the uncut escape, cut between escapes,
 *     followed by the marker, and the uncut escape really did not fit.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ftps/ftps_text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void require(int ok) {
  if (!ok) {
    __builtin_trap();
  }
}

static void check_safe(const char *out, size_t outlen) {
  size_t i, len = strlen(out);

  require(len < outlen);
  for (i = 0; i < len; i++) {
    unsigned char c = (unsigned char) out[i];
    require(c >= 0x20 && c < 0x7f);
  }
}

/* The uncut escape decodes back to in. */
static void check_round_trip(const char *in, size_t inlen, const char *full) {
  size_t n = 0, cap = strlen(full) + 1;
  char *back = malloc(cap);

  require(back != NULL);
  require(ftps_text_unescape(full, back, cap, &n) == 0);
  require(n == inlen && memcmp(back, in, n) == 0);
  free(back);
}

static size_t escaped_len(unsigned char c) {
  char buf[FTPS_TEXT_ESC_MAX + 1];

  require(ftps_text_escape((const char *) &c, 1, buf, sizeof(buf)) == 0);
  return strlen(buf);
}

/* A cut result: whole escapes of a prefix of in, then the marker. */
static void check_cut(const char *in, size_t inlen, const char *full,
    const char *out, size_t outlen) {
  const size_t mark_len = sizeof(FTPS_TEXT_TRUNC_MARK) - 1;
  size_t len = strlen(out), keep, n = 0;
  char *back;

  require(strlen(full) > outlen - 1);
  require(len >= mark_len);
  keep = len - mark_len;
  require(strcmp(out + keep, FTPS_TEXT_TRUNC_MARK) == 0);
  require(memcmp(out, full, keep) == 0);
  /* Cut between escapes: the kept part decodes to a prefix of in. */
  back = malloc(keep + 1);
  require(back != NULL);
  memcpy(back, out, keep);
  back[keep] = '\0';
  require(ftps_text_unescape(back, back, keep + 1, &n) == 0);
  require(n < inlen && memcmp(back, in, n) == 0);
  /* Cut as late as possible: one more escape and the marker don't fit. */
  require(keep + escaped_len((unsigned char) in[n]) + mark_len > outlen - 1);
  free(back);
}

/* Arbitrary text given to the decoder: it fails or decodes in bounds. */
static void check_unescape_any(const char *in, size_t inlen) {
  char *s = malloc(inlen + 1), *out = malloc(inlen + 1);
  size_t n = 0;

  require(s != NULL && out != NULL);
  memcpy(s, in, inlen);
  s[inlen] = '\0';
  if (ftps_text_unescape(s, out, inlen + 1, &n) == 0) {
    require(n <= strlen(s));
  }
  free(s);
  free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *in;
  size_t inlen, outlen, fulllen;
  char *out, *full;
  int res;

  if (size == 0) {
    return 0;
  }
  outlen = FTPS_TEXT_MIN_OUT + data[0];
  in = (const char *) data + 1;
  inlen = size - 1;

  fulllen = inlen * FTPS_TEXT_ESC_MAX + FTPS_TEXT_MIN_OUT;
  full = malloc(fulllen);
  out = malloc(outlen);
  require(full != NULL && out != NULL);

  require(ftps_text_escape(in, inlen, full, fulllen) == 0);
  check_safe(full, fulllen);
  check_round_trip(in, inlen, full);

  res = ftps_text_escape(in, inlen, out, outlen);
  check_safe(out, outlen);
  if (res == 0) {
    require(strcmp(out, full) == 0);
  } else {
    require(res == 1);
    check_cut(in, inlen, full, out, outlen);
  }

  check_unescape_any(in, inlen);
  free(out);
  free(full);
  return 0;
}
