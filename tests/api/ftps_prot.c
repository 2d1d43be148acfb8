/*
 * ftps_prot.c -- unit tests of mod_ftps/ftps_prot.c: RFC 4217 / RFC 2228
 * known-answer tables for AUTH, PBSZ, PROT and CCC, the FTPSRequired gates,
 * and the rule that no reply echoes client input. Pure: libc and Check only.
 */

#include "tests.h"
#include "ftps/ftps_policy.h"
#include "ftps/ftps_prot.h"

/* States: control channel, PBSZ seen, PROT level. */
#define S_CLEAR     { FTPS_CTRL_CLEAR,   0, 'C' }
#define S_TLS       { FTPS_CTRL_TLS,     0, 'C' }
#define S_PBSZ      { FTPS_CTRL_TLS,     1, 'C' }
#define S_PROT_P    { FTPS_CTRL_TLS,     1, 'P' }
#define S_CLEARED   { FTPS_CTRL_CLEARED, 1, 'P' }

/* Environments: engine, logged in, FTPSRequired bits. */
#define E_OFF       { 0, 0, 0 }
#define E_ON        { 1, 0, 0 }
#define E_IN        { 1, 1, 0 }
#define E_REQ(r)    { 1, 0, (r) }
#define E_REQ_IN(r) { 1, 1, (r) }

#define REQ_ON      (FTPS_REQ_AUTH|FTPS_REQ_CTRL|FTPS_REQ_DATA)
#define REQ_CONTROL (FTPS_REQ_AUTH|FTPS_REQ_CTRL)

#define NO_ACT      FTPS_ACT_NONE
#define HANDSHAKE   FTPS_ACT_HANDSHAKE
#define CCC_ACT     FTPS_ACT_CCC

typedef struct {
  const char *name;
  ftps_prot_state_t st;
  ftps_prot_env_t env;
  ftps_cmd_t cmd;
  const char *arg;
  int want_code;
  int want_action;
  ftps_prot_state_t want_next;
  const char *want_msg;         /* exact reply text, NULL: not checked */
} step_row_t;

static const step_row_t step_rows[] = {
  /* AUTH (RFC 2228 §3, RFC 4217 §4) */
  { "auth_tls",         S_CLEAR, E_ON, FTPS_CMD_AUTH, "TLS",   234, HANDSHAKE,
    S_TLS, NULL },
  { "auth_tls_c",       S_CLEAR, E_ON, FTPS_CMD_AUTH, "TLS-C", 234, HANDSHAKE,
    S_TLS, NULL },
  { "auth_ssl",         S_CLEAR, E_ON, FTPS_CMD_AUTH, "SSL",   234, HANDSHAKE,
    S_PROT_P, NULL },
  { "auth_tls_p",       S_CLEAR, E_ON, FTPS_CMD_AUTH, "TLS-P", 234, HANDSHAKE,
    S_PROT_P, NULL },
  { "auth_lower_tls",   S_CLEAR, E_ON, FTPS_CMD_AUTH, "tls",   234, HANDSHAKE,
    S_TLS, NULL },
  { "auth_lower_tls_p", S_CLEAR, E_ON, FTPS_CMD_AUTH, "tls-p", 234, HANDSHAKE,
    S_PROT_P, NULL },
  { "auth_mixed_ssl",   S_CLEAR, E_ON, FTPS_CMD_AUTH, "Ssl",   234, HANDSHAKE,
    S_PROT_P, NULL },
  { "auth_required",    S_CLEAR, E_REQ(REQ_ON), FTPS_CMD_AUTH, "TLS", 234,
    HANDSHAKE, S_TLS, NULL },
  { "auth_missing",     S_CLEAR, E_ON, FTPS_CMD_AUTH, NULL, 501, NO_ACT,
    S_CLEAR, NULL },
  { "auth_empty",       S_CLEAR, E_ON, FTPS_CMD_AUTH, "",   501, NO_ACT,
    S_CLEAR, NULL },
  { "auth_unknown",     S_CLEAR, E_ON, FTPS_CMD_AUTH, "KERBEROS_V4", 504,
    NO_ACT, S_CLEAR, NULL },
  { "auth_gssapi",      S_CLEAR, E_ON, FTPS_CMD_AUTH, "GSSAPI", 504, NO_ACT,
    S_CLEAR, NULL },
  { "auth_trailing_sp", S_CLEAR, E_ON, FTPS_CMD_AUTH, "TLS ", 504, NO_ACT,
    S_CLEAR, NULL },
  { "auth_prefix",      S_CLEAR, E_ON, FTPS_CMD_AUTH, "TL", 504, NO_ACT,
    S_CLEAR, NULL },
  { "auth_second",      S_TLS,   E_ON, FTPS_CMD_AUTH, "TLS", 503, NO_ACT,
    S_TLS, NULL },
  { "auth_after_ccc",   S_CLEARED, E_IN, FTPS_CMD_AUTH, "TLS", 503, NO_ACT,
    S_CLEARED, NULL },
  { "auth_after_login", S_CLEAR, E_IN, FTPS_CMD_AUTH, "TLS", 503, NO_ACT,
    S_CLEAR, NULL },
  { "auth_engine_off",  S_CLEAR, E_OFF, FTPS_CMD_AUTH, "TLS", 502, NO_ACT,
    S_CLEAR, NULL },
  { "auth_engine_off_bad", S_CLEAR, E_OFF, FTPS_CMD_AUTH, "BOGUS", 502,
    NO_ACT, S_CLEAR, NULL },

  /* PBSZ (RFC 2228 §3, RFC 4217 §8) */
  { "pbsz_before_auth", S_CLEAR, E_ON, FTPS_CMD_PBSZ, "0", 503, NO_ACT,
    S_CLEAR, NULL },
  { "pbsz_0",           S_TLS,   E_ON, FTPS_CMD_PBSZ, "0", 200, NO_ACT,
    S_PBSZ, "PBSZ=0" },
  { "pbsz_nonzero",     S_TLS,   E_ON, FTPS_CMD_PBSZ, "16384", 200, NO_ACT,
    S_PBSZ, "PBSZ=0" },
  { "pbsz_max_u32",     S_TLS,   E_ON, FTPS_CMD_PBSZ, "4294967295", 200,
    NO_ACT, S_PBSZ, "PBSZ=0" },
  { "pbsz_again",       S_PBSZ,  E_ON, FTPS_CMD_PBSZ, "0", 200, NO_ACT,
    S_PBSZ, "PBSZ=0" },
  { "pbsz_too_big",     S_TLS,   E_ON, FTPS_CMD_PBSZ, "4294967296", 501,
    NO_ACT, S_TLS, NULL },
  { "pbsz_eleven_digits", S_TLS, E_ON, FTPS_CMD_PBSZ, "99999999999", 501,
    NO_ACT, S_TLS, NULL },
  { "pbsz_non_numeric", S_TLS,   E_ON, FTPS_CMD_PBSZ, "abc", 501, NO_ACT,
    S_TLS, NULL },
  { "pbsz_negative",    S_TLS,   E_ON, FTPS_CMD_PBSZ, "-1", 501, NO_ACT,
    S_TLS, NULL },
  { "pbsz_trailing",    S_TLS,   E_ON, FTPS_CMD_PBSZ, "0x", 501, NO_ACT,
    S_TLS, NULL },
  { "pbsz_missing",     S_TLS,   E_ON, FTPS_CMD_PBSZ, NULL, 501, NO_ACT,
    S_TLS, NULL },
  { "pbsz_empty",       S_TLS,   E_ON, FTPS_CMD_PBSZ, "", 501, NO_ACT,
    S_TLS, NULL },
  { "pbsz_engine_off",  S_TLS,   E_OFF, FTPS_CMD_PBSZ, "0", 502, NO_ACT,
    S_TLS, NULL },

  /* PROT (RFC 2228 §3, RFC 4217 §9) */
  { "prot_before_auth", S_CLEAR, E_ON, FTPS_CMD_PROT, "P", 503, NO_ACT,
    S_CLEAR, NULL },
  { "prot_before_pbsz", S_TLS,   E_ON, FTPS_CMD_PROT, "P", 503, NO_ACT,
    S_TLS, NULL },
  { "prot_p",           S_PBSZ,  E_ON, FTPS_CMD_PROT, "P", 200, NO_ACT,
    S_PROT_P, NULL },
  { "prot_p_lower",     S_PBSZ,  E_ON, FTPS_CMD_PROT, "p", 200, NO_ACT,
    S_PROT_P, NULL },
  { "prot_c",           S_PROT_P, E_ON, FTPS_CMD_PROT, "C", 200, NO_ACT,
    S_PBSZ, NULL },
  { "prot_c_lower",     S_PROT_P, E_ON, FTPS_CMD_PROT, "c", 200, NO_ACT,
    S_PBSZ, NULL },
  { "prot_s",           S_PBSZ,  E_ON, FTPS_CMD_PROT, "S", 536, NO_ACT,
    S_PBSZ, NULL },
  { "prot_e",           S_PBSZ,  E_ON, FTPS_CMD_PROT, "E", 536, NO_ACT,
    S_PBSZ, NULL },
  { "prot_e_lower",     S_PBSZ,  E_ON, FTPS_CMD_PROT, "e", 536, NO_ACT,
    S_PBSZ, NULL },
  { "prot_other",       S_PBSZ,  E_ON, FTPS_CMD_PROT, "X", 504, NO_ACT,
    S_PBSZ, NULL },
  { "prot_long",        S_PBSZ,  E_ON, FTPS_CMD_PROT, "PRIVATE", 504, NO_ACT,
    S_PBSZ, NULL },
  { "prot_missing",     S_PBSZ,  E_ON, FTPS_CMD_PROT, NULL, 501, NO_ACT,
    S_PBSZ, NULL },
  { "prot_empty",       S_PBSZ,  E_ON, FTPS_CMD_PROT, "", 501, NO_ACT,
    S_PBSZ, NULL },
  { "prot_c_required_data", S_PROT_P, E_REQ(FTPS_REQ_DATA), FTPS_CMD_PROT,
    "C", 534, NO_ACT, S_PROT_P, NULL },
  { "prot_c_required_on", S_PROT_P, E_REQ(REQ_ON), FTPS_CMD_PROT, "C", 534,
    NO_ACT, S_PROT_P, NULL },
  { "prot_c_required_control", S_PROT_P, E_REQ(REQ_CONTROL), FTPS_CMD_PROT,
    "C", 200, NO_ACT, S_PBSZ, NULL },
  { "prot_p_required_data", S_PBSZ, E_REQ(FTPS_REQ_DATA), FTPS_CMD_PROT, "P",
    200, NO_ACT, S_PROT_P, NULL },
  { "prot_implicit_p",  S_PROT_P, E_ON, FTPS_CMD_PROT, "P", 200, NO_ACT,
    S_PROT_P, NULL },
  { "prot_engine_off",  S_PBSZ,  E_OFF, FTPS_CMD_PROT, "P", 502, NO_ACT,
    S_PBSZ, NULL },

  /* CCC (RFC 4217 §6) */
  { "ccc_in_clear",     S_CLEAR, E_IN, FTPS_CMD_CCC, NULL, 533, NO_ACT,
    S_CLEAR, NULL },
  { "ccc_twice",        S_CLEARED, E_IN, FTPS_CMD_CCC, NULL, 533, NO_ACT,
    S_CLEARED, NULL },
  { "ccc_required_ctrl", S_PROT_P, E_REQ_IN(REQ_CONTROL), FTPS_CMD_CCC, NULL,
    534, NO_ACT, S_PROT_P, NULL },
  { "ccc_required_on",  S_PROT_P, E_REQ_IN(REQ_ON), FTPS_CMD_CCC, NULL, 534,
    NO_ACT, S_PROT_P, NULL },
  { "ccc_required_auth_before_login", S_PROT_P, E_REQ(FTPS_REQ_AUTH),
    FTPS_CMD_CCC, NULL, 534, NO_ACT, S_PROT_P, NULL },
  { "ccc_required_auth_after_login", S_PROT_P, E_REQ_IN(FTPS_REQ_AUTH),
    FTPS_CMD_CCC, NULL, 200, CCC_ACT, S_CLEARED, NULL },
  { "ccc_required_auth_data_after_login", S_PROT_P,
    E_REQ_IN(FTPS_REQ_AUTH|FTPS_REQ_DATA), FTPS_CMD_CCC, NULL, 200, CCC_ACT,
    S_CLEARED, NULL },
  { "ccc_allowed",      S_PROT_P, E_IN, FTPS_CMD_CCC, NULL, 200, CCC_ACT,
    S_CLEARED, NULL },
  { "ccc_allowed_before_login", S_PROT_P, E_ON, FTPS_CMD_CCC, NULL, 200,
    CCC_ACT, S_CLEARED, NULL },
  { "ccc_keeps_prot_c", S_PBSZ, E_IN, FTPS_CMD_CCC, NULL, 200, CCC_ACT,
    { FTPS_CTRL_CLEARED, 1, 'C' }, NULL },
  { "ccc_engine_off",   S_PROT_P, E_OFF, FTPS_CMD_CCC, NULL, 502, NO_ACT,
    S_PROT_P, NULL },

  /* After CCC the data protection is final: no injected PROT C. */
  { "prot_c_after_ccc", S_CLEARED, E_IN, FTPS_CMD_PROT, "C", 534, NO_ACT,
    S_CLEARED, NULL },
  { "prot_p_after_ccc", S_CLEARED, E_IN, FTPS_CMD_PROT, "P", 534, NO_ACT,
    S_CLEARED, NULL },
  { "pbsz_after_ccc",   S_CLEARED, E_IN, FTPS_CMD_PBSZ, "0", 534, NO_ACT,
    S_CLEARED, NULL },
  { "prot_c_after_ccc_keeps_c", { FTPS_CTRL_CLEARED, 1, 'C' }, E_IN,
    FTPS_CMD_PROT, "P", 534, NO_ACT, { FTPS_CTRL_CLEARED, 1, 'C' }, NULL },
};

static void assert_state(const char *row, const ftps_prot_state_t *got,
    const ftps_prot_state_t *want) {
  ck_assert_msg(got->ctrl == want->ctrl, "%s: next.ctrl: Expected %d, got %d",
    row, want->ctrl, got->ctrl);
  ck_assert_msg(got->pbsz == want->pbsz, "%s: next.pbsz: Expected %d, got %d",
    row, want->pbsz, got->pbsz);
  ck_assert_msg(got->prot == want->prot, "%s: next.prot: Expected %d, got %d",
    row, want->prot, got->prot);
}

START_TEST (ftps_prot_step_args_test) {
  ftps_prot_state_t st = S_CLEAR;
  ftps_prot_env_t env = E_ON;
  ftps_prot_result_t res;
  int rc;

  mark_point();
  rc = ftps_prot_step(NULL, &env, FTPS_CMD_AUTH, "TLS", &res);
  ck_assert_msg(rc == -1, "Expected %d, got %d", -1, rc);
  ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL, errno);

  mark_point();
  rc = ftps_prot_step(&st, NULL, FTPS_CMD_AUTH, "TLS", &res);
  ck_assert_msg(rc == -1, "Expected %d, got %d", -1, rc);
  ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL, errno);

  mark_point();
  rc = ftps_prot_step(&st, &env, FTPS_CMD_AUTH, "TLS", NULL);
  ck_assert_msg(rc == -1, "Expected %d, got %d", -1, rc);
  ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL, errno);

  mark_point();
  rc = ftps_prot_step(&st, &env, (ftps_cmd_t) (FTPS_CMD_CCC + 1), "TLS", &res);
  ck_assert_msg(rc == -1, "Expected %d, got %d", -1, rc);
  ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL, errno);

  mark_point();
  rc = ftps_prot_step(&st, &env, (ftps_cmd_t) -1, "TLS", &res);
  ck_assert_msg(rc == -1, "Expected %d, got %d", -1, rc);
  ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL, errno);
}
END_TEST

START_TEST (ftps_prot_step_known_answer_test) {
  const step_row_t *row = &step_rows[_i];
  ftps_prot_result_t res;
  int rc;

  memset(&res, 0x5a, sizeof(res));
  mark_point();
  rc = ftps_prot_step(&row->st, &row->env, row->cmd, row->arg, &res);
  ck_assert_msg(rc == 0, "%s: Expected %d, got %d", row->name, 0, rc);
  ck_assert_msg(res.code == row->want_code, "%s: Expected %d, got %d",
    row->name, row->want_code, res.code);
  ck_assert_msg(res.action == row->want_action,
    "%s: action: Expected %d, got %d", row->name, row->want_action,
    res.action);
  ck_assert_msg(res.msg != NULL && *res.msg != '\0',
    "%s: Expected a reply text", row->name);
  if (row->want_msg != NULL) {
    ck_assert_msg(strcmp(res.msg, row->want_msg) == 0,
      "%s: Expected '%s', got '%s'", row->name, row->want_msg, res.msg);
  }
  assert_state(row->name, &res.next, &row->want_next);

  /* A refusal never changes the state (RFC 959 §4.2: 5yz = not done). */
  if (res.code >= 500) {
    assert_state(row->name, &res.next, &row->st);
  }
}
END_TEST

/* Implicit FTPS (port 990): the channel starts protected, PBSZ 0, PROT P. */
START_TEST (ftps_prot_init_args_test) {
  mark_point();
  ftps_prot_init(NULL, 0);
  mark_point();
  ftps_prot_init(NULL, 1);
}
END_TEST

START_TEST (ftps_prot_init_states_test) {
  const ftps_prot_state_t want_explicit = S_CLEAR, want_implicit = S_PROT_P;
  ftps_prot_state_t st;

  memset(&st, 0x5a, sizeof(st));
  mark_point();
  ftps_prot_init(&st, 0);
  assert_state("explicit", &st, &want_explicit);

  memset(&st, 0x5a, sizeof(st));
  mark_point();
  ftps_prot_init(&st, 1);
  assert_state("implicit", &st, &want_implicit);
}
END_TEST

/* In implicit mode AUTH is a sequence error and CCC/PROT work at once. */
START_TEST (ftps_prot_init_implicit_sequence_test) {
  ftps_prot_env_t env = E_IN;
  ftps_prot_state_t st;
  ftps_prot_result_t res;
  int rc;

  ftps_prot_init(&st, 1);

  mark_point();
  rc = ftps_prot_step(&st, &env, FTPS_CMD_AUTH, "TLS", &res);
  ck_assert_msg(rc == 0 && res.code == 503, "Expected %d, got %d", 503,
    res.code);

  mark_point();
  rc = ftps_prot_step(&st, &env, FTPS_CMD_PROT, "C", &res);
  ck_assert_msg(rc == 0 && res.code == 200, "Expected %d, got %d", 200,
    res.code);
  ck_assert_msg(res.next.prot == 'C', "Expected %d, got %d", 'C',
    res.next.prot);
}
END_TEST

/* A whole explicit session: AUTH TLS, PBSZ 0, PROT P, login, CCC. */
START_TEST (ftps_prot_step_sequence_test) {
  static const struct {
    ftps_cmd_t cmd;
    const char *arg;
    int logged_in;
    int want_code;
  } seq[] = {
    { FTPS_CMD_PBSZ, "0",   0, 503 },
    { FTPS_CMD_PROT, "P",   0, 503 },
    { FTPS_CMD_CCC,  NULL,  0, 533 },
    { FTPS_CMD_AUTH, "TLS", 0, 234 },
    { FTPS_CMD_PROT, "P",   0, 503 },
    { FTPS_CMD_PBSZ, "0",   0, 200 },
    { FTPS_CMD_PROT, "P",   0, 200 },
    { FTPS_CMD_AUTH, "TLS", 1, 503 },
    { FTPS_CMD_CCC,  NULL,  1, 200 },
    { FTPS_CMD_CCC,  NULL,  1, 533 },
    { FTPS_CMD_PROT, "C",   1, 534 },   /* no injected PROT C after CCC */
    { FTPS_CMD_PBSZ, "0",   1, 534 },
  };
  ftps_prot_env_t env = E_ON;
  ftps_prot_state_t st;
  ftps_prot_result_t res;
  int i, rc;

  ftps_prot_init(&st, 0);
  for (i = 0; i < TESTS_NELEMS(seq); i++) {
    env.logged_in = seq[i].logged_in;
    mark_point();
    rc = ftps_prot_step(&st, &env, seq[i].cmd, seq[i].arg, &res);
    ck_assert_msg(rc == 0, "step %d: Expected %d, got %d", i, 0, rc);
    ck_assert_msg(res.code == seq[i].want_code, "step %d: Expected %d, got %d",
      i, seq[i].want_code, res.code);
    st = res.next;
  }
  ck_assert_msg(st.ctrl == FTPS_CTRL_CLEARED, "Expected %d, got %d",
    FTPS_CTRL_CLEARED, st.ctrl);
  ck_assert_msg(st.prot == 'P', "Expected %d, got %d", 'P', st.prot);
}
END_TEST

/* ---- no reflection of client input (ALPACA, CVE-2021-3618) ------------ */

static const char *const hostile_args[] = {
  "<script>alert(1)</script>",
  "TLS<script>",
  "P<img src=x>",
  "0<svg/onload=alert(1)>",
  "'\"><b>injected</b>",
  "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html>",
  "%s%s%s%n",
};

static const ftps_prot_state_t hostile_states[] = {
  S_CLEAR, S_TLS, S_PBSZ, S_PROT_P, S_CLEARED,
};

START_TEST (ftps_prot_step_no_echo_test) {
  static const ftps_prot_env_t envs[] = {
    E_OFF, E_ON, E_IN, E_REQ(REQ_ON), E_REQ_IN(FTPS_REQ_AUTH),
  };
  static const ftps_cmd_t cmds[] = {
    FTPS_CMD_AUTH, FTPS_CMD_PBSZ, FTPS_CMD_PROT, FTPS_CMD_CCC,
  };
  const char *arg = hostile_args[_i];
  int s, e, c;

  for (s = 0; s < TESTS_NELEMS(hostile_states); s++) {
    for (e = 0; e < TESTS_NELEMS(envs); e++) {
      for (c = 0; c < TESTS_NELEMS(cmds); c++) {
        ftps_prot_result_t res;
        int rc;

        mark_point();
        rc = ftps_prot_step(&hostile_states[s], &envs[e], cmds[c], arg, &res);
        ck_assert_msg(rc == 0, "Expected %d, got %d", 0, rc);
        ck_assert_msg(res.msg != NULL, "Expected a reply text");
        ck_assert_msg(strpbrk(res.msg, "<>\"\r\n%") == NULL,
          "cmd %d state %d env %d: reply '%s' carries markup", (int) cmds[c],
          s, e, res.msg);
        ck_assert_msg(strstr(res.msg, arg) == NULL,
          "cmd %d: reply '%s' echoes the argument", (int) cmds[c], res.msg);
        if (cmds[c] != FTPS_CMD_CCC) {      /* CCC ignores its argument */
          ck_assert_msg(res.code != 234 && res.code != 200,
            "cmd %d state %d env %d: hostile argument accepted with %d",
            (int) cmds[c], s, e, res.code);
        }
      }
    }
  }
}
END_TEST

/* The reply texts of the gates are fixed too. */
START_TEST (ftps_prot_gate_ctrl_no_echo_test) {
  ftps_prot_state_t st = S_CLEAR;
  const char *msg = NULL;
  int code;

  mark_point();
  code = ftps_prot_gate_ctrl(&st, REQ_ON, hostile_args[_i], &msg);
  ck_assert_msg(code == 534, "Expected %d, got %d", 534, code);
  ck_assert_msg(msg != NULL && strpbrk(msg, "<>\"\r\n%") == NULL,
    "reply '%s' carries markup", msg ? msg : "(null)");
}
END_TEST

/* ---- ftps_prot_auth_mech ---------------------------------------------- */

static const struct {
  const char *mech;
  int want;
} mech_rows[] = {
  { "TLS", 0 }, { "TLS-C", 0 }, { "SSL", 1 }, { "TLS-P", 1 },
  { "tls", 0 }, { "tls-c", 0 }, { "ssl", 1 }, { "Tls-P", 1 },
  { "", -1 }, { "TLS1", -1 }, { "TLS-", -1 }, { "TLS-X", -1 },
  { "SSLv3", -1 }, { "GSSAPI", -1 }, { " TLS", -1 },
};

START_TEST (ftps_prot_auth_mech_args_test) {
  int res;

  mark_point();
  res = ftps_prot_auth_mech(NULL);
  ck_assert_msg(res == -1, "Expected %d, got %d", -1, res);
}
END_TEST

START_TEST (ftps_prot_auth_mech_values_test) {
  int res;

  mark_point();
  res = ftps_prot_auth_mech(mech_rows[_i].mech);
  ck_assert_msg(res == mech_rows[_i].want, "'%s': Expected %d, got %d",
    mech_rows[_i].mech, mech_rows[_i].want, res);
}
END_TEST

/* ---- ftps_prot_gate_ctrl ---------------------------------------------- */

typedef struct {
  ftps_prot_state_t st;
  int required;
  const char *cmd;
  int want_code;        /* 0 = allowed */
} gate_row_t;

static const gate_row_t gate_ctrl_rows[] = {
  /* FTPSRequired control: only the allow-list runs in clear. */
  { S_CLEAR, REQ_CONTROL, "AUTH", 0 },
  { S_CLEAR, REQ_CONTROL, "PBSZ", 0 },
  { S_CLEAR, REQ_CONTROL, "PROT", 0 },
  { S_CLEAR, REQ_CONTROL, "CCC",  0 },
  { S_CLEAR, REQ_CONTROL, "FEAT", 0 },
  { S_CLEAR, REQ_CONTROL, "SYST", 0 },
  { S_CLEAR, REQ_CONTROL, "QUIT", 0 },
  { S_CLEAR, REQ_CONTROL, "HOST", 0 },
  { S_CLEAR, REQ_CONTROL, "CLNT", 0 },
  { S_CLEAR, REQ_CONTROL, "HELP", 0 },
  { S_CLEAR, REQ_CONTROL, "NOOP", 0 },
  { S_CLEAR, REQ_CONTROL, "feat", 0 },
  { S_CLEAR, REQ_CONTROL, "USER", 530 },
  { S_CLEAR, REQ_CONTROL, "PASS", 530 },
  { S_CLEAR, REQ_CONTROL, "ACCT", 530 },
  { S_CLEAR, REQ_CONTROL, "user", 530 },
  { S_CLEAR, REQ_CONTROL, "RETR", 534 },
  { S_CLEAR, REQ_CONTROL, "STOR", 534 },
  { S_CLEAR, REQ_CONTROL, "LIST", 534 },
  { S_CLEAR, REQ_CONTROL, "CWD",  534 },
  { S_CLEAR, REQ_CONTROL, "PORT", 534 },
  { S_CLEAR, REQ_CONTROL, "SITE", 534 },
  { S_CLEAR, REQ_CONTROL, "OPTS", 534 },
  { S_CLEAR, REQ_CONTROL, "REIN", 534 },
  { S_CLEAR, REQ_CONTROL, "AUTHX", 534 },
  { S_CLEAR, REQ_CONTROL, "",     534 },
  { S_CLEAR, REQ_ON,      "USER", 530 },
  { S_CLEAR, REQ_ON,      "RETR", 534 },
  { S_CLEAR, REQ_ON,      "NOOP", 0 },

  /* FTPSRequired auth: only the login commands are refused. */
  { S_CLEAR, FTPS_REQ_AUTH, "USER", 530 },
  { S_CLEAR, FTPS_REQ_AUTH, "PASS", 530 },
  { S_CLEAR, FTPS_REQ_AUTH, "ACCT", 530 },
  { S_CLEAR, FTPS_REQ_AUTH, "pass", 530 },
  { S_CLEAR, FTPS_REQ_AUTH, "RETR", 0 },
  { S_CLEAR, FTPS_REQ_AUTH, "CWD",  0 },
  { S_CLEAR, FTPS_REQ_AUTH, "SITE", 0 },
  { S_CLEAR, FTPS_REQ_AUTH|FTPS_REQ_DATA, "USER", 530 },
  { S_CLEAR, FTPS_REQ_AUTH|FTPS_REQ_DATA, "LIST", 0 },

  /* FTPSRequired data / off: the control gate lets everything through. */
  { S_CLEAR, FTPS_REQ_DATA, "USER", 0 },
  { S_CLEAR, FTPS_REQ_DATA, "RETR", 0 },
  { S_CLEAR, 0,             "USER", 0 },
  { S_CLEAR, 0,             "SITE", 0 },
  { S_CLEAR, FTPS_UNSET,    "USER", 0 },

  /* A protected control channel allows everything. */
  { S_TLS,    REQ_ON,        "USER", 0 },
  { S_TLS,    REQ_ON,        "RETR", 0 },
  { S_PROT_P, REQ_ON,        "SITE", 0 },
  { S_PROT_P, REQ_CONTROL,   "PASS", 0 },
  { S_PROT_P, FTPS_REQ_AUTH, "USER", 0 },
};

START_TEST (ftps_prot_gate_ctrl_args_test) {
  ftps_prot_state_t st = S_CLEAR;
  const char *msg = NULL;
  int res;

  mark_point();
  res = ftps_prot_gate_ctrl(NULL, REQ_ON, "USER", &msg);
  ck_assert_msg(res == -1, "Expected %d, got %d", -1, res);
  ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL, errno);

  mark_point();
  res = ftps_prot_gate_ctrl(&st, REQ_ON, NULL, &msg);
  ck_assert_msg(res == -1, "Expected %d, got %d", -1, res);
  ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL, errno);

  mark_point();
  res = ftps_prot_gate_ctrl(&st, REQ_ON, "USER", NULL);
  ck_assert_msg(res == -1, "Expected %d, got %d", -1, res);
  ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL, errno);
}
END_TEST

START_TEST (ftps_prot_gate_ctrl_table_test) {
  const gate_row_t *row = &gate_ctrl_rows[_i];
  const char *msg = NULL;
  int res;

  mark_point();
  res = ftps_prot_gate_ctrl(&row->st, row->required, row->cmd, &msg);
  ck_assert_msg(res == row->want_code,
    "'%s' (ctrl %d, required %d): Expected %d, got %d", row->cmd,
    row->st.ctrl, row->required, row->want_code, res);
  if (res != 0) {
    ck_assert_msg(msg != NULL && *msg != '\0', "'%s': Expected a reply text",
      row->cmd);
  }
}
END_TEST

/* ---- ftps_prot_is_transfer -------------------------------------------- */

static const struct {
  const char *cmd;
  int want;
} transfer_rows[] = {
  { "APPE", 1 }, { "LIST", 1 }, { "MLSD", 1 }, { "NLST", 1 }, { "RETR", 1 },
  { "STOR", 1 }, { "STOU", 1 }, { "retr", 1 },
  { "MLST", 0 }, { "CWD", 0 }, { "PASV", 0 }, { "PORT", 0 }, { "SIZE", 0 },
  { "", 0 }, { "RETRX", 0 },
};

START_TEST (ftps_prot_is_transfer_args_test) {
  int res;

  mark_point();
  res = ftps_prot_is_transfer(NULL);
  ck_assert_msg(res == 0, "Expected %d, got %d", 0, res);
}
END_TEST

START_TEST (ftps_prot_is_transfer_values_test) {
  int res;

  mark_point();
  res = ftps_prot_is_transfer(transfer_rows[_i].cmd);
  ck_assert_msg(res == transfer_rows[_i].want, "'%s': Expected %d, got %d",
    transfer_rows[_i].cmd, transfer_rows[_i].want, res);
}
END_TEST

/* ---- ftps_prot_gate_data ---------------------------------------------- */

static const struct {
  ftps_prot_state_t st;
  int required;
  int want_code;
} gate_data_rows[] = {
  { S_CLEAR,   FTPS_REQ_DATA, 521 },
  { S_PBSZ,    FTPS_REQ_DATA, 521 },
  { S_PBSZ,    REQ_ON,        521 },
  { S_PBSZ,    FTPS_REQ_AUTH|FTPS_REQ_DATA, 521 },
  { S_PROT_P,  FTPS_REQ_DATA, 0 },
  { S_PROT_P,  REQ_ON,        0 },
  { S_CLEARED, REQ_ON,        0 },      /* after CCC, data stays PROT P */
  { S_PBSZ,    REQ_CONTROL,   0 },
  { S_PBSZ,    FTPS_REQ_AUTH, 0 },
  { S_CLEAR,   0,             0 },
  { S_CLEAR,   FTPS_UNSET,    0 },
};

START_TEST (ftps_prot_gate_data_args_test) {
  ftps_prot_state_t st = S_CLEAR;
  const char *msg = NULL;
  int res;

  mark_point();
  res = ftps_prot_gate_data(NULL, FTPS_REQ_DATA, &msg);
  ck_assert_msg(res == -1, "Expected %d, got %d", -1, res);
  ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL, errno);

  mark_point();
  res = ftps_prot_gate_data(&st, FTPS_REQ_DATA, NULL);
  ck_assert_msg(res == -1, "Expected %d, got %d", -1, res);
  ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL, errno);
}
END_TEST

START_TEST (ftps_prot_gate_data_table_test) {
  const char *msg = NULL;
  int res;

  mark_point();
  res = ftps_prot_gate_data(&gate_data_rows[_i].st,
    gate_data_rows[_i].required, &msg);
  ck_assert_msg(res == gate_data_rows[_i].want_code,
    "prot %c, required %d: Expected %d, got %d", gate_data_rows[_i].st.prot,
    gate_data_rows[_i].required, gate_data_rows[_i].want_code, res);
  if (res != 0) {
    ck_assert_msg(msg != NULL && *msg != '\0', "Expected a reply text");
  }
}
END_TEST

Suite *tests_get_prot_suite(void) {
  Suite *suite = suite_create("ftps_prot");
  TCase *tc;

  tc = tcase_create("step");
  tcase_add_test(tc, ftps_prot_step_args_test);
  tcase_add_loop_test(tc, ftps_prot_step_known_answer_test, 0,
    TESTS_NELEMS(step_rows));
  tcase_add_test(tc, ftps_prot_step_sequence_test);
  tcase_add_loop_test(tc, ftps_prot_step_no_echo_test, 0,
    TESTS_NELEMS(hostile_args));
  tcase_add_test(tc, ftps_prot_init_args_test);
  tcase_add_test(tc, ftps_prot_init_states_test);
  tcase_add_test(tc, ftps_prot_init_implicit_sequence_test);
  tcase_add_test(tc, ftps_prot_auth_mech_args_test);
  tcase_add_loop_test(tc, ftps_prot_auth_mech_values_test, 0,
    TESTS_NELEMS(mech_rows));
  suite_add_tcase(suite, tc);

  tc = tcase_create("gates");
  tcase_add_test(tc, ftps_prot_gate_ctrl_args_test);
  tcase_add_loop_test(tc, ftps_prot_gate_ctrl_table_test, 0,
    TESTS_NELEMS(gate_ctrl_rows));
  tcase_add_loop_test(tc, ftps_prot_gate_ctrl_no_echo_test, 0,
    TESTS_NELEMS(hostile_args));
  tcase_add_test(tc, ftps_prot_is_transfer_args_test);
  tcase_add_loop_test(tc, ftps_prot_is_transfer_values_test, 0,
    TESTS_NELEMS(transfer_rows));
  tcase_add_test(tc, ftps_prot_gate_data_args_test);
  tcase_add_loop_test(tc, ftps_prot_gate_data_table_test, 0,
    TESTS_NELEMS(gate_data_rows));
  suite_add_tcase(suite, tc);

  return suite;
}
