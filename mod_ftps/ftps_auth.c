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

/*
 * An FTPSAuthorizedCertificates path, for this user, in two parts: a
 * directory the administrator chose (the user's home for "~", else the
 * configured directory up to the first %u), opened as configured; and the
 * components below it, which the user may own: each is opened without
 * following a symbolic link, and ".." is refused, so a user cannot point
 * this root-privileged open elsewhere. Not covered: links inside the
 * administrator's part (the home directory itself, or a configured
 * directory), which are the administrator's choice.
 */
typedef struct {
  const char *base;             /* opened following links */
  char *rest;                   /* relative; no component followed */
  const char *full;             /* for log lines */
} authz_path_t;

static void split_path(pool *p, const char *path, const char *user,
    struct passwd *pw, authz_path_t *ap) {
  const char *cut, *pct = strstr(path, "%u");

  if (*path == '~') {
    ap->base = pw->pw_dir;
    cut = path;
  } else {
    cut = path + (pct != NULL ? (size_t) (pct - path) : strlen(path));
    while (cut > path && *cut != '/') {
      cut--;
    }
    ap->base = *cut != '/' ? "." :
      (cut == path ? "/" : pstrndup(p, path, (size_t) (cut - path)));
  }
  while (*cut == '~' || *cut == '/') {
    cut++;
  }
  ap->rest = (char *) sreplace(p, pstrdup(p, cut), "%u", user, NULL);
  ap->full = pstrcat(p, ap->base, strcmp(ap->base, "/") == 0 ? "" : "/",
    ap->rest, NULL);
}

static const char *file_kind(mode_t mode) {
  return S_ISLNK(mode) ? "a symbolic link (not followed)" :
    S_ISFIFO(mode) ? "not a regular file (a FIFO)" :
    S_ISCHR(mode) ? "not a regular file (a character device)" :
    S_ISBLK(mode) ? "not a regular file (a block device)" :
    S_ISSOCK(mode) ? "not a regular file (a socket)" :
    S_ISDIR(mode) ? "not a regular file (a directory)" :
    "not a regular file";
}

/* The next directory below dirfd (which it closes), never through a link. */
static int open_subdir(int dirfd, const char *name) {
  int fd, xerrno;

  if (strcmp(name, "..") == 0 || strcmp(name, ".") == 0) {
    fd = -1;
    xerrno = EPERM;
  } else {
    /* SECURITY: a user-owned component that is a symbolic link could send
     * the root-privileged open anywhere: not followed (ELOOP). */
    struct stat st;

    fd = openat(dirfd, name, O_RDONLY|O_DIRECTORY|O_NOFOLLOW|O_NONBLOCK|
      O_CLOEXEC);
    xerrno = errno;
    if (fd < 0 && fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISLNK(st.st_mode)) {
      xerrno = ELOOP;         /* O_DIRECTORY reports a link as ENOTDIR */
    }
  }
  (void) close(dirfd);
  errno = xerrno;
  return fd;
}

/*
 * SECURITY: the last component must be a regular file before it is opened
 * at all (a FIFO would block open(2), a device could have side effects);
 * O_NONBLOCK|O_NOFOLLOW|O_NOCTTY cover a swap between the check and the
 * open, which the caller re-checks with fstat(2).
 */
static int open_leaf(pool *p, int dirfd, const char *name,
    const authz_path_t *ap, const char **why) {
  struct stat st;
  int fd;

  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
    *why = pstrcat(p, "cannot open '", ap->full, "': ", strerror(errno),
      NULL);
    return -1;
  }
  if (!S_ISREG(st.st_mode)) {
    *why = pstrcat(p, "'", ap->full, "' is ", file_kind(st.st_mode), NULL);
    return -1;
  }
  fd = openat(dirfd, name, O_RDONLY|O_NOFOLLOW|O_NONBLOCK|O_NOCTTY|
    O_CLOEXEC);
  if (fd < 0) {
    *why = pstrcat(p, "cannot open '", ap->full, "': ", strerror(errno),
      NULL);
  }
  return fd;
}

/* Walk ap->rest below ap->base; root is needed (homes may be 0700). None
 * of these calls waits: signals are blocked only around them. */
static int open_authz_file(pool *p, const authz_path_t *ap,
    const char **why) {
  char *rest = pstrdup(p, ap->rest), *name, *slash;
  int dirfd, fd = -1;

  pr_signals_block();
  PRIVS_ROOT
  dirfd = open(ap->base, O_RDONLY|O_DIRECTORY|O_NONBLOCK|O_CLOEXEC);
  for (name = rest; dirfd >= 0 && (slash = strchr(name, '/')) != NULL;
      name = slash + 1) {
    *slash = '\0';
    if (*name != '\0') {
      dirfd = open_subdir(dirfd, name);
    }
  }
  if (dirfd < 0) {
    *why = pstrcat(p, "cannot open '", ap->full, "': ",
      errno == ELOOP ? "a directory on its path is a symbolic link (not "
      "followed)" : errno == EPERM ? "'..' or '.' on its path" :
      strerror(errno), NULL);
  } else {
    fd = open_leaf(p, dirfd, name, ap, why);
    (void) close(dirfd);
  }
  PRIVS_RELINQUISH
  pr_signals_unblock();
  return fd;
}

/* Ownership, mode and size of the opened file; NULL if acceptable. */
static const char *refuse_file(pool *p, const char *path,
    const struct stat *st, uid_t owner) {
  char limit[32];

  /* SECURITY: re-checked on the descriptor (a swap after fstatat). */
  if (!S_ISREG(st->st_mode)) {
    return pstrcat(p, "'", path, "' is ", file_kind(st->st_mode), NULL);
  }
  if (st->st_uid != owner && st->st_uid != 0) {
    return pstrcat(p, "'", path, "' is owned by neither the user nor root",
      NULL);
  }
  if (st->st_mode & (S_IWGRP|S_IWOTH)) {
    return pstrcat(p, "'", path, "' is group- or world-writable", NULL);
  }
  /* SECURITY: bounded memory and time per USER, before login. */
  if (st->st_size > FTPS_AUTHZ_MAX) {
    pr_snprintf(limit, sizeof(limit), "%d", FTPS_AUTHZ_MAX);
    return pstrcat(p, "'", path, "' is too large (limit ", limit,
      " bytes)", NULL);
  }
  return NULL;
}

/* Up to size bytes (short reads, EINTR); NULL on a read error. */
static char *read_bounded(pool *p, int fd, size_t size, size_t *len) {
  char *buf = palloc(p, size + 1);
  size_t total = 0;
  ssize_t n;

  while (total < size) {
    n = read(fd, buf + total, size - total);
    if (n < 0 && errno == EINTR) {
      pr_signals_handle();
      continue;
    }
    if (n < 0) {
      return NULL;
    }
    if (n == 0) {
      break;
    }
    total += (size_t) n;
  }
  buf[total] = '\0';
  *len = total;
  return buf;
}

/* The file's text if it is a safe regular file; NULL + *why if not. */
static char *read_authz_file(pool *p, const authz_path_t *ap, uid_t owner,
    size_t *len, const char **why) {
  struct stat st;
  char *buf = NULL;
  int fd = open_authz_file(p, ap, why);

  if (fd < 0) {
    return NULL;
  }
  if (fstat(fd, &st) < 0) {
    *why = pstrcat(p, "cannot stat '", ap->full, "': ", strerror(errno),
      NULL);
  } else if ((*why = refuse_file(p, ap->full, &st, owner)) == NULL) {
    buf = read_bounded(p, fd, (size_t) st.st_size, len);
    if (buf == NULL) {
      *why = pstrcat(p, "cannot read '", ap->full, "': ", strerror(errno),
        NULL);
    }
  }
  (void) close(fd);
  return buf;
}

static int check_authorized_file(pool *p, const char *user,
    const char *path, const char **why) {
  struct passwd *pw = pr_auth_getpwnam(p, user);
  authz_path_t ap;
  size_t len = 0;
  int bad = 0, res;
  char *buf;

  if (pw == NULL) {
    *why = "unknown user";
    return -1;
  }
  split_path(p, path, user, pw, &ap);
  buf = read_authz_file(p, &ap, pw->pw_uid, &len, why);
  if (buf == NULL) {
    return -1;
  }
  res = ftps_cert_authorized(buf, len, ftps_session()->client_fp, &bad);
  if (bad > 0) {
    ftps_log(FTPS_LOG_WARNING, "%s: '%s' has %d unusable line(s), ignored",
      user, ap.full, bad);
  }
  if (res != 1) {
    *why = pstrcat(p, "certificate not listed in '", ap.full, "'", NULL);
    return -1;
  }
  return 0;
}

/* FTPSUserName: 1 not configured, 0 the certificate names user, -1 (and
 * *why) it does not. */
static int check_user_field(pool *p, const char *user, const ftps_rules_t *r,
    const char **why) {
  char value[FTPS_CERT_NAME_MAX + 1];
  int res;

  if (r->user_field == FTPS_CERT_FIELD_NONE) {
    return 1;
  }
  res = ftps_cert_get_field(ftps_session()->client_cert, r->user_field,
    r->user_oid, value, sizeof(value));
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

/* What survives a check: the refusal reason (logged by the caller), in
 * bounded storage, not in session.pool per USER. */
static const char *keep_why(const char *why) {
  static char buf[1024];

  if (why == NULL) {
    return NULL;
  }
  sstrncpy(buf, why, sizeof(buf));
  return buf;
}

static int has_constraints(const ftps_rules_t *r) {
  return r->user_field != FTPS_CERT_FIELD_NONE || r->authz_path != NULL;
}

static int check_constraints(pool *p, const char *user, const ftps_rules_t *r,
    const char **why) {
  int field_res;

  if (ftps_session()->client_cert == NULL) {
    *why = "no verified client certificate";
    return -1;
  }
  field_res = check_user_field(p, user, r, why);
  if (field_res < 0) {
    return -1;
  }
  if (r->authz_path != NULL &&
      check_authorized_file(p, user, r->authz_path, why) < 0) {
    return -1;
  }
  return 0;
}

/*
 * All certificate constraints r sets for user. 1 if none configured, 0 if
 * all hold (the certificate maps to user), -1 with *why if refused. Runs
 * for every USER before login: its memory is a sub-pool destroyed here (an
 * authorized-certificates file may be 256 KiB).
 */
int ftps_auth_check_user(const char *user, const ftps_rules_t *r,
    const char **why) {
  pool *p;
  int res;

  *why = NULL;
  if (!has_constraints(r)) {
    return 1;
  }
  p = make_sub_pool(session.pool);
  pr_pool_tag(p, "mod_ftps USER certificate check");
  res = check_constraints(p, user, r, why);
  *why = keep_why(*why);
  destroy_pool(p);
  return res;
}

/*
 * After PASS, mod_ifsession may have merged <IfGroup> rules (r), but the
 * session is now chrooted: only the certificate itself can be re-checked.
 * An authorized-certificates rule that was not already checked at USER
 * cannot be honoured here, so it refuses (fails closed).
 */
int ftps_auth_check_after_pass(const char *user, const ftps_rules_t *r,
    const char **why) {
  const ftps_sess_t *s = ftps_session();
  int checked_at_user = strcmp(s->cert_user, user) == 0;
  pool *p;
  int res;

  *why = NULL;
  if (!has_constraints(r)) {
    return 1;
  }
  if (s->client_cert == NULL) {
    *why = "no verified client certificate";
    return -1;
  }
  if (!checked_at_user && r->authz_path != NULL) {
    *why = "FTPSAuthorizedCertificates applies only after PASS (e.g. in "
      "<IfGroup>); it must apply at USER";
    return -1;
  }
  p = make_sub_pool(session.pool);
  res = check_user_field(p, user, r, why) < 0 ? -1 : 0;
  *why = keep_why(*why);
  destroy_pool(p);
  return res;
}

/* authtable "requires_pass": argv[0] is the user name. */
MODRET ftps_requires_pass(cmd_rec *cmd) {
  const ftps_sess_t *s = ftps_session();
  const char *user = cmd->argv[0];
  ftps_rules_t r;

  if (user == NULL || s->cert_user[0] == '\0' ||
      strcmp(s->cert_user, user) != 0) {
    return PR_DECLINED(cmd);
  }
  ftps_rules_for_user(s->vhost, user, &r);
  if (!r.cert_login || ftps_session_cert_login() < 0) {
    return PR_DECLINED(cmd);
  }

  ftps_log(FTPS_LOG_INFO, "certificate login of '%s' (fingerprint %s): no "
    "password asked", user, s->client_fp);
  session.auth_mech = "mod_ftps.c";
  ftps_log_trace(trace_channel, 7, "232 login for '%s'", user);
  return PR_HANDLED(cmd);
}

/* The PASS mod_auth replays for a 232 login: two argv slots and no
 * argument (a client's bare "PASS" has one slot, "PASS x" an argument). */
static int is_replayed_pass(cmd_rec *cmd) {
  return pr_cmd_cmp(cmd, PR_CMD_PASS_ID) == 0 && cmd->argc == 2 &&
    cmd->arg == NULL;
}

static int cert_login_pending(void) {
  return ftps_session()->lc.auth == FTPS_LC_AUTH_CERT_PENDING;
}

static void end_failed_cert_login(void) {
  const char *user = ftps_session()->cert_user;

  ftps_log(FTPS_LOG_WARNING, "certificate login of '%s' refused by the "
    "login rules (<Limit LOGIN>, RootLogin, no such account...); closing "
    "the session", user[0] != '\0' ? user : "?");
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
  if (!cert_login_pending()) {
    return;
  }
  if (!is_replayed_pass(cmd)) {
    end_failed_cert_login();
    return;
  }
  cmd->arg = pstrdup(cmd->pool, "*");
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
  if (cert_login_pending() && pr_cmd_cmp(cmd, PR_CMD_USER_ID) == 0) {
    end_failed_cert_login();
  }
}

/* SECURITY: the data connection must present the control connection's
 * client certificate (resumption carries it); a different one is an
 * attacker who got a session some other way. */
int ftps_auth_data_matches(ftps_io_t *data) {
  const char *want = ftps_session()->client_fp;
  ftps_cert_t *peer;
  char fp[FTPS_CERT_FP_HEX_LEN];

  if (want[0] == '\0') {
    return TRUE;
  }
  peer = ftps_io_peer_cert_any(data);
  return peer != NULL && ftps_cert_fingerprint(peer, fp) == 0 &&
    strcmp(fp, want) == 0;
}

authtable ftps_authtab[] = {
  { 0, "requires_pass", ftps_requires_pass },
  { 0, NULL, NULL }
};
