/*
 * ftps_policy.c -- unit tests of mod_ftps/ftps_policy.c: every directive-value
 * parser as a known-answer table (good and bad rows), defaults, merge and
 * cross-directive validation. Pure: libc and Check only (B2, B19, B20).
 */

#include "tests.h"
#include "ftps/ftps_policy.h"

#define ERRLEN      256
#define SENTINEL    (-12345)

/* A message that must appear in err (NULL: not checked). */
static void assert_err_has(const char *err, const char *want, const char *row) {
  if (want != NULL) {
    ck_assert_msg(strstr(err, want) != NULL,
      "%s: expected error containing '%s', got '%s'", row, want, err);
  }
}

/* ---- the single-value parsers ----------------------------------------
 * bool, required, timeout, count, verify, depth share one contract:
 * (string, &out, err, errlen) -> 0 and *out, or -1/EINVAL, *out untouched
 * and a message saying what is accepted. One table covers them all.
 */

typedef int (*parse_fn)(const char *, int *, char *, size_t);

static const struct {
  const char *name;
  parse_fn fn;
} parsers[] = {
  { "bool",     ftps_policy_parse_bool },
  { "required", ftps_policy_parse_required },
  { "timeout",  ftps_policy_parse_timeout },
  { "count",    ftps_policy_parse_count },
  { "verify",   ftps_policy_parse_verify },
  { "depth",    ftps_policy_parse_depth },
};

#define P_BOOL     0
#define P_REQUIRED 1
#define P_TIMEOUT  2
#define P_COUNT    3
#define P_VERIFY   4
#define P_DEPTH    5

static const struct {
  int parser;
  const char *in;
  int want_rc;
  int want_out;
  const char *want_err;
} value_rows[] = {
  { P_BOOL, "on",    0, 1, NULL },
  { P_BOOL, "off",   0, 0, NULL },
  { P_BOOL, "ON",    0, 1, NULL },
  { P_BOOL, "Off",   0, 0, NULL },
  { P_BOOL, "yes",   0, 1, NULL },
  { P_BOOL, "no",    0, 0, NULL },
  { P_BOOL, "true",  0, 1, NULL },
  { P_BOOL, "FALSE", 0, 0, NULL },
  { P_BOOL, "1",     0, 1, NULL },
  { P_BOOL, "0",     0, 0, NULL },
  { P_BOOL, "",      -1, SENTINEL, "expected on or off" },
  { P_BOOL, "maybe", -1, SENTINEL, "'maybe' is not a boolean; expected on or off" },
  { P_BOOL, "2",     -1, SENTINEL, "expected on or off" },
  { P_BOOL, "on ",   -1, SENTINEL, "expected on or off" },
  { P_BOOL, "onx",   -1, SENTINEL, "expected on or off" },
  { P_REQUIRED, "off",       0, 0, NULL },
  { P_REQUIRED, "on",        0, FTPS_REQ_AUTH|FTPS_REQ_CTRL|FTPS_REQ_DATA, NULL },
  { P_REQUIRED, "control",   0, FTPS_REQ_AUTH|FTPS_REQ_CTRL, NULL },
  { P_REQUIRED, "ctrl",      0, FTPS_REQ_AUTH|FTPS_REQ_CTRL, NULL },
  { P_REQUIRED, "data",      0, FTPS_REQ_DATA, NULL },
  { P_REQUIRED, "auth",      0, FTPS_REQ_AUTH, NULL },
  { P_REQUIRED, "auth+data", 0, FTPS_REQ_AUTH|FTPS_REQ_DATA, NULL },
  { P_REQUIRED, "ON",        0, FTPS_REQ_AUTH|FTPS_REQ_CTRL|FTPS_REQ_DATA, NULL },
  { P_REQUIRED, "Auth+Data", 0, FTPS_REQ_AUTH|FTPS_REQ_DATA, NULL },
  { P_REQUIRED, "yes",       -1, SENTINEL,
    "unknown value 'yes'; expected off, on, control, data, auth or auth+data" },
  { P_REQUIRED, "data+auth", -1, SENTINEL, "expected off, on, control" },
  { P_REQUIRED, "auth+",     -1, SENTINEL, "expected off, on, control" },
  { P_REQUIRED, "",          -1, SENTINEL, "expected off, on, control" },
  { P_REQUIRED, "control ",  -1, SENTINEL, "expected off, on, control" },
  { P_TIMEOUT, "0",      0, 0, NULL },
  { P_TIMEOUT, "30",     0, 30, NULL },
  { P_TIMEOUT, "1",      0, 1, NULL },
  { P_TIMEOUT, "86400",  0, 86400, NULL },
  { P_TIMEOUT, "030",    0, 30, NULL },
  { P_TIMEOUT, "86401",  -1, SENTINEL, "too long; at most 86400" },
  { P_TIMEOUT, "2147483648", -1, SENTINEL, "too long" },
  { P_TIMEOUT, "99999999999999999999999", -1, SENTINEL, "not a number of seconds" },
  { P_TIMEOUT, "-1",     -1, SENTINEL, "'-1' is not a number of seconds" },
  { P_TIMEOUT, "-0",     -1, SENTINEL, "not a number of seconds" },
  { P_TIMEOUT, "+30",    -1, SENTINEL, "not a number of seconds" },
  { P_TIMEOUT, " 30",    -1, SENTINEL, "not a number of seconds" },
  { P_TIMEOUT, "30 ",    -1, SENTINEL, "not a number of seconds" },
  { P_TIMEOUT, "30s",    -1, SENTINEL, "'30s' is not a number of seconds" },
  { P_TIMEOUT, "abc",    -1, SENTINEL, "'abc' is not a number of seconds" },
  { P_TIMEOUT, "0x10",   -1, SENTINEL, "not a number of seconds" },
  { P_TIMEOUT, "1e3",    -1, SENTINEL, "not a number of seconds" },
  { P_TIMEOUT, "",       -1, SENTINEL, "missing value; expected seconds (0 = none)" },
  { P_COUNT, "0",       0, 0, NULL },
  { P_COUNT, "10",      0, 10, NULL },
  { P_COUNT, "none",    0, 0, NULL },
  { P_COUNT, "NONE",    0, 0, NULL },
  { P_COUNT, "100000",  0, 100000, NULL },
  { P_COUNT, "100001",  -1, SENTINEL, "not a count from 0 to 100000" },
  { P_COUNT, "-1",      -1, SENTINEL, "not a count" },
  { P_COUNT, "ten",     -1, SENTINEL, "'ten' is not a count" },
  { P_COUNT, "10x",     -1, SENTINEL, "not a count" },
  { P_COUNT, "",        -1, SENTINEL, "missing value" },
  { P_VERIFY, "off",      0, FTPS_VERIFY_OFF, NULL },
  { P_VERIFY, "optional", 0, FTPS_VERIFY_OPTIONAL, NULL },
  { P_VERIFY, "on",       0, FTPS_VERIFY_ON, NULL },
  { P_VERIFY, "ON",       0, FTPS_VERIFY_ON, NULL },
  { P_VERIFY, "yes",      -1, SENTINEL,
    "unknown value 'yes'; expected off, optional or on" },
  { P_VERIFY, "require",  -1, SENTINEL, "expected off, optional or on" },
  { P_VERIFY, "",         -1, SENTINEL, "expected off, optional or on" },
  { P_DEPTH, "0",       0, 0, NULL },
  { P_DEPTH, "9",       0, 9, NULL },
  { P_DEPTH, "100",     0, 100, NULL },
  { P_DEPTH, "101",     -1, SENTINEL, "not a chain depth from 0 to 100" },
  { P_DEPTH, "-1",      -1, SENTINEL, "expected a chain depth from 0 to 100" },
  { P_DEPTH, "9 ",      -1, SENTINEL, "not a chain depth" },
  { P_DEPTH, "",        -1, SENTINEL, "expected a chain depth" },
};

/* Each parser: NULL value or NULL out is EINVAL and leaves out alone;
 * without a message buffer it still fails cleanly. */
START_TEST (ftps_policy_parse_value_args_test) {
  char err[ERRLEN] = "";
  int out = SENTINEL, res;
  parse_fn fn = parsers[_i].fn;

  mark_point();
  errno = 0;
  res = fn(NULL, &out, err, sizeof(err));
  ck_assert_msg(res == -1, "%s: Expected %d, got %d", parsers[_i].name, -1,
    res);
  ck_assert_msg(errno == EINVAL, "%s: Expected errno %d, got %d",
    parsers[_i].name, EINVAL, errno);
  ck_assert_msg(out == SENTINEL, "%s: Expected %d, got %d", parsers[_i].name,
    SENTINEL, out);

  mark_point();
  errno = 0;
  res = fn("0", NULL, err, sizeof(err));
  ck_assert_msg(res == -1, "%s: Expected %d, got %d", parsers[_i].name, -1,
    res);
  ck_assert_msg(errno == EINVAL, "%s: Expected errno %d, got %d",
    parsers[_i].name, EINVAL, errno);

  mark_point();
  res = fn("not-a-valid-value", &out, NULL, 0);
  ck_assert_msg(res == -1, "%s: Expected %d, got %d", parsers[_i].name, -1,
    res);
}
END_TEST

START_TEST (ftps_policy_parse_value_table_test) {
  char err[ERRLEN] = "", row[64];
  int out = SENTINEL, res;

  snprintf(row, sizeof(row), "%s '%s'", parsers[value_rows[_i].parser].name,
    value_rows[_i].in);
  mark_point();
  errno = 0;
  res = parsers[value_rows[_i].parser].fn(value_rows[_i].in, &out, err,
    sizeof(err));
  ck_assert_msg(res == value_rows[_i].want_rc, "%s: Expected %d, got %d",
    row, value_rows[_i].want_rc, res);
  ck_assert_msg(out == value_rows[_i].want_out, "%s: Expected %d, got %d",
    row, value_rows[_i].want_out, out);
  if (res < 0) {
    ck_assert_msg(errno == EINVAL, "%s: Expected errno %d, got %d", row,
      EINVAL, errno);
  }
  assert_err_has(err, value_rows[_i].want_err, row);
}
END_TEST


/* ---- ftps_policy_parse_protocols -------------------------------------- */

#define PROTO_MAXARGS 3

static const struct {
  const char *name;
  int argc;
  const char *argv[PROTO_MAXARGS];
  int want_rc;
  int want_out;
  const char *want_err;
  const char *want_err2;
} proto_rows[] = {
  { "tls12",        1, { "TLSv1.2" }, 0, FTPS_PROTO_TLS12, NULL, NULL },
  { "tls13",        1, { "TLSv1.3" }, 0, FTPS_PROTO_TLS13, NULL, NULL },
  { "both",         2, { "TLSv1.2", "TLSv1.3" }, 0, FTPS_PROTO_ALL, NULL,
    NULL },
  { "both_reverse", 2, { "TLSv1.3", "TLSv1.2" }, 0, FTPS_PROTO_ALL, NULL,
    NULL },
  { "lower_case",   1, { "tlsv1.3" }, 0, FTPS_PROTO_TLS13, NULL, NULL },
  { "mixed_case",   2, { "TlSv1.2", "TLSV1.3" }, 0, FTPS_PROTO_ALL, NULL,
    NULL },
  { "tls14",        1, { "TLSv1.4" }, -1, SENTINEL,
    "unknown protocol 'TLSv1.4'", "expected TLSv1.2 and/or TLSv1.3" },
  { "sslv3",        1, { "SSLv3" }, -1, SENTINEL,
    "unknown protocol 'SSLv3'", "expected TLSv1.2 and/or TLSv1.3" },
  /* Legacy versions parse; ftps_policy_validate() wants the option. */
  { "tls11",        1, { "TLSv1.1" }, 0, FTPS_PROTO_TLS11, NULL, NULL },
  { "tls10",        1, { "TLSv1" }, 0, FTPS_PROTO_TLS10, NULL, NULL },
  { "tls10_alias",  1, { "TLSv1.0" }, 0, FTPS_PROTO_TLS10, NULL, NULL },
  { "legacy_range", 3, { "TLSv1", "TLSv1.1", "TLSv1.2" }, 0,
    FTPS_PROTO_TLS10|FTPS_PROTO_TLS11|FTPS_PROTO_TLS12, NULL, NULL },
  { "tls11_to_13",  3, { "TLSv1.3", "TLSv1.1", "TLSv1.2" }, 0,
    FTPS_PROTO_TLS11|FTPS_PROTO_ALL, NULL, NULL },
  { "gap_10_12",    2, { "TLSv1", "TLSv1.2" }, -1, SENTINEL,
    "not a range", "TLSv1 TLSv1.2" },
  { "gap_11_13",    2, { "TLSv1.1", "TLSv1.3" }, -1, SENTINEL,
    "not a range", "list them all" },
  { "tls10_dup_alias", 2, { "TLSv1", "TLSv1.0" }, -1, SENTINEL,
    "listed twice", "TLSv1" },
  { "unknown_names_legacy", 1, { "SSLv2" }, -1, SENTINEL,
    "AllowLegacyProtocols", NULL },
  { "good_then_bad", 2, { "TLSv1.3", "SSLv3" }, -1, SENTINEL,
    "'SSLv3'", "expected TLSv1.2 and/or TLSv1.3" },
  { "mod_tls_syntax", 1, { "TLSv1.2,TLSv1.3" }, -1, SENTINEL,
    "unknown protocol", "TLSv1.2 and/or TLSv1.3" },
  { "empty_string", 1, { "" }, -1, SENTINEL, "unknown protocol", NULL },
  { "duplicate",    2, { "TLSv1.2", "TLSv1.2" }, -1, SENTINEL,
    "listed twice", "TLSv1.2" },
  { "duplicate_case", 3, { "TLSv1.3", "TLSv1.2", "tlsv1.3" }, -1, SENTINEL,
    "listed twice", "TLSv1.3" },
  { "no_args",      0, { NULL }, -1, SENTINEL, "missing value", NULL },
};

START_TEST (ftps_policy_parse_protocols_args_test) {
  char *argv[] = { "TLSv1.2", NULL };
  char *nullarg[] = { NULL };
  char err[ERRLEN] = "";
  int out = SENTINEL, res;

  mark_point();
  res = ftps_policy_parse_protocols(1, NULL, &out, err, sizeof(err));
  ck_assert_msg(res == -1, "Expected %d, got %d", -1, res);
  ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL, errno);

  mark_point();
  res = ftps_policy_parse_protocols(1, argv, NULL, err, sizeof(err));
  ck_assert_msg(res == -1, "Expected %d, got %d", -1, res);
  ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL, errno);

  mark_point();
  res = ftps_policy_parse_protocols(-1, argv, &out, err, sizeof(err));
  ck_assert_msg(res == -1, "Expected %d, got %d", -1, res);
  ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL, errno);

  mark_point();
  res = ftps_policy_parse_protocols(1, nullarg, &out, err, sizeof(err));
  ck_assert_msg(res == -1, "Expected %d, got %d", -1, res);
  ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL, errno);
  ck_assert_msg(out == SENTINEL, "Expected %d, got %d", SENTINEL, out);
}
END_TEST

START_TEST (ftps_policy_parse_protocols_values_test) {
  char err[ERRLEN] = "";
  int out = SENTINEL, res;

  mark_point();
  errno = 0;
  res = ftps_policy_parse_protocols(proto_rows[_i].argc,
    (char *const *) proto_rows[_i].argv, &out, err, sizeof(err));
  ck_assert_msg(res == proto_rows[_i].want_rc, "%s: Expected %d, got %d",
    proto_rows[_i].name, proto_rows[_i].want_rc, res);
  ck_assert_msg(out == proto_rows[_i].want_out, "%s: Expected %d, got %d",
    proto_rows[_i].name, proto_rows[_i].want_out, out);
  if (res < 0) {
    ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL, errno);
  }
  assert_err_has(err, proto_rows[_i].want_err, proto_rows[_i].name);
  assert_err_has(err, proto_rows[_i].want_err2, proto_rows[_i].name);
}
END_TEST

/* A hostile value is quoted only in bounded form. */
START_TEST (ftps_policy_parse_protocols_long_value_test) {
  char big[4096], err[ERRLEN];
  char *argv[1];
  int out = SENTINEL, res;

  memset(big, 'A', sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  argv[0] = big;
  memset(err, 'x', sizeof(err));

  mark_point();
  res = ftps_policy_parse_protocols(1, argv, &out, err, sizeof(err));
  ck_assert_msg(res == -1, "Expected %d, got %d", -1, res);
  ck_assert_msg(memchr(err, '\0', sizeof(err)) != NULL,
    "error message not terminated within its buffer");
  ck_assert_msg(strlen(err) < 200, "Expected a bounded message, got %d bytes",
    (int) strlen(err));
  assert_err_has(err, "expected TLSv1.2 and/or TLSv1.3", "long value");
}
END_TEST

/* ---- ftps_policy_parse_options ---------------------------------------- */

static const struct {
  const char *name;
  int argc;
  const char *argv[2];
  int want_rc;
  int want_out;
  const char *want_err;
} option_rows[] = {
  { "no_reuse", 1, { "NoSessionReuseRequired" }, 0,
    FTPS_OPT_NO_SESSION_REUSE_REQUIRED, NULL },
  { "no_reuse_case", 1, { "nosessionreuserequired" }, 0,
    FTPS_OPT_NO_SESSION_REUSE_REQUIRED, NULL },
  { "repeated", 2, { "NoSessionReuseRequired", "NoSessionReuseRequired" }, 0,
    FTPS_OPT_NO_SESSION_REUSE_REQUIRED, NULL },
  { "unknown_sni", 1, { "AllowUnknownSNI" }, 0, FTPS_OPT_ALLOW_UNKNOWN_SNI,
    NULL },
  { "per_user", 1, { "AllowPerUser" }, 0, FTPS_OPT_ALLOW_PER_USER, NULL },
  { "any_alpn", 1, { "allowanyalpn" }, 0, FTPS_OPT_ALLOW_ANY_ALPN, NULL },
  { "env_and_ktls", 2, { "StdEnvVars", "KernelTLS" }, 0,
    FTPS_OPT_STD_ENV_VARS|FTPS_OPT_KERNEL_TLS, NULL },
  { "same_addr", 1, { "NoSessionReuseSameAddress" }, 0,
    FTPS_OPT_NO_SESSION_REUSE_SAME_ADDR, NULL },
  { "same_addr_case", 1, { "nosessionreusesameaddress" }, 0,
    FTPS_OPT_NO_SESSION_REUSE_SAME_ADDR, NULL },
  { "legacy", 1, { "AllowLegacyProtocols" }, 0,
    FTPS_OPT_ALLOW_LEGACY_PROTOCOLS, NULL },
  { "export_cert_data", 1, { "exportcertdata" }, 0,
    FTPS_OPT_EXPORT_CERT_DATA, NULL },
  { "env_and_certs", 2, { "StdEnvVars", "ExportCertData" }, 0,
    FTPS_OPT_STD_ENV_VARS|FTPS_OPT_EXPORT_CERT_DATA, NULL },
  { "unknown_names_new", 1, { "x" }, -1, SENTINEL,
    "AllowLegacyProtocols, StdEnvVars, ExportCertData" },
  { "same_addr_prefix", 1, { "NoSessionReuseSame" }, -1, SENTINEL,
    "unknown option" },
  { "unknown", 1, { "StdEnvVarz" }, -1, SENTINEL,
    "unknown option 'StdEnvVarz'; expected " },
  { "unknown_names_same_addr", 1, { "x" }, -1, SENTINEL,
    "NoSessionReuseSameAddress" },
  { "unknown_names_accepted", 1, { "StdEnvVarz" }, -1, SENTINEL,
    "NoSessionReuseRequired" },
  { "good_then_bad", 2, { "NoSessionReuseRequired", "AllowDotLogin" }, -1,
    SENTINEL, "'AllowDotLogin'" },
  { "empty", 1, { "" }, -1, SENTINEL, "unknown option" },
  { "no_args", 0, { NULL }, -1, SENTINEL, "missing value" },
};

START_TEST (ftps_policy_parse_options_args_test) {
  char *argv[] = { "NoSessionReuseRequired", NULL };
  char *nullarg[] = { NULL };
  char err[ERRLEN] = "";
  int out = SENTINEL, res;

  mark_point();
  res = ftps_policy_parse_options(1, NULL, &out, err, sizeof(err));
  ck_assert_msg(res == -1, "Expected %d, got %d", -1, res);
  ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL, errno);

  mark_point();
  res = ftps_policy_parse_options(1, argv, NULL, err, sizeof(err));
  ck_assert_msg(res == -1, "Expected %d, got %d", -1, res);
  ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL, errno);

  mark_point();
  res = ftps_policy_parse_options(1, nullarg, &out, err, sizeof(err));
  ck_assert_msg(res == -1, "Expected %d, got %d", -1, res);
  ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL, errno);
  ck_assert_msg(out == SENTINEL, "Expected %d, got %d", SENTINEL, out);
}
END_TEST

START_TEST (ftps_policy_parse_options_values_test) {
  char err[ERRLEN] = "";
  int out = SENTINEL, res;

  mark_point();
  errno = 0;
  res = ftps_policy_parse_options(option_rows[_i].argc,
    (char *const *) option_rows[_i].argv, &out, err, sizeof(err));
  ck_assert_msg(res == option_rows[_i].want_rc, "%s: Expected %d, got %d",
    option_rows[_i].name, option_rows[_i].want_rc, res);
  ck_assert_msg(out == option_rows[_i].want_out, "%s: Expected %d, got %d",
    option_rows[_i].name, option_rows[_i].want_out, out);
  if (res < 0) {
    ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL, errno);
  }
  assert_err_has(err, option_rows[_i].want_err, option_rows[_i].name);
}
END_TEST

/* ---- ftps_policy_parse_log -------------------------------------------- */

static const struct {
  const char *in;
  int want_rc;
  int want_null;      /* *out set to NULL ("none") */
  const char *want_err;
} log_rows[] = {
  { "/var/log/proftpd/ftps.log", 0, 0, NULL },
  { "/ftps.log",                 0, 0, NULL },
  { "none",                      0, 1, NULL },
  { "NONE",                      0, 1, NULL },
  { "ftps.log",    -1, 0,
    "'ftps.log' is not an absolute path; expected an absolute path or none" },
  { "./ftps.log",  -1, 0, "not an absolute path" },
  { "~/ftps.log",  -1, 0, "not an absolute path" },
  { "none.log",    -1, 0, "not an absolute path" },
  { "",            -1, 0, "missing value; expected an absolute path or none" },
};

START_TEST (ftps_policy_parse_log_args_test) {
  const char *sentinel = "sentinel", *out = sentinel;
  char err[ERRLEN] = "";
  int res;

  mark_point();
  res = ftps_policy_parse_log(NULL, &out, err, sizeof(err));
  ck_assert_msg(res == -1, "Expected %d, got %d", -1, res);
  ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL, errno);
  ck_assert_msg(out == sentinel, "*out changed on error");

  mark_point();
  res = ftps_policy_parse_log("/tmp/x.log", NULL, err, sizeof(err));
  ck_assert_msg(res == -1, "Expected %d, got %d", -1, res);
  ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL, errno);
}
END_TEST

START_TEST (ftps_policy_parse_log_values_test) {
  const char *sentinel = "sentinel", *out = sentinel;
  char err[ERRLEN] = "";
  int res;

  mark_point();
  errno = 0;
  res = ftps_policy_parse_log(log_rows[_i].in, &out, err, sizeof(err));
  ck_assert_msg(res == log_rows[_i].want_rc, "'%s': Expected %d, got %d",
    log_rows[_i].in, log_rows[_i].want_rc, res);
  if (res < 0) {
    ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL, errno);
    ck_assert_msg(out == sentinel, "'%s': *out changed on error",
      log_rows[_i].in);
  } else if (log_rows[_i].want_null) {
    ck_assert_msg(out == NULL, "'%s': Expected NULL, got '%s'",
      log_rows[_i].in, out);
  } else {
    ck_assert_msg(out != NULL && strcmp(out, log_rows[_i].in) == 0,
      "Expected '%s', got '%s'", log_rows[_i].in, out ? out : "(null)");
  }
  assert_err_has(err, log_rows[_i].want_err, log_rows[_i].in);
}
END_TEST

/* ---- ftps_policy_parse_groups ----------------------------------------- */

#define GROUPS_MAXARGS 4

static const struct {
  const char *name;
  int argc;
  const char *argv[GROUPS_MAXARGS];
  int want_rc;
  const char *want_out;
  const char *want_err;
} groups_rows[] = {
  { "one",          1, { "X25519" }, 0, "X25519", NULL },
  { "args",         3, { "X25519", "P-256", "ffdhe2048" }, 0,
    "X25519:P-256:ffdhe2048", NULL },
  { "colons",       1, { "P-384:X448" }, 0, "P-384:X448", NULL },
  { "mixed",        2, { "x25519:p-521", "FFDHE4096" }, 0,
    "X25519:P-521:ffdhe4096", NULL },
  { "openssl_alias", 1, { "prime256v1" }, 0, "prime256v1", NULL },
  { "unknown",      1, { "P-255" }, -1, "", "unknown group 'P-255'" },
  { "unknown_says_what", 1, { "brainpool" }, -1, "",
    "expected X25519, X448, P-256" },
  { "bad_after_good", 2, { "X25519", "sect163k1" }, -1, "", "'sect163k1'" },
  { "duplicate",    2, { "X25519", "x25519" }, -1, "", "listed twice" },
  { "empty_arg",    1, { "" }, -1, "", "missing value" },
  { "empty_entry",  1, { "X25519::P-256" }, -1, "", "empty group name" },
  { "trailing_colon", 1, { "X25519:" }, -1, "", "empty group name" },
  { "leading_colon", 1, { ":X25519" }, -1, "", "empty group name" },
  { "no_args",      0, { NULL }, -1, "", "missing value" },
  { "good_then_empty", 2, { "X25519", "" }, -1, "", "missing value" },
  { "good_then_colon", 2, { "X25519", ":" }, -1, "", "empty group name" },
};

START_TEST (ftps_policy_parse_groups_args_test) {
  char *argv[] = { "X25519", NULL };
  char out[FTPS_GROUPS_MAX_LEN], err[ERRLEN];
  int res;

  mark_point();
  res = ftps_policy_parse_groups(1, NULL, out, sizeof(out), err, sizeof(err));
  ck_assert_msg(res == -1, "Expected %d, got %d", -1, res);
  ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL, errno);

  mark_point();
  res = ftps_policy_parse_groups(1, argv, NULL, sizeof(out), err, sizeof(err));
  ck_assert_msg(res == -1, "Expected %d, got %d", -1, res);
  ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL, errno);

  mark_point();
  res = ftps_policy_parse_groups(1, argv, out, 0, err, sizeof(err));
  ck_assert_msg(res == -1, "Expected %d, got %d", -1, res);

  /* Too small for the list: refused, never truncated. */
  mark_point();
  res = ftps_policy_parse_groups(1, argv, out, 4, err, sizeof(err));
  ck_assert_msg(res == -1, "Expected %d, got %d", -1, res);
  ck_assert_msg(out[0] == '\0', "Expected an empty list, got '%s'", out);
}
END_TEST

START_TEST (ftps_policy_parse_groups_values_test) {
  char out[FTPS_GROUPS_MAX_LEN], err[ERRLEN] = "";
  int res;

  mark_point();
  errno = 0;
  res = ftps_policy_parse_groups(groups_rows[_i].argc,
    (char *const *) groups_rows[_i].argv, out, sizeof(out), err, sizeof(err));
  ck_assert_msg(res == groups_rows[_i].want_rc, "%s: Expected %d, got %d (%s)",
    groups_rows[_i].name, groups_rows[_i].want_rc, res, err);
  if (res < 0) {
    ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL, errno);
  }
  ck_assert_msg(strcmp(out, groups_rows[_i].want_out) == 0,
    "%s: Expected '%s', got '%s'", groups_rows[_i].name,
    groups_rows[_i].want_out, out);
  assert_err_has(err, groups_rows[_i].want_err, groups_rows[_i].name);
}
END_TEST

/* More names than FTPS_MAX_GROUPS: refused. */
START_TEST (ftps_policy_parse_groups_too_many_test) {
  char *argv[] = { "X25519:X448:P-256:P-384:P-521:ffdhe2048:ffdhe3072:"
    "ffdhe4096:ffdhe6144:ffdhe8192:prime256v1:secp384r1:secp521r1" };
  char out[FTPS_GROUPS_MAX_LEN], err[ERRLEN] = "";
  int res;

  mark_point();
  res = ftps_policy_parse_groups(1, argv, out, sizeof(out), err, sizeof(err));
  ck_assert_msg(res == 0, "Expected %d, got %d (%s)", 0, res, err);
  mark_point();
  res = ftps_policy_parse_groups(1, argv, out, 40, err, sizeof(err));
  ck_assert_msg(res == -1, "Expected %d, got %d", -1, res);
  assert_err_has(err, "too many groups", "small buffer");
}
END_TEST

/* ---- ftps_policy_mod_tls_equivalent ------------------------------------ */

/* Every directive in mod_tls 1.3.8's conftable has an answer. */
static const char *const mod_tls_names[] = {
  "TLSCACertificateFile", "TLSCACertificatePath", "TLSCARevocationFile",
  "TLSCARevocationPath", "TLSCertificateChainFile", "TLSCipherSuite",
  "TLSControlsACLs", "TLSCryptoDevice", "TLSDHParamFile",
  "TLSDSACertificateFile", "TLSDSACertificateKeyFile", "TLSECCertificateFile",
  "TLSECCertificateKeyFile", "TLSECDHCurve", "TLSEngine", "TLSLog",
  "TLSMasqueradeAddress", "TLSNextProtocol", "TLSOptions",
  "TLSPassPhraseProvider", "TLSPKCS12File", "TLSPreSharedKey", "TLSProtocol",
  "TLSRandomSeed", "TLSRenegotiate", "TLSRequired", "TLSRSACertificateFile",
  "TLSRSACertificateKeyFile", "TLSServerCipherPreference",
  "TLSServerInfoFile", "TLSSessionCache", "TLSSessionTicketKeys",
  "TLSSessionTickets", "TLSStapling", "TLSStaplingCache",
  "TLSStaplingOptions", "TLSStaplingResponder", "TLSStaplingTimeout",
  "TLSTimeoutHandshake", "TLSUserName", "TLSVerifyClient", "TLSVerifyDepth",
  "TLSVerifyOrder", "TLSVerifyServer",
};

static const struct {
  const char *in;
  const char *want;       /* NULL: not a mod_tls directive */
} equiv_rows[] = {
  { "TLSEngine",               "FTPSEngine" },
  { "tlsengine",               "FTPSEngine" },
  { "TLSRSACertificateFile",   "FTPSCertificate cert-file key-file" },
  { "TLSMasqueradeAddress",    "FTPSMasqueradeAddress" },
  { "TLSECDHCurve",            "FTPSGroups" },
  { "TLSSessionTickets",       "FTPSSessionTickets" },
  { "TLSOptions",              "FTPSOptions" },
  { "TLSStapling",             "FTPSStapling" },
  { "FTPSEngine",              NULL },
  { "TLS",                     NULL },
  { "",                        NULL },
};

START_TEST (ftps_policy_mod_tls_equivalent_args_test) {
  mark_point();
  errno = 0;
  ck_assert_msg(ftps_policy_mod_tls_equivalent(NULL) == NULL,
    "Expected NULL for NULL");
  ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL, errno);
}
END_TEST

START_TEST (ftps_policy_mod_tls_equivalent_values_test) {
  const char *s;

  mark_point();
  s = ftps_policy_mod_tls_equivalent(equiv_rows[_i].in);
  if (equiv_rows[_i].want == NULL) {
    ck_assert_msg(s == NULL, "%s: Expected NULL, got '%s'", equiv_rows[_i].in,
      s);
    return;
  }
  ck_assert_msg(s != NULL && strstr(s, equiv_rows[_i].want) != NULL,
    "%s: Expected '%s' in '%s'", equiv_rows[_i].in, equiv_rows[_i].want,
    s ? s : "(null)");
}
END_TEST

START_TEST (ftps_policy_mod_tls_equivalent_complete_test) {
  const char *s;

  mark_point();
  s = ftps_policy_mod_tls_equivalent(mod_tls_names[_i]);
  ck_assert_msg(s != NULL && *s != '\0', "%s: Expected an equivalent",
    mod_tls_names[_i]);
}
END_TEST

/* ---- ftps_policy_protocols_str ---------------------------------------- */

static const struct {
  int mask;
  const char *want;
} proto_str_rows[] = {
  { FTPS_PROTO_TLS12, "TLSv1.2" },
  { FTPS_PROTO_TLS13, "TLSv1.3" },
  { FTPS_PROTO_ALL,   "TLSv1.2 TLSv1.3" },
  { FTPS_PROTO_TLS10, "TLSv1" },
  { FTPS_PROTO_TLS11|FTPS_PROTO_TLS12, "TLSv1.1 TLSv1.2" },
  { FTPS_PROTO_ANY,   "TLSv1 TLSv1.1 TLSv1.2 TLSv1.3" },
  { 0,                "none" },
};

START_TEST (ftps_policy_protocols_str_args_test) {
  const char *s;

  /* Out-of-range masks: the unknown bits are ignored, never a crash. */
  mark_point();
  s = ftps_policy_protocols_str(FTPS_UNSET);
  ck_assert_msg(s != NULL, "Expected a string for FTPS_UNSET");
  mark_point();
  s = ftps_policy_protocols_str(0x40);
  ck_assert_msg(s != NULL && strcmp(s, "none") == 0,
    "Expected 'none', got '%s'", s ? s : "(null)");
}
END_TEST

START_TEST (ftps_policy_protocols_str_values_test) {
  const char *s;

  mark_point();
  s = ftps_policy_protocols_str(proto_str_rows[_i].mask);
  ck_assert_msg(s != NULL && strcmp(s, proto_str_rows[_i].want) == 0,
    "mask %d: Expected '%s', got '%s'", proto_str_rows[_i].mask,
    proto_str_rows[_i].want, s ? s : "(null)");
}
END_TEST

/* ---- ftps_policy_init / ftps_policy_defaults -------------------------- */

START_TEST (ftps_policy_init_args_test) {
  mark_point();
  ftps_policy_init(NULL);
}
END_TEST

START_TEST (ftps_policy_defaults_args_test) {
  mark_point();
  ftps_policy_defaults(NULL);
}
END_TEST

START_TEST (ftps_policy_init_unset_test) {
  ftps_policy_t p;

  memset(&p, 0x5a, sizeof(p));
  mark_point();
  ftps_policy_init(&p);
  ck_assert_msg(p.engine == FTPS_UNSET, "Expected %d, got %d", FTPS_UNSET,
    p.engine);
  ck_assert_msg(p.implicit == FTPS_UNSET, "Expected %d, got %d", FTPS_UNSET,
    p.implicit);
  ck_assert_msg(p.protocols == FTPS_UNSET, "Expected %d, got %d", FTPS_UNSET,
    p.protocols);
  ck_assert_msg(p.required == FTPS_UNSET, "Expected %d, got %d", FTPS_UNSET,
    p.required);
  ck_assert_msg(p.options == FTPS_UNSET, "Expected %d, got %d", FTPS_UNSET,
    p.options);
  ck_assert_msg(p.handshake_timeout == FTPS_UNSET, "Expected %d, got %d",
    FTPS_UNSET, p.handshake_timeout);
  ck_assert_msg(p.ncerts == 0, "Expected %d, got %d", 0, p.ncerts);
  ck_assert_msg(p.log_set == 0, "Expected %d, got %d", 0, p.log_set);
  ck_assert_msg(p.ciphers == NULL && p.ciphersuites == NULL &&
    p.log_path == NULL, "Expected NULL strings after init");
}
END_TEST

START_TEST (ftps_policy_defaults_values_test) {
  ftps_policy_t p;

  mark_point();
  ftps_policy_defaults(&p);
  ck_assert_msg(p.engine == 0, "Expected %d, got %d", 0, p.engine);
  ck_assert_msg(p.implicit == 0, "Expected %d, got %d", 0, p.implicit);
  ck_assert_msg(p.protocols == FTPS_PROTO_ALL, "Expected %d, got %d",
    FTPS_PROTO_ALL, p.protocols);
  ck_assert_msg(p.required == 0, "Expected %d, got %d", 0, p.required);
  ck_assert_msg(p.options == 0, "Expected %d, got %d", 0, p.options);
  ck_assert_msg(p.handshake_timeout == 30, "Expected %d, got %d", 30,
    p.handshake_timeout);
  ck_assert_msg(p.ncerts == 0, "Expected %d, got %d", 0, p.ncerts);
  ck_assert_msg(p.session_tickets == 1, "Expected %d, got %d", 1,
    p.session_tickets);
  ck_assert_msg(p.groups == NULL, "Expected OpenSSL's default groups");
}
END_TEST

/* FTPSSessionTickets and FTPSGroups merge like the other settings. */
START_TEST (ftps_policy_merge_tickets_groups_test) {
  ftps_policy_t ex, dflt, out;

  ftps_policy_defaults(&dflt);
  ftps_policy_init(&ex);
  ck_assert_msg(ex.session_tickets == FTPS_UNSET, "Expected %d, got %d",
    FTPS_UNSET, ex.session_tickets);

  mark_point();
  ck_assert_msg(ftps_policy_merge(&out, &ex, &dflt) == 0, "merge failed");
  ck_assert_msg(out.session_tickets == 1, "Expected %d, got %d", 1,
    out.session_tickets);
  ck_assert_msg(out.groups == NULL, "Expected no groups");

  ex.session_tickets = 0;
  ex.groups = "X25519:P-256";
  mark_point();
  ck_assert_msg(ftps_policy_merge(&out, &ex, &dflt) == 0, "merge failed");
  ck_assert_msg(out.session_tickets == 0, "Expected %d, got %d", 0,
    out.session_tickets);
  ck_assert_msg(out.groups != NULL && strcmp(out.groups, "X25519:P-256") == 0,
    "Expected 'X25519:P-256', got '%s'", out.groups ? out.groups : "(null)");
}
END_TEST

/* ---- ftps_policy_merge ------------------------------------------------ */

START_TEST (ftps_policy_merge_args_test) {
  ftps_policy_t a, b, out;
  int res;

  ftps_policy_init(&a);
  ftps_policy_defaults(&b);

  mark_point();
  res = ftps_policy_merge(NULL, &a, &b);
  ck_assert_msg(res == -1, "Expected %d, got %d", -1, res);
  ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL, errno);

  mark_point();
  res = ftps_policy_merge(&out, NULL, &b);
  ck_assert_msg(res == -1, "Expected %d, got %d", -1, res);
  ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL, errno);

  mark_point();
  res = ftps_policy_merge(&out, &a, NULL);
  ck_assert_msg(res == -1, "Expected %d, got %d", -1, res);
  ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL, errno);
}
END_TEST

START_TEST (ftps_policy_merge_unset_takes_defaults_test) {
  ftps_policy_t ex, dflt, out;
  int res;

  ftps_policy_init(&ex);
  ftps_policy_defaults(&dflt);
  dflt.ciphers = "HIGH";
  dflt.ciphersuites = "TLS_AES_128_GCM_SHA256";
  dflt.log_path = "/var/log/global.log";
  dflt.log_set = 1;
  dflt.ncerts = 1;
  dflt.certs[0].cert_file = "/etc/global.crt";
  dflt.certs[0].key_file = "/etc/global.key";
  memset(&out, 0x5a, sizeof(out));

  mark_point();
  res = ftps_policy_merge(&out, &ex, &dflt);
  ck_assert_msg(res == 0, "Expected %d, got %d", 0, res);
  ck_assert_msg(out.engine == 0, "Expected %d, got %d", 0, out.engine);
  ck_assert_msg(out.implicit == 0, "Expected %d, got %d", 0, out.implicit);
  ck_assert_msg(out.protocols == FTPS_PROTO_ALL, "Expected %d, got %d",
    FTPS_PROTO_ALL, out.protocols);
  ck_assert_msg(out.required == 0, "Expected %d, got %d", 0, out.required);
  ck_assert_msg(out.options == 0, "Expected %d, got %d", 0, out.options);
  ck_assert_msg(out.handshake_timeout == FTPS_DEFAULT_HANDSHAKE_TIMEOUT,
    "Expected %d, got %d", FTPS_DEFAULT_HANDSHAKE_TIMEOUT,
    out.handshake_timeout);
  ck_assert_str_eq(out.ciphers, "HIGH");
  ck_assert_str_eq(out.ciphersuites, "TLS_AES_128_GCM_SHA256");
  ck_assert_str_eq(out.log_path, "/var/log/global.log");
  ck_assert_msg(out.ncerts == 1, "Expected %d, got %d", 1, out.ncerts);
  ck_assert_str_eq(out.certs[0].cert_file, "/etc/global.crt");
  ck_assert_str_eq(out.certs[0].key_file, "/etc/global.key");
}
END_TEST

START_TEST (ftps_policy_merge_explicit_wins_test) {
  ftps_policy_t ex, dflt, out;
  int res;

  ftps_policy_init(&ex);
  ex.engine = 1;
  ex.implicit = 1;
  ex.protocols = FTPS_PROTO_TLS13;
  ex.required = FTPS_REQ_DATA;
  ex.options = FTPS_OPT_NO_SESSION_REUSE_REQUIRED;
  ex.handshake_timeout = 0;         /* 0 is a value, not "unset" */
  ex.ciphers = "ECDHE+AESGCM";
  ex.log_path = NULL;               /* "FTPSLog none" overrides a default */
  ex.log_set = 1;
  ex.ncerts = 1;
  ex.certs[0].cert_file = "/etc/vhost.crt";

  ftps_policy_defaults(&dflt);
  dflt.ciphers = "HIGH";
  dflt.log_path = "/var/log/global.log";
  dflt.log_set = 1;
  dflt.ncerts = 2;
  dflt.certs[0].cert_file = "/etc/global-rsa.crt";
  dflt.certs[1].cert_file = "/etc/global-ec.crt";

  mark_point();
  res = ftps_policy_merge(&out, &ex, &dflt);
  ck_assert_msg(res == 0, "Expected %d, got %d", 0, res);
  ck_assert_msg(out.engine == 1, "Expected %d, got %d", 1, out.engine);
  ck_assert_msg(out.implicit == 1, "Expected %d, got %d", 1, out.implicit);
  ck_assert_msg(out.protocols == FTPS_PROTO_TLS13, "Expected %d, got %d",
    FTPS_PROTO_TLS13, out.protocols);
  ck_assert_msg(out.required == FTPS_REQ_DATA, "Expected %d, got %d",
    FTPS_REQ_DATA, out.required);
  ck_assert_msg(out.options == FTPS_OPT_NO_SESSION_REUSE_REQUIRED,
    "Expected %d, got %d", FTPS_OPT_NO_SESSION_REUSE_REQUIRED, out.options);
  ck_assert_msg(out.handshake_timeout == 0, "Expected %d, got %d", 0,
    out.handshake_timeout);
  ck_assert_str_eq(out.ciphers, "ECDHE+AESGCM");
  ck_assert_msg(out.log_path == NULL, "Expected NULL log_path, got '%s'",
    out.log_path);
  ck_assert_msg(out.log_set == 1, "Expected %d, got %d", 1, out.log_set);
  ck_assert_msg(out.ncerts == 1, "Expected %d, got %d", 1, out.ncerts);
  ck_assert_str_eq(out.certs[0].cert_file, "/etc/vhost.crt");
  ck_assert_msg(out.certs[0].key_file == NULL, "Expected NULL key_file");
}
END_TEST

/* The merge leaves its inputs alone and may write over its first input. */
START_TEST (ftps_policy_merge_in_place_test) {
  ftps_policy_t ex, dflt;
  int res;

  ftps_policy_init(&ex);
  ex.engine = 1;
  ftps_policy_defaults(&dflt);

  mark_point();
  res = ftps_policy_merge(&ex, &ex, &dflt);
  ck_assert_msg(res == 0, "Expected %d, got %d", 0, res);
  ck_assert_msg(ex.engine == 1, "Expected %d, got %d", 1, ex.engine);
  ck_assert_msg(ex.protocols == FTPS_PROTO_ALL, "Expected %d, got %d",
    FTPS_PROTO_ALL, ex.protocols);
  ck_assert_msg(dflt.engine == 0, "Expected %d, got %d", 0, dflt.engine);
}
END_TEST

/* ---- ftps_policy_validate --------------------------------------------- */

static const struct {
  const char *name;
  int engine, implicit, required, protocols, ncerts;
  int want_rc;
  const char *want_err;
  const char *want_err2;
} validate_rows[] = {
  { "defaults_off",            0, 0, 0, FTPS_PROTO_ALL, 0, 0, NULL, NULL },
  { "engine_on_with_cert",     1, 0, 0, FTPS_PROTO_ALL, 1, 0, NULL, NULL },
  { "implicit_with_cert",      1, 1, 0, FTPS_PROTO_TLS13, 1, 0, NULL, NULL },
  { "required_on_with_engine", 1, 0, FTPS_REQ_AUTH|FTPS_REQ_CTRL|FTPS_REQ_DATA,
    FTPS_PROTO_ALL, 2, 0, NULL, NULL },
  { "engine_on_without_cert",  1, 0, 0, FTPS_PROTO_ALL, 0, -1,
    "'FTPSEngine on'", "'FTPSCertificate'" },
  { "implicit_without_cert",   1, 1, 0, FTPS_PROTO_ALL, 0, -1,
    "'FTPSImplicit on'", "'FTPSCertificate'" },
  { "implicit_without_engine", 0, 1, 0, FTPS_PROTO_ALL, 1, -1,
    "'FTPSImplicit on'", "'FTPSEngine on'" },
  { "required_without_engine", 0, 0, FTPS_REQ_AUTH, FTPS_PROTO_ALL, 1, -1,
    "'FTPSRequired'", "'FTPSEngine on'" },
  { "required_data_without_engine", 0, 0, FTPS_REQ_DATA, FTPS_PROTO_ALL, 0,
    -1, "'FTPSRequired'", "'FTPSEngine on'" },
  { "required_off_without_engine", 0, 0, 0, FTPS_PROTO_ALL, 0, 0, NULL, NULL },
  { "no_protocol",             1, 0, 0, 0, 1, -1, "'FTPSProtocol'", NULL },
  { "unknown_protocol_bits",   1, 0, 0, 0x10, 1, -1, "'FTPSProtocol'", NULL },
};

/* SECURITY: TLS 1.0/1.1 need FTPSOptions AllowLegacyProtocols. */
static const struct {
  const char *name;
  int protocols, options;
  int want_rc;
  const char *want_err;
  const char *want_err2;
} legacy_rows[] = {
  { "modern_no_option", FTPS_PROTO_ALL, 0, 0, NULL, NULL },
  { "modern_unset_options", FTPS_PROTO_ALL, FTPS_UNSET, 0, NULL, NULL },
  { "tls11_no_option", FTPS_PROTO_TLS11|FTPS_PROTO_ALL, 0, -1,
    "'FTPSProtocol TLSv1.1 TLSv1.2 TLSv1.3'",
    "add 'FTPSOptions AllowLegacyProtocols'" },
  { "tls10_unset_options", FTPS_PROTO_TLS10|FTPS_PROTO_TLS11, FTPS_UNSET, -1,
    "deprecated", "RFC 8996" },
  { "tls10_other_option", FTPS_PROTO_TLS10, FTPS_OPT_STD_ENV_VARS, -1,
    "AllowLegacyProtocols", NULL },
  { "tls11_with_option", FTPS_PROTO_TLS11|FTPS_PROTO_TLS12,
    FTPS_OPT_ALLOW_LEGACY_PROTOCOLS, 0, NULL, NULL },
  { "option_without_legacy", FTPS_PROTO_ALL,
    FTPS_OPT_ALLOW_LEGACY_PROTOCOLS, 0, NULL, NULL },
};

START_TEST (ftps_policy_validate_legacy_test) {
  char err[ERRLEN] = "";
  ftps_policy_t p;
  int res;

  ftps_policy_defaults(&p);
  p.engine = 1;
  p.ncerts = 1;
  p.certs[0].cert_file = "/etc/a.crt";
  p.protocols = legacy_rows[_i].protocols;
  p.options = legacy_rows[_i].options;

  mark_point();
  errno = 0;
  res = ftps_policy_validate(&p, err, sizeof(err));
  ck_assert_msg(res == legacy_rows[_i].want_rc, "%s: Expected %d, got %d (%s)",
    legacy_rows[_i].name, legacy_rows[_i].want_rc, res, err);
  if (res < 0) {
    ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL, errno);
  }
  assert_err_has(err, legacy_rows[_i].want_err, legacy_rows[_i].name);
  assert_err_has(err, legacy_rows[_i].want_err2, legacy_rows[_i].name);
}
END_TEST

START_TEST (ftps_policy_validate_args_test) {
  char err[ERRLEN];
  ftps_policy_t p;
  int res;

  mark_point();
  res = ftps_policy_validate(NULL, err, sizeof(err));
  ck_assert_msg(res == -1, "Expected %d, got %d", -1, res);
  ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL, errno);

  /* A refusal without a message buffer is still a refusal. */
  ftps_policy_defaults(&p);
  p.engine = 1;
  mark_point();
  res = ftps_policy_validate(&p, NULL, 0);
  ck_assert_msg(res == -1, "Expected %d, got %d", -1, res);
  ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL, errno);
}
END_TEST

START_TEST (ftps_policy_validate_rules_test) {
  char err[ERRLEN] = "";
  ftps_policy_t p;
  int res;

  ftps_policy_defaults(&p);
  p.engine = validate_rows[_i].engine;
  p.implicit = validate_rows[_i].implicit;
  p.required = validate_rows[_i].required;
  p.protocols = validate_rows[_i].protocols;
  p.ncerts = validate_rows[_i].ncerts;
  p.certs[0].cert_file = "/etc/a.crt";
  p.certs[1].cert_file = "/etc/b.crt";

  mark_point();
  errno = 0;
  res = ftps_policy_validate(&p, err, sizeof(err));
  ck_assert_msg(res == validate_rows[_i].want_rc, "%s: Expected %d, got %d "
    "(%s)", validate_rows[_i].name, validate_rows[_i].want_rc, res, err);
  if (res < 0) {
    ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL, errno);
  }
  assert_err_has(err, validate_rows[_i].want_err, validate_rows[_i].name);
  assert_err_has(err, validate_rows[_i].want_err2, validate_rows[_i].name);
}
END_TEST

/* The usual pipeline: parse what the admin wrote, merge, validate. */
START_TEST (ftps_policy_validate_merged_test) {
  char *protos[] = { "TLSv1.3" };
  char err[ERRLEN] = "";
  ftps_policy_t ex, dflt, out;
  int res;

  ftps_policy_init(&ex);
  ftps_policy_defaults(&dflt);
  res = ftps_policy_parse_bool("on", &ex.engine, err, sizeof(err));
  ck_assert_msg(res == 0, "Expected %d, got %d", 0, res);
  res = ftps_policy_parse_protocols(1, protos, &ex.protocols, err,
    sizeof(err));
  ck_assert_msg(res == 0, "Expected %d, got %d", 0, res);

  mark_point();
  res = ftps_policy_merge(&out, &ex, &dflt);
  ck_assert_msg(res == 0, "Expected %d, got %d", 0, res);
  mark_point();
  res = ftps_policy_validate(&out, err, sizeof(err));
  ck_assert_msg(res == -1, "Expected %d, got %d", -1, res);
  assert_err_has(err, "FTPSCertificate", "merged, no cert");

  ex.ncerts = 1;
  ex.certs[0].cert_file = "/etc/ftps.pem";
  res = ftps_policy_merge(&out, &ex, &dflt);
  ck_assert_msg(res == 0, "Expected %d, got %d", 0, res);
  mark_point();
  res = ftps_policy_validate(&out, err, sizeof(err));
  ck_assert_msg(res == 0, "Expected %d, got %d (%s)", 0, res, err);
}
END_TEST

/* Client-certificate rules (on a policy with FTPSEngine on + a cert). */
static const struct {
  const char *name;
  int verify;
  const char *ca_file, *ca_path, *crl_file;
  int cert_login, user_field, authorized;
  const char *want_err;       /* NULL: accepted */
} cert_rules[] = {
  { "verify_off",            FTPS_VERIFY_OFF, NULL, NULL, NULL, 0, 0, 0,
    NULL },
  { "verify_on_ca_file",     FTPS_VERIFY_ON, "/ca.pem", NULL, NULL, 0, 0, 0,
    NULL },
  { "verify_optional_ca_dir", FTPS_VERIFY_OPTIONAL, NULL, "/ca.d", NULL, 0, 0,
    0, NULL },
  { "verify_on_without_ca",  FTPS_VERIFY_ON, NULL, NULL, NULL, 0, 0, 0,
    "'FTPSCACertificateFile'" },
  { "optional_without_ca",   FTPS_VERIFY_OPTIONAL, NULL, NULL, NULL, 0, 0, 0,
    "'FTPSVerifyClient optional'" },
  { "cert_login_without_verify", FTPS_VERIFY_OFF, NULL, NULL, NULL, 1, 0, 0,
    "'FTPSCertLogin on' needs 'FTPSVerifyClient" },
  { "user_name_without_verify", FTPS_VERIFY_OFF, NULL, NULL, NULL, 0, 1, 0,
    "'FTPSUserName' needs" },
  { "authorized_without_verify", FTPS_VERIFY_OFF, NULL, NULL, NULL, 0, 0, 1,
    "'FTPSAuthorizedCertificates' needs" },
  { "crl_without_verify",    FTPS_VERIFY_OFF, NULL, NULL, "/crl.pem", 0, 0, 0,
    "'FTPSCARevocationFile/Path'" },
  { "all_with_verify",       FTPS_VERIFY_ON, "/ca.pem", NULL, "/crl.pem", 1,
    1, 1, NULL },
};

START_TEST (ftps_policy_validate_client_certs_test) {
  char err[ERRLEN] = "";
  ftps_policy_t p;
  int res;

  ftps_policy_defaults(&p);
  p.engine = 1;
  p.ncerts = 1;
  p.certs[0].cert_file = "/cert.pem";
  p.verify_client = cert_rules[_i].verify;
  p.ca_file = cert_rules[_i].ca_file;
  p.ca_path = cert_rules[_i].ca_path;
  p.crl_file = cert_rules[_i].crl_file;
  p.cert_login = cert_rules[_i].cert_login;
  p.user_field = cert_rules[_i].user_field;
  p.authorized_certs = cert_rules[_i].authorized;

  mark_point();
  errno = 0;
  res = ftps_policy_validate(&p, err, sizeof(err));
  if (cert_rules[_i].want_err == NULL) {
    ck_assert_msg(res == 0, "%s: Expected %d, got %d (%s)",
      cert_rules[_i].name, 0, res, err);
    return;
  }
  ck_assert_msg(res == -1, "%s: Expected %d, got %d", cert_rules[_i].name, -1,
    res);
  ck_assert_msg(errno == EINVAL, "%s: Expected errno %d, got %d",
    cert_rules[_i].name, EINVAL, errno);
  assert_err_has(err, cert_rules[_i].want_err, cert_rules[_i].name);
}
END_TEST

/* ---- ftps_policy_required_for_path ------------------------------------ */

/* The deepest directory rule decides the data bit; the control bits stay
 * the session's. */
static const struct {
  int session, dir, want;
} path_rows[] = {
  { 0, FTPS_UNSET, 0 },
  { FTPS_REQ_DATA, FTPS_UNSET, FTPS_REQ_DATA },
  { 0, FTPS_REQ_DATA, FTPS_REQ_DATA },
  { FTPS_REQ_DATA, 0, 0 },
  { FTPS_REQ_AUTH|FTPS_REQ_CTRL, FTPS_REQ_DATA,
    FTPS_REQ_AUTH|FTPS_REQ_CTRL|FTPS_REQ_DATA },
  { FTPS_REQ_AUTH|FTPS_REQ_CTRL|FTPS_REQ_DATA, 0,
    FTPS_REQ_AUTH|FTPS_REQ_CTRL },
  /* a directory never changes the control bits */
  { FTPS_REQ_AUTH, FTPS_REQ_AUTH|FTPS_REQ_CTRL|FTPS_REQ_DATA,
    FTPS_REQ_AUTH|FTPS_REQ_DATA },
  { FTPS_UNSET, FTPS_UNSET, 0 },
  { FTPS_UNSET, FTPS_REQ_DATA, FTPS_REQ_DATA },
};

START_TEST (ftps_policy_required_for_path_table_test) {
  int got;

  mark_point();
  got = ftps_policy_required_for_path(path_rows[_i].session,
    path_rows[_i].dir);
  ck_assert_msg(got == path_rows[_i].want, "row %d: Expected 0x%x, got 0x%x",
    _i, (unsigned) path_rows[_i].want, (unsigned) got);
}
END_TEST

/* ---- ftps_policy_data_verdict ------------------------------------------ */

#define NO_REUSE   FTPS_OPT_NO_SESSION_REUSE_REQUIRED
#define SAME_ADDR  FTPS_OPT_NO_SESSION_REUSE_SAME_ADDR

static const struct {
  const char *name;
  int options;
  ftps_data_facts_t facts;      /* resumed, same_addr, cert_ok */
  int want;
} verdict_rows[] = {
  { "default_resumed",           0, { 1, 1, 1 }, FTPS_DATA_ACCEPT },
  { "default_resumed_other_addr", 0, { 1, 0, 1 }, FTPS_DATA_ACCEPT },
  { "default_not_resumed",       0, { 0, 1, 1 }, FTPS_DATA_REFUSE_REUSE },
  { "default_resumed_other_cert", 0, { 1, 1, 0 }, FTPS_DATA_REFUSE_CERT },
  { "unrelated_options",         FTPS_OPT_KERNEL_TLS|FTPS_OPT_STD_ENV_VARS,
    { 0, 1, 1 }, FTPS_DATA_REFUSE_REUSE },
  { "no_reuse_not_resumed",      NO_REUSE, { 0, 0, 1 },
    FTPS_DATA_ACCEPT_NO_REUSE },
  { "no_reuse_other_cert",       NO_REUSE, { 0, 1, 0 },
    FTPS_DATA_REFUSE_CERT },
  { "no_reuse_resumed",          NO_REUSE, { 1, 0, 1 }, FTPS_DATA_ACCEPT },
  { "same_addr_not_resumed",     SAME_ADDR, { 0, 1, 1 },
    FTPS_DATA_ACCEPT_SAME_ADDR },
  { "same_addr_other_addr",      SAME_ADDR, { 0, 0, 1 },
    FTPS_DATA_REFUSE_ADDR },
  { "same_addr_other_cert",      SAME_ADDR, { 0, 1, 0 },
    FTPS_DATA_REFUSE_CERT },
  { "same_addr_other_both",      SAME_ADDR, { 0, 0, 0 },
    FTPS_DATA_REFUSE_CERT },
  { "same_addr_resumed_other_addr", SAME_ADDR, { 1, 0, 1 },
    FTPS_DATA_ACCEPT },
  { "both_blunt_wins",           NO_REUSE|SAME_ADDR, { 0, 0, 1 },
    FTPS_DATA_ACCEPT_NO_REUSE },
};

START_TEST (ftps_policy_data_verdict_args_test) {
  int res;

  mark_point();
  errno = 0;
  res = ftps_policy_data_verdict(0, NULL);
  ck_assert_msg(res == -1, "Expected %d, got %d", -1, res);
  ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL, errno);
}
END_TEST

START_TEST (ftps_policy_data_verdict_table_test) {
  int res;

  mark_point();
  res = ftps_policy_data_verdict(verdict_rows[_i].options,
    &verdict_rows[_i].facts);
  ck_assert_msg(res == verdict_rows[_i].want, "%s: Expected %d, got %d",
    verdict_rows[_i].name, verdict_rows[_i].want, res);
}
END_TEST

Suite *tests_get_policy_suite(void) {
  Suite *suite = suite_create("ftps_policy");
  TCase *tc;

  tc = tcase_create("parsers");
  tcase_add_loop_test(tc, ftps_policy_parse_value_args_test, 0,
    TESTS_NELEMS(parsers));
  tcase_add_loop_test(tc, ftps_policy_parse_value_table_test, 0,
    TESTS_NELEMS(value_rows));
  tcase_add_test(tc, ftps_policy_parse_protocols_args_test);
  tcase_add_loop_test(tc, ftps_policy_parse_protocols_values_test, 0,
    TESTS_NELEMS(proto_rows));
  tcase_add_test(tc, ftps_policy_parse_protocols_long_value_test);
  tcase_add_test(tc, ftps_policy_parse_options_args_test);
  tcase_add_loop_test(tc, ftps_policy_parse_options_values_test, 0,
    TESTS_NELEMS(option_rows));
  tcase_add_test(tc, ftps_policy_parse_log_args_test);
  tcase_add_loop_test(tc, ftps_policy_parse_log_values_test, 0,
    TESTS_NELEMS(log_rows));
  tcase_add_test(tc, ftps_policy_parse_groups_args_test);
  tcase_add_loop_test(tc, ftps_policy_parse_groups_values_test, 0,
    sizeof(groups_rows) / sizeof(groups_rows[0]));
  tcase_add_test(tc, ftps_policy_parse_groups_too_many_test);
  tcase_add_test(tc, ftps_policy_mod_tls_equivalent_args_test);
  tcase_add_loop_test(tc, ftps_policy_mod_tls_equivalent_values_test, 0,
    sizeof(equiv_rows) / sizeof(equiv_rows[0]));
  tcase_add_loop_test(tc, ftps_policy_mod_tls_equivalent_complete_test, 0,
    sizeof(mod_tls_names) / sizeof(mod_tls_names[0]));
  tcase_add_test(tc, ftps_policy_protocols_str_args_test);
  tcase_add_loop_test(tc, ftps_policy_protocols_str_values_test, 0,
    TESTS_NELEMS(proto_str_rows));
  suite_add_tcase(suite, tc);

  tc = tcase_create("merge");
  tcase_add_test(tc, ftps_policy_init_args_test);
  tcase_add_test(tc, ftps_policy_init_unset_test);
  tcase_add_test(tc, ftps_policy_defaults_args_test);
  tcase_add_test(tc, ftps_policy_defaults_values_test);
  tcase_add_test(tc, ftps_policy_merge_args_test);
  tcase_add_test(tc, ftps_policy_merge_tickets_groups_test);
  tcase_add_test(tc, ftps_policy_merge_unset_takes_defaults_test);
  tcase_add_test(tc, ftps_policy_merge_explicit_wins_test);
  tcase_add_test(tc, ftps_policy_merge_in_place_test);
  suite_add_tcase(suite, tc);

  tc = tcase_create("validate");
  tcase_add_test(tc, ftps_policy_validate_args_test);
  tcase_add_loop_test(tc, ftps_policy_validate_legacy_test, 0,
    sizeof(legacy_rows) / sizeof(legacy_rows[0]));
  tcase_add_loop_test(tc, ftps_policy_validate_rules_test, 0,
    TESTS_NELEMS(validate_rows));
  tcase_add_test(tc, ftps_policy_validate_merged_test);
  tcase_add_loop_test(tc, ftps_policy_validate_client_certs_test, 0,
    TESTS_NELEMS(cert_rules));
  tcase_add_loop_test(tc, ftps_policy_required_for_path_table_test, 0,
    TESTS_NELEMS(path_rows));
  tcase_add_test(tc, ftps_policy_data_verdict_args_test);
  tcase_add_loop_test(tc, ftps_policy_data_verdict_table_test, 0,
    TESTS_NELEMS(verdict_rows));
  suite_add_tcase(suite, tc);

  return suite;
}
