/*
 * ftps_text.c -- unit tests of mod_ftps/ftps_text.c: known answers for the
 * log escaping scheme (line breaks, ESC, C1 controls, DEL, backslash,
 * UTF-8), truncation at the bound with the marker, and the inverse.
 * Pure: libc and Check only.
 */

#include "tests.h"
#include "ftps/ftps_text.h"

/* Inputs are given with their length, so "\0" rows can hold a NUL. */
#define IN(s) s, sizeof(s) - 1

typedef struct {
  const char *name;
  const char *in;
  size_t inlen;
  size_t outlen;
  int want_res;
  const char *want_out;
} escape_row_t;

static const escape_row_t escape_rows[] = {
  { "empty",        IN(""),                    64, 0, "" },
  { "plain",        IN("alice"),               64, 0, "alice" },
  { "printable",    IN(" !~'\"%{}"),           64, 0, " !~'\"%{}" },
  { "lf_forges_line", IN("x\n2026 forged"),    64, 0, "x\\n2026 forged" },
  { "cr",           IN("a\rb"),                64, 0, "a\\rb" },
  { "crlf",         IN("a\r\nb"),              64, 0, "a\\r\\nb" },
  { "tab",          IN("a\tb"),                64, 0, "a\\tb" },
  { "esc_clear",    IN("\x1b[2J"),             64, 0, "\\x1b[2J" },
  { "bel_vt_ff",    IN("\a\v\f"),              64, 0, "\\x07\\x0b\\x0c" },
  { "nul_inside",   IN("a\0b"),                64, 0, "a\\x00b" },
  { "del",          IN("\x7f"),                64, 0, "\\x7f" },
  { "c1_nel",       IN("\x85"),                64, 0, "\\x85" },
  { "c1_csi",       IN("\x9b" "31m"),          64, 0, "\\x9b31m" },
  { "utf8_c1_csi",  IN("\xc2\x9b"),            64, 0, "\\xc2\\x9b" },
  { "utf8_letter",  IN("caf\xc3\xa9"),         64, 0, "caf\\xc3\\xa9" },
  { "high_ff",      IN("\xff"),                64, 0, "\\xff" },
  { "backslash",    IN("a\\b"),                64, 0, "a\\\\b" },
  /* A peer that sends the text of an escape gets its backslash doubled. */
  { "fake_escape",  IN("\\n\\x1b"),            64, 0, "\\\\n\\\\x1b" },
  { "fake_marker",  IN("\\..."),               64, 0, "\\\\..." },
  /* Bounds: outlen 9 leaves 8 characters. */
  { "fits_exactly", IN("abcdefgh"),             9, 0, "abcdefgh" },
  { "one_over",     IN("abcdefghi"),            9, 1, "abcd\\..." },
  { "cut_before_escape", IN("abc\x1b" "defg"),  9, 1, "abc\\..." },
  { "escape_fits_exactly", IN("abcd\x1b"),      9, 0, "abcd\\x1b" },
  { "cut_escapes_whole", IN("\x01\x02\x03"),    9, 1, "\\x01\\..." },
  { "min_out_empty", IN(""),                    5, 0, "" },
  { "min_out_fits", IN("abcd"),                 5, 0, "abcd" },
  { "min_out_cut",  IN("abcde"),                5, 1, "\\..." },
  { "min_out_escape", IN("\n"),                 5, 0, "\\n" },
  { "min_out_big_escape", IN("\x80"),           5, 0, "\\x80" },
  { "min_out_cut_escape", IN("\x80" "a"),       5, 1, "\\..." },
};

START_TEST (ftps_text_escape_args_test) {
  char out[16];
  int res;

  mark_point();
  res = ftps_text_escape(NULL, 3, out, sizeof(out));
  ck_assert_msg(res == -1, "Expected %d, got %d", -1, res);
  ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL, errno);
  ck_assert_msg(out[0] == '\0', "Expected an empty string");

  mark_point();
  res = ftps_text_escape("abc", 3, NULL, sizeof(out));
  ck_assert_msg(res == -1, "Expected %d, got %d", -1, res);
  ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL, errno);

  mark_point();
  res = ftps_text_escape(NULL, 0, out, sizeof(out));
  ck_assert_msg(res == 0, "Expected %d, got %d", 0, res);
  ck_assert_msg(out[0] == '\0', "Expected an empty string");
}
END_TEST

/* Too small for the marker: refused, and the buffer is left empty. */
START_TEST (ftps_text_escape_small_buffer_test) {
  char out[FTPS_TEXT_MIN_OUT] = "zzzz";
  int res;

  mark_point();
  res = ftps_text_escape("ab", 2, out, (size_t) _i);
  ck_assert_msg(res == -1, "outlen %d: Expected %d, got %d", _i, -1, res);
  ck_assert_msg(errno == ERANGE, "Expected errno %d, got %d", ERANGE, errno);
  if (_i > 0) {
    ck_assert_msg(out[0] == '\0', "outlen %d: Expected an empty string", _i);
  }
  ck_assert_msg(out[_i > 0 ? 1 : 0] == 'z', "wrote past outlen %d", _i);
}
END_TEST

START_TEST (ftps_text_escape_known_answer_test) {
  const escape_row_t *row = &escape_rows[_i];
  char out[128];
  int res;

  memset(out, 'Z', sizeof(out));
  mark_point();
  res = ftps_text_escape(row->in, row->inlen, out, row->outlen);
  ck_assert_msg(res == row->want_res, "%s: Expected %d, got %d", row->name,
    row->want_res, res);
  ck_assert_msg(strcmp(out, row->want_out) == 0,
    "%s: Expected '%s', got '%s'", row->name, row->want_out, out);
  ck_assert_msg(out[row->outlen] == 'Z', "%s: wrote past outlen", row->name);
}
END_TEST

/* Every byte value: nothing unsafe comes out, whatever the bound. */
START_TEST (ftps_text_escape_all_bytes_test) {
  char in[256], out[1100];
  size_t i, len, outlen;
  int res;

  for (i = 0; i < sizeof(in); i++) {
    in[i] = (char) i;
  }
  for (outlen = FTPS_TEXT_MIN_OUT; outlen <= sizeof(out); outlen += 37) {
    mark_point();
    res = ftps_text_escape(in, sizeof(in), out, outlen);
    ck_assert_msg(res == 0 || res == 1, "Expected 0 or 1, got %d", res);
    len = strlen(out);
    ck_assert_msg(len < outlen, "Expected < %lu chars, got %lu",
      (unsigned long) outlen, (unsigned long) len);
    for (i = 0; i < len; i++) {
      unsigned char c = (unsigned char) out[i];
      ck_assert_msg(c >= 0x20 && c < 0x7f, "byte 0x%02x at %lu", c,
        (unsigned long) i);
    }
  }
  /* 256 bytes escape to 94 plain + 4 * 2 short + 158 * 4 hex = 734. */
  ck_assert_msg(res == 0 && len == 734, "Expected 734 chars, got %lu",
    (unsigned long) len);
}
END_TEST

START_TEST (ftps_text_unescape_args_test) {
  char out[16];
  size_t n = 99;
  int res;

  mark_point();
  res = ftps_text_unescape(NULL, out, sizeof(out), &n);
  ck_assert_msg(res == -1 && errno == EINVAL, "Expected -1/EINVAL, got %d/%d",
    res, errno);
  res = ftps_text_unescape("a", NULL, sizeof(out), &n);
  ck_assert_msg(res == -1 && errno == EINVAL, "Expected -1/EINVAL, got %d/%d",
    res, errno);
  res = ftps_text_unescape("a", out, sizeof(out), NULL);
  ck_assert_msg(res == -1 && errno == EINVAL, "Expected -1/EINVAL, got %d/%d",
    res, errno);
  res = ftps_text_unescape("abc", out, 3, &n);
  ck_assert_msg(res == -1 && errno == ERANGE, "Expected -1/ERANGE, got %d/%d",
    res, errno);
}
END_TEST

typedef struct {
  const char *name;
  const char *in;
  int want_res;
  const char *want_out;
  size_t want_len;
} unescape_row_t;

static const unescape_row_t unescape_rows[] = {
  { "plain",       "alice",            0, "alice", 5 },
  { "short",       "\\n\\r\\t\\\\",    0, "\n\r\t\\", 4 },
  { "hex",         "\\x1b\\x85\\x00x", 0, "\x1b\x85\0x", 4 },
  { "marker",      "ab\\...",         -1, NULL, 0 },
  { "unknown",     "\\q",             -1, NULL, 0 },
  { "trailing",    "ab\\",            -1, NULL, 0 },
  { "short_hex",   "\\x1",            -1, NULL, 0 },
  { "upper_hex",   "\\x1B",           -1, NULL, 0 },
  { "plain_as_hex", "\\x41",          -1, NULL, 0 },
  { "lf_as_hex",   "\\x0a",           -1, NULL, 0 },
  { "raw_lf",      "a\nb",            -1, NULL, 0 },
  { "raw_high",    "\xc3\xa9",        -1, NULL, 0 },
};

START_TEST (ftps_text_unescape_known_answer_test) {
  const unescape_row_t *row = &unescape_rows[_i];
  char out[32];
  size_t n = 0;
  int res;

  mark_point();
  res = ftps_text_unescape(row->in, out, sizeof(out), &n);
  ck_assert_msg(res == row->want_res, "%s: Expected %d, got %d", row->name,
    row->want_res, res);
  if (res == 0) {
    ck_assert_msg(n == row->want_len && memcmp(out, row->want_out, n) == 0,
      "%s: Expected %lu bytes, got %lu", row->name,
      (unsigned long) row->want_len, (unsigned long) n);
  } else {
    ck_assert_msg(errno == EINVAL, "%s: Expected errno %d, got %d",
      row->name, EINVAL, errno);
  }
}
END_TEST

/* Every untruncated known answer decodes back to its input. */
START_TEST (ftps_text_unescape_round_trip_test) {
  const escape_row_t *row = &escape_rows[_i];
  char out[128];
  size_t n = 0;
  int res;

  if (row->want_res != 0) {
    return;
  }
  mark_point();
  res = ftps_text_unescape(row->want_out, out, sizeof(out), &n);
  ck_assert_msg(res == 0, "%s: Expected %d, got %d", row->name, 0, res);
  ck_assert_msg(n == row->inlen && memcmp(out, row->in, n) == 0,
    "%s: round trip changed the text", row->name);
}
END_TEST

Suite *tests_get_text_suite(void) {
  Suite *suite = suite_create("ftps_text");
  TCase *tc;

  tc = tcase_create("escape");
  tcase_add_test(tc, ftps_text_escape_args_test);
  tcase_add_loop_test(tc, ftps_text_escape_small_buffer_test, 0,
    (int) FTPS_TEXT_MIN_OUT - 1);
  tcase_add_loop_test(tc, ftps_text_escape_known_answer_test, 0,
    TESTS_NELEMS(escape_rows));
  tcase_add_test(tc, ftps_text_escape_all_bytes_test);
  suite_add_tcase(suite, tc);

  tc = tcase_create("unescape");
  tcase_add_test(tc, ftps_text_unescape_args_test);
  tcase_add_loop_test(tc, ftps_text_unescape_known_answer_test, 0,
    TESTS_NELEMS(unescape_rows));
  tcase_add_loop_test(tc, ftps_text_unescape_round_trip_test, 0,
    TESTS_NELEMS(escape_rows));
  suite_add_tcase(suite, tc);

  return suite;
}
