/*
 * ftps_io.c -- in-process TLS tests of mod_ftps/ftps_ctx.c and
 * mod_ftps/ftps_io.c (B21): the server is ftps_io_* on one end of a
 * socketpair(2) with a context from ftps_ctx_build(); the client is plain
 * OpenSSL in a forked child that reports what it saw on a pipe.
 *
 * Covers context building and its errors, the protocol set, RSA+ECDSA
 * selection, the certificate chain, data-channel session binding (RFC 4217
 * §10.2), close_notify, truncation, deadlines and bidirectional shutdown.
 */

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "tests.h"
#include "ftps/ftps_policy.h"
#include "ftps/ftps_ctx.h"
#include "ftps/ftps_io.h"

#define ERRLEN          512
#define ACCEPT_MS       5000
#define CLIENT_WAIT_MS  10000
#define REPORT_LEN      512
#define MAX_CONNS       3

#define WANT_ANY        (-10)     /* not checked */
#define WANT_NOT_OK     (-11)     /* anything but FTPS_REUSE_OK */

/* ---- helpers: time, policy, server context ---------------------------- */

static long long now_ms(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A merged policy with FTPS on and the given certificates (testpki names;
 * key NULL means the key is in the certificate file). */
static void test_policy(ftps_policy_t *p, int protocols, const char *cert1,
    const char *key1, const char *cert2, const char *key2) {
  ftps_policy_defaults(p);
  p->engine = 1;
  p->protocols = protocols;
  if (cert1 != NULL) {
    p->certs[p->ncerts].cert_file = testpki_path(cert1);
    p->certs[p->ncerts].key_file = key1 ? testpki_path(key1) : NULL;
    p->ncerts++;
  }
  if (cert2 != NULL) {
    p->certs[p->ncerts].cert_file = testpki_path(cert2);
    p->certs[p->ncerts].key_file = key2 ? testpki_path(key2) : NULL;
    p->ncerts++;
  }
}

static SSL_CTX *server_ctx(int protocols, const char *cert1, const char *key1,
    const char *cert2, const char *key2) {
  char err[ERRLEN] = "";
  ftps_policy_t p;
  SSL_CTX *ctx;

  ck_assert_msg(testpki_dir() != NULL, "test PKI unavailable");
  test_policy(&p, protocols, cert1, key1, cert2, key2);
  mark_point();
  ctx = ftps_ctx_build(&p, err, sizeof(err));
  ck_assert_msg(ctx != NULL, "ftps_ctx_build failed: %s", err);
  return ctx;
}

static SSL_CTX *server_ctx_ec(int protocols) {
  return server_ctx(protocols, "ec.crt", "ec.key", NULL, NULL);
}

static void make_pair(int sv[2]) {
  int res = socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  ck_assert_msg(res == 0, "socketpair: %s", strerror(errno));
}

/* Reads exactly len bytes; returns what the last ftps_io_read() said. */
static ssize_t server_read_exact(ftps_io_t *io, char *buf, size_t len) {
  size_t got = 0;

  while (got < len) {
    ssize_t n = ftps_io_read(io, buf + got, len - got);
    if (n <= 0) {
      return n;
    }
    got += (size_t) n;
  }
  return (ssize_t) got;
}

static void server_expect(ftps_io_t *io, const char *want) {
  char buf[256];
  size_t len = strlen(want);
  ssize_t n;

  ck_assert(len < sizeof(buf));
  mark_point();
  n = server_read_exact(io, buf, len);
  ck_assert_msg(n == (ssize_t) len, "Expected %d, got %d (%s)", (int) len,
    (int) n, ftps_io_error(io));
  ck_assert_msg(memcmp(buf, want, len) == 0, "Expected '%s'", want);
}

static void server_send(ftps_io_t *io, const char *msg) {
  ssize_t n;

  mark_point();
  n = ftps_io_write(io, msg, strlen(msg));
  ck_assert_msg(n == (ssize_t) strlen(msg), "Expected %d, got %d (%s)",
    (int) strlen(msg), (int) n, ftps_io_error(io));
}

static ftps_io_t *server_accept(SSL_CTX *ctx, int fd, int role) {
  ftps_io_t *io;
  int res;

  mark_point();
  io = ftps_io_new(ctx, fd, role);
  ck_assert_msg(io != NULL, "ftps_io_new: %s", strerror(errno));
  mark_point();
  res = ftps_io_accept(io, ACCEPT_MS);
  ck_assert_msg(res == 0, "Expected %d, got %d (%s)", 0, res,
    ftps_io_error(io));
  return io;
}

/* ---- the client: plain OpenSSL in a child process --------------------- */

typedef struct {
  int min_version;              /* 0: library default */
  int max_version;
  const char *sigalgs;          /* restrict the server's certificate choice */
  const char *cafile;           /* verify the server; NULL: no verification */
  int no_ticket;                /* TLS 1.2 session-ID resumption only */
} client_cfg_t;

typedef int (*client_body_t)(FILE *report, void *arg);

typedef struct {
  pid_t pid;
  int report_fd;
} client_t;

static SSL_CTX *client_ctx_new(const client_cfg_t *cfg) {
  SSL_CTX *c = SSL_CTX_new(TLS_client_method());

  if (c == NULL) {
    return NULL;
  }
  if ((cfg->min_version && !SSL_CTX_set_min_proto_version(c,
        cfg->min_version)) ||
      (cfg->max_version && !SSL_CTX_set_max_proto_version(c,
        cfg->max_version)) ||
      (cfg->sigalgs && !SSL_CTX_set1_sigalgs_list(c, cfg->sigalgs)) ||
      (cfg->cafile && !SSL_CTX_load_verify_locations(c, cfg->cafile, NULL))) {
    SSL_CTX_free(c);
    return NULL;
  }
  SSL_CTX_set_verify(c, cfg->cafile ? SSL_VERIFY_PEER : SSL_VERIFY_NONE,
    NULL);
  if (cfg->no_ticket) {
    SSL_CTX_set_options(c, SSL_OP_NO_TICKET);
  }
  return c;
}

/* Handshake on fd, offering sess if not NULL; NULL (reported) on failure. */
static SSL *client_connect(SSL_CTX *c, int fd, SSL_SESSION *sess,
    FILE *report) {
  SSL *ssl = SSL_new(c);

  if (ssl == NULL || SSL_set_fd(ssl, fd) != 1 ||
      SSL_set_tlsext_host_name(ssl, "localhost") != 1 ||
      SSL_set1_host(ssl, "localhost") != 1 ||
      (sess != NULL && SSL_set_session(ssl, sess) != 1)) {
    fprintf(report, "client-setup-failed ");
    SSL_free(ssl);
    return NULL;
  }
  ERR_clear_error();
  if (SSL_connect(ssl) != 1) {
    fprintf(report, "connect-failed(%s) ",
      ERR_reason_error_string(ERR_peek_last_error()));
    SSL_free(ssl);
    return NULL;
  }
  return ssl;
}

/* Reads up to and including '\n'; 0 or -1. */
static int client_read_line(SSL *ssl, char *buf, size_t len) {
  size_t got = 0;

  while (got + 1 < len) {
    int n = SSL_read(ssl, buf + got, 1);
    if (n <= 0) {
      return -1;
    }
    if (buf[got++] == '\n') {
      buf[got] = '\0';
      return 0;
    }
  }
  return -1;
}

/* Waits for the server to close its end, so nothing races with it. */
static void client_drain(int fd) {
  char sink[4096];

  while (read(fd, sink, sizeof(sink)) > 0) {
  }
}

static void client_start(client_t *c, client_body_t body, void *arg,
    const int *close_fds, int nclose) {
  int pfd[2], i;

  ck_assert_msg(pipe(pfd) == 0, "pipe: %s", strerror(errno));
  c->pid = fork();
  ck_assert_msg(c->pid >= 0, "fork: %s", strerror(errno));

  if (c->pid == 0) {
    FILE *report;
    int rc;

    alarm(15);      /* never outlive a hung test */
    close(pfd[0]);
    for (i = 0; i < nclose; i++) {
      close(close_fds[i]);
    }
    report = fdopen(pfd[1], "w");
    rc = report != NULL ? body(report, arg) : 99;
    if (report != NULL) {
      fclose(report);
    }
    _exit(rc);
  }

  close(pfd[1]);
  c->report_fd = pfd[0];
}

/* The child's exit status (or -1), and its report. */
static int client_finish(client_t *c, char *report, size_t len) {
  long long deadline = now_ms() + CLIENT_WAIT_MS;
  size_t got = 0;
  int status = 0;

  for (;;) {
    struct pollfd pfd = { c->report_fd, POLLIN, 0 };
    long long left = deadline - now_ms();
    ssize_t n;

    if (left <= 0 || poll(&pfd, 1, (int) left) <= 0) {
      break;
    }
    n = read(c->report_fd, report + got, len - 1 - got);
    if (n <= 0) {
      break;
    }
    got += (size_t) n;
    if (got == len - 1) {
      break;
    }
  }
  report[got] = '\0';
  close(c->report_fd);

  while (waitpid(c->pid, &status, WNOHANG) == 0) {
    if (now_ms() > deadline) {
      kill(c->pid, SIGKILL);
      (void) waitpid(c->pid, &status, 0);
      return -1;
    }
    usleep(2000);
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static const char *key_name(X509 *cert) {
  EVP_PKEY *key = cert ? X509_get0_pubkey(cert) : NULL;

  if (key == NULL) {
    return "none";
  }
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_EC:
      return "EC";
    case EVP_PKEY_RSA:
      return "RSA";
    default:
      return "other";
  }
}

/* ---- handshakes: protocol set, certificate choice, chain -------------- */

typedef struct {
  client_cfg_t cfg;
  int fd;
} hs_arg_t;

/* ping/pong, then a clean close_notify. */
static int body_handshake(FILE *report, void *argp) {
  hs_arg_t *arg = argp;
  SSL_CTX *c = client_ctx_new(&arg->cfg);
  char line[64];
  SSL *ssl;

  if (c == NULL || (ssl = client_connect(c, arg->fd, NULL, report)) == NULL) {
    return 1;
  }
  fprintf(report, "version=%s key=%s chain=%d verify=%ld ",
    SSL_get_version(ssl), key_name(SSL_get0_peer_certificate(ssl)),
    sk_X509_num(SSL_get_peer_cert_chain(ssl)), SSL_get_verify_result(ssl));
  if (SSL_write(ssl, "ping\n", 5) != 5 ||
      client_read_line(ssl, line, sizeof(line)) < 0 ||
      strcmp(line, "pong\n") != 0) {
    fprintf(report, "io-failed ");
    return 2;
  }
  (void) SSL_shutdown(ssl);
  client_drain(arg->fd);
  return 0;
}

typedef struct {
  const char *name;
  int protocols;                /* server FTPSProtocol */
  const char *cert1, *key1, *cert2, *key2;
  client_cfg_t cfg;
  int want_ok;
  const char *want_version;
  const char *want_key;         /* "EC" / "RSA" / NULL */
  int want_chain;               /* certificates the client got; 0: any */
} hs_row_t;

static const hs_row_t hs_rows[] = {
  { "tls13", FTPS_PROTO_ALL, "ec.crt", "ec.key", NULL, NULL,
    { 0, 0, NULL, NULL, 0 }, 1, "TLSv1.3", "EC", 1 },
  { "tls13_only", FTPS_PROTO_TLS13, "ec.crt", "ec.key", NULL, NULL,
    { 0, 0, NULL, NULL, 0 }, 1, "TLSv1.3", "EC", 1 },
  { "tls12_only_server", FTPS_PROTO_TLS12, "ec.crt", "ec.key", NULL, NULL,
    { 0, 0, NULL, NULL, 0 }, 1, "TLSv1.2", "EC", 1 },
  { "tls12_client", FTPS_PROTO_ALL, "ec.crt", "ec.key", NULL, NULL,
    { 0, TLS1_2_VERSION, NULL, NULL, 0 }, 1, "TLSv1.2", "EC", 1 },
  { "tls13_server_vs_tls12_client", FTPS_PROTO_TLS13, "ec.crt", "ec.key",
    NULL, NULL, { 0, TLS1_2_VERSION, NULL, NULL, 0 }, 0, NULL, NULL, 0 },
  { "tls12_server_vs_tls13_client", FTPS_PROTO_TLS12, "ec.crt", "ec.key",
    NULL, NULL, { TLS1_3_VERSION, 0, NULL, NULL, 0 }, 0, NULL, NULL, 0 },
  { "tls11_client_refused", FTPS_PROTO_ALL, "ec.crt", "ec.key", NULL, NULL,
    { TLS1_VERSION, TLS1_1_VERSION, NULL, NULL, 0 }, 0, NULL, NULL, 0 },
  { "rsa_only", FTPS_PROTO_ALL, "rsa.crt", "rsa.key", NULL, NULL,
    { 0, 0, NULL, NULL, 0 }, 1, "TLSv1.3", "RSA", 1 },
  { "both_tls13_ecdsa_client", FTPS_PROTO_ALL, "rsa.crt", "rsa.key",
    "ec.crt", "ec.key", { 0, 0, "ecdsa_secp256r1_sha256", NULL, 0 },
    1, "TLSv1.3", "EC", 1 },
  { "both_tls13_rsa_client", FTPS_PROTO_ALL, "ec.crt", "ec.key",
    "rsa.crt", "rsa.key", { 0, 0, "rsa_pss_rsae_sha256", NULL, 0 },
    1, "TLSv1.3", "RSA", 1 },
  { "both_tls12_ecdsa_client", FTPS_PROTO_ALL, "rsa.crt", "rsa.key",
    "ec.crt", "ec.key", { 0, TLS1_2_VERSION, "ECDSA+SHA256", NULL, 0 },
    1, "TLSv1.2", "EC", 1 },
  { "both_tls12_rsa_client", FTPS_PROTO_ALL, "ec.crt", "ec.key",
    "rsa.crt", "rsa.key",
    { 0, TLS1_2_VERSION, "RSA+SHA256:rsa_pss_rsae_sha256", NULL, 0 },
    1, "TLSv1.2", "RSA", 1 },
  { "chain_verified", FTPS_PROTO_ALL, "chain.crt", "chain.key", NULL, NULL,
    { 0, 0, NULL, "ca.crt", 0 }, 1, "TLSv1.3", "EC", 2 },
  { "chain_verified_tls12", FTPS_PROTO_TLS12, "chain.crt", "chain.key", NULL,
    NULL, { 0, 0, NULL, "ca.crt", 0 }, 1, "TLSv1.2", "EC", 2 },
  { "rsa_then_chain_ecdsa_client", FTPS_PROTO_ALL, "rsa.crt", "rsa.key",
    "chain.crt", "chain.key",
    { 0, 0, "ecdsa_secp256r1_sha256", "ca.crt", 0 }, 1, "TLSv1.3", "EC", 2 },
  { "chain_then_rsa_ecdsa_client", FTPS_PROTO_ALL, "chain.crt", "chain.key",
    "rsa.crt", "rsa.key",
    { 0, 0, "ecdsa_secp256r1_sha256", "ca.crt", 0 }, 1, "TLSv1.3", "EC", 2 },
  { "chain_then_rsa_rsa_client", FTPS_PROTO_ALL, "chain.crt", "chain.key",
    "rsa.crt", "rsa.key", { 0, 0, "rsa_pss_rsae_sha256", NULL, 0 },
    1, "TLSv1.3", "RSA", 1 },
  { "combined_cert_and_key", FTPS_PROTO_ALL, "combined.pem", NULL, NULL,
    NULL, { 0, 0, NULL, NULL, 0 }, 1, "TLSv1.3", "EC", 1 },
};

static void hs_server(SSL_CTX *ctx, int fd, const hs_row_t *row) {
  ftps_io_t *io;
  char buf[8];
  ssize_t n;
  int res;

  mark_point();
  io = ftps_io_new(ctx, fd, FTPS_ROLE_CTRL);
  ck_assert_msg(io != NULL, "ftps_io_new: %s", strerror(errno));
  mark_point();
  res = ftps_io_accept(io, ACCEPT_MS);
  if (!row->want_ok) {
    ck_assert_msg(res == -1, "%s: Expected %d, got %d", row->name, -1, res);
    ck_assert_msg(errno != 0 && errno != ETIMEDOUT,
      "%s: Expected a protocol error, got errno %d", row->name, errno);
    ck_assert_msg(strcmp(ftps_io_error(io), "no error") != 0,
      "%s: Expected an error text", row->name);
    ftps_io_free(io);
    return;
  }

  ck_assert_msg(res == 0, "%s: Expected %d, got %d (%s)", row->name, 0, res,
    ftps_io_error(io));
  ck_assert_str_eq(SSL_get_version(ftps_io_ssl(io)), row->want_version);
  server_expect(io, "ping\n");
  server_send(io, "pong\n");
  mark_point();
  n = ftps_io_read(io, buf, sizeof(buf));
  ck_assert_msg(n == 0, "%s: Expected %d, got %d (%s)", row->name, 0, (int) n,
    ftps_io_error(io));
  ftps_io_free(io);
}

START_TEST (ftps_io_accept_handshake_test) {
  const hs_row_t *row = &hs_rows[_i];
  char report[REPORT_LEN], want[64];
  hs_arg_t arg;
  client_t client;
  SSL_CTX *ctx;
  int sv[2], rc;

  ctx = server_ctx(row->protocols, row->cert1, row->key1, row->cert2,
    row->key2);
  make_pair(sv);
  arg.cfg = row->cfg;
  if (row->cfg.cafile != NULL) {
    arg.cfg.cafile = testpki_path(row->cfg.cafile);
  }
  arg.fd = sv[1];
  client_start(&client, body_handshake, &arg, &sv[0], 1);
  close(sv[1]);

  hs_server(ctx, sv[0], row);
  close(sv[0]);
  rc = client_finish(&client, report, sizeof(report));
  SSL_CTX_free(ctx);

  if (!row->want_ok) {
    ck_assert_msg(rc != 0, "%s: client handshake succeeded: %s", row->name,
      report);
    return;
  }
  ck_assert_msg(rc == 0, "%s: client: Expected %d, got %d (%s)", row->name, 0,
    rc, report);
  snprintf(want, sizeof(want), "version=%s ", row->want_version);
  ck_assert_msg(strstr(report, want) != NULL, "%s: Expected '%s' in '%s'",
    row->name, want, report);
  snprintf(want, sizeof(want), "key=%s ", row->want_key);
  ck_assert_msg(strstr(report, want) != NULL, "%s: Expected '%s' in '%s'",
    row->name, want, report);
  if (row->want_chain > 0) {
    snprintf(want, sizeof(want), "chain=%d ", row->want_chain);
    ck_assert_msg(strstr(report, want) != NULL, "%s: Expected '%s' in '%s'",
      row->name, want, report);
  }
  if (row->cfg.cafile != NULL) {
    ck_assert_msg(strstr(report, "verify=0 ") != NULL,
      "%s: Expected the chain to verify: %s", row->name, report);
  }
}
END_TEST

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
  char err[ERRLEN];
  ftps_policy_t p;
  SSL_CTX *ctx;

  test_policy(&p, FTPS_PROTO_ALL, "ec.crt", "ec.key", NULL, NULL);

  mark_point();
  errno = 0;
  ctx = ftps_ctx_build(NULL, err, sizeof(err));
  ck_assert_msg(ctx == NULL, "Expected NULL for a NULL policy");
  ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL, errno);

  mark_point();
  errno = 0;
  ctx = ftps_ctx_build(&p, NULL, sizeof(err));
  ck_assert_msg(ctx == NULL, "Expected NULL without an error buffer");
  ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL, errno);

  mark_point();
  errno = 0;
  ctx = ftps_ctx_build(&p, err, 0);
  ck_assert_msg(ctx == NULL, "Expected NULL for a zero-length error buffer");
  ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL, errno);
}
END_TEST

START_TEST (ftps_ctx_build_certs_test) {
  const build_row_t *row = &build_rows[_i];
  char err[ERRLEN] = "";
  ftps_policy_t p;
  SSL_CTX *ctx;

  ck_assert_msg(testpki_dir() != NULL, "test PKI unavailable");
  test_policy(&p, FTPS_PROTO_ALL, row->cert1, row->key1, row->cert2,
    row->key2);
  p.ciphers = row->ciphers;
  p.ciphersuites = row->ciphersuites;

  mark_point();
  errno = 0;
  ctx = ftps_ctx_build(&p, err, sizeof(err));
  if (row->want_err == NULL) {
    ck_assert_msg(ctx != NULL, "%s: Expected a context, got '%s'", row->name,
      err);
    SSL_CTX_free(ctx);
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
  SSL_CTX *ctx = server_ctx_ec(proto_rows[_i].protocols);
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
  SSL_CTX_free(ctx);
}
END_TEST

/* ---- ftps_ctx_set_role / check_reuse / reuse_str ---------------------- */

START_TEST (ftps_ctx_set_role_args_test) {
  SSL_CTX *ctx = server_ctx_ec(FTPS_PROTO_ALL);
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

  SSL_free(ssl);
  SSL_CTX_free(ctx);
}
END_TEST

START_TEST (ftps_ctx_check_reuse_args_test) {
  SSL_CTX *ctx = server_ctx_ec(FTPS_PROTO_ALL);
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

  SSL_free(ssl);
  SSL_CTX_free(ctx);
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
  { "tls12_ctrl_resumed_across_bindings", FTPS_PROTO_TLS12, 0, 0, 3,
    { CTRL_FRESH,
      { FTPS_ROLE_CTRL, 1, 1, 0, 0, WANT_ANY, 'R' }, DATA_REUSE(1) } },
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
  reuse = ftps_ctx_check_reuse(ftps_io_ssl(io));
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
  char report[REPORT_LEN], want[MAX_CONNS + 1];
  ftps_io_t *ctrl[MAX_CONNS] = { NULL };
  reuse_arg_t arg;
  client_t client;
  SSL_CTX *ctx = server_ctx_ec(row->protocols);

  arg.row = row;
  for (i = 0; i < row->nconns; i++) {
    make_pair(sv[i]);
    server_fds[i] = sv[i][0];
    arg.fds[i] = sv[i][1];
  }
  client_start(&client, body_reuse, &arg, server_fds, row->nconns);
  for (i = 0; i < row->nconns; i++) {
    close(sv[i][1]);
  }

  for (i = 0; i < row->nconns; i++) {
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
  SSL_CTX_free(ctx);
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

/* ---- close_notify and truncation -------------------------------------- */

typedef struct {
  int fd;
  int max_version;
  const char *msg;
  int close_notify;     /* 1: SSL_shutdown; 0: just close the socket */
} send_arg_t;

static int body_send(FILE *report, void *argp) {
  send_arg_t *arg = argp;
  client_cfg_t cfg = { 0, arg->max_version, NULL, NULL, 0 };
  SSL_CTX *c = client_ctx_new(&cfg);
  int len = (int) strlen(arg->msg);
  SSL *ssl;

  if (c == NULL || (ssl = client_connect(c, arg->fd, NULL, report)) == NULL) {
    return 1;
  }
  if (SSL_write(ssl, arg->msg, len) != len) {
    return 2;
  }
  if (arg->close_notify) {
    (void) SSL_shutdown(ssl);
    client_drain(arg->fd);
  }
  /* SECURITY (what the test simulates): an attacker cutting the TCP
   * stream mid-transfer sends no close_notify. */
  close(arg->fd);
  return 0;
}

static const int versions[] = { TLS1_3_VERSION, TLS1_2_VERSION };
static const int roles[] = { FTPS_ROLE_CTRL, FTPS_ROLE_DATA };

/* Starts a body_send client on a fresh pair; returns the server fd. */
static int send_client(client_t *client, send_arg_t *arg, int version,
    const char *msg, int close_notify) {
  int sv[2];

  make_pair(sv);
  arg->fd = sv[1];
  arg->max_version = version;
  arg->msg = msg;
  arg->close_notify = close_notify;
  client_start(client, body_send, arg, &sv[0], 1);
  close(sv[1]);
  return sv[0];
}

START_TEST (ftps_io_read_close_notify_test) {
  SSL_CTX *ctx = server_ctx_ec(FTPS_PROTO_ALL);
  char buf[64], report[REPORT_LEN];
  send_arg_t arg;
  client_t client;
  ftps_io_t *io;
  ssize_t n;
  int fd, rc;

  fd = send_client(&client, &arg, versions[_i], "226 complete\r\n", 1);
  io = server_accept(ctx, fd, FTPS_ROLE_DATA);
  server_expect(io, "226 complete\r\n");

  mark_point();
  n = ftps_io_read(io, buf, sizeof(buf));
  ck_assert_msg(n == 0, "Expected %d, got %d (%s)", 0, (int) n,
    ftps_io_error(io));
  ck_assert_msg(ftps_io_got_close_notify(io) == 1, "Expected %d, got %d", 1,
    ftps_io_got_close_notify(io));
  ck_assert_msg(ftps_io_truncated(io) == 0, "Expected %d, got %d", 0,
    ftps_io_truncated(io));

  /* Reading again still reports the clean end. */
  mark_point();
  n = ftps_io_read(io, buf, sizeof(buf));
  ck_assert_msg(n == 0, "Expected %d, got %d", 0, (int) n);

  ftps_io_free(io);
  close(fd);
  rc = client_finish(&client, report, sizeof(report));
  ck_assert_msg(rc == 0, "client: Expected %d, got %d (%s)", 0, rc, report);
  SSL_CTX_free(ctx);
}
END_TEST

START_TEST (ftps_io_read_truncation_test) {
  SSL_CTX *ctx = server_ctx_ec(FTPS_PROTO_ALL);
  char buf[64], report[REPORT_LEN];
  send_arg_t arg;
  client_t client;
  ftps_io_t *io;
  ssize_t n;
  int fd, rc;

  fd = send_client(&client, &arg, versions[_i], "partial upload", 0);
  io = server_accept(ctx, fd, FTPS_ROLE_DATA);
  server_expect(io, "partial upload");

  mark_point();
  errno = 0;
  n = ftps_io_read(io, buf, sizeof(buf));
  ck_assert_msg(n == -1, "Expected %d, got %d", -1, (int) n);
  ck_assert_msg(errno == ECONNABORTED, "Expected errno %d, got %d (%s)",
    ECONNABORTED, errno, ftps_io_error(io));
  ck_assert_msg(ftps_io_truncated(io) == 1, "Expected %d, got %d", 1,
    ftps_io_truncated(io));
  ck_assert_msg(ftps_io_got_close_notify(io) == 0, "Expected %d, got %d", 0,
    ftps_io_got_close_notify(io));
  ck_assert_msg(strstr(ftps_io_error(io), "close_notify") != NULL,
    "Expected the error to mention close_notify, got '%s'",
    ftps_io_error(io));

  ftps_io_free(io);
  close(fd);
  rc = client_finish(&client, report, sizeof(report));
  ck_assert_msg(rc == 0, "client: Expected %d, got %d (%s)", 0, rc, report);
  SSL_CTX_free(ctx);
}
END_TEST

/* One whole record, then the first bytes of the next, then EOF. */
static int body_cut_mid_record(FILE *report, void *argp) {
  hs_arg_t *arg = argp;
  SSL_CTX *c = client_ctx_new(&arg->cfg);
  static const char first[] = "first record\n";
  char line[16], *rec = NULL;
  BIO *mem, *sock;
  long len;
  SSL *ssl;

  if (c == NULL || (ssl = client_connect(c, arg->fd, NULL, report)) == NULL) {
    return 1;
  }
  /* Take the server's line (and TLS 1.3 tickets): closing a socket with
   * unread data would make the kernel report a reset, not an EOF. */
  if (client_read_line(ssl, line, sizeof(line)) < 0) {
    return 6;
  }
  if (SSL_write(ssl, first, sizeof(first) - 1) != (int) sizeof(first) - 1) {
    return 2;
  }
  mem = BIO_new(BIO_s_mem());
  sock = SSL_get_wbio(ssl);
  if (mem == NULL || BIO_up_ref(sock) != 1) {
    return 3;
  }
  SSL_set0_wbio(ssl, mem);
  if (SSL_write(ssl, "second record, cut short\n", 25) != 25 ||
      (len = BIO_get_mem_data(mem, &rec)) <= 10) {
    return 4;
  }
  usleep(100 * 1000);       /* let the server take the first record alone */
  if (write(arg->fd, rec, 10) != 10) {
    return 5;
  }
  close(arg->fd);
  return 0;
}

START_TEST (ftps_io_read_truncation_mid_record_test) {
  SSL_CTX *ctx = server_ctx_ec(FTPS_PROTO_ALL);
  char buf[64], report[REPORT_LEN];
  hs_arg_t arg;
  client_t client;
  ftps_io_t *io;
  ssize_t n;
  int sv[2], rc;

  make_pair(sv);
  memset(&arg, 0, sizeof(arg));
  arg.cfg.max_version = versions[_i / 2];
  arg.fd = sv[1];
  client_start(&client, body_cut_mid_record, &arg, &sv[0], 1);
  close(sv[1]);

  io = server_accept(ctx, sv[0], roles[_i % 2]);
  server_send(io, "go\n");
  server_expect(io, "first record\n");
  usleep(300 * 1000);       /* the cut record and the EOF are waiting */
  mark_point();
  errno = 0;
  n = ftps_io_read(io, buf, sizeof(buf));
  ck_assert_msg(n == -1, "Expected %d, got %d", -1, (int) n);
  ck_assert_msg(errno == ECONNABORTED, "Expected errno %d, got %d (%s)",
    ECONNABORTED, errno, ftps_io_error(io));
  ck_assert_msg(ftps_io_truncated(io) == 1, "Expected %d, got %d", 1,
    ftps_io_truncated(io));

  ftps_io_free(io);
  close(sv[0]);
  rc = client_finish(&client, report, sizeof(report));
  ck_assert_msg(rc == 0, "client: Expected %d, got %d (%s)", 0, rc, report);
  SSL_CTX_free(ctx);
}
END_TEST

/* A record read in part leaves the rest pending (no poll needed). */
START_TEST (ftps_io_pending_test) {
  SSL_CTX *ctx = server_ctx_ec(FTPS_PROTO_ALL);
  char buf[64], report[REPORT_LEN];
  send_arg_t arg;
  client_t client;
  ftps_io_t *io;
  ssize_t n;
  int fd, rc;

  fd = send_client(&client, &arg, versions[_i], "0123456789", 1);
  io = server_accept(ctx, fd, FTPS_ROLE_DATA);
  mark_point();
  n = ftps_io_read(io, buf, 4);
  ck_assert_msg(n == 4, "Expected %d, got %d", 4, (int) n);
  ck_assert_msg(ftps_io_pending(io) == 1, "Expected %d, got %d", 1,
    ftps_io_pending(io));
  mark_point();
  n = ftps_io_read(io, buf, sizeof(buf));
  ck_assert_msg(n == 6, "Expected %d, got %d", 6, (int) n);
  ck_assert_msg(memcmp(buf, "456789", 6) == 0, "Expected '456789'");

  ftps_io_free(io);
  close(fd);
  rc = client_finish(&client, report, sizeof(report));
  ck_assert_msg(rc == 0, "client: Expected %d, got %d (%s)", 0, rc, report);
  SSL_CTX_free(ctx);
}
END_TEST

/* ---- large writes over a full socket buffer --------------------------- */

#define BIG_LEN   (1024 * 1024 + 17)

static unsigned char big_byte(size_t i) {
  return (unsigned char) ((i * 7 + 3) & 0xff);
}

static int body_receive_all(FILE *report, void *argp) {
  hs_arg_t *arg = argp;
  SSL_CTX *c = client_ctx_new(&arg->cfg);
  unsigned char buf[16384];
  size_t total = 0, bad = 0;
  SSL *ssl;
  int n;

  if (c == NULL || (ssl = client_connect(c, arg->fd, NULL, report)) == NULL) {
    return 1;
  }
  while ((n = SSL_read(ssl, buf, sizeof(buf))) > 0) {
    int i;
    for (i = 0; i < n; i++) {
      bad += buf[i] != big_byte(total + (size_t) i);
    }
    total += (size_t) n;
  }
  fprintf(report, "total=%zu bad=%zu end=%d ", total, bad,
    SSL_get_error(ssl, n));
  (void) SSL_shutdown(ssl);
  close(arg->fd);
  return 0;
}

START_TEST (ftps_io_write_large_test) {
  SSL_CTX *ctx = server_ctx_ec(FTPS_PROTO_ALL);
  char report[REPORT_LEN], want[128];
  unsigned char *big = malloc(BIG_LEN);
  hs_arg_t arg;
  client_t client;
  ftps_io_t *io;
  ssize_t n;
  int sv[2], rc;
  size_t i;

  ck_assert(big != NULL);
  for (i = 0; i < BIG_LEN; i++) {
    big[i] = big_byte(i);
  }
  make_pair(sv);
  memset(&arg, 0, sizeof(arg));
  arg.cfg.max_version = versions[_i];
  arg.fd = sv[1];
  client_start(&client, body_receive_all, &arg, &sv[0], 1);
  close(sv[1]);

  io = server_accept(ctx, sv[0], FTPS_ROLE_DATA);
  mark_point();
  n = ftps_io_write(io, big, BIG_LEN);
  ck_assert_msg(n == BIG_LEN, "Expected %d, got %d (%s)", BIG_LEN, (int) n,
    ftps_io_error(io));
  mark_point();
  rc = ftps_io_shutdown(io, 0, 2000);
  ck_assert_msg(rc == 0, "Expected %d, got %d (%s)", 0, rc, ftps_io_error(io));
  ftps_io_free(io);
  close(sv[0]);
  free(big);

  rc = client_finish(&client, report, sizeof(report));
  ck_assert_msg(rc == 0, "client: Expected %d, got %d (%s)", 0, rc, report);
  snprintf(want, sizeof(want), "total=%d bad=0 end=%d ", BIG_LEN,
    SSL_ERROR_ZERO_RETURN);
  ck_assert_msg(strstr(report, want) != NULL, "Expected '%s', got '%s'", want,
    report);
  SSL_CTX_free(ctx);
}
END_TEST

/* ---- deadlines and hostile peers -------------------------------------- */

START_TEST (ftps_io_accept_timeout_test) {
  SSL_CTX *ctx = server_ctx_ec(FTPS_PROTO_ALL);
  long long t0, elapsed;
  ftps_io_t *io;
  int sv[2], res;

  make_pair(sv);
  io = ftps_io_new(ctx, sv[0], FTPS_ROLE_CTRL);
  ck_assert_msg(io != NULL, "ftps_io_new: %s", strerror(errno));

  t0 = now_ms();
  mark_point();
  errno = 0;
  res = ftps_io_accept(io, 300);
  elapsed = now_ms() - t0;
  ck_assert_msg(res == -1, "Expected %d, got %d", -1, res);
  ck_assert_msg(errno == ETIMEDOUT, "Expected errno %d, got %d", ETIMEDOUT,
    errno);
  ck_assert_msg(elapsed >= 250 && elapsed < 1000,
    "Expected about 300 ms, got %d ms", (int) elapsed);
  ck_assert_msg(strstr(ftps_io_error(io), "timed out") != NULL,
    "Expected 'timed out' in '%s'", ftps_io_error(io));

  ftps_io_free(io);
  close(sv[0]);
  close(sv[1]);
  SSL_CTX_free(ctx);
}
END_TEST

/*
 * Runs fn(arg) in a child for at most limit_ms. Returns its exit status, or
 * -1 if it had to be killed; *cpu_ms is the CPU time the child used. Lets a
 * test report a hang or a busy loop instead of hitting Check's timeout.
 */
static int run_bounded(int (*fn)(void *), void *arg, int limit_ms,
    long *cpu_ms) {
  long long deadline = now_ms() + limit_ms;
  struct rusage ru;
  int status = 0, killed = 0;
  pid_t pid, res;

  pid = fork();
  ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
  if (pid == 0) {
    alarm(15);
    _exit(fn(arg));
  }
  while ((res = wait4(pid, &status, WNOHANG, &ru)) == 0) {
    if (now_ms() > deadline) {
      kill(pid, SIGKILL);
      res = wait4(pid, &status, 0, &ru);
      killed = 1;
      break;
    }
    usleep(5000);
  }
  ck_assert_msg(res == pid, "wait4: %s", strerror(errno));
  *cpu_ms = ru.ru_utime.tv_sec * 1000L + ru.ru_utime.tv_usec / 1000 +
    ru.ru_stime.tv_sec * 1000L + ru.ru_stime.tv_usec / 1000;
  if (killed || !WIFEXITED(status)) {
    return -1;
  }
  return WEXITSTATUS(status);
}

typedef struct {
  SSL_CTX *ctx;
  int fd;
} slow_arg_t;

/* 0: accept failed with ETIMEDOUT in time; 1: other failure; 2: success */
static int accept_with_deadline(void *argp) {
  slow_arg_t *arg = argp;
  ftps_io_t *io = ftps_io_new(arg->ctx, arg->fd, FTPS_ROLE_CTRL);
  long long t0 = now_ms();
  int res;

  if (io == NULL) {
    return 3;
  }
  res = ftps_io_accept(io, 300);
  if (res == 0) {
    return 2;
  }
  return (errno == ETIMEDOUT && now_ms() - t0 < 1000) ? 0 : 1;
}

/*
 * Only part of a ClientHello record arrives, then nothing (a slowloris
 * client): the handshake deadline must still hold, and the wait must
 * sleep in poll(2), not spin on the partial record in OpenSSL's buffer.
 */
START_TEST (ftps_io_accept_partial_record_timeout_test) {
  static const unsigned char partial[] = { 0x16, 0x03, 0x01, 0x02, 0x00,
    0x01, 0x00, 0x01 };
  SSL_CTX *ctx = server_ctx_ec(FTPS_PROTO_ALL);
  slow_arg_t arg;
  long cpu_ms = 0;
  int sv[2], rc;

  make_pair(sv);
  ck_assert(write(sv[1], partial, sizeof(partial)) == sizeof(partial));
  arg.ctx = ctx;
  arg.fd = sv[0];

  mark_point();
  rc = run_bounded(accept_with_deadline, &arg, 2000, &cpu_ms);
  ck_assert_msg(rc != -1, "ftps_io_accept(io, 300) was still running after "
    "2000 ms, using %ld ms of CPU: the deadline is not enforced while a "
    "partial record is buffered (busy loop)", cpu_ms);
  ck_assert_msg(rc == 0, "Expected %d (ETIMEDOUT within 1 s), got %d", 0, rc);
  ck_assert_msg(cpu_ms < 150, "Expected an idle wait, used %ld ms of CPU in "
    "300 ms", cpu_ms);

  close(sv[0]);
  close(sv[1]);
  SSL_CTX_free(ctx);
}
END_TEST

/* The client sends one record in two parts, 600 ms apart. */
static int body_split_record(FILE *report, void *argp) {
  hs_arg_t *arg = argp;
  SSL_CTX *c = client_ctx_new(&arg->cfg);
  static const char msg[] = "one record, sent in two parts\n";
  BIO *mem, *sock;
  char *rec = NULL;
  long len;
  SSL *ssl;

  if (c == NULL || (ssl = client_connect(c, arg->fd, NULL, report)) == NULL) {
    return 1;
  }
  mem = BIO_new(BIO_s_mem());
  sock = SSL_get_wbio(ssl);
  if (mem == NULL || BIO_up_ref(sock) != 1) {
    return 2;
  }
  SSL_set0_wbio(ssl, mem);
  if (SSL_write(ssl, msg, sizeof(msg) - 1) != (int) sizeof(msg) - 1 ||
      (len = BIO_get_mem_data(mem, &rec)) <= 10) {
    return 3;
  }
  if (write(arg->fd, rec, 10) != 10) {
    return 4;
  }
  usleep(600 * 1000);
  if (write(arg->fd, rec + 10, (size_t) len - 10) != (ssize_t) len - 10) {
    return 5;
  }
  fprintf(report, "record=%ld ", len);
  SSL_set0_wbio(ssl, sock);
  (void) SSL_shutdown(ssl);
  client_drain(arg->fd);
  return 0;
}

static long self_cpu_ms(void) {
  struct rusage ru;

  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec * 1000L + ru.ru_utime.tv_usec / 1000 +
    ru.ru_stime.tv_sec * 1000L + ru.ru_stime.tv_usec / 1000;
}

/* A read that waits for the rest of a record sleeps; it does not spin. */
START_TEST (ftps_io_read_partial_record_test) {
  static const char want[] = "one record, sent in two parts\n";
  SSL_CTX *ctx = server_ctx_ec(FTPS_PROTO_ALL);
  char buf[128], report[REPORT_LEN];
  long cpu0, cpu_ms;
  hs_arg_t arg;
  client_t client;
  ftps_io_t *io;
  ssize_t n;
  int sv[2], rc;

  make_pair(sv);
  memset(&arg, 0, sizeof(arg));
  arg.cfg.max_version = versions[_i / 2];
  arg.fd = sv[1];
  client_start(&client, body_split_record, &arg, &sv[0], 1);
  close(sv[1]);

  io = server_accept(ctx, sv[0], roles[_i % 2]);
  cpu0 = self_cpu_ms();
  mark_point();
  n = server_read_exact(io, buf, sizeof(want) - 1);
  cpu_ms = self_cpu_ms() - cpu0;
  ck_assert_msg(n == (ssize_t) sizeof(want) - 1, "Expected %d, got %d (%s)",
    (int) sizeof(want) - 1, (int) n, ftps_io_error(io));
  ck_assert_msg(memcmp(buf, want, sizeof(want) - 1) == 0,
    "Expected '%s'", want);
  ck_assert_msg(cpu_ms < 200, "ftps_io_read used %ld ms of CPU waiting 600 "
    "ms for the rest of a record: it spins instead of polling", cpu_ms);

  (void) ftps_io_shutdown(io, 0, 1000);
  ftps_io_free(io);
  close(sv[0]);
  rc = client_finish(&client, report, sizeof(report));
  ck_assert_msg(rc == 0, "client: Expected %d, got %d (%s)", 0, rc, report);
  SSL_CTX_free(ctx);
}
END_TEST

static const struct {
  const char *name;
  const char *bytes;
  size_t len;
} garbage_rows[] = {
#define G(name, s) { name, s, sizeof(s) - 1 }
  G("nothing",       ""),
  G("ftp_command",   "USER anonymous\r\n"),
  G("http_request",  "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"),
  G("sslv2_hello",   "\x80\x2e\x01\x00\x02\x00\x15\x00\x00\x00\x10"),
  G("huge_record",   "\x16\x03\x01\xff\xff"),
  G("wrong_type",    "\x17\x03\x03\x00\x05hello"),
  G("bad_handshake", "\x16\x03\x01\x00\x04\x01\x00\x00\x00"),
  G("zeros",         "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"),
  G("alert",         "\x15\x03\x03\x00\x02\x02\x28"),
  G("html",          "<html><script>alert(1)</script></html>"),
#undef G
};

START_TEST (ftps_io_accept_garbage_test) {
  SSL_CTX *ctx = server_ctx_ec(FTPS_PROTO_ALL);
  long long t0;
  ftps_io_t *io;
  int sv[2], res;

  make_pair(sv);
  ck_assert(write(sv[1], garbage_rows[_i].bytes, garbage_rows[_i].len) ==
    (ssize_t) garbage_rows[_i].len);
  ck_assert(shutdown(sv[1], SHUT_WR) == 0);
  io = ftps_io_new(ctx, sv[0], FTPS_ROLE_CTRL);
  ck_assert_msg(io != NULL, "ftps_io_new: %s", strerror(errno));

  t0 = now_ms();
  mark_point();
  errno = 0;
  res = ftps_io_accept(io, 2000);
  ck_assert_msg(res == -1, "%s: Expected %d, got %d", garbage_rows[_i].name,
    -1, res);
  ck_assert_msg(errno != 0 && errno != ETIMEDOUT,
    "%s: Expected a protocol error, got errno %d", garbage_rows[_i].name,
    errno);
  ck_assert_msg(now_ms() - t0 < 1000, "%s: Expected an immediate failure",
    garbage_rows[_i].name);
  ck_assert_msg(strcmp(ftps_io_error(io), "no error") != 0,
    "%s: Expected an error text", garbage_rows[_i].name);

  ftps_io_free(io);
  close(sv[0]);
  close(sv[1]);
  SSL_CTX_free(ctx);
}
END_TEST

static int wait_calls;

static int give_up_on_third(void *arg) {
  int *limit = arg;

  if (++wait_calls >= *limit) {
    errno = ECANCELED;
    return -1;
  }
  return 0;
}

static void on_alarm(int signo) {
}

START_TEST (ftps_io_set_wait_cb_args_test) {
  int limit = 3;

  mark_point();
  ftps_io_set_wait_cb(NULL, give_up_on_third, &limit);
}
END_TEST

/* The host program's timers (signals) are serviced through the wait
 * callback, which can end a wait that has no deadline. */
START_TEST (ftps_io_set_wait_cb_signal_test) {
  struct itimerval tick = { { 0, 20000 }, { 0, 20000 } }, off;
  struct sigaction sa, old;
  SSL_CTX *ctx = server_ctx_ec(FTPS_PROTO_ALL);
  int sv[2], res, xerrno, limit = 3;
  ftps_io_t *io;

  make_pair(sv);
  io = ftps_io_new(ctx, sv[0], FTPS_ROLE_CTRL);
  ck_assert_msg(io != NULL, "ftps_io_new: %s", strerror(errno));
  wait_calls = 0;
  ftps_io_set_wait_cb(io, give_up_on_third, &limit);

  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_alarm;       /* no SA_RESTART: poll(2) gets EINTR */
  sigemptyset(&sa.sa_mask);
  ck_assert(sigaction(SIGALRM, &sa, &old) == 0);
  ck_assert(setitimer(ITIMER_REAL, &tick, NULL) == 0);

  mark_point();
  res = ftps_io_accept(io, 0);
  xerrno = errno;
  memset(&off, 0, sizeof(off));
  (void) setitimer(ITIMER_REAL, &off, NULL);
  (void) sigaction(SIGALRM, &old, NULL);

  ck_assert_msg(res == -1, "Expected %d, got %d", -1, res);
  ck_assert_msg(xerrno == ECANCELED, "Expected errno %d, got %d", ECANCELED,
    xerrno);
  ck_assert_msg(wait_calls == 3, "Expected %d, got %d", 3, wait_calls);

  ftps_io_free(io);
  close(sv[0]);
  close(sv[1]);
  SSL_CTX_free(ctx);
}
END_TEST

/* ---- ftps_io_shutdown ------------------------------------------------- */

/*
 * The client answers the server's close_notify with its own close_notify
 * and, in the same write(2), plain text (as after CCC, RFC 4217 §6): the
 * server must consume exactly the TLS record and leave the text unread.
 */
static int body_answer_shutdown(FILE *report, void *argp) {
  hs_arg_t *arg = argp;
  SSL_CTX *c = client_ctx_new(&arg->cfg);
  static const char clear[] = "200 clear text after TLS\r\n";
  char buf[512], *mem = NULL;
  long memlen;
  BIO *wbio;
  SSL *ssl;

  if (c == NULL || (ssl = client_connect(c, arg->fd, NULL, report)) == NULL) {
    return 1;
  }
  if (SSL_read(ssl, buf, sizeof(buf)) > 0 ||
      SSL_get_error(ssl, 0) != SSL_ERROR_ZERO_RETURN) {
    fprintf(report, "expected-close-notify ");
    return 2;
  }
  wbio = BIO_new(BIO_s_mem());
  if (wbio == NULL) {
    return 3;
  }
  SSL_set0_wbio(ssl, wbio);
  if (SSL_shutdown(ssl) != 1) {
    fprintf(report, "shutdown-failed ");
    return 4;
  }
  memlen = BIO_get_mem_data(wbio, &mem);
  if (memlen <= 0 || (size_t) memlen + sizeof(clear) > sizeof(buf)) {
    return 5;
  }
  memcpy(buf, mem, (size_t) memlen);
  memcpy(buf + memlen, clear, sizeof(clear) - 1);
  if (write(arg->fd, buf, (size_t) memlen + sizeof(clear) - 1) !=
      (ssize_t) ((size_t) memlen + sizeof(clear) - 1)) {
    return 6;
  }
  fprintf(report, "close_notify=%ld ", memlen);
  client_drain(arg->fd);
  return 0;
}

START_TEST (ftps_io_shutdown_args_test) {
  int res;

  mark_point();
  res = ftps_io_shutdown(NULL, 1, 1000);
  ck_assert_msg(res == -1, "Expected %d, got %d", -1, res);
  ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL, errno);
}
END_TEST

START_TEST (ftps_io_shutdown_bidirectional_test) {
  static const char want[] = "200 clear text after TLS\r\n";
  SSL_CTX *ctx = server_ctx_ec(FTPS_PROTO_ALL);
  char buf[128], report[REPORT_LEN];
  struct pollfd pfd;
  hs_arg_t arg;
  client_t client;
  ftps_io_t *io;
  size_t got = 0;
  int sv[2], rc;

  make_pair(sv);
  memset(&arg, 0, sizeof(arg));
  arg.cfg.max_version = versions[_i];
  arg.fd = sv[1];
  client_start(&client, body_answer_shutdown, &arg, &sv[0], 1);
  close(sv[1]);

  io = server_accept(ctx, sv[0], FTPS_ROLE_CTRL);
  mark_point();
  rc = ftps_io_shutdown(io, 1, 2000);
  ck_assert_msg(rc == 0, "Expected %d, got %d (%s)", 0, rc, ftps_io_error(io));
  ck_assert_msg(ftps_io_got_close_notify(io) == 1, "Expected %d, got %d", 1,
    ftps_io_got_close_notify(io));
  ftps_io_free(io);

  /* The plain text is still in the socket, whole. */
  pfd.fd = sv[0];
  pfd.events = POLLIN;
  while (got < sizeof(want) - 1 && poll(&pfd, 1, 2000) == 1) {
    ssize_t n = read(sv[0], buf + got, sizeof(buf) - 1 - got);
    if (n <= 0) {
      break;
    }
    got += (size_t) n;
  }
  buf[got] = '\0';
  close(sv[0]);
  rc = client_finish(&client, report, sizeof(report));
  ck_assert_msg(rc == 0, "client: Expected %d, got %d (%s)", 0, rc, report);
  ck_assert_msg(got == sizeof(want) - 1 && strcmp(buf, want) == 0,
    "Expected '%s' in clear, got %d bytes '%s'", want, (int) got, buf);
  SSL_CTX_free(ctx);
}
END_TEST

/* A peer that never answers close_notify: the deadline holds. */
static int body_silent(FILE *report, void *argp) {
  hs_arg_t *arg = argp;
  SSL_CTX *c = client_ctx_new(&arg->cfg);

  if (c == NULL || client_connect(c, arg->fd, NULL, report) == NULL) {
    return 1;
  }
  client_drain(arg->fd);
  return 0;
}

START_TEST (ftps_io_shutdown_peer_silent_test) {
  SSL_CTX *ctx = server_ctx_ec(FTPS_PROTO_ALL);
  char report[REPORT_LEN];
  long long t0, elapsed;
  hs_arg_t arg;
  client_t client;
  ftps_io_t *io;
  int sv[2], rc;

  make_pair(sv);
  memset(&arg, 0, sizeof(arg));
  arg.fd = sv[1];
  client_start(&client, body_silent, &arg, &sv[0], 1);
  close(sv[1]);

  io = server_accept(ctx, sv[0], FTPS_ROLE_CTRL);
  t0 = now_ms();
  mark_point();
  rc = ftps_io_shutdown(io, 1, 300);
  elapsed = now_ms() - t0;
  ck_assert_msg(rc == -1, "Expected %d, got %d", -1, rc);
  ck_assert_msg(errno == ETIMEDOUT, "Expected errno %d, got %d", ETIMEDOUT,
    errno);
  ck_assert_msg(elapsed < 1000, "Expected about 300 ms, got %d ms",
    (int) elapsed);

  /* Without waiting for the peer, sending close_notify is enough. */
  ftps_io_free(io);
  close(sv[0]);
  rc = client_finish(&client, report, sizeof(report));
  ck_assert_msg(rc == 0, "client: Expected %d, got %d (%s)", 0, rc, report);
  SSL_CTX_free(ctx);
}
END_TEST

/* ---- ftps_io_new / free and the accessors ----------------------------- */

START_TEST (ftps_io_new_args_test) {
  SSL_CTX *ctx = server_ctx_ec(FTPS_PROTO_ALL);
  ftps_io_t *io;
  int sv[2];

  make_pair(sv);

  mark_point();
  errno = 0;
  io = ftps_io_new(NULL, sv[0], FTPS_ROLE_CTRL);
  ck_assert_msg(io == NULL, "Expected NULL for a NULL context");
  ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL, errno);

  mark_point();
  errno = 0;
  io = ftps_io_new(ctx, -1, FTPS_ROLE_CTRL);
  ck_assert_msg(io == NULL, "Expected NULL for fd -1");
  ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL, errno);

  mark_point();
  errno = 0;
  io = ftps_io_new(ctx, sv[0], 0);
  ck_assert_msg(io == NULL, "Expected NULL for role 0");
  ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL, errno);

  mark_point();
  io = ftps_io_new(ctx, 1000000, FTPS_ROLE_CTRL);
  ck_assert_msg(io == NULL, "Expected NULL for a closed fd");

  /* A failed ftps_io_new leaves the fd blocking. */
  ck_assert_msg((fcntl(sv[0], F_GETFL) & O_NONBLOCK) == 0,
    "Expected a blocking fd after failures");

  mark_point();
  ftps_io_free(NULL);

  close(sv[0]);
  close(sv[1]);
  SSL_CTX_free(ctx);
}
END_TEST

START_TEST (ftps_io_accept_args_test) {
  int res;

  mark_point();
  res = ftps_io_accept(NULL, 1000);
  ck_assert_msg(res == -1, "Expected %d, got %d", -1, res);
  ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL, errno);
}
END_TEST

START_TEST (ftps_io_refresh_session_args_test) {
  int res;

  mark_point();
  res = ftps_io_refresh_session(NULL);
  ck_assert_msg(res == -1, "Expected %d, got %d", -1, res);
  ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL, errno);
}
END_TEST

/* The accessors take NULL and answer "nothing". */
START_TEST (ftps_io_accessors_args_test) {
  mark_point();
  ck_assert_msg(ftps_io_ssl(NULL) == NULL, "Expected NULL");
  ck_assert_msg(ftps_io_fd(NULL) == -1, "Expected %d, got %d", -1,
    ftps_io_fd(NULL));
  ck_assert_msg(ftps_io_pending(NULL) == 0, "Expected %d, got %d", 0,
    ftps_io_pending(NULL));
  ck_assert_msg(ftps_io_truncated(NULL) == 0, "Expected %d, got %d", 0,
    ftps_io_truncated(NULL));
  ck_assert_msg(ftps_io_got_close_notify(NULL) == 0, "Expected %d, got %d", 0,
    ftps_io_got_close_notify(NULL));
  ck_assert_str_eq(ftps_io_error(NULL), "no error");
}
END_TEST

START_TEST (ftps_io_read_args_test) {
  SSL_CTX *ctx = server_ctx_ec(FTPS_PROTO_ALL);
  ftps_io_t *io;
  char buf[8];
  ssize_t n;
  int sv[2];

  mark_point();
  n = ftps_io_read(NULL, buf, sizeof(buf));
  ck_assert_msg(n == -1, "Expected %d, got %d", -1, (int) n);
  ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL, errno);

  mark_point();
  n = ftps_io_write(NULL, "x", 1);
  ck_assert_msg(n == -1, "Expected %d, got %d", -1, (int) n);
  ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL, errno);

  make_pair(sv);
  io = ftps_io_new(ctx, sv[0], FTPS_ROLE_DATA);
  ck_assert_msg(io != NULL, "ftps_io_new: %s", strerror(errno));

  mark_point();
  n = ftps_io_read(io, NULL, sizeof(buf));
  ck_assert_msg(n == -1, "Expected %d, got %d", -1, (int) n);
  ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL, errno);

  mark_point();
  n = ftps_io_write(io, NULL, 5);
  ck_assert_msg(n == -1, "Expected %d, got %d", -1, (int) n);
  ck_assert_msg(errno == EINVAL, "Expected errno %d, got %d", EINVAL, errno);

  mark_point();
  n = ftps_io_write(io, NULL, 0);
  ck_assert_msg(n == 0, "Expected %d, got %d", 0, (int) n);

  ftps_io_free(io);
  close(sv[0]);
  close(sv[1]);
  SSL_CTX_free(ctx);
}
END_TEST

START_TEST (ftps_io_free_restores_blocking_test) {
  SSL_CTX *ctx = server_ctx_ec(FTPS_PROTO_ALL);
  ftps_io_t *io;
  int sv[2];

  make_pair(sv);
  mark_point();
  io = ftps_io_new(ctx, sv[0], FTPS_ROLE_CTRL);
  ck_assert_msg(io != NULL, "ftps_io_new: %s", strerror(errno));
  ck_assert_msg(ftps_io_fd(io) == sv[0], "Expected %d, got %d", sv[0],
    ftps_io_fd(io));
  ck_assert_msg(ftps_io_ssl(io) != NULL, "Expected an SSL");
  ck_assert_msg(SSL_is_server(ftps_io_ssl(io)) == 1, "Expected a server SSL");
  ck_assert_msg((fcntl(sv[0], F_GETFL) & O_NONBLOCK) != 0,
    "Expected a non-blocking fd while in use");
  ck_assert_str_eq(ftps_io_error(io), "no error");

  mark_point();
  ftps_io_free(io);
  ck_assert_msg((fcntl(sv[0], F_GETFL) & O_NONBLOCK) == 0,
    "Expected the fd to be blocking again");
  ck_assert_msg(fcntl(sv[0], F_GETFD) == 0 || errno != EBADF,
    "Expected the fd to stay open");

  close(sv[0]);
  close(sv[1]);
  SSL_CTX_free(ctx);
}
END_TEST

/* ---- fixtures and the suite ------------------------------------------- */

static void pki_setup(void) {
  if (testpki_setup() < 0) {
    fprintf(stderr, "ftps_io: test PKI unavailable\n");
  }
}

/* Every test is one session process: a fresh binding (ftps_ctx.h). */
static void binding_setup(void) {
  ck_assert_msg(ftps_ctx_new_binding() == 0, "ftps_ctx_new_binding failed");
}

Suite *tests_get_io_suite(void) {
  Suite *suite = suite_create("ftps_io");
  TCase *tc;

  tc = tcase_create("ctx");
  tcase_add_unchecked_fixture(tc, pki_setup, NULL);
  tcase_add_checked_fixture(tc, binding_setup, NULL);
  tcase_set_timeout(tc, 20);
  tcase_add_test(tc, ftps_ctx_build_args_test);
  tcase_add_loop_test(tc, ftps_ctx_build_certs_test, 0,
    TESTS_NELEMS(build_rows));
  tcase_add_loop_test(tc, ftps_ctx_build_protocols_test, 0,
    TESTS_NELEMS(proto_rows));
  tcase_add_test(tc, ftps_ctx_set_role_args_test);
  tcase_add_test(tc, ftps_ctx_check_reuse_args_test);
  tcase_add_loop_test(tc, ftps_ctx_check_reuse_binding_test, 0,
    TESTS_NELEMS(reuse_rows));
  tcase_add_test(tc, ftps_ctx_reuse_str_args_test);
  suite_add_tcase(suite, tc);

  tc = tcase_create("io");
  tcase_add_unchecked_fixture(tc, pki_setup, NULL);
  tcase_add_checked_fixture(tc, binding_setup, NULL);
  tcase_set_timeout(tc, 20);
  tcase_add_test(tc, ftps_io_new_args_test);
  tcase_add_test(tc, ftps_io_accept_args_test);
  tcase_add_test(tc, ftps_io_read_args_test);
  tcase_add_test(tc, ftps_io_shutdown_args_test);
  tcase_add_test(tc, ftps_io_set_wait_cb_args_test);
  tcase_add_test(tc, ftps_io_refresh_session_args_test);
  tcase_add_test(tc, ftps_io_accessors_args_test);
  tcase_add_loop_test(tc, ftps_io_accept_handshake_test, 0,
    TESTS_NELEMS(hs_rows));
  tcase_add_test(tc, ftps_io_accept_timeout_test);
  tcase_add_test(tc, ftps_io_accept_partial_record_timeout_test);
  tcase_add_loop_test(tc, ftps_io_accept_garbage_test, 0,
    TESTS_NELEMS(garbage_rows));
  tcase_add_test(tc, ftps_io_set_wait_cb_signal_test);
  tcase_add_loop_test(tc, ftps_io_read_close_notify_test, 0,
    TESTS_NELEMS(versions));
  tcase_add_loop_test(tc, ftps_io_read_truncation_test, 0,
    TESTS_NELEMS(versions));
  tcase_add_loop_test(tc, ftps_io_read_truncation_mid_record_test, 0,
    TESTS_NELEMS(versions) * TESTS_NELEMS(roles));
  tcase_add_loop_test(tc, ftps_io_read_partial_record_test, 0,
    TESTS_NELEMS(versions) * TESTS_NELEMS(roles));
  tcase_add_loop_test(tc, ftps_io_pending_test, 0, TESTS_NELEMS(versions));
  tcase_add_loop_test(tc, ftps_io_write_large_test, 0,
    TESTS_NELEMS(versions));
  tcase_add_loop_test(tc, ftps_io_shutdown_bidirectional_test, 0,
    TESTS_NELEMS(versions));
  tcase_add_test(tc, ftps_io_shutdown_peer_silent_test);
  tcase_add_test(tc, ftps_io_free_restores_blocking_test);
  suite_add_tcase(suite, tc);

  return suite;
}
