/*
 * ftps_rules.c -- glue: the one resolver of FTPS directives at run time
 * (B3). No other glue file looks an FTPS directive up by name after
 * startup; they receive an ftps_rules_t (or a requirement) from here.
 *
 *   session   main_server's values (which mod_ifsession edits in place):
 *             at sess_init after <IfClass>, after a HOST/SNI vhost switch,
 *             and after PASS (<IfUser>, <IfGroup>, <IfAuthenticated>);
 *   USER      the same, with <IfUser> blocks evaluated against the USER
 *             name, so a user who needs a protected control channel (or a
 *             certificate) is refused before any password is sent;
 *   transfer  the deepest <Directory>, <Anonymous> or .ftpaccess setting
 *             for the path the transfer will really use.
 *
 * The combination rule itself is pure: ftps_policy_required_for_path().
 */

#include "mod_ftps.h"

/* mod_ifsession's private marker for "<IfUser>" condition lists. */
#define IFSESS_USER_LIST  "_IfUserList"

static const char *trace_channel = "ftps.rules";

static int int_param(xaset_t *set, const char *name, int dflt) {
  int *v = set != NULL ? get_param_ptr(set, name, FALSE) : NULL;

  return v != NULL ? *v : dflt;
}

/* Does one <IfUser> condition list match user? */
static int ifuser_matches(config_rec *list, const char *user) {
  unsigned char eval = *((unsigned char *) list->argv[1]);
  const char *saved = session.user;
  int res = FALSE;

#ifdef PR_USE_REGEX
  if (eval == PR_EXPR_EVAL_REGEX) {
    return pr_regexp_exec(list->argv[2], user, 0, NULL, 0, 0, 0) == 0;
  }
#endif

  /* The expression helpers read session.user; lend them the USER name. */
  session.user = (char *) user;
  if (eval == PR_EXPR_EVAL_OR) {
    res = pr_expr_eval_user_or((char **) &list->argv[2]);
  } else if (eval == PR_EXPR_EVAL_AND) {
    res = pr_expr_eval_user_and((char **) &list->argv[2]);
  }
  session.user = (char *) saved;
  return res == TRUE;
}

/* name in main_server, or (user != NULL) in the last <IfUser> block that
 * matches user, as mod_ifsession would merge it after PASS. */
static config_rec *param(const char *user, const char *name) {
  config_rec *c, *found;

  found = find_config(main_server->conf, CONF_PARAM, name, FALSE);
  if (user == NULL) {
    return found;
  }
  for (c = (config_rec *) main_server->conf->xas_list; c != NULL;
      c = c->next) {
    config_rec *list, *hit;

    if (c->name == NULL || strcmp(c->name, "<IfUser>") != 0 ||
        c->subset == NULL) {
      continue;
    }
    list = find_config(c->subset, -1, IFSESS_USER_LIST, FALSE);
    hit = find_config(c->subset, CONF_PARAM, name, FALSE);
    if (hit != NULL && list != NULL && list->argc >= 3 &&
        ifuser_matches(list, user)) {
      found = hit;
    }
  }
  return found;
}

static int int_of(config_rec *c, int dflt) {
  return c != NULL ? *((int *) c->argv[0]) : dflt;
}

static void resolve(const ftps_vhost_t *vh, const char *user,
    ftps_rules_t *out) {
  config_rec *c;

  memset(out, 0, sizeof(*out));
  out->user_field = FTPS_CERT_FIELD_NONE;
  if (vh == NULL) {
    return;
  }
  out->required = int_of(param(user, "FTPSRequired"), vh->policy.required);
  out->options = int_of(param(user, "FTPSOptions"), vh->policy.options);
  out->cert_login = int_of(param(user, "FTPSCertLogin"), 0) == 1;
  c = param(user, "FTPSUserName");
  if (c != NULL) {
    out->user_field = *((int *) c->argv[0]);
    out->user_oid = c->argv[1];
  }
  c = param(user, "FTPSAuthorizedCertificates");
  out->authz_path = c != NULL ? c->argv[0] : NULL;
  ftps_log_trace(trace_channel, 9, "rules%s%s: required=0x%x options=0x%x "
    "username=%d authz=%s certlogin=%d", user != NULL ? " for " : "",
    user != NULL ? user : "", (unsigned) out->required,
    (unsigned) out->options, out->user_field,
    out->authz_path != NULL ? out->authz_path : "-", out->cert_login);
}

void ftps_rules_for_session(const ftps_vhost_t *vh, ftps_rules_t *out) {
  resolve(vh, NULL, out);
}

void ftps_rules_for_user(const ftps_vhost_t *vh, const char *user,
    ftps_rules_t *out) {
  resolve(vh, user, out);
}

static int is_listing(cmd_rec *cmd) {
  return pr_cmd_cmp(cmd, PR_CMD_LIST_ID) == 0 ||
    pr_cmd_cmp(cmd, PR_CMD_NLST_ID) == 0 ||
    pr_cmd_cmp(cmd, PR_CMD_MLSD_ID) == 0;
}

static int is_upload(cmd_rec *cmd) {
  return pr_cmd_cmp(cmd, PR_CMD_STOR_ID) == 0 ||
    pr_cmd_cmp(cmd, PR_CMD_APPE_ID) == 0 ||
    pr_cmd_cmp(cmd, PR_CMD_STOU_ID) == 0;
}

/*
 * The path argument of a transfer (the whole argument: names may hold
 * spaces). LIST/NLST first take words starting with '-' as options, as
 * mod_ls does; *recursive is set when they ask for -R.
 */
static const char *target_path(cmd_rec *cmd, int *recursive) {
  const char *arg = cmd->argc > 1 ? cmd->arg : NULL;

  *recursive = FALSE;
  if (arg == NULL || pr_cmd_cmp(cmd, PR_CMD_MLSD_ID) == 0 ||
      !is_listing(cmd)) {
    return arg;
  }
  while (*arg == '-') {
    size_t n = strcspn(arg, " ");

    if (memchr(arg, 'R', n) != NULL) {
      *recursive = TRUE;
    }
    arg += n;
    arg += strspn(arg, " ");
  }
  return arg;
}

/* A glob's directory part ("a/b*" -> "a"), or "." when there is none. */
static char *glob_dir(pool *p, const char *path) {
  size_t first = strcspn(path, "*?[");
  char *dir = pstrndup(p, path, first), *slash = strrchr(dir, '/');

  if (slash == NULL) {
    return pstrdup(p, ".");
  }
  if (slash == dir) {
    return pstrdup(p, "/");
  }
  *slash = '\0';
  return dir;
}

/*
 * The path as mod_xfer and mod_ls will use it: decoded, '~' expanded, '.',
 * '..' and '//' removed, symlinks followed (dir_realpath); for a name that
 * does not exist yet (uploads), its deepest existing parent resolved
 * (dir_best_path). NULL if it cannot be resolved.
 */
static char *resolve_path(pool *p, const char *path, int upload) {
  char *decoded = pr_fs_decode_path(p, path), *real = NULL;

  if (decoded == NULL) {
    return NULL;
  }
  if (!upload) {
    real = dir_realpath(p, decoded);
  }
  return real != NULL ? real : dir_best_path(p, decoded);
}

/* FTPSRequired of the deepest <Directory>, <Anonymous> or .ftpaccess that
 * covers abs_path (an absolute path inside the session's root). */
static int dir_rule(pool *p, char *abs_path) {
  struct stat st;
  xaset_t *set;

  /* Load any .ftpaccess along the way (AllowOverride permitting). */
  if (pr_fsio_stat(abs_path, &st) < 0) {
    memset(&st, 0, sizeof(st));
  }
  build_dyn_config(p, abs_path, &st, TRUE);
  set = get_dir_ctxt(p, abs_path);
  return (set != NULL && set != main_server->conf) ?
    int_param(set, "FTPSRequired", FTPS_UNSET) : FTPS_UNSET;
}

/* Does a <Directory> at or below prefix (a real path) require protected
 * data? Walks the whole configuration tree (it is small and bounded). */
static int subtree_requires_data(xaset_t *set, const char *prefix) {
  config_rec *c;
  size_t len = strlen(prefix);

  while (len > 1 && prefix[len - 1] == '/') {
    len--;
  }
  for (c = set != NULL ? (config_rec *) set->xas_list : NULL; c != NULL;
      c = c->next) {
    if (c->config_type == CONF_DIR && c->name != NULL &&
        strncmp(c->name, prefix, len) == 0 &&
        (len == 1 || c->name[len] == '\0' || c->name[len] == '/') &&
        int_param(c->subset, "FTPSRequired", 0) > 0 &&
        (int_param(c->subset, "FTPSRequired", 0) & FTPS_REQ_DATA)) {
      return TRUE;
    }
    if (c->subset != NULL && subtree_requires_data(c->subset, prefix)) {
      return TRUE;
    }
  }
  return FALSE;
}

/*
 * SECURITY: the data requirement of a transfer is decided on the path the
 * transfer will really use, never on the client's spelling of it
 * ('./secret/x', '//secret/x', 'a/../secret/x', '~/secret', a symlink into
 * the directory all name the same file). A listing that can reach below its
 * directory (a glob, -R) is as strict as the strictest <Directory> under it.
 */
int ftps_rules_required_for_transfer(cmd_rec *cmd, int session_required) {
  int wide = FALSE, required;
  const char *path = target_path(cmd, &wide);
  char *real;

  if (path == NULL || *path == '\0') {
    path = ".";
  }
  if (is_listing(cmd) && pr_str_is_fnmatch(path)) {
    path = glob_dir(cmd->tmp_pool, path);
    wide = TRUE;
  }

  real = resolve_path(cmd->tmp_pool, path, is_upload(cmd));
  if (real == NULL) {
    /* Unresolvable: the transfer will fail; decide on the plain path. */
    real = (*path == '/') ? pstrdup(cmd->tmp_pool, path) :
      pdircat(cmd->tmp_pool, pr_fs_getcwd(), path, NULL);
  }
  required = ftps_policy_required_for_path(session_required,
    dir_rule(cmd->tmp_pool, real));
  if (wide && !(required & FTPS_REQ_DATA) &&
      subtree_requires_data(main_server->conf, session.chroot_path != NULL ?
        pdircat(cmd->tmp_pool, session.chroot_path, real, NULL) : real)) {
    required |= FTPS_REQ_DATA;
  }
  ftps_log_trace(trace_channel, 9, "%s: '%s' resolves to '%s': required=0x%x",
    (char *) cmd->argv[0], path, real, (unsigned) required);
  return required;
}

/*
 * Postparse check: FTPSRequired auth/control in a block that is decided
 * only after the password (<IfGroup>, <IfAuthenticated>) cannot protect
 * that password; accept it only with FTPSOptions AllowPerUser.
 */
int ftps_rules_validate(server_rec *s, int options, char *err,
    size_t errlen) {
  static const char *const late_blocks[] = { "<IfGroup>",
    "<IfAuthenticated>" };
  config_rec *c;

  if (options & FTPS_OPT_ALLOW_PER_USER) {
    return 0;
  }
  for (c = (config_rec *) s->conf->xas_list; c != NULL; c = c->next) {
    unsigned int i;

    for (i = 0; i < 2; i++) {
      if (c->name != NULL && strcmp(c->name, late_blocks[i]) == 0 &&
          (int_param(c->subset, "FTPSRequired", 0) &
           (FTPS_REQ_AUTH|FTPS_REQ_CTRL))) {
        snprintf(err, errlen, "FTPSRequired with auth or control inside "
          "%s cannot protect the password (the condition is known only "
          "after PASS); use <IfUser>/<IfClass>, or add 'FTPSOptions "
          "AllowPerUser' to refuse such logins after PASS", late_blocks[i]);
        errno = EINVAL;
        return -1;
      }
    }
  }
  return 0;
}
