/*
 * ftps_ctx.c -- in-process TLS tests of mod_ftps/ftps_ctx.c (B21): context
 * building and its errors, the protocol set and options, the role and reuse
 * API, and data-channel session binding (RFC 4217 §10.2) checked on real
 * handshakes over the tlspair.h socketpair, with a forked OpenSSL client.
 *
 * OpenSSL and Check only; no ProFTPD (B2, B19).
 */

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "tlspair.h"
#include "ftps/ftps_warm.h"

#define MAX_CONNS       3

#define WANT_ANY        (-10)     /* not checked */
#define WANT_NOT_OK     (-11)     /* anything but FTPS_REUSE_OK */

/* ---- ftps_ctx_build --------------------------------------------------- */

typedef struct {
  const char *name;
  const char *cert1, *key1, *cert2, *key2;
  const char *ciphers, *ciphersuites;
  const char *want_err;         /* NULL: the build must succeed */
  const char *want_err2;
  const char *want_path;        /* testpki name whose path is in err */
} build_row_t;

static const build_row_t build_rows[] = {
  { "ec", "ec.crt", "ec.key", NULL, NULL, NULL, NULL, NULL, NULL, NULL },
  { "rsa", "rsa.crt", "rsa.key", NULL, NULL, NULL, NULL, NULL, NULL, NULL },
  { "rsa_and_ec", "rsa.crt", "rsa.key", "ec.crt", "ec.key", NULL, NULL,
    NULL, NULL, NULL },
  { "ec_and_rsa", "ec.crt", "ec.key", "rsa.crt", "rsa.key", NULL, NULL,
    NULL, NULL, NULL },
  { "chain", "chain.crt", "chain.key", NULL, NULL, NULL, NULL, NULL, NULL,
    NULL },
  { "combined", "combined.pem", NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    NULL },
  { "good_ciphers", "ec.crt", "ec.key", NULL, NULL, "ECDHE+AESGCM",
    "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256", NULL, NULL, NULL },
  { "missing_cert", "missing.crt", "ec.key", NULL, NULL, NULL, NULL,
    "FTPSCertificate", "No such file", "missing.crt" },
  { "missing_key", "ec.crt", "missing.key", NULL, NULL, NULL, NULL,
    "FTPSCertificate", "No such file", "missing.key" },
  { "cert_is_directory", ".", "ec.key", NULL, NULL, NULL, NULL,
    "FTPSCertificate", NULL, "." },
  { "key_mismatch", "ec.crt", "other.key", NULL, NULL, NULL, NULL,
    "does not match", "FTPSCertificate", "other.key" },
  { "key_mismatch_names_cert", "ec.crt", "other.key", NULL, NULL, NULL, NULL,
    "does not match", NULL, "ec.crt" },
  { "rsa_cert_ec_key", "rsa.crt", "ec.key", NULL, NULL, NULL, NULL,
    "does not match", NULL, "ec.key" },
  { "garbage_cert", "garbage.pem", "ec.key", NULL, NULL, NULL, NULL,
    "FTPSCertificate", "no PEM certificate", "garbage.pem" },
  { "garbage_key", "ec.crt", "garbage.pem", NULL, NULL, NULL, NULL,
    "FTPSCertificate", "private key", "garbage.pem" },
  { "cert_without_key", "ec.crt", NULL, NULL, NULL, NULL, NULL,
    "FTPSCertificate", "private key", "ec.crt" },
  { "two_ecdsa", "ec.crt", "ec.key", "chain.crt", "chain.key", NULL, NULL,
    "second ECDSA", "FTPSCertificate", "chain.crt" },
  { "two_rsa", "rsa.crt", "rsa.key", "rsa.crt", "rsa.key", NULL, NULL,
    "second RSA", NULL, "rsa.crt" },
  { "second_cert_mismatch", "rsa.crt", "rsa.key", "ec.crt", "other.key",
    NULL, NULL, "does not match", NULL, "other.key" },
  { "second_cert_with_first_key", "rsa.crt", "rsa.key", "ec.crt", "rsa.key",
    NULL, NULL, "does not match", NULL, "ec.crt" },
  { "second_cert_with_first_key_ec", "ec.crt", "ec.key", "rsa.crt",
    "ec.key", NULL, NULL, "does not match", NULL, "rsa.crt" },
  { "encrypted_key", "ec.crt", "enc.key", NULL, NULL, NULL, NULL,
    "FTPSCertificate", "private key", "enc.key" },
  { "bad_cipher_list", "ec.crt", "ec.key", NULL, NULL, "NO-SUCH-CIPHER",
    NULL, "FTPSCipherSuite", "NO-SUCH-CIPHER", NULL },
  { "empty_cipher_list", "ec.crt", "ec.key", NULL, NULL, "!ALL", NULL,
    "FTPSCipherSuite", NULL, NULL },
  { "bad_ciphersuites", "ec.crt", "ec.key", NULL, NULL, NULL,
    "TLS_NO_SUCH_SUITE", "FTPSCipherSuite", "TLS_NO_SUCH_SUITE", NULL },
};

START_TEST (ftps_ctx_build_args_test) {
  char err[TLSPAIR_ERRLEN];
  ftps_policy_t p;
  SSL_CTX *ctx;

  tlspair_policy(&p, FTPS_PROTO_ALL, "ec.crt", "ec.key", NULL, NULL);

  mark_point();
  errno = 0;
  ctx = ftps_ctx_build(NULL, "vh", err, sizeof(err));
  ck_assert_msg(ctx == NULL, "Expected NULL for a NULL policy");
  ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL, errno);

  mark_point();
  errno = 0;
  ctx = ftps_ctx_build(&p, "vh", NULL, sizeof(err));
  ck_assert_msg(ctx == NULL, "Expected NULL without an error buffer");
  ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL, errno);

  mark_point();
  errno = 0;
  ctx = ftps_ctx_build(&p, NULL, err, sizeof(err));
  ck_assert_msg(ctx == NULL, "Expected NULL without a vhost identity");
  ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL, errno);

  mark_point();
  errno = 0;
  ctx = ftps_ctx_build(&p, "vh", err, 0);
  ck_assert_msg(ctx == NULL, "Expected NULL for a zero-length error buffer");
  ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL, errno);
}
END_TEST

START_TEST (ftps_ctx_build_certs_test) {
  const build_row_t *row = &build_rows[_i];
  char err[TLSPAIR_ERRLEN] = "";
  ftps_policy_t p;
  SSL_CTX *ctx;

  ck_assert_msg(testpki_dir() != NULL, "test PKI unavailable");
  tlspair_policy(&p, FTPS_PROTO_ALL, row->cert1, row->key1, row->cert2,
    row->key2);
  p.ciphers = row->ciphers;
  p.ciphersuites = row->ciphersuites;

  mark_point();
  errno = 0;
  ctx = ftps_ctx_build(&p, "vh", err, sizeof(err));
  if (row->want_err == NULL) {
    ck_assert_msg(ctx != NULL, "%s: Expected a context, got '%s'", row->name,
      err);
    ftps_ctx_free(ctx);
    return;
  }

  ck_assert_msg(ctx == NULL, "%s: Expected NULL, got a context", row->name);
  ck_assert_msg(errno == EINVAL, "%s: Expected errno %d, got %d", row->name,
    EINVAL, errno);
  ck_assert_msg(strstr(err, row->want_err) != NULL,
    "%s: Expected '%s' in '%s'", row->name, row->want_err, err);
  if (row->want_err2 != NULL) {
    ck_assert_msg(strstr(err, row->want_err2) != NULL,
      "%s: Expected '%s' in '%s'", row->name, row->want_err2, err);
  }
  if (row->want_path != NULL) {
    const char *path = testpki_path(row->want_path);
    ck_assert_msg(strstr(err, path) != NULL, "%s: Expected '%s' in '%s'",
      row->name, path, err);
  }
}
END_TEST

static const struct {
  int protocols;
  int want_min, want_max;
} proto_rows[] = {
  { FTPS_PROTO_TLS12, TLS1_2_VERSION, TLS1_2_VERSION },
  { FTPS_PROTO_TLS13, TLS1_3_VERSION, TLS1_3_VERSION },
  { FTPS_PROTO_ALL,   TLS1_2_VERSION, TLS1_3_VERSION },
};

START_TEST (ftps_ctx_build_protocols_test) {
  SSL_CTX *ctx = tlspair_server_ctx_ec(proto_rows[_i].protocols);
  long min = SSL_CTX_get_min_proto_version(ctx);
  long max = SSL_CTX_get_max_proto_version(ctx);
  uint64_t opts = SSL_CTX_get_options(ctx);

  ck_assert_msg(min == proto_rows[_i].want_min, "Expected %d, got %d",
    proto_rows[_i].want_min, (int) min);
  ck_assert_msg(max == proto_rows[_i].want_max, "Expected %d, got %d",
    proto_rows[_i].want_max, (int) max);
  ck_assert_msg(SSL_CTX_get_timeout(ctx) == FTPS_SESSION_TIMEOUT,
    "Expected %d, got %d", FTPS_SESSION_TIMEOUT,
    (int) SSL_CTX_get_timeout(ctx));
  ck_assert_msg((opts & SSL_OP_NO_RENEGOTIATION) != 0,
    "Expected renegotiation to be off");
  ck_assert_msg((opts & SSL_OP_NO_COMPRESSION) != 0,
    "Expected compression to be off");
  ftps_ctx_free(ctx);
}
END_TEST

/* ---- ftps_ctx_set_role / check_reuse / reuse_str ---------------------- */

START_TEST (ftps_ctx_set_role_args_test) {
  SSL_CTX *ctx = tlspair_server_ctx_ec(FTPS_PROTO_ALL);
  SSL *ssl = SSL_new(ctx);
  int res;

  mark_point();
  res = ftps_ctx_set_role(NULL, FTPS_ROLE_CTRL);
  ck_assert_msg(res == -1, "Expected %d, got %d", -1, res);
  ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL, errno);

  mark_point();
  res = ftps_ctx_set_role(ssl, 0);
  ck_assert_msg(res == -1, "Expected %d, got %d", -1, res);
  ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL, errno);

  mark_point();
  res = ftps_ctx_set_role(ssl, 3);
  ck_assert_msg(res == -1, "Expected %d, got %d", -1, res);
  ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL, errno);

  mark_point();
  res = ftps_ctx_set_role(ssl, FTPS_ROLE_DATA);
  ck_assert_msg(res == 0, "Expected %d, got %d", 0, res);

  ftps_ctx_clear_role(ssl);
  SSL_free(ssl);
  ftps_ctx_free(ctx);
}
END_TEST

START_TEST (ftps_ctx_check_reuse_args_test) {
  SSL_CTX *ctx = tlspair_server_ctx_ec(FTPS_PROTO_ALL);
  SSL *ssl = SSL_new(ctx);
  int res;

  mark_point();
  res = ftps_ctx_check_reuse(NULL);
  ck_assert_msg(res == -1, "Expected %d, got %d", -1, res);
  ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL, errno);

  /* An SSL that was never given a role cannot be judged. */
  mark_point();
  res = ftps_ctx_check_reuse(ssl);
  ck_assert_msg(res == -1, "Expected %d, got %d", -1, res);
  ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL, errno);

  /* Before any handshake nothing was offered, so nothing is reused. */
  ck_assert_msg(ftps_ctx_set_role(ssl, FTPS_ROLE_DATA) == 0, "set_role");
  mark_point();
  res = ftps_ctx_check_reuse(ssl);
  ck_assert_msg(res == FTPS_REUSE_NONE, "Expected %d, got %d",
    FTPS_REUSE_NONE, res);

  ftps_ctx_clear_role(ssl);
  SSL_free(ssl);
  ftps_ctx_free(ctx);
}
END_TEST

START_TEST (ftps_ctx_reuse_str_args_test) {
  static const int codes[] = {
    FTPS_REUSE_OK, FTPS_REUSE_NONE, FTPS_REUSE_FOREIGN, FTPS_REUSE_UNKNOWN,
    -1, 42,
  };
  int i, j;

  for (i = 0; i < TESTS_NELEMS(codes); i++) {
    const char *s;

    mark_point();
    s = ftps_ctx_reuse_str(codes[i]);
    ck_assert_msg(s != NULL && *s != '\0', "code %d: Expected a text",
      codes[i]);
    for (j = 0; j < i && j < 4; j++) {
      ck_assert_msg(strcmp(s, ftps_ctx_reuse_str(codes[j])) != 0,
        "codes %d and %d share the text '%s'", codes[i], codes[j], s);
    }
  }
}
END_TEST

/* ---- data-channel session binding (RFC 4217 §10.2) -------------------- */

typedef struct {
  int role;         /* server: FTPS_ROLE_* */
  int rebind;       /* server: ftps_ctx_new_binding() before this accept */
  int greet;        /* server writes a line after the handshake; the
                       client reads it (and with it any TLS 1.3 tickets) */
  int refresh;      /* server: ftps_io_refresh_session(), then a 2nd line */
  int offer;        /* client offers the session of connection #offer */
  int want_reuse;   /* FTPS_REUSE_*, WANT_ANY or WANT_NOT_OK (DATA only) */
  char want_client; /* 'R' resumed, 'F' full handshake, 0: either */
} conn_row_t;

typedef struct {
  const char *name;
  int protocols;    /* server FTPSProtocol */
  int client_max;   /* 0: library default */
  int no_ticket;    /* client: session IDs only */
  int nconns;
  conn_row_t conns[MAX_CONNS];
  int age_s;        /* sessions live 1 s; the server waits this long
                       before each later connection (an "hours-old"
                       control session, compressed) */
} reuse_row_t;

#define CTRL_FRESH        { FTPS_ROLE_CTRL, 0, 1, 0, -1, WANT_ANY, 'F' }
#define CTRL_REFRESH      { FTPS_ROLE_CTRL, 0, 1, 1, -1, WANT_ANY, 'F' }
#define DATA_FRESH        { FTPS_ROLE_DATA, 0, 0, 0, -1, FTPS_REUSE_NONE, 'F' }
#define DATA_REUSE(i)     { FTPS_ROLE_DATA, 0, 0, 0, (i), FTPS_REUSE_OK, 'R' }

static const reuse_row_t reuse_rows[] = {
  { "tls13_ctrl_then_data", FTPS_PROTO_TLS13, 0, 0, 2,
    { CTRL_FRESH, DATA_REUSE(0) } },
  { "tls12_ctrl_then_data", FTPS_PROTO_TLS12, 0, 0, 2,
    { CTRL_FRESH, DATA_REUSE(0) } },
  { "tls12_client_ctrl_then_data", FTPS_PROTO_ALL, TLS1_2_VERSION, 0, 2,
    { CTRL_FRESH, DATA_REUSE(0) } },
  { "tls13_two_transfers", FTPS_PROTO_TLS13, 0, 0, 3,
    { CTRL_FRESH, DATA_REUSE(0), DATA_REUSE(0) } },
  { "tls12_two_transfers", FTPS_PROTO_TLS12, 0, 0, 3,
    { CTRL_FRESH, DATA_REUSE(0), DATA_REUSE(0) } },
  { "tls13_refreshed_ticket", FTPS_PROTO_TLS13, 0, 0, 2,
    { CTRL_REFRESH, DATA_REUSE(0) } },
  { "tls12_refreshed_session", FTPS_PROTO_TLS12, 0, 0, 2,
    { CTRL_REFRESH, DATA_REUSE(0) } },
  { "tls12_session_id_ctrl_then_data", FTPS_PROTO_ALL, TLS1_2_VERSION, 1, 2,
    { CTRL_FRESH, DATA_REUSE(0) } },

  { "tls13_data_without_session", FTPS_PROTO_TLS13, 0, 0, 1,
    { DATA_FRESH } },
  { "tls12_data_without_session", FTPS_PROTO_ALL, TLS1_2_VERSION, 0, 1,
    { DATA_FRESH } },

  /* A control session older than the session lifetime still resumes: the
   * server refreshes bound sessions when a data connection presents them. */
  { "tls12_aged_ticket_still_resumes", FTPS_PROTO_TLS12, 0, 0, 2,
    { CTRL_FRESH, DATA_REUSE(0) }, 2 },
  { "tls13_aged_ticket_still_resumes", FTPS_PROTO_TLS13, 0, 0, 2,
    { CTRL_FRESH, DATA_REUSE(0) }, 2 },

  /* Another session process's control session: a new binding. */
  { "tls13_data_foreign_binding", FTPS_PROTO_TLS13, 0, 0, 2,
    { CTRL_FRESH,
      { FTPS_ROLE_DATA, 1, 0, 0, 0, FTPS_REUSE_FOREIGN, 'F' } } },
  { "tls12_data_foreign_binding", FTPS_PROTO_TLS12, 0, 0, 2,
    { CTRL_FRESH,
      { FTPS_ROLE_DATA, 1, 0, 0, 0, FTPS_REUSE_FOREIGN, 'F' } } },
  { "tls12_session_id_foreign_binding", FTPS_PROTO_ALL, TLS1_2_VERSION, 1, 2,
    { CTRL_FRESH,
      { FTPS_ROLE_DATA, 1, 0, 0, 0, WANT_NOT_OK, 0 } } },

  /* A session born on a data connection is never bound. */
  { "tls13_session_from_data", FTPS_PROTO_TLS13, 0, 0, 2,
    { DATA_FRESH,
      { FTPS_ROLE_DATA, 0, 0, 0, 0, WANT_NOT_OK, 'F' } } },
  { "tls12_session_from_data", FTPS_PROTO_TLS12, 0, 0, 2,
    { DATA_FRESH,
      { FTPS_ROLE_DATA, 0, 0, 0, 0, WANT_NOT_OK, 0 } } },
  { "tls12_session_id_from_data", FTPS_PROTO_ALL, TLS1_2_VERSION, 1, 2,
    { DATA_FRESH,
      { FTPS_ROLE_DATA, 0, 0, 0, 0, WANT_NOT_OK, 0 } } },

  /* A resumed control connection hands out sessions bound to us. */
  { "tls13_ctrl_resumed_then_data", FTPS_PROTO_TLS13, 0, 0, 3,
    { CTRL_FRESH,
      { FTPS_ROLE_CTRL, 0, 1, 0, 0, WANT_ANY, 'R' }, DATA_REUSE(1) } },
  { "tls12_ctrl_resumed_then_data", FTPS_PROTO_TLS12, 0, 0, 3,
    { CTRL_FRESH,
      { FTPS_ROLE_CTRL, 0, 1, 0, 0, WANT_ANY, 'R' }, DATA_REUSE(1) } },
  { "tls13_ctrl_resumed_across_bindings", FTPS_PROTO_TLS13, 0, 0, 3,
    { CTRL_FRESH,
      { FTPS_ROLE_CTRL, 1, 1, 0, 0, WANT_ANY, 'R' }, DATA_REUSE(1) } },
  /* TLS 1.2: another FTP session's ticket makes a full handshake on the
   * control connection (JSSE would keep offering it on data connections,
   * not the one we renew); the new session is bound to us. */
  { "tls12_ctrl_foreign_ticket_full_handshake", FTPS_PROTO_TLS12, 0, 0, 3,
    { CTRL_FRESH,
      { FTPS_ROLE_CTRL, 1, 1, 0, 0, WANT_ANY, 'F' }, DATA_REUSE(1) } },
};

typedef struct {
  const reuse_row_t *row;
  int fds[MAX_CONNS];
} reuse_arg_t;

/* One connection of body_reuse; *keep: a control SSL left open. */
static int client_reuse_conn(FILE *report, SSL_CTX *c, int fd,
    const conn_row_t *conn, SSL_SESSION *offer, SSL_SESSION **out,
    SSL **keep) {
  char line[64];
  int i, lines = conn->greet ? 1 + conn->refresh : 0;
  SSL *ssl = client_connect(c, fd, offer, report);

  if (ssl == NULL) {
    fputc('E', report);
    return -1;
  }
  for (i = 0; i < lines; i++) {
    if (client_read_line(ssl, line, sizeof(line)) < 0) {
      fputs("read-failed ", report);
      SSL_free(ssl);
      return -1;
    }
  }
  *out = SSL_get1_session(ssl);
  fputc(SSL_session_reused(ssl) ? 'R' : 'F', report);
  if (conn->role == FTPS_ROLE_CTRL) {
    *keep = ssl;      /* like an FTP client: control outlives transfers */
    return 0;
  }
  (void) SSL_shutdown(ssl);
  client_drain(fd);
  SSL_free(ssl);
  close(fd);
  return 0;
}

static int body_reuse(FILE *report, void *argp) {
  reuse_arg_t *arg = argp;
  const reuse_row_t *row = arg->row;
  SSL_SESSION *sess[MAX_CONNS] = { NULL };
  SSL *ctrl[MAX_CONNS] = { NULL };
  client_cfg_t cfg = { 0, row->client_max, NULL, NULL, row->no_ticket };
  SSL_CTX *c = client_ctx_new(&cfg);
  int i;

  if (c == NULL) {
    return 1;
  }
  fputs("conns=", report);
  for (i = 0; i < row->nconns; i++) {
    const conn_row_t *conn = &row->conns[i];
    SSL_SESSION *offer = conn->offer >= 0 ? sess[conn->offer] : NULL;

    if (client_reuse_conn(report, c, arg->fds[i], conn, offer, &sess[i],
        &ctrl[i]) < 0) {
      return 2;
    }
  }
  fputc(' ', report);
  for (i = 0; i < row->nconns; i++) {
    SSL_free(ctrl[i]);
  }
  return 0;
}

/* Returns the control connection (kept open), or NULL for data. */
static ftps_io_t *reuse_server_conn(SSL_CTX *ctx, int fd,
    const reuse_row_t *row, int i) {
  const conn_row_t *conn = &row->conns[i];
  ftps_io_t *io;
  int reuse;

  if (conn->rebind) {
    ck_assert_msg(ftps_ctx_new_binding() == 0, "ftps_ctx_new_binding");
  }
  io = server_accept(ctx, fd, conn->role);
  if (conn->greet) {
    server_send(io, "220 greeting\r\n");
  }
  if (conn->refresh) {
    mark_point();
    ck_assert_msg(ftps_io_refresh_session(io) == 0, "%s: refresh failed",
      row->name);
    server_send(io, "200 refreshed\r\n");
  }

  mark_point();
  reuse = ftps_ctx_check_reuse(ftps_io_conn(io));
  if (conn->want_reuse == WANT_NOT_OK) {
    ck_assert_msg(reuse != FTPS_REUSE_OK && reuse >= 0,
      "%s: conn %d: Expected a refusal, got %d (%s)", row->name, i, reuse,
      ftps_ctx_reuse_str(reuse));
  } else if (conn->want_reuse != WANT_ANY) {
    ck_assert_msg(reuse == conn->want_reuse,
      "%s: conn %d: Expected %d (%s), got %d (%s)", row->name, i,
      conn->want_reuse, ftps_ctx_reuse_str(conn->want_reuse), reuse,
      ftps_ctx_reuse_str(reuse));
  }
  if (conn->role == FTPS_ROLE_CTRL) {
    return io;
  }
  mark_point();
  ck_assert_msg(ftps_io_shutdown(io, 0, 1000) == 0, "%s: conn %d: %s",
    row->name, i, ftps_io_error(io));
  ftps_io_free(io);
  close(fd);
  return NULL;
}

START_TEST (ftps_ctx_check_reuse_binding_test) {
  const reuse_row_t *row = &reuse_rows[_i];
  int sv[MAX_CONNS][2], server_fds[MAX_CONNS] = { -1 }, i, rc;
  char report[TLSPAIR_REPORT_LEN], want[MAX_CONNS + 1];
  ftps_io_t *ctrl[MAX_CONNS] = { NULL };
  reuse_arg_t arg;
  client_t client;
  SSL_CTX *ctx = tlspair_server_ctx_ec(row->protocols);

  arg.row = row;
  for (i = 0; i < row->nconns; i++) {
    tlspair_make_pair(sv[i]);
    server_fds[i] = sv[i][0];
    arg.fds[i] = sv[i][1];
  }
  client_start(&client, body_reuse, &arg, server_fds, row->nconns);
  for (i = 0; i < row->nconns; i++) {
    close(sv[i][1]);
  }

  if (row->age_s > 0) {
    (void) SSL_CTX_set_timeout(ctx, 1);
  }
  for (i = 0; i < row->nconns; i++) {
    if (i > 0 && row->age_s > 0) {
      sleep((unsigned int) row->age_s);    /* ages the session; no sync */
    }
    ctrl[i] = reuse_server_conn(ctx, sv[i][0], row, i);
  }
  rc = client_finish(&client, report, sizeof(report));
  for (i = 0; i < row->nconns; i++) {
    if (ctrl[i] != NULL) {
      (void) ftps_io_shutdown(ctrl[i], 0, 1000);
      ftps_io_free(ctrl[i]);
      close(sv[i][0]);
    }
  }
  ftps_ctx_free(ctx);
  ck_assert_msg(rc == 0, "%s: client: Expected %d, got %d (%s)", row->name, 0,
    rc, report);

  /* What the client saw agrees with the server's verdict. */
  for (i = 0; i < row->nconns; i++) {
    want[i] = row->conns[i].want_client;
  }
  for (i = 0; i < row->nconns; i++) {
    const char *got = strstr(report, "conns=");
    ck_assert_msg(got != NULL && strlen(got) >= 6 + (size_t) row->nconns,
      "%s: short client report '%s'", row->name, report);
    if (want[i] != 0) {
      ck_assert_msg(got[6 + i] == want[i],
        "%s: conn %d: client Expected '%c', got '%c' (%s)", row->name, i,
        want[i], got[6 + i], report);
    }
  }
}
END_TEST

/* ---- sessions stay on their vhost; only control sessions are cached --- */

/*
 * In one process over a BIO pair: a server SSL made from `initial` (the
 * listener's context), switched by SNI to vhost B when the client names
 * VHOST_B, like ftps_vhost.c does (ftps_ctx_apply in the ClientHello
 * callback); `apply` dresses a data SSL in another vhost's settings, like
 * ftps_netio.c does after an SNI switch.
 */
#define VHOST_B   "b.example"

typedef struct {
  SSL_CTX *a, *b;
} vhosts_t;

static int sni_to_b(SSL *ssl, const char *name, SSL_CTX **out, int *alert,
    void *arg) {
  vhosts_t *vh = arg;

  if (name != NULL && strcmp(name, VHOST_B) == 0) {
    *out = vh->b;
    return 1;
  }
  return 0;
}

static void vhosts_setup(vhosts_t *vh, int protocols) {
  ftps_policy_t p;

  tlspair_policy(&p, protocols, "ec.crt", "ec.key", NULL, NULL);
  vh->a = tlspair_server_ctx_policy(&p, "a.example|127.0.0.1|21|1");
  /* B asks for a client certificate of its CA: what a session made on A
   * must never let a client skip. */
  p.verify_client = FTPS_VERIFY_OPTIONAL;
  p.ca_file = testpki_path("ca.crt");
  vh->b = tlspair_server_ctx_policy(&p, VHOST_B "|127.0.0.1|21|2");
  ck_assert_msg(ftps_ctx_set_sni_fn(vh->a, sni_to_b, vh) == 0, "sni fn");
  ck_assert_msg(ftps_ctx_set_sni_fn(vh->b, sni_to_b, vh) == 0, "sni fn");
}

static void vhosts_teardown(vhosts_t *vh) {
  ftps_ctx_free(vh->a);
  ftps_ctx_free(vh->b);
}

/* Handshake, then a server write the client reads (TLS 1.3 tickets). */
static int bio_pump(SSL *client, SSL *server) {
  char buf[8];
  size_t n;

  return ftps_warm_pump(client, server) == 0 &&
    SSL_write_ex(server, "ok", 2, &n) == 1 &&
    SSL_read_ex(client, buf, sizeof(buf), &n) == 1 ? 0 : -1;
}

typedef struct {
  int reused;                   /* server side: SSL_session_reused */
  int reuse;                    /* ftps_ctx_check_reuse (data only) */
  SSL_SESSION *sess;            /* the client's session afterwards */
} conn_out_t;

/* One connection: server SSL from `initial`, role, optional ftps_ctx_apply
 * of `apply`; the client sends `sni` and offers `offer`. */
static void bio_conn(SSL_CTX *cctx, SSL_CTX *initial, SSL_CTX *apply,
    int role, const char *sni, SSL_SESSION *offer, conn_out_t *out) {
  SSL *client = SSL_new(cctx), *server = SSL_new(initial);
  BIO *cb = NULL, *sb = NULL;

  ck_assert_msg(client != NULL && server != NULL &&
    BIO_new_bio_pair(&cb, 0, &sb, 0) == 1, "SSL_new/BIO pair");
  SSL_set_bio(client, cb, cb);
  SSL_set_bio(server, sb, sb);
  SSL_set_connect_state(client);
  SSL_set_accept_state(server);
  ck_assert_msg(ftps_ctx_set_role(server, role) == 0, "set_role");
  if (apply != NULL) {
    ck_assert_msg(ftps_ctx_apply(server, apply) == 0, "apply");
  }
  if (sni != NULL) {
    ck_assert_msg(SSL_set_tlsext_host_name(client, sni) == 1, "sni");
  }
  if (offer != NULL) {
    ck_assert_msg(SSL_set_session(client, offer) == 1, "set_session");
  }
  mark_point();
  ck_assert_msg(bio_pump(client, server) == 0, "handshake failed: %s",
    ERR_reason_error_string(ERR_peek_last_error()));
  out->reused = SSL_session_reused(server);
  out->reuse = role == FTPS_ROLE_DATA ? ftps_ctx_check_reuse(server) : -1;
  out->sess = SSL_get1_session(client);
  (void) SSL_shutdown(server);
  SSL_set_shutdown(server, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  SSL_set_shutdown(client, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  ftps_ctx_clear_role(server);
  SSL_free(server);
  SSL_free(client);
  ERR_clear_error();
}

#define ON_A      0   /* SSL from A, no SNI */
#define SNI_B     1   /* SSL from A, SNI switches to B (name-based) */
#define CTX_B     2   /* SSL from B (B's own port) */
#define DATA_B    3   /* data: SSL from A dressed in B (after SNI to B) */

typedef struct {
  const char *name;
  int protocols, client_max, no_ticket;
  int first, second;            /* ON_A ... DATA_B */
  int want_reused;
} vhost_row_t;

#define VHOST_ROWS(kind, proto, max, noticket) \
  { kind "_a_to_b_by_sni", proto, max, noticket, ON_A, SNI_B, 0 }, \
  { kind "_a_to_b_by_port", proto, max, noticket, ON_A, CTX_B, 0 }, \
  { kind "_b_to_a_by_sni", proto, max, noticket, SNI_B, ON_A, 0 }, \
  { kind "_a_on_a", proto, max, noticket, ON_A, ON_A, 1 }, \
  { kind "_b_on_b_by_sni", proto, max, noticket, SNI_B, SNI_B, 1 }, \
  { kind "_data_after_sni_switch", proto, max, noticket, SNI_B, DATA_B, 1 }

static const vhost_row_t vhost_rows[] = {
  VHOST_ROWS("tls13_ticket", FTPS_PROTO_ALL, 0, 0),
  VHOST_ROWS("tls12_ticket", FTPS_PROTO_ALL, TLS1_2_VERSION, 0),
  VHOST_ROWS("tls12_session_id", FTPS_PROTO_ALL, TLS1_2_VERSION, 1),
};

static void vhost_conn(vhosts_t *vh, SSL_CTX *cctx, int how,
    SSL_SESSION *offer, conn_out_t *out) {
  switch (how) {
    case ON_A:
      bio_conn(cctx, vh->a, NULL, FTPS_ROLE_CTRL, NULL, offer, out);
      break;
    case SNI_B:
      bio_conn(cctx, vh->a, NULL, FTPS_ROLE_CTRL, VHOST_B, offer, out);
      break;
    case CTX_B:
      bio_conn(cctx, vh->b, NULL, FTPS_ROLE_CTRL, NULL, offer, out);
      break;
    default:
      bio_conn(cctx, vh->a, vh->b, FTPS_ROLE_DATA, NULL, offer, out);
      break;
  }
}

START_TEST (ftps_ctx_build_session_stays_on_vhost_test) {
  const vhost_row_t *row = &vhost_rows[_i];
  client_cfg_t cfg = { 0, row->client_max, NULL, NULL, row->no_ticket };
  SSL_CTX *cctx = client_ctx_new(&cfg);
  conn_out_t first, second;
  vhosts_t vh;

  ck_assert_msg(cctx != NULL, "client_ctx_new");
  SSL_CTX_set_session_cache_mode(cctx, SSL_SESS_CACHE_CLIENT);
  vhosts_setup(&vh, row->protocols);

  vhost_conn(&vh, cctx, row->first, NULL, &first);
  ck_assert_msg(first.sess != NULL, "%s: no session", row->name);
  vhost_conn(&vh, cctx, row->second, first.sess, &second);

  ck_assert_msg(second.reused == row->want_reused,
    "%s: Expected reused=%d, got %d", row->name, row->want_reused,
    second.reused);
  if (row->second == DATA_B) {
    ck_assert_msg(second.reuse == FTPS_REUSE_OK, "%s: Expected %d, got %d",
      row->name, FTPS_REUSE_OK, second.reuse);
  }
  SSL_SESSION_free(first.sess);
  SSL_SESSION_free(second.sess);
  vhosts_teardown(&vh);
  SSL_CTX_free(cctx);
}
END_TEST

static const struct {
  const char *name;
  int client_max, no_ticket;
} cache_rows[] = {
  { "tls12_session_id", TLS1_2_VERSION, 1 },
  { "tls12_ticket", TLS1_2_VERSION, 0 },
  { "tls13", 0, 0 },
};

/* SECURITY (session memory): data handshakes, refused or not, never add
 * to the server cache; a TLS 1.2 control session does, once. */
START_TEST (ftps_ctx_build_cache_holds_only_control_test) {
  client_cfg_t cfg = { 0, cache_rows[_i].client_max, NULL, NULL,
    cache_rows[_i].no_ticket };
  SSL_CTX *cctx = client_ctx_new(&cfg);
  SSL_CTX *ctx = tlspair_server_ctx_ec(FTPS_PROTO_ALL);
  conn_out_t out;
  long before, after;
  int i, want_ctrl;

  ck_assert_msg(cctx != NULL, "client_ctx_new");
  before = SSL_CTX_sess_number(ctx);
  for (i = 0; i < 20; i++) {
    bio_conn(cctx, ctx, NULL, FTPS_ROLE_DATA, NULL, NULL, &out);
    ck_assert_msg(out.reuse == FTPS_REUSE_NONE, "%s: Expected %d, got %d",
      cache_rows[_i].name, FTPS_REUSE_NONE, out.reuse);
    SSL_SESSION_free(out.sess);
  }
  after = SSL_CTX_sess_number(ctx);
  ck_assert_msg(after == before, "%s: 20 data handshakes: Expected %ld "
    "cached sessions, got %ld", cache_rows[_i].name, before, after);

  bio_conn(cctx, ctx, NULL, FTPS_ROLE_CTRL, NULL, NULL, &out);
  want_ctrl = cache_rows[_i].client_max == TLS1_2_VERSION &&
    cache_rows[_i].no_ticket;
  ck_assert_msg(SSL_CTX_sess_number(ctx) <= before + 1 &&
    (!want_ctrl || SSL_CTX_sess_number(ctx) == before + 1),
    "%s: control handshake: Expected %ld cached sessions, got %ld",
    cache_rows[_i].name, before + want_ctrl, SSL_CTX_sess_number(ctx));
  SSL_SESSION_free(out.sess);
  ftps_ctx_free(ctx);
  SSL_CTX_free(cctx);
}
END_TEST

/* ---- the suite -------------------------------------------------------- */

/* ---- FTPSGroups, legacy FTPSProtocol, FTPSSessionTickets at build ----- */

static const struct {
  const char *name;
  const char *groups;
  int protocols;
  int tickets;
  int want_ok;
  int want_seclevel;        /* -1: not checked */
  const char *want_err;
} extras_rows[] = {
  { "groups_ok", "X25519:P-384", FTPS_PROTO_ALL, 1, 1, 2, NULL },
  { "groups_ffdhe", "ffdhe2048", FTPS_PROTO_ALL, 1, 1, -1, NULL },
  { "groups_alias_twice", "P-256:prime256v1", FTPS_PROTO_ALL, 1, 0, -1,
    "FTPSGroups" },
  { "legacy_seclevel_0", NULL, FTPS_PROTO_TLS11|FTPS_PROTO_ALL, 1, 1, 0,
    NULL },
  { "modern_seclevel_2", NULL, FTPS_PROTO_ALL, 0, 1, 2, NULL },
  { "tickets_off", NULL, FTPS_PROTO_TLS12, 0, 1, 2, NULL },
};

START_TEST (ftps_ctx_build_extras_test) {
  char err[512] = "";
  ftps_policy_t p;
  SSL_CTX *ctx;

  tlspair_policy(&p, extras_rows[_i].protocols, "ec.crt", "ec.key", NULL,
    NULL);
  p.groups = extras_rows[_i].groups;
  p.session_tickets = extras_rows[_i].tickets;

  mark_point();
  ctx = ftps_ctx_build(&p, "vh", err, sizeof(err));
  ck_assert_msg((ctx != NULL) == extras_rows[_i].want_ok,
    "%s: Expected %s, got %s (%s)", extras_rows[_i].name,
    extras_rows[_i].want_ok ? "a context" : "NULL",
    ctx != NULL ? "a context" : "NULL", err);
  if (extras_rows[_i].want_err != NULL) {
    ck_assert_msg(strstr(err, extras_rows[_i].want_err) != NULL,
      "%s: Expected '%s' in '%s'", extras_rows[_i].name,
      extras_rows[_i].want_err, err);
  }
  if (ctx != NULL && extras_rows[_i].want_seclevel >= 0) {
    ck_assert_msg(SSL_CTX_get_security_level(ctx) ==
      extras_rows[_i].want_seclevel, "%s: Expected level %d, got %d",
      extras_rows[_i].name, extras_rows[_i].want_seclevel,
      SSL_CTX_get_security_level(ctx));
  }
  ftps_ctx_free(ctx);
}
END_TEST

Suite *tests_get_ctx_suite(void) {
  Suite *suite = suite_create("ftps_ctx");
  TCase *tc;

  tc = tcase_create("ctx");
  tcase_add_unchecked_fixture(tc, tlspair_pki_setup, NULL);
  tcase_add_checked_fixture(tc, tlspair_binding_setup, NULL);
  tcase_set_timeout(tc, 20);
  tcase_add_test(tc, ftps_ctx_build_args_test);
  tcase_add_loop_test(tc, ftps_ctx_build_certs_test, 0,
    TESTS_NELEMS(build_rows));
  tcase_add_loop_test(tc, ftps_ctx_build_protocols_test, 0,
    TESTS_NELEMS(proto_rows));
  tcase_add_loop_test(tc, ftps_ctx_build_extras_test, 0,
    TESTS_NELEMS(extras_rows));
  tcase_add_test(tc, ftps_ctx_set_role_args_test);
  tcase_add_test(tc, ftps_ctx_check_reuse_args_test);
  tcase_add_loop_test(tc, ftps_ctx_check_reuse_binding_test, 0,
    TESTS_NELEMS(reuse_rows));
  tcase_add_test(tc, ftps_ctx_reuse_str_args_test);
  tcase_add_loop_test(tc, ftps_ctx_build_session_stays_on_vhost_test, 0,
    TESTS_NELEMS(vhost_rows));
  tcase_add_loop_test(tc, ftps_ctx_build_cache_holds_only_control_test, 0,
    TESTS_NELEMS(cache_rows));
  suite_add_tcase(suite, tc);

  return suite;
}
