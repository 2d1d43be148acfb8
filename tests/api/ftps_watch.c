/*
 * ftps_watch.c -- unit tests of mod_ftps/ftps_watch.c: the FTPSReload
 * value grammar (a table with negative rows) and change detection on real
 * files in a temporary directory: unchanged, rewritten in place, replaced
 * by rename, removed, appeared, a directory gaining an entry.
 * Pure: libc and Check only.
 */

#include <sys/stat.h>
#include <sys/time.h>

#include "tests.h"
#include "ftps/ftps_watch.h"

typedef struct {
  const char *name;
  int argc;
  const char *argv[3];
  int want_res;
  int want_secs;
} reload_row_t;

static const reload_row_t reload_rows[] = {
  { "off",            1, { "off" },          0, 0 },
  { "OFF",            1, { "OFF" },          0, 0 },
  { "auto",           1, { "auto" },         0, FTPS_RELOAD_DEFAULT_SECS },
  { "auto_1",         2, { "auto", "1" },    0, 1 },
  { "auto_max",       2, { "auto", "86400" }, 0, 86400 },
  { "auto_0",         2, { "auto", "0" },    -1, 0 },
  { "auto_too_big",   2, { "auto", "86401" }, -1, 0 },
  { "auto_negative",  2, { "auto", "-5" },   -1, 0 },
  { "auto_plus",      2, { "auto", "+5" },   -1, 0 },
  { "auto_suffix",    2, { "auto", "5s" },   -1, 0 },
  { "auto_empty",     2, { "auto", "" },     -1, 0 },
  { "off_with_secs",  2, { "off", "5" },     -1, 0 },
  { "on",             1, { "on" },           -1, 0 },
  { "three_args",     3, { "auto", "5", "x" }, -1, 0 },
  { "none",           0, { NULL },           -1, 0 },
};

START_TEST (ftps_watch_parse_reload_args_test) {
  char err[128];
  int secs = 0;
  char *argv[] = { (char *) "auto", NULL };

  mark_point();
  ck_assert_int_eq(ftps_watch_parse_reload(1, NULL, &secs, err,
    sizeof(err)), -1);
  ck_assert_int_eq(ftps_watch_parse_reload(1, argv, NULL, err, sizeof(err)),
    -1);
  ck_assert_int_eq(errno, EINVAL);
  /* No error buffer is fine. */
  ck_assert_int_eq(ftps_watch_parse_reload(1, argv, &secs, NULL, 0), 0);
}
END_TEST

START_TEST (ftps_watch_parse_reload_values_test) {
  const reload_row_t *row = &reload_rows[_i];
  char err[128] = "";
  int secs = -42, res;

  mark_point();
  res = ftps_watch_parse_reload(row->argc, (char *const *) row->argv, &secs,
    err, sizeof(err));
  ck_assert_msg(res == row->want_res, "%s: expected %d, got %d", row->name,
    row->want_res, res);
  if (res == 0) {
    ck_assert_msg(secs == row->want_secs, "%s: expected %d seconds, got %d",
      row->name, row->want_secs, secs);
  } else {
    ck_assert_msg(strstr(err, "expected off, auto") != NULL,
      "%s: error does not say what is accepted: '%s'", row->name, err);
  }
}
END_TEST

/* ---- change detection ---------------------------------------------- */

static char dir[256];

static void path_of(char *out, size_t len, const char *name) {
  snprintf(out, len, "%s/%s", dir, name);
}

static void write_file(const char *name, const char *data) {
  char p[512];
  FILE *f;

  path_of(p, sizeof(p), name);
  f = fopen(p, "w");
  ck_assert_msg(f != NULL, "cannot write %s", p);
  fputs(data, f);
  fclose(f);
}

/* Move a file's mtime, as a second writer a second later would. */
static void bump_mtime(const char *name) {
  struct timeval tv[2];
  char p[512];

  path_of(p, sizeof(p), name);
  gettimeofday(&tv[0], NULL);
  tv[0].tv_sec += 5;
  tv[1] = tv[0];
  ck_assert_int_eq(utimes(p, tv), 0);
}

static void watch_setup(void) {
  snprintf(dir, sizeof(dir), "/tmp/ftps-watch-XXXXXX");
  ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp");
  write_file("cert.pem", "certificate one\n");
  write_file("key.pem", "key one\n");
  write_file("ca.pem", "ca\n");
}

static void watch_teardown(void) {
  char cmd[300];

  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  if (system(cmd) != 0) {
    fprintf(stderr, "cannot remove %s\n", dir);
  }
}

static ftps_watch_t *watch_all(void) {
  ftps_watch_t *w = ftps_watch_new();
  char p[512];

  ck_assert_ptr_nonnull(w);
  path_of(p, sizeof(p), "cert.pem");
  ck_assert_int_eq(ftps_watch_add(w, "FTPSCertificate", p), 0);
  path_of(p, sizeof(p), "key.pem");
  ck_assert_int_eq(ftps_watch_add(w, "FTPSCertificate", p), 0);
  path_of(p, sizeof(p), "crl.pem");     /* missing for now */
  ck_assert_int_eq(ftps_watch_add(w, "FTPSCARevocationFile", p), 0);
  return w;
}

START_TEST (ftps_watch_changed_args_test) {
  const char *label, *path;
  ftps_watch_t *w = ftps_watch_new();

  mark_point();
  ck_assert_int_eq(ftps_watch_add(NULL, "x", "/"), -1);
  ck_assert_int_eq(ftps_watch_add(w, NULL, "/"), -1);
  ck_assert_int_eq(ftps_watch_add(w, "x", ""), -1);
  ck_assert_int_eq(errno, EINVAL);
  ck_assert_int_eq(ftps_watch_changed(NULL, &label, &path), -1);
  ck_assert_int_eq(ftps_watch_changed(w, NULL, &path), -1);
  ck_assert_int_eq(ftps_watch_count(NULL), 0);
  ck_assert_int_eq(ftps_watch_changed(w, &label, &path), 0);
  ftps_watch_free(w);
  ftps_watch_free(NULL);
}
END_TEST

typedef struct {
  const char *name;
  void (*change)(void);
  int want_changed;
  const char *want_label;
  const char *want_file;
} change_row_t;

static void nothing(void) {}
static void rewrite_same_size(void) {
  write_file("cert.pem", "certificate two\n");
  bump_mtime("cert.pem");
}
static void rewrite_longer(void) { write_file("key.pem", "key two, longer\n"); }
static void replace_by_rename(void) {
  char a[512], b[512];

  write_file("new.pem", "certificate one\n");
  path_of(a, sizeof(a), "new.pem");
  path_of(b, sizeof(b), "cert.pem");
  ck_assert_int_eq(rename(a, b), 0);
}
static void remove_key(void) {
  char p[512];

  path_of(p, sizeof(p), "key.pem");
  ck_assert_int_eq(unlink(p), 0);
}
static void crl_appears(void) { write_file("crl.pem", "crl\n"); }
static void unrelated_file(void) { write_file("other.pem", "x\n"); }

static const change_row_t change_rows[] = {
  { "unchanged",         nothing,           0, NULL, NULL },
  { "unrelated_file",    unrelated_file,    0, NULL, NULL },
  { "rewritten_in_place", rewrite_same_size, 1, "FTPSCertificate",
    "cert.pem" },
  { "rewritten_longer",  rewrite_longer,    1, "FTPSCertificate", "key.pem" },
  { "replaced_by_rename", replace_by_rename, 1, "FTPSCertificate",
    "cert.pem" },
  { "removed",           remove_key,        1, "FTPSCertificate", "key.pem" },
  { "missing_appears",   crl_appears,       1, "FTPSCARevocationFile",
    "crl.pem" },
};

START_TEST (ftps_watch_changed_values_test) {
  const change_row_t *row = &change_rows[_i];
  const char *label = NULL, *path = NULL;
  ftps_watch_t *w;
  int res;

  watch_setup();
  w = watch_all();
  mark_point();
  row->change();
  res = ftps_watch_changed(w, &label, &path);
  ck_assert_msg(res == row->want_changed, "%s: expected %d, got %d",
    row->name, row->want_changed, res);
  if (res == 1) {
    ck_assert_msg(strcmp(label, row->want_label) == 0, "%s: label '%s'",
      row->name, label);
    ck_assert_msg(strstr(path, row->want_file) != NULL, "%s: path '%s'",
      row->name, path);
  }
  ftps_watch_free(w);
  watch_teardown();
}
END_TEST

START_TEST (ftps_watch_changed_directory_test) {
  const char *label = NULL, *path = NULL;
  ftps_watch_t *w;

  watch_setup();
  w = ftps_watch_new();
  mark_point();
  ck_assert_int_eq(ftps_watch_add(w, "FTPSCACertificatePath", dir), 0);
  ck_assert_msg(ftps_watch_count(w) == 4, "expected the directory and its 3 "
    "entries, got %u", ftps_watch_count(w));
  ck_assert_int_eq(ftps_watch_changed(w, &label, &path), 0);
  /* An entry edited in place: seen through the entry. */
  write_file("ca.pem", "another ca, longer\n");
  ck_assert_int_eq(ftps_watch_changed(w, &label, &path), 1);
  ck_assert_str_eq(label, "FTPSCACertificatePath");
  ftps_watch_free(w);

  /* A new entry: seen through the directory. */
  w = ftps_watch_new();
  ck_assert_int_eq(ftps_watch_add(w, "FTPSCACertificatePath", dir), 0);
  write_file("added.pem", "x\n");
  ck_assert_int_eq(ftps_watch_changed(w, &label, &path), 1);
  ck_assert_str_eq(path, dir);
  ftps_watch_free(w);
  watch_teardown();
}
END_TEST

Suite *tests_get_watch_suite(void) {
  Suite *suite = suite_create("ftps_watch");
  TCase *tc;

  tc = tcase_create("parse_reload");
  tcase_add_test(tc, ftps_watch_parse_reload_args_test);
  tcase_add_loop_test(tc, ftps_watch_parse_reload_values_test, 0,
    TESTS_NELEMS(reload_rows));
  suite_add_tcase(suite, tc);

  tc = tcase_create("changed");
  tcase_add_test(tc, ftps_watch_changed_args_test);
  tcase_add_loop_test(tc, ftps_watch_changed_values_test, 0,
    TESTS_NELEMS(change_rows));
  tcase_add_test(tc, ftps_watch_changed_directory_test);
  suite_add_tcase(suite, tc);
  return suite;
}
