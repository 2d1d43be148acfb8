/*
 * tlspair.c -- the shared machinery of the in-process TLS suites
 * (tests/api/ftps_ctx.c, tests/api/ftps_io.c; B21): policies and server
 * contexts from ftps_ctx_build(), socketpair(2) ends driven by ftps_io_*,
 * and the client, plain OpenSSL in a forked child that reports what it saw
 * on a pipe, with the client bodies the tests run in it.
 *
 * OpenSSL and Check only; no ProFTPD (B2). Declared in tlspair.h.
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

#include "tlspair.h"

#define CLIENT_WAIT_MS  10000

/* ---- helpers: time, policy, server context ---------------------------- */

long long tlspair_now_ms(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A merged policy with FTPS on and the given certificates (testpki names;
 * key NULL means the key is in the certificate file). */
void tlspair_policy(ftps_policy_t *p, int protocols, const char *cert1,
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

SSL_CTX *tlspair_server_ctx(int protocols, const char *cert1, const char *key1,
    const char *cert2, const char *key2) {
  ftps_policy_t p;

  ck_assert_msg(testpki_dir() != NULL, "test PKI unavailable");
  tlspair_policy(&p, protocols, cert1, key1, cert2, key2);
  return tlspair_server_ctx_policy(&p, "tlspair");
}

SSL_CTX *tlspair_server_ctx_policy(const ftps_policy_t *p,
    const char *vhost_id) {
  char err[TLSPAIR_ERRLEN] = "";
  SSL_CTX *ctx;

  mark_point();
  ctx = ftps_ctx_build(p, vhost_id, err, sizeof(err));
  ck_assert_msg(ctx != NULL, "ftps_ctx_build failed: %s", err);
  return ctx;
}

SSL_CTX *tlspair_server_ctx_ec(int protocols) {
  return tlspair_server_ctx(protocols, "ec.crt", "ec.key", NULL, NULL);
}

void tlspair_make_pair(int sv[2]) {
  int res = socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  ck_assert_msg(res == 0, "socketpair: %s", strerror(errno));
}

/* Reads exactly len bytes; returns what the last ftps_io_read() said. */
ssize_t server_read_exact(ftps_io_t *io, char *buf, size_t len) {
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

void server_expect(ftps_io_t *io, const char *want) {
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

void server_send(ftps_io_t *io, const char *msg) {
  ssize_t n;

  mark_point();
  n = ftps_io_write(io, msg, strlen(msg));
  ck_assert_msg(n == (ssize_t) strlen(msg), "Expected %d, got %d (%s)",
    (int) strlen(msg), (int) n, ftps_io_error(io));
}

ftps_io_t *server_accept(SSL_CTX *ctx, int fd, int role) {
  ftps_io_t *io;
  int res;

  mark_point();
  io = ftps_io_new(ctx, fd, role);
  ck_assert_msg(io != NULL, "ftps_io_new: %s", strerror(errno));
  mark_point();
  res = ftps_io_accept(io, TLSPAIR_ACCEPT_MS);
  ck_assert_msg(res == 0, "Expected %d, got %d (%s)", 0, res,
    ftps_io_error(io));
  return io;
}

/* ---- the client: plain OpenSSL in a child process --------------------- */

SSL_CTX *client_ctx_new(const client_cfg_t *cfg) {
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
SSL *client_connect(SSL_CTX *c, int fd, SSL_SESSION *sess,
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
int client_read_line(SSL *ssl, char *buf, size_t len) {
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
void client_drain(int fd) {
  char sink[4096];

  while (read(fd, sink, sizeof(sink)) > 0) {
  }
}

void client_start(client_t *c, client_body_t body, void *arg,
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
int client_finish(client_t *c, char *report, size_t len) {
  long long deadline = tlspair_now_ms() + CLIENT_WAIT_MS;
  size_t got = 0;
  int status = 0;

  for (;;) {
    struct pollfd pfd = { c->report_fd, POLLIN, 0 };
    long long left = deadline - tlspair_now_ms();
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
    if (tlspair_now_ms() > deadline) {
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

/* ---- client bodies (run in the child by client_start) ----------------- */

/* ping/pong, then a clean close_notify. */
int tlspair_body_handshake(FILE *report, void *argp) {
  client_arg_t *arg = argp;
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

int tlspair_body_send(FILE *report, void *argp) {
  client_send_arg_t *arg = argp;
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

/* Starts a tlspair_body_send client on a fresh pair; returns the server fd. */
int tlspair_send_client(client_t *client, client_send_arg_t *arg, int version,
    const char *msg, int close_notify) {
  int sv[2];

  tlspair_make_pair(sv);
  arg->fd = sv[1];
  arg->max_version = version;
  arg->msg = msg;
  arg->close_notify = close_notify;
  client_start(client, tlspair_body_send, arg, &sv[0], 1);
  close(sv[1]);
  return sv[0];
}

/* One whole record, then the first bytes of the next, then EOF. */
int tlspair_body_cut_mid_record(FILE *report, void *argp) {
  client_arg_t *arg = argp;
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

unsigned char tlspair_big_byte(size_t i) {
  return (unsigned char) ((i * 7 + 3) & 0xff);
}

int tlspair_body_receive_all(FILE *report, void *argp) {
  client_arg_t *arg = argp;
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
      bad += buf[i] != tlspair_big_byte(total + (size_t) i);
    }
    total += (size_t) n;
  }
  fprintf(report, "total=%zu bad=%zu end=%d ", total, bad,
    SSL_get_error(ssl, n));
  (void) SSL_shutdown(ssl);
  close(arg->fd);
  return 0;
}

/* The client sends one record in two parts, 600 ms apart. */
int tlspair_body_split_record(FILE *report, void *argp) {
  client_arg_t *arg = argp;
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

/*
 * The client answers the server's close_notify with its own close_notify
 * and, in the same write(2), plain text (as after CCC, RFC 4217 §6): the
 * server must consume exactly the TLS record and leave the text unread.
 */
int tlspair_body_answer_shutdown(FILE *report, void *argp) {
  client_arg_t *arg = argp;
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

/* A peer that never answers close_notify: the deadline holds. */
int tlspair_body_silent(FILE *report, void *argp) {
  client_arg_t *arg = argp;
  SSL_CTX *c = client_ctx_new(&arg->cfg);

  if (c == NULL || client_connect(c, arg->fd, NULL, report) == NULL) {
    return 1;
  }
  client_drain(arg->fd);
  return 0;
}

/* Never answers close_notify, but keeps sending application data for up
 * to 3 s (or until the server goes away). */
int tlspair_body_stream(FILE *report, void *argp) {
  client_arg_t *arg = argp;
  SSL_CTX *c = client_ctx_new(&arg->cfg);
  long long end = tlspair_now_ms() + 3000;
  char chunk[1024];
  SSL *ssl;

  if (c == NULL || (ssl = client_connect(c, arg->fd, NULL, report)) == NULL) {
    return 1;
  }
  memset(chunk, 'x', sizeof(chunk));
  while (tlspair_now_ms() < end && SSL_write(ssl, chunk, sizeof(chunk)) > 0) {
    ;
  }
  client_drain(arg->fd);
  return 0;
}

/* ---- bounded children and CPU time ------------------------------------ */

/*
 * Runs fn(arg) in a child for at most limit_ms. Returns its exit status, or
 * -1 if it had to be killed; *cpu_ms is the CPU time the child used. Lets a
 * test report a hang or a busy loop instead of hitting Check's timeout.
 */
int tlspair_run_bounded(int (*fn)(void *), void *arg, int limit_ms,
    long *cpu_ms) {
  long long deadline = tlspair_now_ms() + limit_ms;
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
    if (tlspair_now_ms() > deadline) {
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

long tlspair_self_cpu_ms(void) {
  struct rusage ru;

  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec * 1000L + ru.ru_utime.tv_usec / 1000 +
    ru.ru_stime.tv_sec * 1000L + ru.ru_stime.tv_usec / 1000;
}

/* ---- fixtures --------------------------------------------------------- */

void tlspair_pki_setup(void) {
  if (testpki_setup() < 0) {
    fprintf(stderr, "tlspair: test PKI unavailable\n");
  }
}

/* Every test is one session process: a fresh binding (ftps_ctx.h). */
void tlspair_binding_setup(void) {
  ck_assert_msg(ftps_ctx_new_binding() == 0, "ftps_ctx_new_binding failed");
}
