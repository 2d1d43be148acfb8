/*
 * tests/api/ftps_state.c -- the session lifecycle machine (ftps_state.c):
 * a known-answer table of (state, event) -> result and next state, with
 * the illegal transitions as negative rows, and whole sessions as
 * sequences. Pure C and Check (B2, B20).
 */

#include <errno.h>
#include <string.h>

#include "tests.h"
#include "ftps/ftps_state.h"

#define CLEAR     FTPS_LC_CTRL_CLEAR
#define SECURED   FTPS_LC_CTRL_SECURED
#define CLEARED   FTPS_LC_CTRL_CLEARED
#define ENDED     FTPS_LC_CTRL_ENDED
#define NOUSER    FTPS_LC_AUTH_NONE
#define IDENT     FTPS_LC_AUTH_IDENTIFIED
#define PENDING   FTPS_LC_AUTH_CERT_PENDING
#define IN        FTPS_LC_AUTH_LOGGED_IN
#define OK        0
#define NO        (-1)

static const struct {
  const char *name;
  ftps_lc_t from;
  ftps_event_t ev;
  int want_rc;
  ftps_lc_t want;
} rows[] = {
  /* control */
  { "auth_tls",            { CLEAR, NOUSER, 0 }, FTPS_EV_CTRL_SECURED, OK,
    { SECURED, NOUSER, 0 } },
  { "auth_tls_after_user", { CLEAR, IDENT, 0 }, FTPS_EV_CTRL_SECURED, OK,
    { SECURED, IDENT, 0 } },
  { "second_handshake",    { SECURED, NOUSER, 0 }, FTPS_EV_CTRL_SECURED, NO,
    { SECURED, NOUSER, 0 } },
  { "handshake_after_ccc", { CLEARED, IN, 0 }, FTPS_EV_CTRL_SECURED, NO,
    { CLEARED, IN, 0 } },
  { "handshake_after_login", { CLEAR, IN, 0 }, FTPS_EV_CTRL_SECURED, NO,
    { CLEAR, IN, 0 } },
  { "ccc",                 { SECURED, IN, 0 }, FTPS_EV_CTRL_CLEARED, OK,
    { CLEARED, IN, 0 } },
  { "ccc_in_clear",        { CLEAR, IN, 0 }, FTPS_EV_CTRL_CLEARED, NO,
    { CLEAR, IN, 0 } },
  { "ccc_twice",           { CLEARED, IN, 0 }, FTPS_EV_CTRL_CLEARED, NO,
    { CLEARED, IN, 0 } },
  { "ccc_during_data",     { SECURED, IN, 1 }, FTPS_EV_CTRL_CLEARED, OK,
    { CLEARED, IN, 1 } },

  /* vhost switches: before login only */
  { "host_before_user",    { CLEAR, NOUSER, 0 }, FTPS_EV_VHOST_FOLLOWED, OK,
    { CLEAR, NOUSER, 0 } },
  { "sni_switch",          { SECURED, NOUSER, 0 }, FTPS_EV_VHOST_FOLLOWED, OK,
    { SECURED, NOUSER, 0 } },
  { "host_after_login",    { SECURED, IN, 0 }, FTPS_EV_VHOST_FOLLOWED, NO,
    { SECURED, IN, 0 } },
  { "host_during_232",     { SECURED, PENDING, 0 }, FTPS_EV_VHOST_FOLLOWED,
    NO, { SECURED, PENDING, 0 } },

  /* users and logins */
  { "user",                { SECURED, NOUSER, 0 }, FTPS_EV_USER_IDENTIFIED,
    OK, { SECURED, IDENT, 0 } },
  { "user_again",          { SECURED, IDENT, 0 }, FTPS_EV_USER_IDENTIFIED, OK,
    { SECURED, IDENT, 0 } },
  { "user_after_login",    { SECURED, IN, 0 }, FTPS_EV_USER_IDENTIFIED, NO,
    { SECURED, IN, 0 } },
  { "cert_login",          { SECURED, IDENT, 0 }, FTPS_EV_CERT_LOGIN, OK,
    { SECURED, PENDING, 0 } },
  { "cert_login_after_ccc", { CLEARED, IDENT, 0 }, FTPS_EV_CERT_LOGIN, OK,
    { CLEARED, PENDING, 0 } },
  { "cert_login_in_clear", { CLEAR, IDENT, 0 }, FTPS_EV_CERT_LOGIN, NO,
    { CLEAR, IDENT, 0 } },
  { "cert_login_without_user", { SECURED, NOUSER, 0 }, FTPS_EV_CERT_LOGIN, NO,
    { SECURED, NOUSER, 0 } },
  { "cert_login_twice",    { SECURED, PENDING, 0 }, FTPS_EV_CERT_LOGIN, NO,
    { SECURED, PENDING, 0 } },
  { "user_during_232",     { SECURED, PENDING, 0 }, FTPS_EV_USER_IDENTIFIED,
    NO, { SECURED, PENDING, 0 } },
  { "pass",                { SECURED, IDENT, 0 }, FTPS_EV_LOGGED_IN, OK,
    { SECURED, IN, 0 } },
  { "pass_in_clear",       { CLEAR, IDENT, 0 }, FTPS_EV_LOGGED_IN, OK,
    { CLEAR, IN, 0 } },
  { "232_done",            { SECURED, PENDING, 0 }, FTPS_EV_LOGGED_IN, OK,
    { SECURED, IN, 0 } },
  { "pass_without_user",   { SECURED, NOUSER, 0 }, FTPS_EV_LOGGED_IN, NO,
    { SECURED, NOUSER, 0 } },
  { "pass_twice",          { SECURED, IN, 0 }, FTPS_EV_LOGGED_IN, NO,
    { SECURED, IN, 0 } },

  /* data */
  { "data",                { SECURED, IN, 0 }, FTPS_EV_DATA_SECURED, OK,
    { SECURED, IN, 1 } },
  { "data_after_ccc",      { CLEARED, IN, 0 }, FTPS_EV_DATA_SECURED, OK,
    { CLEARED, IN, 1 } },
  { "data_before_login",   { SECURED, IDENT, 0 }, FTPS_EV_DATA_SECURED, NO,
    { SECURED, IDENT, 0 } },
  { "data_during_232",     { SECURED, PENDING, 0 }, FTPS_EV_DATA_SECURED, NO,
    { SECURED, PENDING, 0 } },
  { "data_clear_control",  { CLEAR, IN, 0 }, FTPS_EV_DATA_SECURED, NO,
    { CLEAR, IN, 0 } },
  { "data_twice",          { SECURED, IN, 1 }, FTPS_EV_DATA_SECURED, NO,
    { SECURED, IN, 1 } },
  { "data_closed",         { SECURED, IN, 1 }, FTPS_EV_DATA_CLOSED, OK,
    { SECURED, IN, 0 } },
  { "data_closed_twice",   { SECURED, IN, 0 }, FTPS_EV_DATA_CLOSED, NO,
    { SECURED, IN, 0 } },

  /* the end is final */
  { "end",                 { SECURED, IN, 1 }, FTPS_EV_END, OK,
    { ENDED, IN, 0 } },
  { "end_twice",           { ENDED, IN, 0 }, FTPS_EV_END, OK,
    { ENDED, IN, 0 } },
  { "user_after_end",      { ENDED, NOUSER, 0 }, FTPS_EV_USER_IDENTIFIED, NO,
    { ENDED, NOUSER, 0 } },
  { "login_after_end",     { ENDED, IDENT, 0 }, FTPS_EV_LOGGED_IN, NO,
    { ENDED, IDENT, 0 } },
  { "data_after_end",      { ENDED, IN, 0 }, FTPS_EV_DATA_SECURED, NO,
    { ENDED, IN, 0 } },
  { "handshake_after_end", { ENDED, NOUSER, 0 }, FTPS_EV_CTRL_SECURED, NO,
    { ENDED, NOUSER, 0 } },
};

START_TEST (ftps_lc_apply_args_test) {
  ftps_lc_t lc;
  int rc;

  mark_point();
  rc = ftps_lc_apply(NULL, FTPS_EV_END);
  ck_assert_msg(rc == -1 && errno == EINVAL, "Expected -1/EINVAL, got %d/%d",
    rc, errno);
  ftps_lc_init(&lc);
  mark_point();
  rc = ftps_lc_apply(&lc, FTPS_EV_COUNT);
  ck_assert_msg(rc == -1 && errno == EINVAL, "Expected -1/EINVAL, got %d/%d",
    rc, errno);
  mark_point();
  rc = ftps_lc_apply(&lc, (ftps_event_t) -1);
  ck_assert_msg(rc == -1 && errno == EINVAL, "Expected -1/EINVAL, got %d/%d",
    rc, errno);
  ftps_lc_init(NULL);
}
END_TEST

START_TEST (ftps_lc_apply_known_answer_test) {
  ftps_lc_t lc = rows[_i].from;
  int rc;

  errno = 0;
  mark_point();
  rc = ftps_lc_apply(&lc, rows[_i].ev);
  ck_assert_msg(rc == rows[_i].want_rc, "%s: Expected %d, got %d",
    rows[_i].name, rows[_i].want_rc, rc);
  if (rc < 0) {
    ck_assert_msg(errno == EPERM, "%s: Expected errno %d, got %d",
      rows[_i].name, EPERM, errno);
  }
  ck_assert_msg(lc.ctrl == rows[_i].want.ctrl && lc.auth == rows[_i].want.auth
    && lc.data == rows[_i].want.data, "%s: Expected %s/%s/%d, got %s/%s/%d",
    rows[_i].name, ftps_lc_ctrl_str(rows[_i].want.ctrl),
    ftps_lc_auth_str(rows[_i].want.auth), rows[_i].want.data,
    ftps_lc_ctrl_str(lc.ctrl), ftps_lc_auth_str(lc.auth), lc.data);
}
END_TEST

/* Whole sessions, each event's result in order. */
static const struct {
  const char *name;
  ftps_event_t ev[10];
  int rc[10];
  int n;
} sessions[] = {
  { "explicit_password_transfer_ccc",
    { FTPS_EV_CTRL_SECURED, FTPS_EV_USER_IDENTIFIED, FTPS_EV_LOGGED_IN,
      FTPS_EV_DATA_SECURED, FTPS_EV_DATA_CLOSED, FTPS_EV_CTRL_CLEARED,
      FTPS_EV_DATA_SECURED, FTPS_EV_DATA_CLOSED, FTPS_EV_END },
    { OK, OK, OK, OK, OK, OK, OK, OK, OK }, 9 },
  /* The 0.1.0 defect: a refused 232 login must not be followed by data. */
  { "refused_cert_login_then_data",
    { FTPS_EV_CTRL_SECURED, FTPS_EV_USER_IDENTIFIED, FTPS_EV_CERT_LOGIN,
      FTPS_EV_DATA_SECURED, FTPS_EV_USER_IDENTIFIED, FTPS_EV_END,
      FTPS_EV_LOGGED_IN },
    { OK, OK, OK, NO, NO, OK, NO }, 7 },
  { "sni_then_host_then_login",
    { FTPS_EV_VHOST_FOLLOWED, FTPS_EV_CTRL_SECURED, FTPS_EV_VHOST_FOLLOWED,
      FTPS_EV_USER_IDENTIFIED, FTPS_EV_LOGGED_IN, FTPS_EV_VHOST_FOLLOWED },
    { OK, OK, OK, OK, OK, NO }, 6 },
};

START_TEST (ftps_lc_apply_sequence_test) {
  ftps_lc_t lc;
  int i, rc;

  ftps_lc_init(&lc);
  for (i = 0; i < sessions[_i].n; i++) {
    mark_point();
    rc = ftps_lc_apply(&lc, sessions[_i].ev[i]);
    ck_assert_msg(rc == sessions[_i].rc[i], "%s step %d (%s): Expected %d, "
      "got %d", sessions[_i].name, i, ftps_lc_event_str(sessions[_i].ev[i]),
      sessions[_i].rc[i], rc);
  }
}
END_TEST

START_TEST (ftps_lc_names_test) {
  int i;

  for (i = 0; i < FTPS_EV_COUNT; i++) {
    ck_assert_msg(strcmp(ftps_lc_event_str((ftps_event_t) i), "unknown") != 0,
      "Expected a name for event %d", i);
  }
  ck_assert_str_eq(ftps_lc_event_str(FTPS_EV_COUNT), "unknown");
  ck_assert_str_eq(ftps_lc_ctrl_str(FTPS_LC_CTRL_ENDED), "ended");
  ck_assert_str_eq(ftps_lc_auth_str(FTPS_LC_AUTH_CERT_PENDING),
    "cert-pending");
}
END_TEST

Suite *tests_get_state_suite(void) {
  Suite *suite = suite_create("ftps_state");
  TCase *tc = tcase_create("apply");

  tcase_add_test(tc, ftps_lc_apply_args_test);
  tcase_add_loop_test(tc, ftps_lc_apply_known_answer_test, 0,
    TESTS_NELEMS(rows));
  tcase_add_loop_test(tc, ftps_lc_apply_sequence_test, 0,
    TESTS_NELEMS(sessions));
  tcase_add_test(tc, ftps_lc_names_test);
  suite_add_tcase(suite, tc);
  return suite;
}
