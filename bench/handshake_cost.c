/*
 * handshake_cost.c -- the floors of the TLS work alone, in process, over
 * a BIO pair, with the module's own context (ftps_ctx_build) and binding;
 * no sockets, no ProFTPD, so that `make bench` can show how far each
 * server's CPU is from them (bench.py runs this as one of the machine's
 * limits):
 *
 *  - one protected data connection: the server's CPU for a TLS 1.3 data
 *    connection that resumes the control session, carries one 4 KiB file
 *    and ends with close_notify;
 *  - one control connection: a full TLS 1.3 handshake, one reply, the
 *    session ticket, close_notify;
 *  - one session in a freshly forked server process, as ProFTPD forks one
 *    per connection: the control connection above plus one such data
 *    connection, over socketpairs, timed as the child's whole CPU (its
 *    page faults and cold caches included), the client in the parent.
 *
 *   bench/handshake_cost CERT KEY [ROUNDS]
 *
 * Prints "server_us_per_data_connection <us> <cipher>",
 * "server_us_per_control_connection <us>" and
 * "server_us_per_forked_session <us>". OpenSSL and the TLS layer only (B2).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <signal.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "bench_ctx.h"

static double server_us;

static double cpu_us(void) {
  struct timespec ts;

  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* Time only the server's side of the exchange. */
#define SERVER(stmt) do { \
    double t0_ = cpu_us(); \
    stmt; \
    server_us += cpu_us() - t0_; \
  } while (0)

static SSL *pair(SSL_CTX *sctx, SSL_CTX *cctx, int role, SSL **client) {
  SSL *s = NULL, *c = SSL_new(cctx);
  BIO *sb, *cb;

  SERVER(s = SSL_new(sctx));
  BIO_new_bio_pair(&sb, 0, &cb, 0);
  SERVER(SSL_set_bio(s, sb, sb); SSL_set_accept_state(s);
    ftps_ctx_set_role(s, role);
    if (role == FTPS_ROLE_DATA) {
      SSL_set_num_tickets(s, 0);
      SSL_set_read_ahead(s, 1);
    });
  SSL_set_bio(c, cb, cb);
  SSL_set_connect_state(c);
  *client = c;
  return s;
}

/* ftps_warm_pump() with only the server's calls timed. */
static int pump(SSL *c, SSL *s) {
  int i;

  for (i = 0; i < 16; i++) {
    int a = SSL_do_handshake(c), b;

    SERVER(b = SSL_do_handshake(s));
    if (a == 1 && b == 1) {
      return 0;
    }
  }
  return -1;
}

static double process_cpu_us(void) {
  struct timespec ts;

  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* The server side of one session, in the forked child: its CPU in us, or
 * a negative value if the session went wrong. */
static double forked_server(SSL_CTX *sctx, int cfd, int dfd) {
  static char file[4096];
  char buf[256];
  double t0 = process_cpu_us();
  SSL *s, *d;
  int ok;

  ftps_ctx_new_binding();               /* as every session does */
  s = SSL_new(sctx);
  SSL_set_fd(s, cfd);
  ftps_ctx_set_role(s, FTPS_ROLE_CTRL);
  ok = SSL_accept(s) == 1 && SSL_write(s, "234 ok\r\n", 8) == 8;
  d = SSL_new(sctx);
  SSL_set_fd(d, dfd);
  ftps_ctx_set_role(d, FTPS_ROLE_DATA);
  SSL_set_num_tickets(d, 0);
  ok = ok && SSL_accept(d) == 1 && ftps_ctx_check_reuse(d) == FTPS_REUSE_OK &&
    SSL_write(d, file, sizeof(file)) == (int) sizeof(file) && SSL_shutdown(d) >= 0 &&
    SSL_read(d, buf, sizeof(buf)) == 0;
  ftps_ctx_clear_role(d);
  SSL_free(d);
  (void) SSL_shutdown(s);
  ftps_ctx_clear_role(s);
  SSL_free(s);
  return ok ? process_cpu_us() - t0 : -1;
}

/* One session against a freshly forked server; the client runs here. */
static double forked_session(SSL_CTX *sctx, SSL_CTX *cctx) {
  char buf[8192];
  int cs[2], ds[2], res[2], status;
  double us = -1;
  SSL *c, *dc;
  SSL_SESSION *sess;
  pid_t pid;

  if (socketpair(AF_UNIX, SOCK_STREAM, 0, cs) < 0 ||
      socketpair(AF_UNIX, SOCK_STREAM, 0, ds) < 0 || pipe(res) < 0) {
    return -1;
  }
  fflush(stdout);
  if ((pid = fork()) < 0) {
    return -1;
  }
  if (pid == 0) {
    close(cs[0]);
    close(ds[0]);
    close(res[0]);
    signal(SIGPIPE, SIG_IGN);           /* as ProFTPD's sessions */
    us = forked_server(sctx, cs[1], ds[1]);
    _exit(write(res[1], &us, sizeof(us)) == sizeof(us) ? 0 : 1);
  }
  close(cs[1]);
  close(ds[1]);
  close(res[1]);
  c = SSL_new(cctx);
  SSL_set_fd(c, cs[0]);
  if (SSL_connect(c) == 1 && SSL_read(c, buf, sizeof(buf)) == 8 &&
      (sess = SSL_get1_session(c)) != NULL) {
    dc = SSL_new(cctx);
    SSL_set_fd(dc, ds[0]);
    SSL_set_session(dc, sess);
    if (SSL_connect(dc) == 1) {
      while (SSL_read(dc, buf, sizeof(buf)) > 0) {
      }
      (void) SSL_shutdown(dc);
    }
    SSL_free(dc);
    SSL_SESSION_free(sess);
    while (SSL_read(c, buf, sizeof(buf)) > 0) {    /* up to close_notify */
    }
  }
  SSL_free(c);
  close(cs[0]);
  close(ds[0]);
  if (read(res[0], &us, sizeof(us)) != sizeof(us)) {
    us = -1;
  }
  close(res[0]);
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0) {
    us = -1;
  }
  return us;
}

int main(int argc, char **argv) {
  static char file[4096], buf[8192];
  ftps_policy_t p;
  SSL_CTX *sctx, *cctx;
  SSL *s, *c;
  SSL_SESSION *sess;
  int i, rounds = argc > 3 ? atoi(argv[3]) : 2000;

  if (argc < 3 || rounds < 1) {
    fprintf(stderr, "usage: %s CERT KEY [ROUNDS]\n", argv[0]);
    return 2;
  }
  bench_policy(&p, argv[1], argv[2]);
  if ((sctx = bench_server_ctx(&p)) == NULL) {
    return 1;
  }
  cctx = SSL_CTX_new(TLS_client_method());

  /* The control connection: a full handshake, then one reply, so the
   * client holds a ticket bound to this session. */
  s = pair(sctx, cctx, FTPS_ROLE_CTRL, &c);
  if (pump(c, s) < 0 || SSL_write(s, "200 ok\r\n", 8) != 8 ||
      SSL_read(c, buf, sizeof(buf)) <= 0 ||
      (sess = SSL_get1_session(c)) == NULL) {
    ERR_print_errors_fp(stderr);
    return 1;
  }

  server_us = 0;
  for (i = 0; i < rounds; i++) {
    SSL *ds, *dc;

    ds = pair(sctx, cctx, FTPS_ROLE_DATA, &dc);
    SSL_set_session(dc, sess);
    if (pump(dc, ds) < 0 || !SSL_session_reused(ds) ||
        ftps_ctx_check_reuse(ds) != FTPS_REUSE_OK) {
      fprintf(stderr, "data connection %d did not resume the control session\n", i);
      ERR_print_errors_fp(stderr);
      return 1;
    }
    SERVER(SSL_write(ds, file, sizeof(file)); SSL_shutdown(ds));
    while (SSL_read(dc, buf, sizeof(buf)) > 0) {
    }
    SSL_shutdown(dc);
    SERVER(SSL_read(ds, buf, sizeof(buf)); ftps_ctx_clear_role(ds);
      SSL_free(ds));
    SSL_free(dc);
  }
  printf("server_us_per_data_connection %.1f %s\n", server_us / rounds,
    SSL_CIPHER_get_name(SSL_SESSION_get0_cipher(sess)));

  /* Control connections: a full handshake each (fewer rounds: each costs
   * a signature and two X25519 operations). */
  rounds = rounds / 4 > 0 ? rounds / 4 : 1;
  server_us = 0;
  for (i = 0; i < rounds; i++) {
    SSL *cs, *cc;

    cs = pair(sctx, cctx, FTPS_ROLE_CTRL, &cc);
    if (pump(cc, cs) < 0 || SSL_session_reused(cs)) {
      fprintf(stderr, "control connection %d: no full handshake\n", i);
      ERR_print_errors_fp(stderr);
      return 1;
    }
    SERVER(SSL_write(cs, "234 ok\r\n", 8));
    if (SSL_read(cc, buf, sizeof(buf)) != 8) {
      fprintf(stderr, "control connection %d: reply lost\n", i);
      return 1;
    }
    SERVER(SSL_shutdown(cs));
    SSL_shutdown(cc);
    SERVER(SSL_read(cs, buf, sizeof(buf)); ftps_ctx_clear_role(cs);
      SSL_free(cs));
    SSL_free(cc);
  }
  printf("server_us_per_control_connection %.1f\n", server_us / rounds);

  /* Sessions in freshly forked processes, after all the warming above (as
   * ProFTPD's master is warm when it forks). */
  rounds = rounds / 5 > 0 ? rounds / 5 : 1;
  server_us = 0;
  for (i = 0; i < rounds; i++) {
    double us = forked_session(sctx, cctx);

    if (us < 0) {
      fprintf(stderr, "forked session %d failed\n", i);
      ERR_print_errors_fp(stderr);
      return 1;
    }
    server_us += us;
  }
  printf("server_us_per_forked_session %.1f\n", server_us / rounds);
  return 0;
}
