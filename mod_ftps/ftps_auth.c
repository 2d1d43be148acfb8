/*
 * ftps_auth.c -- glue: the client certificate as an authentication
 * factor.
 *
 *   FTPSUserName     a constraint: USER must equal that certificate field,
 *                    or the login is refused (530) whatever the password;
 *   FTPSAuthorizedCertificates
 *                    a constraint: the certificate must be listed in the
 *                    user's file (fingerprints or PEM), which must belong
 *                    to the user or root and not be group/world writable;
 *   FTPSCertLogin    when the constraints configured for USER all hold,
 *                    mod_auth answers 232 and asks no password
 *                    ("requires_pass"); the rest of the login (chroot,
 *                    <Limit LOGIN>, MaxClients...) runs as usual.
 * Also: the data channel must carry the control channel's certificate.
 */

#include "mod_ftps.h"

/* Largest authorized-certificates file read. */
#define FTPS_AUTHZ_MAX  (256 * 1024)

static const char *trace_channel = "ftps.auth";

static int user_int(const char *user, const char *name, int dflt) {
  config_rec *c = ftps_rules_param_for_user(user, name);

  return c != NULL ? *((int *) c->argv[0]) : dflt;
}

/* ~ and %u in an FTPSAuthorizedCertificates path, for this user. */
static char *expand_path(pool *p, const char *path, const char *user,
    struct passwd *pw) {
  const char *rest = path;
  char *out;

  if (*path == '~') {
    rest = path + 1;
    out = pstrcat(p, pw->pw_dir, NULL);
  } else {
    out = pstrdup(p, "");
  }
  out = pstrcat(p, out, rest, NULL);
  return (char *) sreplace(p, out, "%u", user, NULL);
}

/* Read the file if its ownership and mode are safe; NULL + *why if not. */
static char *read_authz_file(pool *p, const char *path, uid_t owner,
    size_t *len, const char **why) {
  struct stat st;
  char *buf = NULL;
  ssize_t n = -1;
  int fd, xerrno;

  pr_signals_block();
  PRIVS_ROOT
  fd = open(path, O_RDONLY|O_NOFOLLOW|O_CLOEXEC);
  xerrno = errno;
  PRIVS_RELINQUISH
  pr_signals_unblock();

  if (fd < 0) {
    *why = pstrcat(p, "cannot open '", path, "': ", strerror(xerrno), NULL);
    return NULL;
  }
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
    *why = pstrcat(p, "'", path, "' is not a regular file", NULL);
  } else if (st.st_uid != owner && st.st_uid != 0) {
    *why = pstrcat(p, "'", path, "' is owned by neither the user nor root",
      NULL);
  } else if (st.st_mode & (S_IWGRP|S_IWOTH)) {
    *why = pstrcat(p, "'", path, "' is group- or world-writable", NULL);
  } else if (st.st_size > FTPS_AUTHZ_MAX) {
    *why = pstrcat(p, "'", path, "' is too large", NULL);
  } else {
    buf = palloc(p, (size_t) st.st_size + 1);
    n = read(fd, buf, (size_t) st.st_size);
  }
  (void) close(fd);
  if (buf == NULL || n < 0) {
    if (buf != NULL) {
      *why = pstrcat(p, "cannot read '", path, "'", NULL);
    }
    return NULL;
  }
  buf[n] = '\0';
  *len = (size_t) n;
  return buf;
}

static int check_authorized_file(pool *p, const char *user,
    const char *path, const char **why) {
  struct passwd *pw = pr_auth_getpwnam(p, user);
  size_t len = 0;
  int bad = 0, res;
  char *buf;

  if (pw == NULL) {
    *why = "unknown user";
    return -1;
  }
  path = expand_path(p, path, user, pw);
  buf = read_authz_file(p, path, pw->pw_uid, &len, why);
  if (buf == NULL) {
    return -1;
  }
  res = ftps_cert_authorized(buf, len, ftps_sess.client_fp, &bad);
  if (bad > 0) {
    ftps_log("%s: '%s' has %d unusable line(s), ignored", user, path, bad);
  }
  if (res != 1) {
    *why = pstrcat(p, "certificate not listed in '", path, "'", NULL);
    return -1;
  }
  return 0;
}

static int check_user_field(pool *p, const char *user, const char **why) {
  config_rec *c = ftps_rules_param_for_user(user, "FTPSUserName");
  char value[FTPS_CERT_NAME_MAX + 1];
  int field, res;

  field = c != NULL ? *((int *) c->argv[0]) : FTPS_CERT_FIELD_NONE;
  if (field == FTPS_CERT_FIELD_NONE) {
    return 1;   /* not configured */
  }
  res = ftps_cert_get_field(ftps_sess.client_cert, field, c->argv[1], value,
    sizeof(value));
  if (res != 1) {
    *why = res == 0 ? "certificate lacks the FTPSUserName field" :
      "certificate's FTPSUserName field is ambiguous or malformed";
    return -1;
  }
  /* SECURITY: exact, case-sensitive match of a value with no NUL. */
  if (strcmp(value, user) != 0) {
    *why = pstrcat(p, "certificate names '", value, "'", NULL);
    return -1;
  }
  return 0;
}

/*
 * All certificate constraints configured for user. 1 if none configured,
 * 0 if all hold (the certificate maps to user), -1 with *why if refused.
 */
int ftps_auth_check_user(const char *user, const char **why) {
  config_rec *authz = ftps_rules_param_for_user(user,
    "FTPSAuthorizedCertificates");
  pool *p = session.pool;
  int field_res;

  *why = NULL;
  if (ftps_rules_param_for_user(user, "FTPSUserName") == NULL &&
      authz == NULL) {
    return 1;
  }
  if (ftps_sess.client_cert == NULL) {
    *why = "no verified client certificate";
    return -1;
  }

  field_res = check_user_field(p, user, why);
  if (field_res < 0) {
    return -1;
  }
  if (authz != NULL && check_authorized_file(p, user, authz->argv[0],
      why) < 0) {
    return -1;
  }
  if (field_res == 1 && authz == NULL) {
    return 1;
  }
  ftps_sess.cert_user = pstrdup(session.pool, user);
  return 0;
}

/*
 * After PASS, mod_ifsession may have merged <IfGroup> rules, but the
 * session is now chrooted: only the certificate itself can be re-checked.
 * An authorized-certificates rule that was not already checked at USER
 * cannot be honoured here, so it refuses (fails closed).
 */
int ftps_auth_check_after_pass(const char *user, const char **why) {
  int checked_at_user = ftps_sess.cert_user != NULL &&
    strcmp(ftps_sess.cert_user, user) == 0;

  *why = NULL;
  if (ftps_rules_param_for_user(user, "FTPSUserName") == NULL &&
      ftps_rules_param_for_user(user, "FTPSAuthorizedCertificates") == NULL) {
    return 1;
  }
  if (ftps_sess.client_cert == NULL) {
    *why = "no verified client certificate";
    return -1;
  }
  if (!checked_at_user &&
      ftps_rules_param_for_user(user, "FTPSAuthorizedCertificates") != NULL) {
    *why = "FTPSAuthorizedCertificates applies only after PASS (e.g. in "
      "<IfGroup>); it must apply at USER";
    return -1;
  }
  return check_user_field(session.pool, user, why) < 0 ? -1 : 0;
}

/* authtable "requires_pass": argv[0] is the user name. */
MODRET ftps_requires_pass(cmd_rec *cmd) {
  const char *user = cmd->argv[0];

  if (ftps_sess.cert_user == NULL || user == NULL ||
      strcmp(ftps_sess.cert_user, user) != 0 ||
      user_int(user, "FTPSCertLogin", 0) != 1) {
    return PR_DECLINED(cmd);
  }

  ftps_log("%s: certificate login of '%s' (fingerprint %s): no password "
    "asked", pr_netaddr_get_ipstr(session.c->remote_addr), user,
    ftps_sess.client_fp);
  session.auth_mech = "mod_ftps.c";
  ftps_sess.cert_login = FTPS_CERT_LOGIN_PENDING;
  ftps_log_trace(trace_channel, 7, "232 login for '%s'", user);
  return PR_HANDLED(cmd);
}

/* The PASS mod_auth replays for a 232 login: two argv slots and no
 * argument (a client's bare "PASS" has one slot, "PASS x" an argument). */
static int is_replayed_pass(cmd_rec *cmd) {
  return pr_cmd_cmp(cmd, PR_CMD_PASS_ID) == 0 && cmd->argc == 2 &&
    cmd->arg == NULL;
}

static void end_failed_cert_login(void) {
  ftps_log("%s: certificate login of '%s' refused by the login rules "
    "(<Limit LOGIN>, RootLogin, no such account...); closing the session",
    pr_netaddr_get_ipstr(session.c->remote_addr),
    ftps_sess.cert_user != NULL ? ftps_sess.cert_user : "?");
  (void) remove_config(main_server->conf, "authenticated", FALSE);
  pr_session_disconnect(&ftps_module, PR_SESS_DISCONNECT_CONFIG_ACL,
    "certificate login refused");
}

/*
 * PRE_CMD of every command while a certificate login is pending: only the
 * replayed PASS may run. 'AllowEmptyPasswords off' is a rule about
 * passwords (mod_auth exempts only mod_tls's certificate logins from it): a
 * placeholder argument lets ours through. The replay still checks no
 * password; every other login rule (<Limit LOGIN>, RootLogin, the account
 * itself) applies.
 */
void ftps_auth_pre_pass(cmd_rec *cmd) {
  if (ftps_sess.cert_login != FTPS_CERT_LOGIN_PENDING) {
    return;
  }
  if (!is_replayed_pass(cmd)) {
    end_failed_cert_login();
    return;
  }
  cmd->arg = pstrdup(cmd->pool, "*");
}

/* POST_CMD PASS: the login (password or certificate) succeeded. */
void ftps_auth_logged_in(void) {
  if (ftps_sess.cert_login == FTPS_CERT_LOGIN_PENDING) {
    ftps_sess.cert_login = FTPS_CERT_LOGIN_DONE;
  }
}

/*
 * SECURITY: mod_auth marks a 232 login authenticated *before* it replays
 * PASS, and leaves that mark (and its "no password needed" flag) in place
 * when the replay fails (<Limit LOGIN>, no such account, root without
 * RootLogin...): the client could then run any command, or log in as
 * anybody with any password. A certificate login that has not completed by
 * the end of USER ends the session: nothing less undoes mod_auth's state.
 * (Called after USER, in both POST_CMD and POST_CMD_ERR.)
 */
void ftps_auth_check_cert_login(cmd_rec *cmd) {
  if (ftps_sess.cert_login == FTPS_CERT_LOGIN_PENDING &&
      pr_cmd_cmp(cmd, PR_CMD_USER_ID) == 0) {
    end_failed_cert_login();
  }
}

/* SECURITY: the data connection must present the control connection's
 * client certificate (resumption carries it); a different one is an
 * attacker who got a session some other way. */
int ftps_auth_data_matches(SSL *data) {
  X509 *peer;
  char fp[FTPS_CERT_FP_HEX_LEN];

  if (ftps_sess.client_fp[0] == '\0') {
    return TRUE;
  }
  peer = SSL_get0_peer_certificate(data);
  return peer != NULL && ftps_cert_fingerprint(peer, fp) == 0 &&
    strcmp(fp, ftps_sess.client_fp) == 0;
}

authtable ftps_authtab[] = {
  { 0, "requires_pass", ftps_requires_pass },
  { 0, NULL, NULL }
};
