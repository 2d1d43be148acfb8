/*
 * ftps_cmds.c -- glue: the AUTH/PBSZ/PROT/CCC handlers and the PRE_CMD
 * gate for FTPSRequired. Decisions come from ftps_prot.c; this file maps
 * them to ProFTPD replies and actions.
 */

#include "mod_ftps.h"

static const char *trace_channel = "ftps.cmds";

static int engine_on(void) {
  return ftps_session_engine_on();
}

static int logged_in(void) {
  return get_param_ptr(main_server->conf, "authenticated", FALSE) != NULL;
}

/* The FTPSRequired bits in force for this command: USER sees its
 * <IfUser> rules (ur, resolved once for the command), a transfer its
 * directory's rules. */
static int required_now(cmd_rec *cmd, const ftps_rules_t *ur) {
  int required = ftps_session()->rules.required;

  if (!engine_on()) {
    return 0;
  }
  if (ur != NULL) {
    return ur->required;
  }
  if (ftps_prot_is_transfer(cmd->argv[0]) && logged_in()) {
    /* Directory rules mean something only once the user's tree is known
     * (before login, mod_auth refuses transfers anyway). */
    return ftps_rules_required_for_transfer(cmd, required);
  }
  return required;
}

static const char *code_str(cmd_rec *cmd, int code) {
  char buf[8];

  snprintf(buf, sizeof(buf), "%03d", code);
  return pstrdup(cmd->pool, buf);
}

static modret_t *refuse(cmd_rec *cmd, int code, const char *msg) {
  pr_response_add_err(code_str(cmd, code), "%s", msg);
  pr_cmd_set_errno(cmd, EPERM);
  errno = EPERM;
  return PR_ERROR(cmd);
}

static int step(cmd_rec *cmd, ftps_cmd_t which, ftps_prot_result_t *res) {
  ftps_prot_env_t env;

  env.engine = engine_on();
  env.logged_in = logged_in();
  env.required = required_now(cmd, NULL);
  return ftps_prot_step(&ftps_session()->prot, &env, which,
    cmd->argc > 1 ? cmd->arg : NULL, res);
}

/*
 * Before every data connection (PASV, EPSV, PORT, EPRT): a fresh session
 * for it, bound to this FTP session like every control session. TLS 1.3:
 * one new ticket, sent on the control connection ahead of this command's
 * reply, so a client that offers each ticket only once (JSSE) always has
 * an unused one, whether it handshakes right after the reply (basic-ftp)
 * or after the 150 (Commons Net), upload or download. TLS 1.2: the
 * control session's clock restarts, so hours into the session it still
 * resumes. Cost: docs/clients.md.
 */
static void refresh_ctrl_session(void) {
  const ftps_sess_t *s = ftps_session();

  if (s->ctrl != NULL && ftps_io_refresh_session(s->ctrl) == 0) {
    ftps_session_ctrl_refreshed();
  }
}

static int is_data_setup(const char *cmd) {
  return strcmp(cmd, C_PASV) == 0 || strcmp(cmd, C_EPSV) == 0 ||
    strcmp(cmd, C_PORT) == 0 || strcmp(cmd, C_EPRT) == 0;
}

/* USER: FTPSUserName / FTPSAuthorizedCertificates (B12: the client learns
 * nothing; FTPSLog says why), then the session knows who asks. */
static int identify_user(const char *user, const ftps_rules_t *ur) {
  const char *why = NULL;
  int res = engine_on() ? ftps_auth_check_user(user, ur, &why) : 1;

  if (res < 0) {
    ftps_log(FTPS_LOG_WARNING, "login of '%s' refused by certificate "
      "policy: %s", user, why);
    ftps_session_user_refused();
    return -1;
  }
  return ftps_session_user_identified(user, res == 0);
}

static int is_user(cmd_rec *cmd) {
  return pr_cmd_cmp(cmd, PR_CMD_USER_ID) == 0 && cmd->argc > 1;
}

/* The FTPSRequired gates (RFC 4217 §10): 0, or the refusal's code. */
static int gate(cmd_rec *cmd, const ftps_rules_t *ur, const char **msg) {
  const ftps_prot_state_t *prot = &ftps_session()->prot;
  int required = required_now(cmd, ur);
  int code = ftps_prot_gate_ctrl(prot, required, cmd->argv[0], msg);

  if (code == 0 && ftps_prot_is_transfer(cmd->argv[0])) {
    code = ftps_prot_gate_data(prot, required, msg);
  }
  if (code > 0) {
    ftps_log(FTPS_LOG_WARNING, "refused %s: %s", (char *) cmd->argv[0],
      *msg);
  }
  return code;
}

MODRET ftps_pre_any(cmd_rec *cmd) {
  ftps_rules_t ur, *urp = NULL;
  const char *msg = NULL;
  int code;

  ftps_auth_pre_pass(cmd);
  /* The previous upload's failure paths have all run (mod_xfer's last one
   * is LOG_CMD_ERR); commands read during a transfer (ABOR) are not new. */
  if (!(session.sf_flags & SF_XFER)) {
    ftps_fsio_end();
  }
  if (is_user(cmd)) {
    ftps_rules_for_user(ftps_session()->vhost, cmd->arg, &ur);
    urp = &ur;
  }
  if (engine_on() && (code = gate(cmd, urp, &msg)) > 0) {
    return refuse(cmd, code, msg);
  }
  if (urp != NULL && identify_user(cmd->arg, urp) < 0) {
    return refuse(cmd, FTPS_R_530, "Login not allowed by certificate policy");
  }
  if (!engine_on()) {
    return PR_DECLINED(cmd);
  }
  if (is_data_setup(cmd->argv[0])) {
    refresh_ctrl_session();
  }
  if (ftps_session()->prot.prot == 'P') {
    ftps_fsio_arm(cmd);
    if (ftps_prot_is_transfer(cmd->argv[0])) {
      ftps_xfer_size(cmd);
    }
  }
  return PR_DECLINED(cmd);
}

MODRET ftps_post_any(cmd_rec *cmd) {
  ftps_fsio_disarm(cmd);
  ftps_xfer_restore();
  if (pr_cmd_cmp(cmd, PR_CMD_PASS_ID) == 0) {
    (void) ftps_session_logged_in();
  }
  ftps_auth_check_cert_login(cmd);
  return PR_DECLINED(cmd);
}

MODRET ftps_post_any_err(cmd_rec *cmd) {
  ftps_fsio_disarm(cmd);
  ftps_xfer_restore();
  ftps_auth_check_cert_login(cmd);
  return PR_DECLINED(cmd);
}

/*
 * `Protocols` (mod_auth) checks "ftp" only for clear sessions; for TLS
 * sessions it is ours to check "ftps", or `Protocols ftp` would not keep
 * FTPS users out.
 */
static int protocols_allow_ftps(void) {
  config_rec *c = find_config(main_server->conf, CONF_PARAM, "Protocols",
    FALSE);
  array_header *list;
  unsigned int i;

  if (c == NULL || session.rfc2228_mech == NULL || c->argv[0] == NULL) {
    return TRUE;
  }
  list = c->argv[0];
  for (i = 0; i < list->nelts; i++) {
    const char *proto = ((char **) list->elts)[i];
    if (proto != NULL && strcasecmp(proto, "ftps") == 0) {
      return TRUE;
    }
  }
  return FALSE;
}

/*
 * After PASS (and the fake PASS of a 232 login), mod_ifsession has merged
 * <IfUser>/<IfGroup>: rules known only now are enforced by refusing the
 * login and closing the session (POST_CMD cannot fail the command).
 */
MODRET ftps_post_pass(cmd_rec *cmd) {
  const ftps_sess_t *s;
  const char *why = NULL;

  if (!ftps_conf_any_engine()) {
    return PR_DECLINED(cmd);
  }
  if (!protocols_allow_ftps()) {
    ftps_log(FTPS_LOG_WARNING, "login of '%s' refused: 'Protocols' does not "
      "list ftps", session.user);
    pr_response_send(R_530, "Login incorrect.");
    pr_session_disconnect(&ftps_module, PR_SESS_DISCONNECT_CONFIG_ACL,
      "Denied by Protocols setting");
  }
  ftps_session_rules_changed();
  s = ftps_session();
  if (engine_on() && session.user != NULL &&
      ftps_auth_check_after_pass(session.user, &s->rules, &why) < 0) {
    ftps_log(FTPS_LOG_WARNING, "login of '%s' refused after PASS by "
      "certificate policy: %s", session.user, why);
    pr_response_send(R_530, "Login not allowed by certificate policy");
    pr_session_disconnect(&ftps_module, PR_SESS_DISCONNECT_CONFIG_ACL,
      "certificate policy after login");
  }
  if (engine_on() && (s->rules.required & (FTPS_REQ_AUTH|FTPS_REQ_CTRL)) &&
      s->prot.ctrl != FTPS_CTRL_TLS) {
    ftps_log(FTPS_LOG_WARNING, "login of '%s' refused after PASS: policy "
      "requires AUTH TLS", session.user);
    pr_response_send(R_530, "Policy requires AUTH TLS for this user");
    pr_session_disconnect(&ftps_module, PR_SESS_DISCONNECT_CONFIG_ACL,
      "FTPSRequired after login");
  }
  return PR_DECLINED(cmd);
}

/* HOST refusals (mod_core answers them) belong in the admin's log too. */
MODRET ftps_log_host_err(cmd_rec *cmd) {
  const char *code = NULL, *msg = NULL;

  if (engine_on()) {
    (void) pr_response_get_last(cmd->tmp_pool, &code, &msg);
    ftps_log(FTPS_LOG_WARNING, "HOST refused (%s)%s",
      code != NULL ? code : "error", ftps_session()->ctrl != NULL ?
      "; after AUTH, HOST must name the SNI vhost" : "");
  }
  return PR_DECLINED(cmd);
}

/*
 * SECURITY: ALPACA (CVE-2021-3618): a peer that is not an FTP client (an
 * HTTP or mail client redirected here) produces a stream of failing
 * commands before login; cut it off after FTPSMaxPreLoginErrors.
 */
MODRET ftps_log_any_err(cmd_rec *cmd) {
  int limit, count;

  if (!engine_on() || logged_in()) {
    return PR_DECLINED(cmd);
  }
  limit = ftps_session()->vhost->policy.prelogin_errors;
  count = ftps_session_prelogin_error();
  if (limit > 0 && count >= limit) {
    ftps_log(FTPS_LOG_WARNING, "%d failed commands before login; "
      "disconnecting", count);
    pr_response_send_async(R_421, "Too many failed commands before login; "
      "closing control connection");
    pr_session_disconnect(&ftps_module, PR_SESS_DISCONNECT_BY_APPLICATION,
      "FTPSMaxPreLoginErrors");
  }
  return PR_DECLINED(cmd);
}

/* AUTH SSL / TLS-P set PROT P without a PROT command; tell mod_xfer, whose
 * POST_CMD PROT is what turns sendfile(2) off for protected data. */
static void announce_prot_p(cmd_rec *cmd) {
  cmd_rec *prot = pr_cmd_alloc(cmd->tmp_pool, 2,
    pstrdup(cmd->tmp_pool, C_PROT), pstrdup(cmd->tmp_pool, "P"));

  prot->arg = pstrdup(cmd->tmp_pool, "P");
  (void) pr_cmd_dispatch_phase(prot, POST_CMD, 0);
}

/* usage: AUTH TLS|TLS-C|SSL|TLS-P */
MODRET ftps_auth(cmd_rec *cmd) {
  ftps_prot_result_t res;

  if (step(cmd, FTPS_CMD_AUTH, &res) < 0) {
    return PR_DECLINED(cmd);
  }
  if (res.action != FTPS_ACT_HANDSHAKE) {
    return refuse(cmd, res.code, res.msg);
  }
  if (ftps_session()->vhost->unavailable != NULL) {
    /* A SIGHUP re-parse found this vhost's TLS files broken: no context
     * (RFC 2228: 431, "Need some unavailable resource"). */
    ftps_log(FTPS_LOG_ERROR, "AUTH refused: FTPS unavailable on this "
      "server since the last SIGHUP: %s", ftps_session()->vhost->unavailable);
    ftps_stats_count(FTPS_STAT_AUTH_UNAVAILABLE);
    return refuse(cmd, 431, "Unable to accept security mechanism");
  }

  /* The 234 goes out now, in clear, before the handshake (notes §3.3). */
  pr_response_send(R_234, "%s", res.msg);
  ftps_netio_discard_pending();

  if (ftps_netio_ctrl_accept() < 0) {
    pr_session_disconnect(&ftps_module, PR_SESS_DISCONNECT_BY_APPLICATION,
      "TLS handshake failed");
  }

  ftps_session_prot(&res.next);
  if (res.next.prot == 'P') {
    announce_prot_p(cmd);
  }
  return PR_HANDLED(cmd);
}

static modret_t *simple_reply(cmd_rec *cmd, ftps_cmd_t which) {
  ftps_prot_result_t res;

  if (step(cmd, which, &res) < 0) {
    return PR_DECLINED(cmd);
  }
  if (res.code != FTPS_R_200) {
    return refuse(cmd, res.code, res.msg);
  }
  ftps_session_prot(&res.next);
  pr_response_add(R_200, "%s", res.msg);
  return PR_HANDLED(cmd);
}

/* usage: PBSZ size */
MODRET ftps_pbsz(cmd_rec *cmd) {
  return simple_reply(cmd, FTPS_CMD_PBSZ);
}

/* usage: PROT C|P */
MODRET ftps_prot(cmd_rec *cmd) {
  return simple_reply(cmd, FTPS_CMD_PROT);
}

/* usage: CCC */
MODRET ftps_ccc(cmd_rec *cmd) {
  ftps_prot_result_t res;

  if (step(cmd, FTPS_CMD_CCC, &res) < 0) {
    return PR_DECLINED(cmd);
  }
  if (res.action != FTPS_ACT_CCC) {
    return refuse(cmd, res.code, res.msg);
  }

  /* The 200 is the last protected reply; then both sides close TLS. */
  pr_response_send(R_200, "%s", res.msg);
  if (ftps_netio_ctrl_clear() < 0) {
    pr_session_disconnect(&ftps_module, PR_SESS_DISCONNECT_BY_APPLICATION,
      "CCC shutdown failed");
  }
  ftps_session_prot(&res.next);
  return PR_HANDLED(cmd);
}

int ftps_cmds_sess_init(void) {
  ftps_vhost_update_feat();

  pr_help_add(C_AUTH, "<sp> TLS|TLS-C|SSL|TLS-P", TRUE);
  pr_help_add(C_PBSZ, "<sp> protection-buffer-size", TRUE);
  pr_help_add(C_PROT, "<sp> C|P", TRUE);
  pr_help_add(C_CCC, "(clear command channel)", TRUE);
  pr_trace_msg(trace_channel, 9, "FEAT and HELP entries added");
  return 0;
}

cmdtable ftps_cmdtab[] = {
  { PRE_CMD,      C_ANY,  G_NONE, ftps_pre_any,  FALSE, FALSE },
  { CMD,          C_AUTH, G_NONE, ftps_auth,     FALSE, FALSE, CL_SEC },
  { CMD,          C_PBSZ, G_NONE, ftps_pbsz,     FALSE, FALSE, CL_SEC },
  { CMD,          C_PROT, G_NONE, ftps_prot,     FALSE, FALSE, CL_SEC },
  { CMD,          C_CCC,  G_NONE, ftps_ccc,      FALSE, FALSE, CL_SEC },
  { POST_CMD,     C_ANY,  G_NONE, ftps_post_any, FALSE, FALSE },
  { POST_CMD_ERR, C_ANY,  G_NONE, ftps_post_any_err, FALSE, FALSE },
  { POST_CMD,     C_PASS, G_NONE, ftps_post_pass, FALSE, FALSE },
  { LOG_CMD_ERR,  C_ANY,  G_NONE, ftps_log_any_err, FALSE, FALSE },
  { LOG_CMD_ERR,  C_HOST, G_NONE, ftps_log_host_err, FALSE, FALSE },
  { 0, NULL }
};
