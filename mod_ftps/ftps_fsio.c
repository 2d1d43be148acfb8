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
 */

#ifndef _GNU_SOURCE
# define _GNU_SOURCE
#endif
#include <sys/mman.h>

#include "mod_ftps.h"

static const char *trace_channel = "ftps.fsio";

/* The upload being set up in this process (at most one at a time). */
static struct {
  int armed;
  int fd;                       /* descriptor handed to mod_xfer, or -1 */
  int create;                   /* fd is a placeholder; create at commit */
  int truncate;                 /* truncate at commit */
  int flags;                    /* the original open flags */
  char *path;
  int (*next_open)(pr_fh_t *, const char *, int);
  uid_t uid;                    /* ownership asked for before creation */
  gid_t gid;                    /* ((uid_t) -1: unchanged) */
} pending = { 0, -1 };

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

static int deferred_open(pr_fh_t *fh, const char *path, int flags) {
  int (*next)(pr_fh_t *, const char *, int) = lower_open(fh);
  int fd;

  if (next == NULL) {
    errno = ENOSYS;
    return -1;
  }
  if (!pending.armed || pending.fd >= 0 ||
      !(flags & (O_WRONLY|O_RDWR)) || !(flags & (O_CREAT|O_TRUNC))) {
    return next(fh, path, flags);
  }

  pending.next_open = next;
  pending.flags = flags;
  pending.truncate = (flags & O_TRUNC) != 0;
  pending.create = 0;

  fd = next(fh, path, flags & ~(O_CREAT|O_TRUNC|O_EXCL));
  if (fd < 0) {
    if (errno != ENOENT || !(flags & O_CREAT) || dir_writable(path) < 0) {
      return -1;
    }
    fd = memfd_create("mod_ftps-upload", MFD_CLOEXEC);
    if (fd < 0) {
      return -1;
    }
    pending.create = 1;
  } else if (flags & O_EXCL) {
    (void) close(fd);
    errno = EEXIST;
    return -1;
  }

  pending.fd = fd;
  pending.path = pstrdup(session.pool, path);
  pending.uid = (uid_t) -1;
  pending.gid = (gid_t) -1;
  ftps_log_trace(trace_channel, 9, "deferred %s of '%s' until the data "
    "channel is secured", pending.create ? "creation" : "truncation", path);
  return fd;
}

/* Is path the upload whose creation waits for the data channel? */
static int is_pending_creation(const char *path) {
  return pending.armed && pending.fd >= 0 && pending.create &&
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
    ftps_log("cannot set the ownership of '%s': %s", pending.path,
      strerror(xerrno));
  }
  return 0;
}

int ftps_fsio_commit(void) {
  int fd, xerrno;

  if (pending.fd < 0 || (!pending.create && !pending.truncate)) {
    pending.fd = -1;
    return 0;
  }

  if (pending.create) {
    fd = pending.next_open(NULL, pending.path, pending.flags);
    if (fd < 0 || dup2(fd, pending.fd) < 0) {
      xerrno = errno;
      if (fd >= 0) {
        (void) close(fd);
      }
      ftps_log("cannot create '%s' for upload: %s", pending.path,
        strerror(xerrno));
      errno = xerrno;
      return -1;
    }
    (void) close(fd);
    (void) apply_owner(pending.fd);

  } else if (ftruncate(pending.fd, 0) < 0) {
    xerrno = errno;
    ftps_log("cannot truncate '%s' for upload: %s", pending.path,
      strerror(xerrno));
    errno = xerrno;
    return -1;
  }

  pending.fd = -1;
  return 0;
}

void ftps_fsio_arm(cmd_rec *cmd) {
  if (ftps_fs != NULL && is_upload(cmd->argv[0])) {
    pending.armed = TRUE;
    pending.fd = -1;
  }
}

void ftps_fsio_disarm(void) {
  pending.armed = FALSE;
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
  return 0;
}
