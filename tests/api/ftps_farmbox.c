/*
 * ftps_farmbox.c -- tests of mod_ftps/ftps_farmbox.c (the sealed Redis entry
 * format, issue 12): round trip; a flipped bit anywhere, the wrong key, the
 * wrong key name, the wrong kind, an expired entry and garbage are all
 * refused; and the ticket key ring's export/import round trip.
 *
 * OpenSSL and Check only; no ProFTPD (B2, B19).
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tests.h"
#include "ftps/ftps_farmbox.h"
#include "ftps/ftps_ticketkeys.h"

#define NOW ((time_t) 1800000000)

static const unsigned char key1[32] = "0123456789abcdef0123456789abcdef";
static const unsigned char key2[32] = "0123456789abcdef0123456789abcdeX";
static const char msg[] = "a DER session would go here";

static void seal(unsigned char **out, size_t *len) {
  ck_assert_int_eq(ftps_farmbox_seal(key1, "mod_ftps.farm1.s.abcd",
    FTPS_FARM_KIND_SESSION, NOW + 300, msg, sizeof(msg), out, len), 0);
  ck_assert_uint_eq(*len, sizeof(msg) + FTPS_FARM_OVERHEAD);
}

START_TEST(ftps_farmbox_roundtrip_test) {
  unsigned char *e = NULL, *pt = NULL;
  size_t elen = 0, ptlen = 0;

  seal(&e, &elen);
  ck_assert_int_eq(ftps_farmbox_open(key1, "mod_ftps.farm1.s.abcd",
    FTPS_FARM_KIND_SESSION, NOW, e, elen, &pt, &ptlen), 0);
  ck_assert_uint_eq(ptlen, sizeof(msg));
  ck_assert_int_eq(memcmp(pt, msg, ptlen), 0);
  ftps_farmbox_free(pt, ptlen);
  ftps_farmbox_free(e, elen);
}
END_TEST

START_TEST(ftps_farmbox_tamper_test) {
  unsigned char *e = NULL, *pt = NULL;
  size_t elen = 0, ptlen = 0, i;

  seal(&e, &elen);
  for (i = 0; i < elen; i++) {
    e[i] ^= 0x01;
    ck_assert_int_eq(ftps_farmbox_open(key1, "mod_ftps.farm1.s.abcd",
      FTPS_FARM_KIND_SESSION, NOW, e, elen, &pt, &ptlen), -1);
    ck_assert_int_eq(errno, EBADMSG);
    e[i] ^= 0x01;
  }
  /* Truncated and garbage. */
  ck_assert_int_eq(ftps_farmbox_open(key1, "mod_ftps.farm1.s.abcd",
    FTPS_FARM_KIND_SESSION, NOW, e, elen - 1, &pt, &ptlen), -1);
  ck_assert_int_eq(errno, EBADMSG);
  ck_assert_int_eq(ftps_farmbox_open(key1, "mod_ftps.farm1.s.abcd",
    FTPS_FARM_KIND_SESSION, NOW, (const unsigned char *) "garbage", 7, &pt,
    &ptlen), -1);
  ck_assert_int_eq(errno, EBADMSG);
  ftps_farmbox_free(e, elen);
}
END_TEST

START_TEST(ftps_farmbox_wrong_key_name_kind_test) {
  unsigned char *e = NULL, *pt = NULL;
  size_t elen = 0, ptlen = 0;

  seal(&e, &elen);
  ck_assert_int_eq(ftps_farmbox_open(key2, "mod_ftps.farm1.s.abcd",
    FTPS_FARM_KIND_SESSION, NOW, e, elen, &pt, &ptlen), -1);
  ck_assert_int_eq(errno, EBADMSG);
  ck_assert_int_eq(ftps_farmbox_open(key1, "mod_ftps.farm1.s.abce",
    FTPS_FARM_KIND_SESSION, NOW, e, elen, &pt, &ptlen), -1);
  ck_assert_int_eq(errno, EBADMSG);
  ck_assert_int_eq(ftps_farmbox_open(key1, "mod_ftps.farm1.s.abcd",
    FTPS_FARM_KIND_TICKETKEYS, NOW, e, elen, &pt, &ptlen), -1);
  ck_assert_int_eq(errno, EBADMSG);
  /* Relabelled kind with the matching check: the AAD still refuses it. */
  e[9] = FTPS_FARM_KIND_TICKETKEYS;
  ck_assert_int_eq(ftps_farmbox_open(key1, "mod_ftps.farm1.s.abcd",
    FTPS_FARM_KIND_TICKETKEYS, NOW, e, elen, &pt, &ptlen), -1);
  ck_assert_int_eq(errno, EBADMSG);
  ftps_farmbox_free(e, elen);
}
END_TEST

START_TEST(ftps_farmbox_expired_test) {
  unsigned char *e = NULL, *pt = NULL;
  size_t elen = 0, ptlen = 0;

  seal(&e, &elen);
  ck_assert_int_eq(ftps_farmbox_open(key1, "mod_ftps.farm1.s.abcd",
    FTPS_FARM_KIND_SESSION, NOW + 300, e, elen, &pt, &ptlen), -1);
  ck_assert_int_eq(errno, ESTALE);
  ck_assert_int_eq(ftps_farmbox_open(key1, "mod_ftps.farm1.s.abcd",
    FTPS_FARM_KIND_SESSION, NOW + 299, e, elen, &pt, &ptlen), 0);
  ftps_farmbox_free(pt, ptlen);
  /* A pushed-back expiry is tampering. */
  e[17] ^= 0x40;
  ck_assert_int_eq(ftps_farmbox_open(key1, "mod_ftps.farm1.s.abcd",
    FTPS_FARM_KIND_SESSION, NOW + 300, e, elen, &pt, &ptlen), -1);
  ck_assert_int_eq(errno, EBADMSG);
  ftps_farmbox_free(e, elen);
}
END_TEST

START_TEST(ftps_farmbox_args_test) {
  unsigned char *e = NULL;
  size_t elen = 0;

  ck_assert_int_eq(ftps_farmbox_seal(NULL, "k", 1, NOW, msg, 1, &e, &elen),
    -1);
  ck_assert_int_eq(errno, EINVAL);
  ck_assert_int_eq(ftps_farmbox_seal(key1, "k", 0, NOW, msg, 1, &e, &elen),
    -1);
  ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(ftps_ticketkeys_export_import_test) {
  unsigned char *buf = NULL, *buf2 = NULL;
  size_t len = 0, len2 = 0;
  unsigned char name1[16], name2[16];
  time_t t1 = 0, t2 = 0;

  ck_assert_int_eq(ftps_ticketkeys_export(&buf, &len), -1);   /* no ring */
  ck_assert_int_eq(ftps_ticketkeys_configure(60, 3, NOW), 0);
  ck_assert_int_eq(ftps_ticketkeys_rotate(NOW + 60), 1);
  ck_assert_int_eq(ftps_ticketkeys_newest(&t1, name1), 0);
  ck_assert_int_eq(ftps_ticketkeys_export(&buf, &len), 0);
  /* Another node: its own ring, replaced by the exported one. */
  ck_assert_int_eq(ftps_ticketkeys_configure(60, 3, NOW + 5), 0);
  ck_assert_int_eq(ftps_ticketkeys_import(buf, len), 2);
  ck_assert_int_eq(ftps_ticketkeys_newest(&t2, name2), 0);
  ck_assert_int_eq(t1, t2);
  ck_assert_int_eq(memcmp(name1, name2, 16), 0);
  ck_assert_int_eq(ftps_ticketkeys_export(&buf2, &len2), 0);
  ck_assert_uint_eq(len, len2);
  ck_assert_int_eq(memcmp(buf, buf2, len), 0);
  /* Malformed. */
  ck_assert_int_eq(ftps_ticketkeys_import(buf, len - 1), -1);
  ck_assert_int_eq(errno, EBADMSG);
  /* A node that keeps fewer keys takes the newest ones. */
  ck_assert_int_eq(ftps_ticketkeys_configure(60, 1, NOW), 0);
  ck_assert_int_eq(ftps_ticketkeys_import(buf, len), 1);
  ck_assert_int_eq(ftps_ticketkeys_newest(&t2, name2), 0);
  ck_assert_int_eq(memcmp(name1, name2, 16), 0);
  ftps_ticketkeys_export_free(buf, len);
  ftps_ticketkeys_export_free(buf2, len2);
  ftps_ticketkeys_wipe();
}
END_TEST

Suite *tests_get_farmbox_suite(void) {
  Suite *suite = suite_create("ftps_farmbox");
  TCase *tc = tcase_create("farmbox");

  tcase_add_test(tc, ftps_farmbox_roundtrip_test);
  tcase_add_test(tc, ftps_farmbox_tamper_test);
  tcase_add_test(tc, ftps_farmbox_wrong_key_name_kind_test);
  tcase_add_test(tc, ftps_farmbox_expired_test);
  tcase_add_test(tc, ftps_farmbox_args_test);
  tcase_add_test(tc, ftps_ticketkeys_export_import_test);
  suite_add_tcase(suite, tc);
  return suite;
}
