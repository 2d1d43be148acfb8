/*
 * ftps_watch.h -- notices that a file the TLS contexts were built from has
 * changed (FTPSReload auto): a snapshot of the identity (device, inode),
 * size and modification time of a list of paths, compared with the files
 * as they are now. A directory (FTPSCACertificatePath, ...) counts as
 * itself plus each of its entries, so both a renamed-in file and an
 * edit in place are seen. Also the FTPSReload value parser.
 *
 * PURE: libc only (B2). No ProFTPD and no OpenSSL headers.
 */
#ifndef FTPS_WATCH_H
#define FTPS_WATCH_H

#include <stddef.h>

/* FTPSReload off|auto [seconds]: the default interval, recorded once. */
#define FTPS_RELOAD_DEFAULT_SECS  60
#define FTPS_RELOAD_MAX_SECS      86400

/* A snapshot of watched paths, opaque; labels name the directive each
 * path belongs to, for the log line that says what changed. */
typedef struct ftps_watch_st ftps_watch_t;

ftps_watch_t *ftps_watch_new(void);

/* Add path (label: e.g. "FTPSCertificate", copied) as it is now; a
 * missing file is recorded as missing (its appearance is a change). A
 * directory adds each entry not starting with '.'. 0 or -1/EINVAL|ENOMEM. */
int ftps_watch_add(ftps_watch_t *w, const char *label, const char *path);

/* Number of paths recorded (directory entries included). */
unsigned int ftps_watch_count(const ftps_watch_t *w);

/*
 * Has any recorded path changed since the snapshot (identity, size, mtime,
 * appeared or vanished), or has a watched directory gained or lost an
 * entry? 1 with label and path set to the first change (pointers into w,
 * valid until ftps_watch_free), 0 if nothing changed, -1/EINVAL.
 */
int ftps_watch_changed(const ftps_watch_t *w, const char **label,
  const char **path);

void ftps_watch_free(ftps_watch_t *w);

/*
 * Parse FTPSReload's arguments (after the directive name): "off", "auto"
 * or "auto <seconds>" (1..86400). *secs is 0 for off, else the interval.
 * 0, or -1/EINVAL with a message naming what is accepted in err.
 */
int ftps_watch_parse_reload(int argc, char *const *argv, int *secs,
  char *err, size_t errlen);

#endif /* FTPS_WATCH_H */
