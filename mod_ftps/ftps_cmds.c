/*
 * ftps_cmds.c -- glue: the AUTH/PBSZ/PROT/CCC handlers and the PRE_CMD
 * gate for FTPSRequired. Decisions come from ftps_prot.c; this file maps
 * them to ProFTPD replies and actions.
 */

#include "mod_ftps.h"

static const char *trace_channel = "ftps.cmds";

static int engine_on(void) {
  return ftps_sess.vhost != NULL && ftps_sess.vhost->policy.engine == 1;
}

static int logged_in(void) {
  return get_param_ptr(main_server->conf, "authenticated", FALSE) != NULL;
}

/* The FTPSRequired bits in force for this command: USER sees its
 * <IfUser> rules, a transfer its directory's rules. */
static int required_now(cmd_rec *cmd) {
  if (!engine_on()) {
    return 0;
  }
  if (pr_cmd_cmp(cmd, PR_CMD_USER_ID) == 0 && cmd->argc > 1) {
    return ftps_rules_required_for_user(cmd->arg);
  }
  if (ftps_prot_is_transfer(cmd->argv[0]) && logged_in()) {
    /* Directory rules mean something only once the user's tree is known
     * (before login, mod_auth refuses transfers anyway). */
    return ftps_rules_required_for_transfer(cmd);
  }
  return ftps_sess.required;
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
  env.required = required_now(cmd);
  return ftps_prot_step(&ftps_sess.prot, &env, which,
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
  if (ftps_sess.ctrl != NULL &&
      ftps_io_refresh_session(ftps_sess.ctrl) == 0) {
    ftps_sess.ctrl_refreshed = time(NULL);
  }
}

static int is_data_setup(const char *cmd) {
  return strcmp(cmd, C_PASV) == 0 || strcmp(cmd, C_EPSV) == 0 ||
    strcmp(cmd, C_PORT) == 0 || strcmp(cmd, C_EPRT) == 0;
}

/* FTPSUserName / FTPSAuthorizedCertificates for this USER (B12: the
 * client learns nothing; FTPSLog says why). */
static int check_certificate(const char *user) {
  const char *why = NULL;

  ftps_sess.cert_user = NULL;
  if (ftps_auth_check_user(user, &why) < 0) {
    ftps_log("%s: login of '%s' refused by certificate policy: %s",
      pr_netaddr_get_ipstr(session.c->remote_addr), user, why);
    return -1;
  }
  return 0;
}

MODRET ftps_pre_any(cmd_rec *cmd) {
  const char *msg = NULL;
  int code, required;

  ftps_auth_pre_pass(cmd);
  if (!engine_on()) {
    return PR_DECLINED(cmd);
  }

  required = required_now(cmd);
  code = ftps_prot_gate_ctrl(&ftps_sess.prot, required, cmd->argv[0], &msg);
  if (code == 0 && ftps_prot_is_transfer(cmd->argv[0])) {
    code = ftps_prot_gate_data(&ftps_sess.prot, required, &msg);
  }
  if (code > 0) {
    ftps_log("%s: refused %s: %s", pr_netaddr_get_ipstr(
      session.c->remote_addr), (char *) cmd->argv[0], msg);
    return refuse(cmd, code, msg);
  }
  if (pr_cmd_cmp(cmd, PR_CMD_USER_ID) == 0 && cmd->argc > 1 &&
      check_certificate(cmd->arg) < 0) {
    return refuse(cmd, FTPS_R_530, "Login not allowed by certificate policy");
  }

  if (is_data_setup(cmd->argv[0])) {
    refresh_ctrl_session();
  }
  if (ftps_sess.prot.prot == 'P') {
    ftps_fsio_arm(cmd);
  }
  return PR_DECLINED(cmd);
}

MODRET ftps_post_any(cmd_rec *cmd) {
  ftps_fsio_disarm();
  if (pr_cmd_cmp(cmd, PR_CMD_PASS_ID) == 0) {
    ftps_auth_logged_in();
  }
  ftps_auth_check_cert_login(cmd);
  return PR_DECLINED(cmd);
}

MODRET ftps_post_any_err(cmd_rec *cmd) {
  ftps_fsio_disarm();
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
  const char *why = NULL;

  if (!ftps_conf_any_engine()) {
    return PR_DECLINED(cmd);
  }
  if (!protocols_allow_ftps()) {
    ftps_log("%s: login of '%s' refused: 'Protocols' does not list ftps",
      pr_netaddr_get_ipstr(session.c->remote_addr), session.user);
    pr_response_send(R_530, "Login incorrect.");
    pr_session_disconnect(&ftps_module, PR_SESS_DISCONNECT_CONFIG_ACL,
      "Denied by Protocols setting");
  }
  ftps_rules_refresh();
  if (engine_on() && session.user != NULL &&
      ftps_auth_check_after_pass(session.user, &why) < 0) {
    ftps_log("%s: login of '%s' refused after PASS by certificate policy: %s",
      pr_netaddr_get_ipstr(session.c->remote_addr), session.user, why);
    pr_response_send(R_530, "Login not allowed by certificate policy");
    pr_session_disconnect(&ftps_module, PR_SESS_DISCONNECT_CONFIG_ACL,
      "certificate policy after login");
  }
  if (engine_on() && (ftps_sess.required & (FTPS_REQ_AUTH|FTPS_REQ_CTRL)) &&
      ftps_sess.prot.ctrl != FTPS_CTRL_TLS) {
    ftps_log("%s: login of '%s' refused after PASS: policy requires AUTH TLS",
      pr_netaddr_get_ipstr(session.c->remote_addr), session.user);
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
    ftps_log("%s: HOST refused (%s)%s", pr_netaddr_get_ipstr(
      session.c->remote_addr), code != NULL ? code : "error",
      ftps_sess.ctrl != NULL ? "; after AUTH, HOST must name the SNI vhost" :
      "");
  }
  return PR_DECLINED(cmd);
}

/*
 * SECURITY: ALPACA (CVE-2021-3618): a peer that is not an FTP client (an
 * HTTP or mail client redirected here) produces a stream of failing
 * commands before login; cut it off after FTPSMaxPreLoginErrors.
 */
MODRET ftps_log_any_err(cmd_rec *cmd) {
  int limit;

  if (!engine_on() || logged_in()) {
    return PR_DECLINED(cmd);
  }
  limit = ftps_sess.vhost->policy.prelogin_errors;
  if (limit > 0 && ++ftps_sess.prelogin_errors >= limit) {
    ftps_log("%s: %d failed commands before login; disconnecting",
      pr_netaddr_get_ipstr(session.c->remote_addr), ftps_sess.prelogin_errors);
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

  /* The 234 goes out now, in clear, before the handshake (notes §3.3). */
  pr_response_send(R_234, "%s", res.msg);
  ftps_netio_discard_pending();

  if (ftps_netio_ctrl_accept() < 0) {
    pr_session_disconnect(&ftps_module, PR_SESS_DISCONNECT_BY_APPLICATION,
      "TLS handshake failed");
  }

  ftps_sess.prot = res.next;
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
  ftps_sess.prot = res.next;
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
  ftps_sess.prot = res.next;
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
