/*
 * ftps_prot.c -- owns the RFC 4217 / RFC 2228 command state machine (AUTH,
 * PBSZ, PROT, CCC) and the FTPSRequired gates for every other command.
 *
 * PURE: libc only; must not include OpenSSL or ProFTPD headers (B2).
 * SECURITY: reply texts are fixed strings; client input is never echoed
 * (no reflection of client-supplied markup, cf. ALPACA / CVE-2021-3618).
 */

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "ftps/ftps_prot.h"
#include "ftps/ftps_policy.h"

#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))

typedef int (*step_fn)(const ftps_prot_state_t *, const ftps_prot_env_t *,
  const char *, ftps_prot_result_t *);

static int reply(ftps_prot_result_t *res, int code, const char *msg) {
  res->code = code;
  res->msg = msg;
  return 0;
}

void ftps_prot_init(ftps_prot_state_t *st, int implicit) {
  if (st == NULL) {
    return;
  }
  st->ctrl = implicit ? FTPS_CTRL_TLS : FTPS_CTRL_CLEAR;
  st->pbsz = implicit ? 1 : 0;
  st->prot = implicit ? 'P' : 'C';
}

/* RFC 2228 §3 / RFC 4217 §4: mechanism names, case-insensitive. */
static const struct {
  const char *name;
  int implies_prot_p;
} auth_mechs[] = {
  { "TLS",   0 },
  { "TLS-C", 0 },
  { "SSL",   1 },   /* legacy draft: data protected without PROT */
  { "TLS-P", 1 },
};

int ftps_prot_auth_mech(const char *mech) {
  size_t i;

  if (mech == NULL) {
    return -1;
  }
  for (i = 0; i < NELEMS(auth_mechs); i++) {
    if (strcasecmp(auth_mechs[i].name, mech) == 0) {
      return auth_mechs[i].implies_prot_p;
    }
  }
  return -1;
}

static int step_auth(const ftps_prot_state_t *st, const ftps_prot_env_t *env,
    const char *arg, ftps_prot_result_t *res) {
  int prot_p;

  if (arg == NULL || *arg == '\0') {
    return reply(res, FTPS_R_501, "AUTH requires a mechanism");
  }
  if (st->ctrl != FTPS_CTRL_CLEAR) {
    return reply(res, FTPS_R_503, "AUTH already negotiated");
  }
  if (env->logged_in) {
    return reply(res, FTPS_R_503, "AUTH not allowed after login");
  }

  prot_p = ftps_prot_auth_mech(arg);
  if (prot_p < 0) {
    return reply(res, FTPS_R_504, "Unsupported AUTH mechanism");
  }

  res->next.ctrl = FTPS_CTRL_TLS;
  if (prot_p) {
    res->next.pbsz = 1;
    res->next.prot = 'P';
  }
  res->action = FTPS_ACT_HANDSHAKE;
  return reply(res, FTPS_R_234, "AUTH accepted; proceed with TLS negotiation");
}

/* PBSZ takes a decimal 32-bit unsigned integer (RFC 2228 §3). */
static int valid_pbsz(const char *arg) {
  unsigned long long v = 0;
  size_t n = 0;

  if (arg == NULL || *arg == '\0') {
    return 0;
  }
  for (; *arg != '\0'; arg++, n++) {
    if (*arg < '0' || *arg > '9' || n >= 10) {
      return 0;
    }
    v = v * 10 + (unsigned) (*arg - '0');
  }
  return v <= 4294967295ULL;
}

/* SECURITY: after CCC the control channel is clear, so an on-path attacker
 * could inject "PROT C" and read the next transfer: the data protection
 * agreed under TLS is final (RFC 4217 §12.3 leaves it unchanged). */
static int after_ccc(const ftps_prot_state_t *st, ftps_prot_result_t *res) {
  return reply(res, FTPS_R_534, "Protection cannot change after CCC");
}

static int step_pbsz(const ftps_prot_state_t *st, const ftps_prot_env_t *env,
    const char *arg, ftps_prot_result_t *res) {
  if (st->ctrl == FTPS_CTRL_CLEARED) {
    return after_ccc(st, res);
  }
  if (st->ctrl == FTPS_CTRL_CLEAR) {
    return reply(res, FTPS_R_503, "PBSZ requires AUTH first");
  }
  if (!valid_pbsz(arg)) {
    return reply(res, FTPS_R_501, "PBSZ requires a decimal buffer size");
  }

  /* RFC 4217 §8: TLS needs no buffer; the reply announces size 0. */
  res->next.pbsz = 1;
  return reply(res, FTPS_R_200, "PBSZ=0");
}

static int step_prot(const ftps_prot_state_t *st, const ftps_prot_env_t *env,
    const char *arg, ftps_prot_result_t *res) {
  if (st->ctrl == FTPS_CTRL_CLEARED) {
    return after_ccc(st, res);
  }
  if (!st->pbsz) {
    return reply(res, FTPS_R_503, "PROT requires PBSZ first");
  }
  if (arg == NULL || *arg == '\0') {
    return reply(res, FTPS_R_501, "PROT requires a protection level");
  }
  if (arg[1] != '\0') {
    return reply(res, FTPS_R_504, "Unknown protection level");
  }

  switch (arg[0]) {
    case 'C':
    case 'c':
      if (env->required & FTPS_REQ_DATA) {
        return reply(res, FTPS_R_534, "Policy requires PROT P");
      }
      res->next.prot = 'C';
      return reply(res, FTPS_R_200, "Protection level set to C");

    case 'P':
    case 'p':
      res->next.prot = 'P';
      return reply(res, FTPS_R_200, "Protection level set to P");

    case 'S':
    case 's':
    case 'E':
    case 'e':
      return reply(res, FTPS_R_536, "Protection level not supported");

    default:
      return reply(res, FTPS_R_504, "Unknown protection level");
  }
}

static int step_ccc(const ftps_prot_state_t *st, const ftps_prot_env_t *env,
    const char *arg, ftps_prot_result_t *res) {
  if (st->ctrl != FTPS_CTRL_TLS) {
    return reply(res, FTPS_R_533, "Control channel is not protected");
  }

  /* SECURITY: clearing before login would expose the password, and a
   * policy that protects the control channel must not be undone. */
  if ((env->required & FTPS_REQ_CTRL) ||
      ((env->required & FTPS_REQ_AUTH) && !env->logged_in)) {
    return reply(res, FTPS_R_534, "Policy requires a protected control "
      "channel");
  }

  res->next.ctrl = FTPS_CTRL_CLEARED;
  res->action = FTPS_ACT_CCC;
  return reply(res, FTPS_R_200, "Clearing control channel protection");
}

static const step_fn steps[] = {
  [FTPS_CMD_AUTH] = step_auth,
  [FTPS_CMD_PBSZ] = step_pbsz,
  [FTPS_CMD_PROT] = step_prot,
  [FTPS_CMD_CCC]  = step_ccc,
};

int ftps_prot_step(const ftps_prot_state_t *st, const ftps_prot_env_t *env,
    ftps_cmd_t cmd, const char *arg, ftps_prot_result_t *res) {
  if (st == NULL || env == NULL || res == NULL ||
      (unsigned) cmd >= NELEMS(steps)) {
    errno = EINVAL;
    return -1;
  }

  memset(res, 0, sizeof(*res));
  res->next = *st;
  res->action = FTPS_ACT_NONE;

  if (!env->engine) {
    return reply(res, FTPS_R_502, "FTPS is not enabled on this server");
  }
  return steps[cmd](st, env, arg, res);
}

static int in_list(const char *const *list, size_t n, const char *cmd) {
  size_t i;

  for (i = 0; i < n; i++) {
    if (strcasecmp(list[i], cmd) == 0) {
      return 1;
    }
  }
  return 0;
}

/* Commands that may run on a clear control channel when the policy
 * requires protection: the FTPS commands themselves and harmless probes. */
static const char *const clear_allowed[] = {
  "AUTH", "PBSZ", "PROT", "CCC", "FEAT", "SYST", "QUIT", "HOST", "CLNT",
  "HELP", "NOOP",
};

static const char *const login_cmds[] = { "USER", "PASS", "ACCT" };

int ftps_prot_gate_ctrl(const ftps_prot_state_t *st, int required,
    const char *cmd, const char **msg) {
  int is_login;

  if (st == NULL || cmd == NULL || msg == NULL) {
    errno = EINVAL;
    return -1;
  }
  if (st->ctrl == FTPS_CTRL_TLS || required <= 0) {
    return 0;
  }

  is_login = in_list(login_cmds, NELEMS(login_cmds), cmd);

  if (required & FTPS_REQ_CTRL) {
    if (in_list(clear_allowed, NELEMS(clear_allowed), cmd)) {
      return 0;
    }
    *msg = is_login ? "Policy requires AUTH TLS before login" :
      "Policy requires AUTH TLS before this command";
    return is_login ? FTPS_R_530 : FTPS_R_534;
  }

  if ((required & FTPS_REQ_AUTH) && is_login) {
    *msg = "Policy requires AUTH TLS before login";
    return FTPS_R_530;
  }
  return 0;
}

static const char *const transfer_cmds[] = {
  "APPE", "LIST", "MLSD", "NLST", "RETR", "STOR", "STOU",
};

int ftps_prot_is_transfer(const char *cmd) {
  return cmd != NULL && in_list(transfer_cmds, NELEMS(transfer_cmds), cmd);
}

int ftps_prot_gate_data(const ftps_prot_state_t *st, int required,
    const char **msg) {
  if (st == NULL || msg == NULL) {
    errno = EINVAL;
    return -1;
  }
  if (required > 0 && (required & FTPS_REQ_DATA) && st->prot != 'P') {
    /* RFC 4217 §9: refused before the data connection is opened. */
    *msg = "Policy requires PROT P for data transfers";
    return FTPS_R_521;
  }
  return 0;
}
