/*
 * ftps_fsio.c -- glue: a thin FSIO layer that makes uploads touch no file
 * before their data channel is secured.
 *
 * mod_xfer opens (creates, truncates) the target of STOR/APPE/STOU before
 * it opens the data connection, whose TLS handshake and reuse check may
 * still fail. While armed (a protected upload is being set up), a write
 * open is split: an existing file is opened without O_TRUNC (proving the
 * permission, changing nothing); a new file gets a placeholder descriptor
 * after a write-permission check on its directory. Once the data channel is
 * secured, ftps_fsio_commit() truncates or creates the real file onto the
 * same descriptor. A refused data connection leaves the file as it was.
 * mod_xfer chowns the upload by path (UserOwner, GroupOwner) before the data
 * connection opens; for a file not created yet, that ownership is kept
 * here and applied at creation.
 *
 * The client chooses when its data channel gets secured, so the deferral
 * must not weaken what the core's open guaranteed at STOR time: creation is
 * exclusive where the core's would have been (HiddenStores, STOU,
 * AllowOverwrite off), APPE appends to a file created meanwhile, an
 * existing target must still be the same file, and mod_xfer's failure
 * paths may unlink only a file this upload created or truncated. Opens
 * the deferral cannot handle (a path too long, not the upload's first
 * write open) go to the core unchanged.
 */

#ifndef _GNU_SOURCE
# define _GNU_SOURCE
#endif
#include <sys/mman.h>

#include "mod_ftps.h"

static const char *trace_channel = "ftps.fsio";

/*
 * The upload being set up in this process (at most one at a time). Armed
 * by the command's PRE_CMD, it defers the first write open of that command
 * only; it guards unlinks of that path until the command's LOG phase, since
 * mod_xfer's failure paths (stor_abort, xfer_err_cleanup) run that late.
 */
static struct {
  cmd_rec *cmd;                 /* the upload command that armed us */
  int armed;
  int used;                     /* this command's deferral is taken */
  int stou;                     /* the command is STOU */
  int guard;                    /* unlinks of path are checked */
  int ours;                     /* the file at path is this upload's */
  int fd;                       /* descriptor handed to mod_xfer, or -1 */
  int create;                   /* fd is a placeholder; create at commit */
  int truncate;                 /* truncate at commit */
  int flags;                    /* flags to create with at commit */
  mode_t mode;                  /* STOU: mode to keep, or 0 */
  dev_t dev;                    /* identity of the file at path: the */
  ino_t ino;                    /* existing one, or ours once created */
  char path[PR_TUNABLE_PATH_MAX];
  int (*next_open)(pr_fh_t *, const char *, int);
  uid_t uid;                    /* ownership asked for before creation */
  gid_t gid;                    /* ((uid_t) -1: unchanged) */
} pending = { NULL, 0, 0, 0, 0, 0, -1 };

static pr_fs_t *ftps_fs;

static int is_upload(const char *cmd) {
  return strcmp(cmd, C_STOR) == 0 || strcmp(cmd, C_APPE) == 0 ||
    strcmp(cmd, C_STOU) == 0;
}

/* The first layer below ours that implements open(). */
static int (*lower_open(pr_fh_t *fh))(pr_fh_t *, const char *, int) {
  pr_fs_t *fs = (fh != NULL && fh->fh_fs != NULL) ? fh->fh_fs->fs_next :
    NULL;

  while (fs != NULL && fs->open == NULL) {
    fs = fs->fs_next;
  }
  return fs != NULL ? fs->open : NULL;
}

/* Write permission on the directory that would hold path (effective IDs). */
static int dir_writable(const char *path) {
  char dir[PR_TUNABLE_PATH_MAX];
  const char *slash = strrchr(path, '/');

  if (slash == NULL) {
    sstrncpy(dir, ".", sizeof(dir));
  } else if (slash == path) {
    sstrncpy(dir, "/", sizeof(dir));
  } else {
    size_t len = (size_t) (slash - path);
    if (len >= sizeof(dir)) {
      errno = ENAMETOOLONG;
      return -1;
    }
    memcpy(dir, path, len);
    dir[len] = '\0';
  }
  return faccessat(AT_FDCWD, dir, W_OK|X_OK, AT_EACCESS);
}

static int same_file(const struct stat *st) {
  return st->st_dev == pending.dev && st->st_ino == pending.ino;
}

static int overwrite_allowed(void) {
  unsigned char *allow = get_param_ptr(CURRENT_CONF, "AllowOverwrite",
    FALSE);

  return allow != NULL && *allow == TRUE;
}

/*
 * SECURITY: the name is free now but may be taken before the data channel
 * is secured, at a time the client chooses. Where the core's open would
 * not have overwritten a file created meanwhile (HiddenStores' O_EXCL,
 * STOU's unique name, AllowOverwrite off), creation at commit is exclusive.
 */
static int creation_flags(int flags) {
  if (pending.stou || ((flags & O_TRUNC) && !overwrite_allowed())) {
    flags |= O_EXCL;
  }
  return flags;
}

static int defer_creation(const char *path, int flags) {
  int fd;

  if (dir_writable(path) < 0) {
    return -1;
  }
  fd = memfd_create("mod_ftps-upload", MFD_CLOEXEC);
  if (fd < 0) {
    return -1;
  }
  pending.create = TRUE;
  pending.flags = creation_flags(flags);
  return fd;
}

/*
 * STOU: mod_xfer's PRE_CMD made the unique file with mkstemp(3), before
 * any data connection. Give the name back and create it exclusively at
 * commit, so a refused data connection leaves nothing behind. SECURITY:
 * only the empty file this user just made is removed, and only if the name
 * still designates it (a window between lstat and unlink remains, as in
 * any unlink by name; it is not the client's to time).
 */
static int defer_stou(int fd, const struct stat *st, const char *path,
    int flags) {
  struct stat cur;

  if (!S_ISREG(st->st_mode) || st->st_size != 0 || st->st_nlink != 1 ||
      st->st_uid != geteuid() || lstat(path, &cur) < 0 || !same_file(&cur) ||
      unlink(path) < 0) {
    pr_trace_msg(trace_channel, 3, "STOU file '%s' not deferred", path);
    pending.truncate = (flags & O_TRUNC) != 0;
    return fd;
  }
  (void) close(fd);
  pending.mode = st->st_mode & 07777;
  return defer_creation(path, flags);
}

static int defer_existing(int fd, const char *path, int flags) {
  struct stat st;

  if (flags & O_EXCL) {
    (void) close(fd);
    errno = EEXIST;
    return -1;
  }
  if (fstat(fd, &st) < 0) {
    int xerrno = errno;
    (void) close(fd);
    errno = xerrno;
    return -1;
  }
  pending.dev = st.st_dev;
  pending.ino = st.st_ino;
  if (pending.stou) {
    return defer_stou(fd, &st, path, flags);
  }
  pending.truncate = (flags & O_TRUNC) != 0;
  return fd;
}

/* A write open that creates or truncates, first of an armed upload. */
static int wants_deferral(const char *path, int flags) {
  return pending.armed && !pending.used &&
    (flags & (O_WRONLY|O_RDWR)) && (flags & (O_CREAT|O_TRUNC)) &&
    strlen(path) < sizeof(pending.path);
}

static int deferred_open(pr_fh_t *fh, const char *path, int flags) {
  int (*next)(pr_fh_t *, const char *, int) = lower_open(fh);
  int fd;

  if (next == NULL) {
    errno = ENOSYS;
    return -1;
  }
  if (!wants_deferral(path, flags)) {
    return next(fh, path, flags);
  }

  pending.used = pending.guard = TRUE;
  pending.next_open = next;
  sstrncpy(pending.path, path, sizeof(pending.path));

  fd = next(fh, path, flags & ~(O_CREAT|O_TRUNC|O_EXCL));
  if (fd >= 0) {
    fd = defer_existing(fd, path, flags);
  } else if (errno == ENOENT && (flags & O_CREAT)) {
    fd = defer_creation(path, flags);
  }
  if (fd < 0) {
    return -1;
  }

  pending.fd = fd;
  ftps_log_trace(trace_channel, 9, "deferred %s of '%s' until the data "
    "channel is secured", pending.create ? "creation" : "truncation", path);
  return fd;
}

/* Is path the upload whose creation waits for the data channel? */
static int is_pending_creation(const char *path) {
  return pending.fd >= 0 && pending.create &&
    path != NULL && strcmp(path, pending.path) == 0;
}

/* chown()/lchown() of the first layer below ours that implements it. */
static int lower_chown(pr_fs_t *fs, const char *path, uid_t uid, gid_t gid,
    int link) {
  pr_fs_t *next = fs != NULL ? fs->fs_next : NULL;

  while (next != NULL && (link ? next->lchown : next->chown) == NULL) {
    next = next->fs_next;
  }
  if (next == NULL) {
    errno = ENOSYS;
    return -1;
  }
  return link ? next->lchown(next, path, uid, gid) :
    next->chown(next, path, uid, gid);
}

static int remember_owner(uid_t uid, gid_t gid) {
  if (uid != (uid_t) -1) {
    pending.uid = uid;
  }
  if (gid != (gid_t) -1) {
    pending.gid = gid;
  }
  return 0;
}

static int deferred_chown(pr_fs_t *fs, const char *path, uid_t uid,
    gid_t gid) {
  return is_pending_creation(path) ? remember_owner(uid, gid) :
    lower_chown(fs, path, uid, gid, FALSE);
}

static int deferred_lchown(pr_fs_t *fs, const char *path, uid_t uid,
    gid_t gid) {
  return is_pending_creation(path) ? remember_owner(uid, gid) :
    lower_chown(fs, path, uid, gid, TRUE);
}

/* Ownership asked for before the file existed (needs root for a uid). */
static int apply_owner(int fd) {
  int res, xerrno;

  if (pending.uid == (uid_t) -1 && pending.gid == (gid_t) -1) {
    return 0;
  }
  pr_signals_block();
  PRIVS_ROOT
  res = fchown(fd, pending.uid, pending.gid);
  xerrno = errno;
  PRIVS_RELINQUISH
  pr_signals_unblock();
  if (res < 0) {
    ftps_log(FTPS_LOG_ERROR, "cannot set the ownership of '%s': %s",
      pending.path, strerror(xerrno));
  }
  return 0;
}

/* Unlink of path by the first layer below ours that implements it. */
static int lower_unlink(pr_fs_t *fs, const char *path) {
  pr_fs_t *next = fs != NULL ? fs->fs_next : NULL;

  while (next != NULL && next->unlink == NULL) {
    next = next->fs_next;
  }
  if (next == NULL) {
    errno = ENOSYS;
    return -1;
  }
  return next->unlink(next, path);
}

/* Does path still name the file this upload created or truncated? */
static int still_ours(const char *path) {
  struct stat st;

  return pending.ours && lstat(path, &st) == 0 && same_file(&st);
}

/*
 * SECURITY: mod_xfer removes the upload's file when it fails
 * (DeleteAbortedStores, HiddenStores' temp file), by name. Unless this
 * upload created or truncated the file now at that name, the file is
 * someone else's (another session's upload that took the name while our
 * data channel was not yet secured, or a file we never touched): keep it.
 */
static int guarded_unlink(pr_fs_t *fs, const char *path) {
  if (pending.guard && strcmp(path, pending.path) == 0 &&
      !still_ours(path)) {
    ftps_log(FTPS_LOG_WARNING, "not removing '%s' after a failed upload: "
      "this upload did not create it", path);
    errno = ENOENT;
    return -1;
  }
  return lower_unlink(fs, path);
}

static int fail_commit(const char *what, int xerrno) {
  ftps_log(FTPS_LOG_ERROR, "cannot %s '%s' for upload: %s", what,
    pending.path, strerror(xerrno));
  errno = xerrno;
  return -1;
}

/* Put the created file behind mod_xfer's descriptor. SECURITY: dup2(2)
 * would drop FD_CLOEXEC, leaking the upload's descriptor into programs the
 * session runs (mod_exec, pipes in log directives); dup3 keeps it. */
static int install_fd(int fd) {
  struct stat st;

  if (dup3(fd, pending.fd, O_CLOEXEC) < 0 || fstat(pending.fd, &st) < 0) {
    return -1;
  }
  pending.dev = st.st_dev;
  pending.ino = st.st_ino;
  return 0;
}

static int commit_creation(void) {
  int fd, xerrno;

  fd = pending.next_open(NULL, pending.path, pending.flags);
  if (fd < 0) {
    xerrno = errno;
    return fail_commit(xerrno == EEXIST ? "create (it appeared while the "
      "data channel was being secured)" : "create", xerrno);
  }
  if ((!(pending.flags & O_TRUNC) && lseek(fd, 0, SEEK_END) < 0) ||
      (pending.mode != 0 && fchmod(fd, pending.mode) < 0) ||
      install_fd(fd) < 0) {
    xerrno = errno;
    (void) close(fd);
    if (pending.flags & O_EXCL) {
      (void) unlink(pending.path);      /* exclusively ours, and unusable */
    }
    return fail_commit("create", xerrno);
  }
  (void) close(fd);
  (void) apply_owner(pending.fd);
  return 0;
}

/*
 * SECURITY: the file existed when the upload was armed; the client chose
 * when the data channel got secured. If the name now designates another
 * file (replaced or removed meanwhile), writing into ours would report a
 * complete upload nobody can see, and truncating would be blind: refuse.
 */
static int commit_existing(void) {
  struct stat st;

  if (stat(pending.path, &st) < 0) {
    return fail_commit("reopen (removed while the data channel was being "
      "secured)", errno);
  }
  if (!same_file(&st)) {
    return fail_commit("reopen (replaced while the data channel was being "
      "secured)", ESTALE);
  }
  if (pending.truncate && ftruncate(pending.fd, 0) < 0) {
    return fail_commit("truncate", errno);
  }
  return 0;
}

int ftps_fsio_commit(void) {
  int res;

  if (pending.fd < 0) {
    return 0;
  }
  res = pending.create ? commit_creation() : commit_existing();
  pending.fd = -1;
  pending.ours = (res == 0);
  return res;
}

void ftps_fsio_arm(cmd_rec *cmd) {
  if (ftps_fs == NULL || !is_upload(cmd->argv[0])) {
    return;
  }
  memset(&pending, 0, sizeof(pending));
  pending.cmd = cmd;
  pending.armed = TRUE;
  pending.stou = strcmp(cmd->argv[0], C_STOU) == 0;
  pending.fd = -1;
  pending.uid = (uid_t) -1;
  pending.gid = (gid_t) -1;
}

/* Opens are deferred only until the command's POST phase. */
void ftps_fsio_disarm(cmd_rec *cmd) {
  if (cmd == pending.cmd) {
    pending.armed = FALSE;
    pending.fd = -1;
  }
}

/* The upload's command is over, with all its failure paths (called at the
 * next command). */
void ftps_fsio_end(void) {
  memset(&pending, 0, sizeof(pending));
  pending.fd = -1;
}

int ftps_fsio_register(void) {
  ftps_fs = pr_register_fs(session.pool, "mod_ftps", "/");
  if (ftps_fs == NULL) {
    return -1;
  }
  ftps_fs->open = deferred_open;
  ftps_fs->chown = deferred_chown;
  ftps_fs->lchown = deferred_lchown;
  ftps_fs->unlink = guarded_unlink;
  return 0;
}
