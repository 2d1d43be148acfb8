/*
 * tlspair.h -- shared declarations of the in-process TLS suites
 * (tests/api/ftps_ctx.c, tests/api/ftps_io.c): the server end is ftps_io_*
 * on one end of a socketpair(2) with a context from ftps_ctx_build(); the
 * client end is plain OpenSSL in a forked child that reports what it saw on
 * a pipe. Defined in tlspair.c.
 *
 * OpenSSL and Check only; no ProFTPD (B2).
 */
#ifndef FTPS_TLSPAIR_H
#define FTPS_TLSPAIR_H

#include <sys/types.h>

#include <openssl/ssl.h>

#include "tests.h"
#include "ftps/ftps_policy.h"
#include "ftps/ftps_ctx.h"
#include "ftps/ftps_io.h"

#define TLSPAIR_ERRLEN      512
#define TLSPAIR_ACCEPT_MS   5000
#define TLSPAIR_REPORT_LEN  512

/* Bytes tlspair_body_receive_all() expects: more than a socket buffer. */
#define TLSPAIR_BIG_LEN     (1024 * 1024 + 17)

/* ---- helpers: time, policy, server context ---------------------------- */

long long tlspair_now_ms(void);

/* A merged policy with FTPS on and the given certificates (testpki names;
 * key NULL means the key is in the certificate file). */
void tlspair_policy(ftps_policy_t *p, int protocols, const char *cert1,
    const char *key1, const char *cert2, const char *key2);

/* A context from tlspair_policy(); fails the test if the build fails. */
SSL_CTX *tlspair_server_ctx(int protocols, const char *cert1,
    const char *key1, const char *cert2, const char *key2);
SSL_CTX *tlspair_server_ctx_ec(int protocols);

/* A context for policy p, as the vhost vhost_id. */
SSL_CTX *tlspair_server_ctx_policy(const ftps_policy_t *p,
    const char *vhost_id);

void tlspair_make_pair(int sv[2]);

/* Reads exactly len bytes; returns what the last ftps_io_read() said. */
ssize_t server_read_exact(ftps_io_t *io, char *buf, size_t len);
void server_expect(ftps_io_t *io, const char *want);
void server_send(ftps_io_t *io, const char *msg);
ftps_io_t *server_accept(SSL_CTX *ctx, int fd, int role);

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

SSL_CTX *client_ctx_new(const client_cfg_t *cfg);

/* Handshake on fd, offering sess if not NULL; NULL (reported) on failure. */
SSL *client_connect(SSL_CTX *c, int fd, SSL_SESSION *sess, FILE *report);

/* Reads up to and including '\n'; 0 or -1. */
int client_read_line(SSL *ssl, char *buf, size_t len);

/* Waits for the server to close its end, so nothing races with it. */
void client_drain(int fd);

/* Forks body(report, arg); the child first closes close_fds[0..nclose). */
void client_start(client_t *c, client_body_t body, void *arg,
    const int *close_fds, int nclose);

/* The child's exit status (or -1), and its report. */
int client_finish(client_t *c, char *report, size_t len);

/* ---- client bodies (run in the child by client_start) ----------------- */

typedef struct {
  client_cfg_t cfg;
  int fd;
} client_arg_t;

typedef struct {
  int fd;
  int max_version;
  const char *msg;
  int close_notify;     /* 1: SSL_shutdown; 0: just close the socket */
} client_send_arg_t;

/* client_arg_t: ping/pong, then a clean close_notify. */
int tlspair_body_handshake(FILE *report, void *argp);

/* client_send_arg_t: sends msg, then close_notify or just a close. */
int tlspair_body_send(FILE *report, void *argp);

/* Starts a tlspair_body_send client on a fresh pair; returns the server fd. */
int tlspair_send_client(client_t *client, client_send_arg_t *arg,
    int version, const char *msg, int close_notify);

/* client_arg_t: one whole record, then the first bytes of the next, then
 * EOF. */
int tlspair_body_cut_mid_record(FILE *report, void *argp);

/* Byte i of the TLSPAIR_BIG_LEN stream. */
unsigned char tlspair_big_byte(size_t i);

/* client_arg_t: reads to the end, checking tlspair_big_byte(). */
int tlspair_body_receive_all(FILE *report, void *argp);

/* client_arg_t: sends one record in two parts, 600 ms apart. */
int tlspair_body_split_record(FILE *report, void *argp);

/* client_arg_t: answers close_notify with close_notify + plain text. */
int tlspair_body_answer_shutdown(FILE *report, void *argp);

/* client_arg_t: never answers close_notify. */
int tlspair_body_silent(FILE *report, void *argp);

/* client_arg_t: never answers close_notify; streams data for up to 3 s. */
int tlspair_body_stream(FILE *report, void *argp);

/* ---- bounded children and CPU time ------------------------------------ */

/* fn(arg) in a child for at most limit_ms: its exit status, or -1 if it had
 * to be killed; *cpu_ms is the CPU time the child used. */
int tlspair_run_bounded(int (*fn)(void *), void *arg, int limit_ms,
    long *cpu_ms);
long tlspair_self_cpu_ms(void);

/* ---- fixtures --------------------------------------------------------- */

/* Unchecked: the test PKI, once per runner. */
void tlspair_pki_setup(void);

/* Checked: every test is one session process, a fresh binding. */
void tlspair_binding_setup(void);

#endif /* FTPS_TLSPAIR_H */
