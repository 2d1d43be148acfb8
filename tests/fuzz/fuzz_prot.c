/*
 * fuzz_prot.c -- libFuzzer target for the RFC 4217 / RFC 2228 state
 * machine and the FTPSRequired gates of the pure core (ftps_prot.c), driven
 * through whole sessions: fuzz_policy.c tries one command from a fresh
 * state, this target tries sequences.
 *
 * Input: byte 0 bit 0 = implicit FTPS; then records of
 *   flags (bits 0-1 command AUTH/PBSZ/PROT/CCC, bit 2 logged in,
 *          bits 3-5 FTPSRequired bits, bit 6 engine off, bit 7 no argument),
 *   length (low 5 bits, so arguments stay short and varied),
 *   argument bytes (also tried as a command name against the gates).
 * The state carries over only when the reply accepted the command, as the
 * glue does.
 *
 * Invariants (a violation traps):
 *   - each reply code is one RFC 959/2228/4217 allows for that command,
 *     the text is fixed (never the argument), the action matches the code;
 *   - a refused command changes nothing; the engine off answers 502;
 *   - the control channel goes clear -> TLS only by AUTH 234 and TLS ->
 *     clear only by CCC 200 (to "cleared"), never back to TLS;
 *   - PROT is accepted only after PBSZ (or AUTH SSL/TLS-P, which implies
 *     it), PBSZ only on a protected channel; PROT C never under
 *     FTPSRequired data, CCC never under FTPSRequired control;
 *   - the gates: 0 on a protected channel, else 0/530/534; data 0/521.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ftps/ftps_policy.h"
#include "ftps/ftps_prot.h"

/*
 * After CCC, PBSZ and PROT are refused (534): the protection agreed under
 * TLS is final. -DFUZZ_PROT_STRICT_CCC=0 drops that invariant.
 */
#ifndef FUZZ_PROT_STRICT_CCC
# define FUZZ_PROT_STRICT_CCC 1
#endif

#define MAX_ARG 31

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void require(int ok) {
  if (!ok) {
    __builtin_trap();
  }
}

static int in_codes(int code, const int *codes) {
  for (; *codes != 0; codes++) {
    if (*codes == code) {
      return 1;
    }
  }
  return 0;
}

/* Codes each command may answer (RFC 2228 §5 lists, RFC 4217 §§4, 8, 9,
 * 12; 502 when FTPS is off here; 533/534 for policy and CCC refusals). */
static const int auth_codes[] = { 234, 501, 502, 503, 504, 534, 0 };
static const int pbsz_codes[] = { 200, 501, 502, 503, 533, 534, 0 };
static const int prot_codes[] = { 200, 501, 502, 503, 504, 533, 534, 536,
  0 };
static const int ccc_codes[]  = { 200, 502, 533, 534, 0 };

static const int *const codes_of[] = {
  [FTPS_CMD_AUTH] = auth_codes,
  [FTPS_CMD_PBSZ] = pbsz_codes,
  [FTPS_CMD_PROT] = prot_codes,
  [FTPS_CMD_CCC]  = ccc_codes,
};

static int same_state(const ftps_prot_state_t *a, const ftps_prot_state_t *b) {
  return a->ctrl == b->ctrl && a->pbsz == b->pbsz && a->prot == b->prot;
}

static void check_reply(ftps_cmd_t cmd, const char *arg,
    const ftps_prot_env_t *env, const ftps_prot_result_t *res) {
  require(in_codes(res->code, codes_of[cmd]));
  /* SECURITY: the text is one of ours, never (a part of) the argument. */
  require(res->msg != NULL && *res->msg != '\0');
  require(arg == NULL || res->msg < arg || res->msg > arg + MAX_ARG);
  require(env->engine || res->code == FTPS_R_502);
  require((res->action == FTPS_ACT_HANDSHAKE) ==
    (cmd == FTPS_CMD_AUTH && res->code == FTPS_R_234));
  require((res->action == FTPS_ACT_CCC) ==
    (cmd == FTPS_CMD_CCC && res->code == FTPS_R_200));
}

static void check_ctrl(const ftps_prot_state_t *st, ftps_cmd_t cmd,
    const ftps_prot_result_t *res) {
  const ftps_prot_state_t *nx = &res->next;

  require(nx->ctrl == FTPS_CTRL_CLEAR || nx->ctrl == FTPS_CTRL_TLS ||
    nx->ctrl == FTPS_CTRL_CLEARED);
  require(nx->prot == 'C' || nx->prot == 'P');
  /* SECURITY: protection of the control channel changes only as RFC
   * 4217 says, and once cleared it is never silently "protected" again. */
  if (st->ctrl == FTPS_CTRL_CLEAR && nx->ctrl != FTPS_CTRL_CLEAR) {
    require(cmd == FTPS_CMD_AUTH && res->code == FTPS_R_234 &&
      nx->ctrl == FTPS_CTRL_TLS);
  }
  if (st->ctrl == FTPS_CTRL_TLS && nx->ctrl != FTPS_CTRL_TLS) {
    require(cmd == FTPS_CMD_CCC && res->code == FTPS_R_200 &&
      nx->ctrl == FTPS_CTRL_CLEARED);
  }
  if (st->ctrl == FTPS_CTRL_CLEARED) {
    require(nx->ctrl == FTPS_CTRL_CLEARED && res->code != FTPS_R_234);
  }
}

static void check_policy(const ftps_prot_state_t *st,
    const ftps_prot_env_t *env, ftps_cmd_t cmd, const char *arg,
    const ftps_prot_result_t *res) {
  const int ok = res->code == FTPS_R_200 || res->code == FTPS_R_234;

  if (!ok) {
    require(same_state(st, &res->next));
  }
  /* SECURITY: no PROT P (or C) before PBSZ; PBSZ needs a TLS session. */
  if (cmd == FTPS_CMD_PROT && ok) {
    require(st->pbsz);
  }
  if (res->next.pbsz && !st->pbsz) {
    require(res->next.ctrl != FTPS_CTRL_CLEAR);
  }
  if (cmd == FTPS_CMD_PROT && ok && arg != NULL &&
      (arg[0] == 'C' || arg[0] == 'c')) {
    require(!(env->required & FTPS_REQ_DATA));
  }
  if (cmd == FTPS_CMD_CCC && ok) {
    require(!(env->required & FTPS_REQ_CTRL));
    require(!(env->required & FTPS_REQ_AUTH) || env->logged_in);
  }
  if (FUZZ_PROT_STRICT_CCC && st->ctrl == FTPS_CTRL_CLEARED &&
      env->engine && (cmd == FTPS_CMD_PBSZ || cmd == FTPS_CMD_PROT)) {
    require(res->code == FTPS_R_533 || res->code == FTPS_R_534);
  }
}

static void check_gates(const ftps_prot_state_t *st, int required,
    const char *name) {
  const char *msg = NULL;
  int code;

  code = ftps_prot_gate_ctrl(st, required, name, &msg);
  require(code == 0 || code == FTPS_R_530 || code == FTPS_R_534);
  require(code == 0 || (msg != NULL && (msg < name || msg > name + MAX_ARG)));
  if (st->ctrl == FTPS_CTRL_TLS || required == 0) {
    require(code == 0);
  }
  msg = NULL;
  code = ftps_prot_gate_data(st, required, &msg);
  require(code == 0 || code == FTPS_R_521);
  require((code == FTPS_R_521) ==
    ((required & FTPS_REQ_DATA) && st->prot != 'P'));
}

/* One record; returns the bytes it used, 0 at the end of the input. */
static size_t run_record(ftps_prot_state_t *st, const uint8_t *p,
    size_t left) {
  char arg[MAX_ARG + 1];
  ftps_prot_env_t env;
  ftps_prot_result_t res;
  ftps_cmd_t cmd;
  size_t n;

  if (left < 2) {
    return 0;
  }
  n = p[1] & MAX_ARG;
  if (n > left - 2) {
    n = left - 2;
  }
  memcpy(arg, p + 2, n);
  arg[n] = '\0';
  cmd = (ftps_cmd_t) (p[0] & 3);
  env.logged_in = (p[0] >> 2) & 1;
  env.required = (p[0] >> 3) & 7;
  env.engine = !((p[0] >> 6) & 1);

  require(ftps_prot_step(st, &env, cmd, (p[0] & 0x80) ? NULL : arg,
    &res) == 0);
  check_reply(cmd, (p[0] & 0x80) ? NULL : arg, &env, &res);
  check_ctrl(st, cmd, &res);
  check_policy(st, &env, cmd, (p[0] & 0x80) ? NULL : arg, &res);
  check_gates(&res.next, env.required, arg);
  *st = res.next;
  return 2 + n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ftps_prot_state_t st;
  size_t off = 1, used;

  if (size == 0) {
    return 0;
  }
  ftps_prot_init(&st, data[0] & 1);
  check_gates(&st, (data[0] >> 1) & 7, "RETR");
  while (off < size && (used = run_record(&st, data + off, size - off)) > 0) {
    off += used;
  }
  return 0;
}
