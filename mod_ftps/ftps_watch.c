/*
 * ftps_watch.c -- owns the change detection behind FTPSReload auto: a
 * snapshot of (device, inode, size, mtime) per watched path, and the
 * FTPSReload value parser. certbot and most tools replace a file by
 * rename(2) (a new inode); editors and `cp` rewrite it in place (a new
 * mtime and usually a new size): either is a change.
 *
 * PURE: libc only; must not include ProFTPD or OpenSSL headers (B2).
 */

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "ftps/ftps_watch.h"

typedef struct {
  char *label;
  char *path;
  int present;
  dev_t dev;
  ino_t ino;
  off_t size;
  long long mtime_ns;
  mode_t mode;
} entry_t;

struct ftps_watch_st {
  entry_t *e;
  unsigned int n, cap;
};

ftps_watch_t *ftps_watch_new(void) {
  return calloc(1, sizeof(ftps_watch_t));
}

/* What a path looks like now; a missing path is "not present". */
static void look(const char *path, entry_t *out) {
  struct stat st;

  out->present = stat(path, &st) == 0;
  if (!out->present) {
    return;
  }
  out->dev = st.st_dev;
  out->ino = st.st_ino;
  out->size = st.st_size;
  out->mtime_ns = (long long) st.st_mtim.tv_sec * 1000000000LL +
    st.st_mtim.tv_nsec;
  out->mode = st.st_mode;
}

static int same(const entry_t *a, const entry_t *b) {
  if (a->present != b->present) {
    return 0;
  }
  return !a->present || (a->dev == b->dev && a->ino == b->ino &&
    a->size == b->size && a->mtime_ns == b->mtime_ns);
}

static int add_one(ftps_watch_t *w, const char *label, const char *path) {
  entry_t *e;

  if (w->n == w->cap) {
    unsigned int cap = w->cap ? w->cap * 2 : 16;
    entry_t *grown = realloc(w->e, cap * sizeof(entry_t));

    if (grown == NULL) {
      errno = ENOMEM;
      return -1;
    }
    w->e = grown;
    w->cap = cap;
  }
  e = &w->e[w->n];
  memset(e, 0, sizeof(*e));
  e->label = strdup(label);
  e->path = strdup(path);
  if (e->label == NULL || e->path == NULL) {
    free(e->label);
    free(e->path);
    errno = ENOMEM;
    return -1;
  }
  look(path, e);
  w->n++;
  return 0;
}

/* Each entry of a directory; added or removed entries change the
 * directory's own mtime, which is watched too. */
static int add_dir_entries(ftps_watch_t *w, const char *label,
    const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *de;
  int rc = 0;

  if (d == NULL) {
    return 0;    /* recorded as it is; a later change shows on the dir */
  }
  while (rc == 0 && (de = readdir(d)) != NULL) {
    char path[4096];

    if (de->d_name[0] == '.') {
      continue;
    }
    if ((size_t) snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >=
        sizeof(path)) {
      continue;
    }
    rc = add_one(w, label, path);
  }
  closedir(d);
  return rc;
}

int ftps_watch_add(ftps_watch_t *w, const char *label, const char *path) {
  if (w == NULL || label == NULL || path == NULL || *path == '\0') {
    errno = EINVAL;
    return -1;
  }
  if (add_one(w, label, path) < 0) {
    return -1;
  }
  if (w->e[w->n - 1].present && S_ISDIR(w->e[w->n - 1].mode)) {
    return add_dir_entries(w, label, path);
  }
  return 0;
}

unsigned int ftps_watch_count(const ftps_watch_t *w) {
  return w != NULL ? w->n : 0;
}

int ftps_watch_changed(const ftps_watch_t *w, const char **label,
    const char **path) {
  unsigned int i;

  if (w == NULL || label == NULL || path == NULL) {
    errno = EINVAL;
    return -1;
  }
  for (i = 0; i < w->n; i++) {
    entry_t now;

    look(w->e[i].path, &now);
    if (!same(&w->e[i], &now)) {
      *label = w->e[i].label;
      *path = w->e[i].path;
      return 1;
    }
  }
  return 0;
}

void ftps_watch_free(ftps_watch_t *w) {
  unsigned int i;

  if (w == NULL) {
    return;
  }
  for (i = 0; i < w->n; i++) {
    free(w->e[i].label);
    free(w->e[i].path);
  }
  free(w->e);
  free(w);
}

static int fail(char *err, size_t errlen, const char *msg) {
  if (err != NULL && errlen > 0) {
    snprintf(err, errlen, "%s", msg);
  }
  errno = EINVAL;
  return -1;
}

int ftps_watch_parse_reload(int argc, char *const *argv, int *secs,
    char *err, size_t errlen) {
  static const char *const usage = "expected off, auto or auto <seconds> "
    "(1 to 86400)";
  char *end = NULL;
  long v;

  if (argv == NULL || secs == NULL || argc < 1 || argc > 2 ||
      argv[0] == NULL) {
    return fail(err, errlen, usage);
  }
  if (strcasecmp(argv[0], "off") == 0 && argc == 1) {
    *secs = 0;
    return 0;
  }
  if (strcasecmp(argv[0], "auto") != 0) {
    return fail(err, errlen, usage);
  }
  if (argc == 1) {
    *secs = FTPS_RELOAD_DEFAULT_SECS;
    return 0;
  }
  errno = 0;
  v = strtol(argv[1], &end, 10);
  if (argv[1][0] < '0' || argv[1][0] > '9' || end == NULL || *end != '\0' ||
      errno != 0 || v < 1 || v > FTPS_RELOAD_MAX_SECS) {
    return fail(err, errlen, usage);
  }
  *secs = (int) v;
  return 0;
}
