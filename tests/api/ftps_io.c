/*
 * ftps_io.c -- in-process TLS tests of mod_ftps/ftps_io.c (B21): the server
 * is ftps_io_* on one end of a socketpair(2) with a context from
 * ftps_ctx_build(); the client is plain OpenSSL in a forked child that
 * reports what it saw on a pipe (both in tlspair.c).
 *
 * Covers the protocol set, RSA+ECDSA selection and the certificate chain
 * on real handshakes, close_notify, truncation, deadlines, hostile peers
 * and bidirectional shutdown.
 */

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <openssl/ssl.h>

#include "tlspair.h"

/* ---- handshakes: protocol set, certificate choice, chain -------------- */

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
  res = ftps_io_accept(io, TLSPAIR_ACCEPT_MS);
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
  ck_assert_str_eq(SSL_get_version(ftps_io_conn(io)), row->want_version);
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
  char report[TLSPAIR_REPORT_LEN], want[64];
  client_arg_t arg;
  client_t client;
  SSL_CTX *ctx;
  int sv[2], rc;

  ctx = tlspair_server_ctx(row->protocols, row->cert1, row->key1, row->cert2,
    row->key2);
  tlspair_make_pair(sv);
  arg.cfg = row->cfg;
  if (row->cfg.cafile != NULL) {
    arg.cfg.cafile = testpki_path(row->cfg.cafile);
  }
  arg.fd = sv[1];
  client_start(&client, tlspair_body_handshake, &arg, &sv[0], 1);
  close(sv[1]);

  hs_server(ctx, sv[0], row);
  close(sv[0]);
  rc = client_finish(&client, report, sizeof(report));
  ftps_ctx_free(ctx);

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

/* ---- close_notify and truncation -------------------------------------- */

static const int versions[] = { TLS1_3_VERSION, TLS1_2_VERSION };
static const int roles[] = { FTPS_ROLE_CTRL, FTPS_ROLE_DATA };

START_TEST (ftps_io_read_close_notify_test) {
  SSL_CTX *ctx = tlspair_server_ctx_ec(FTPS_PROTO_ALL);
  char buf[64], report[TLSPAIR_REPORT_LEN];
  client_send_arg_t arg;
  client_t client;
  ftps_io_t *io;
  ssize_t n;
  int fd, rc;

  fd = tlspair_send_client(&client, &arg, versions[_i], "226 complete\r\n", 1);
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
  ftps_ctx_free(ctx);
}
END_TEST

START_TEST (ftps_io_read_truncation_test) {
  SSL_CTX *ctx = tlspair_server_ctx_ec(FTPS_PROTO_ALL);
  char buf[64], report[TLSPAIR_REPORT_LEN];
  client_send_arg_t arg;
  client_t client;
  ftps_io_t *io;
  ssize_t n;
  int fd, rc;

  fd = tlspair_send_client(&client, &arg, versions[_i], "partial upload", 0);
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
  ftps_ctx_free(ctx);
}
END_TEST

START_TEST (ftps_io_read_truncation_mid_record_test) {
  SSL_CTX *ctx = tlspair_server_ctx_ec(FTPS_PROTO_ALL);
  char buf[64], report[TLSPAIR_REPORT_LEN];
  client_arg_t arg;
  client_t client;
  ftps_io_t *io;
  ssize_t n;
  int sv[2], rc;

  tlspair_make_pair(sv);
  memset(&arg, 0, sizeof(arg));
  arg.cfg.max_version = versions[_i / 2];
  arg.fd = sv[1];
  client_start(&client, tlspair_body_cut_mid_record, &arg, &sv[0], 1);
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
  ftps_ctx_free(ctx);
}
END_TEST

/* A record read in part leaves the rest pending (no poll needed). */
START_TEST (ftps_io_pending_test) {
  SSL_CTX *ctx = tlspair_server_ctx_ec(FTPS_PROTO_ALL);
  char buf[64], report[TLSPAIR_REPORT_LEN];
  client_send_arg_t arg;
  client_t client;
  ftps_io_t *io;
  ssize_t n;
  int fd, rc;

  fd = tlspair_send_client(&client, &arg, versions[_i], "0123456789", 1);
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
  ftps_ctx_free(ctx);
}
END_TEST

/* ---- large writes over a full socket buffer --------------------------- */

START_TEST (ftps_io_write_large_test) {
  SSL_CTX *ctx = tlspair_server_ctx_ec(FTPS_PROTO_ALL);
  char report[TLSPAIR_REPORT_LEN], want[128];
  unsigned char *big = malloc(TLSPAIR_BIG_LEN);
  client_arg_t arg;
  client_t client;
  ftps_io_t *io;
  ssize_t n;
  int sv[2], rc;
  size_t i;

  ck_assert(big != NULL);
  for (i = 0; i < TLSPAIR_BIG_LEN; i++) {
    big[i] = tlspair_big_byte(i);
  }
  tlspair_make_pair(sv);
  memset(&arg, 0, sizeof(arg));
  arg.cfg.max_version = versions[_i];
  arg.fd = sv[1];
  client_start(&client, tlspair_body_receive_all, &arg, &sv[0], 1);
  close(sv[1]);

  io = server_accept(ctx, sv[0], FTPS_ROLE_DATA);
  mark_point();
  n = ftps_io_write(io, big, TLSPAIR_BIG_LEN);
  ck_assert_msg(n == TLSPAIR_BIG_LEN, "Expected %d, got %d (%s)",
    TLSPAIR_BIG_LEN, (int) n, ftps_io_error(io));
  mark_point();
  rc = ftps_io_shutdown(io, 0, 2000);
  ck_assert_msg(rc == 0, "Expected %d, got %d (%s)", 0, rc, ftps_io_error(io));
  ftps_io_free(io);
  close(sv[0]);
  free(big);

  rc = client_finish(&client, report, sizeof(report));
  ck_assert_msg(rc == 0, "client: Expected %d, got %d (%s)", 0, rc, report);
  snprintf(want, sizeof(want), "total=%d bad=0 end=%d ", TLSPAIR_BIG_LEN,
    SSL_ERROR_ZERO_RETURN);
  ck_assert_msg(strstr(report, want) != NULL, "Expected '%s', got '%s'", want,
    report);
  ftps_ctx_free(ctx);
}
END_TEST

/* ---- buffers sized per transfer (ftps_io_size_data) ------------------- */

START_TEST (ftps_io_size_data_args_test) {
  SSL_CTX *ctx = tlspair_server_ctx_ec(FTPS_PROTO_ALL);
  ftps_io_t *io;
  int sv[2], res;

  errno = 0;
  res = ftps_io_size_data(NULL, 1024, 0);
  ck_assert_msg(res == -1 && errno == EINVAL, "NULL: Expected -1/EINVAL, "
    "got %d/%d", res, errno);

  tlspair_make_pair(sv);
  io = ftps_io_new(ctx, sv[0], FTPS_ROLE_CTRL);
  ck_assert(io != NULL);
  errno = 0;
  res = ftps_io_size_data(io, FTPS_IO_DATA_BUFSZ, 0);
  ck_assert_msg(res == -1 && errno == EINVAL, "control connection: Expected "
    "-1/EINVAL, got %d/%d", res, errno);
  ck_assert_msg(BIO_method_type(SSL_get_wbio(ftps_io_conn(io))) !=
    BIO_TYPE_BUFFER, "a control connection got a write buffer");
  ftps_io_free(io);
  close(sv[0]);
  close(sv[1]);
  ftps_ctx_free(ctx);
}
END_TEST

/* (send_len, written per ftps_io_write, buffered?) for TLS 1.3 and 1.2. */
static const struct {
  size_t send_len;
  size_t chunk;
  int buffered;
} size_rows[] = {
  { 0, 4096, 0 },                            /* a listing: default buffers */
  { 4096, 4096, 0 },                         /* a small file */
  { FTPS_IO_RECORD, FTPS_IO_RECORD, 0 },     /* one record: nothing to gather */
  { FTPS_IO_RECORD + 1, FTPS_IO_RECORD + 1, 1 },
  { FTPS_IO_DATA_BUFSZ, FTPS_IO_DATA_BUFSZ, 1 },
  { 4 * FTPS_IO_DATA_BUFSZ, FTPS_IO_DATA_BUFSZ, 1 },   /* capped */
  { 65536, 3 * 65536 + 5, 1 },               /* writes larger than the buffer */
};

START_TEST (ftps_io_size_data_write_test) {
  SSL_CTX *ctx = tlspair_server_ctx_ec(FTPS_PROTO_ALL);
  int row = _i / (int) TESTS_NELEMS(versions);
  char report[TLSPAIR_REPORT_LEN], want[128];
  unsigned char *big = malloc(TLSPAIR_BIG_LEN);
  client_arg_t arg;
  client_t client;
  ftps_io_t *io;
  size_t i, done;
  int sv[2], rc, buffered;

  ck_assert(big != NULL);
  for (i = 0; i < TLSPAIR_BIG_LEN; i++) {
    big[i] = tlspair_big_byte(i);
  }
  tlspair_make_pair(sv);
  memset(&arg, 0, sizeof(arg));
  arg.cfg.max_version = versions[_i % (int) TESTS_NELEMS(versions)];
  arg.fd = sv[1];
  client_start(&client, tlspair_body_receive_all, &arg, &sv[0], 1);
  close(sv[1]);

  io = ftps_io_new(ctx, sv[0], FTPS_ROLE_DATA);
  ck_assert(io != NULL);
  rc = ftps_io_size_data(io, size_rows[row].send_len, 0);
  ck_assert_msg(rc == 0, "row %d: Expected 0, got %d", row, rc);
  rc = ftps_io_accept(io, TLSPAIR_ACCEPT_MS);
  ck_assert_msg(rc == 0, "row %d: handshake: %s", row, ftps_io_error(io));
  buffered = BIO_method_type(SSL_get_wbio(ftps_io_conn(io))) ==
    BIO_TYPE_BUFFER;
  ck_assert_msg(buffered == size_rows[row].buffered, "row %d: send_len %zu: "
    "Expected a write buffer: %d, got %d", row, size_rows[row].send_len,
    size_rows[row].buffered, buffered);

  for (done = 0; done < TLSPAIR_BIG_LEN; ) {
    size_t n = TLSPAIR_BIG_LEN - done < size_rows[row].chunk ?
      TLSPAIR_BIG_LEN - done : size_rows[row].chunk;
    ssize_t w = ftps_io_write(io, big + done, n);

    ck_assert_msg(w == (ssize_t) n, "row %d: Expected %zu, got %zd (%s)", row,
      n, w, ftps_io_error(io));
    done += n;
  }
  rc = ftps_io_shutdown(io, 0, 2000);
  ck_assert_msg(rc == 0, "row %d: shutdown: %s", row, ftps_io_error(io));
  ftps_io_free(io);
  close(sv[0]);
  free(big);

  rc = client_finish(&client, report, sizeof(report));
  ck_assert_msg(rc == 0, "client: Expected %d, got %d (%s)", 0, rc, report);
  snprintf(want, sizeof(want), "total=%d bad=0 end=%d ", TLSPAIR_BIG_LEN,
    SSL_ERROR_ZERO_RETURN);
  ck_assert_msg(strstr(report, want) != NULL, "row %d: Expected '%s', got "
    "'%s'", row, want, report);
  ftps_ctx_free(ctx);
}
END_TEST

/* An upload sized for bulk still reads every byte, then close_notify. */
START_TEST (ftps_io_size_data_read_test) {
  SSL_CTX *ctx = tlspair_server_ctx_ec(FTPS_PROTO_ALL);
  char buf[64], report[TLSPAIR_REPORT_LEN];
  client_send_arg_t arg;
  client_t client;
  ftps_io_t *io;
  ssize_t n;
  int fd, rc;

  fd = tlspair_send_client(&client, &arg, versions[_i], "upload bytes", 1);
  io = ftps_io_new(ctx, fd, FTPS_ROLE_DATA);
  ck_assert(io != NULL);
  ck_assert_int_eq(ftps_io_size_data(io, 0, FTPS_IO_DATA_BUFSZ), 0);
  rc = ftps_io_accept(io, TLSPAIR_ACCEPT_MS);
  ck_assert_msg(rc == 0, "handshake: %s", ftps_io_error(io));
  ck_assert_msg(BIO_method_type(SSL_get_wbio(ftps_io_conn(io))) !=
    BIO_TYPE_BUFFER, "an upload got a write buffer");
  server_expect(io, "upload bytes");
  n = ftps_io_read(io, buf, sizeof(buf));
  ck_assert_msg(n == 0 && ftps_io_got_close_notify(io) == 1, "Expected the "
    "close_notify, got %d (%s)", (int) n, ftps_io_error(io));
  ftps_io_free(io);
  close(fd);
  rc = client_finish(&client, report, sizeof(report));
  ck_assert_msg(rc == 0, "client: Expected %d, got %d (%s)", 0, rc, report);
  ftps_ctx_free(ctx);
}
END_TEST

/* ---- deadlines and hostile peers -------------------------------------- */

START_TEST (ftps_io_accept_timeout_test) {
  SSL_CTX *ctx = tlspair_server_ctx_ec(FTPS_PROTO_ALL);
  long long t0, elapsed;
  ftps_io_t *io;
  int sv[2], res;

  tlspair_make_pair(sv);
  io = ftps_io_new(ctx, sv[0], FTPS_ROLE_CTRL);
  ck_assert_msg(io != NULL, "ftps_io_new: %s", strerror(errno));

  t0 = tlspair_now_ms();
  mark_point();
  errno = 0;
  res = ftps_io_accept(io, 300);
  elapsed = tlspair_now_ms() - t0;
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
  ftps_ctx_free(ctx);
}
END_TEST

typedef struct {
  SSL_CTX *ctx;
  int fd;
} slow_arg_t;

/* 0: accept failed with ETIMEDOUT in time; 1: other failure; 2: success */
static int accept_with_deadline(void *argp) {
  slow_arg_t *arg = argp;
  ftps_io_t *io = ftps_io_new(arg->ctx, arg->fd, FTPS_ROLE_CTRL);
  long long t0 = tlspair_now_ms();
  int res;

  if (io == NULL) {
    return 3;
  }
  res = ftps_io_accept(io, 300);
  if (res == 0) {
    return 2;
  }
  return (errno == ETIMEDOUT && tlspair_now_ms() - t0 < 1000) ? 0 : 1;
}

/*
 * Only part of a ClientHello record arrives, then nothing (a slowloris
 * client): the handshake deadline must still hold, and the wait must
 * sleep in poll(2), not spin on the partial record in OpenSSL's buffer.
 */
START_TEST (ftps_io_accept_partial_record_timeout_test) {
  static const unsigned char partial[] = { 0x16, 0x03, 0x01, 0x02, 0x00,
    0x01, 0x00, 0x01 };
  SSL_CTX *ctx = tlspair_server_ctx_ec(FTPS_PROTO_ALL);
  slow_arg_t arg;
  long cpu_ms = 0;
  int sv[2], rc;

  tlspair_make_pair(sv);
  ck_assert(write(sv[1], partial, sizeof(partial)) == sizeof(partial));
  arg.ctx = ctx;
  arg.fd = sv[0];

  mark_point();
  rc = tlspair_run_bounded(accept_with_deadline, &arg, 2000, &cpu_ms);
  ck_assert_msg(rc != -1, "ftps_io_accept(io, 300) was still running after "
    "2000 ms, using %ld ms of CPU: the deadline is not enforced while a "
    "partial record is buffered (busy loop)", cpu_ms);
  ck_assert_msg(rc == 0, "Expected %d (ETIMEDOUT within 1 s), got %d", 0, rc);
  ck_assert_msg(cpu_ms < 150, "Expected an idle wait, used %ld ms of CPU in "
    "300 ms", cpu_ms);

  close(sv[0]);
  close(sv[1]);
  ftps_ctx_free(ctx);
}
END_TEST

/* A read that waits for the rest of a record sleeps; it does not spin. */
START_TEST (ftps_io_read_partial_record_test) {
  static const char want[] = "one record, sent in two parts\n";
  SSL_CTX *ctx = tlspair_server_ctx_ec(FTPS_PROTO_ALL);
  char buf[128], report[TLSPAIR_REPORT_LEN];
  long cpu0, cpu_ms;
  client_arg_t arg;
  client_t client;
  ftps_io_t *io;
  ssize_t n;
  int sv[2], rc;

  tlspair_make_pair(sv);
  memset(&arg, 0, sizeof(arg));
  arg.cfg.max_version = versions[_i / 2];
  arg.fd = sv[1];
  client_start(&client, tlspair_body_split_record, &arg, &sv[0], 1);
  close(sv[1]);

  io = server_accept(ctx, sv[0], roles[_i % 2]);
  cpu0 = tlspair_self_cpu_ms();
  mark_point();
  n = server_read_exact(io, buf, sizeof(want) - 1);
  cpu_ms = tlspair_self_cpu_ms() - cpu0;
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
  ftps_ctx_free(ctx);
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
  SSL_CTX *ctx = tlspair_server_ctx_ec(FTPS_PROTO_ALL);
  long long t0;
  ftps_io_t *io;
  int sv[2], res;

  tlspair_make_pair(sv);
  ck_assert(write(sv[1], garbage_rows[_i].bytes, garbage_rows[_i].len) ==
    (ssize_t) garbage_rows[_i].len);
  ck_assert(shutdown(sv[1], SHUT_WR) == 0);
  io = ftps_io_new(ctx, sv[0], FTPS_ROLE_CTRL);
  ck_assert_msg(io != NULL, "ftps_io_new: %s", strerror(errno));

  t0 = tlspair_now_ms();
  mark_point();
  errno = 0;
  res = ftps_io_accept(io, 2000);
  ck_assert_msg(res == -1, "%s: Expected %d, got %d", garbage_rows[_i].name,
    -1, res);
  ck_assert_msg(errno != 0 && errno != ETIMEDOUT,
    "%s: Expected a protocol error, got errno %d", garbage_rows[_i].name,
    errno);
  ck_assert_msg(tlspair_now_ms() - t0 < 1000,
    "%s: Expected an immediate failure", garbage_rows[_i].name);
  ck_assert_msg(strcmp(ftps_io_error(io), "no error") != 0,
    "%s: Expected an error text", garbage_rows[_i].name);

  ftps_io_free(io);
  close(sv[0]);
  close(sv[1]);
  ftps_ctx_free(ctx);
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
  SSL_CTX *ctx = tlspair_server_ctx_ec(FTPS_PROTO_ALL);
  int sv[2], res, xerrno, limit = 3;
  ftps_io_t *io;

  tlspair_make_pair(sv);
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
  ftps_ctx_free(ctx);
}
END_TEST

/* ---- ftps_io_shutdown ------------------------------------------------- */

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
  SSL_CTX *ctx = tlspair_server_ctx_ec(FTPS_PROTO_ALL);
  char buf[128], report[TLSPAIR_REPORT_LEN];
  struct pollfd pfd;
  client_arg_t arg;
  client_t client;
  ftps_io_t *io;
  size_t got = 0;
  int sv[2], rc;

  tlspair_make_pair(sv);
  memset(&arg, 0, sizeof(arg));
  arg.cfg.max_version = versions[_i];
  arg.fd = sv[1];
  client_start(&client, tlspair_body_answer_shutdown, &arg, &sv[0], 1);
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
  ftps_ctx_free(ctx);
}
END_TEST

START_TEST (ftps_io_shutdown_peer_silent_test) {
  SSL_CTX *ctx = tlspair_server_ctx_ec(FTPS_PROTO_ALL);
  char report[TLSPAIR_REPORT_LEN];
  long long t0, elapsed;
  client_arg_t arg;
  client_t client;
  ftps_io_t *io;
  int sv[2], rc;

  tlspair_make_pair(sv);
  memset(&arg, 0, sizeof(arg));
  arg.fd = sv[1];
  client_start(&client, tlspair_body_silent, &arg, &sv[0], 1);
  close(sv[1]);

  io = server_accept(ctx, sv[0], FTPS_ROLE_CTRL);
  t0 = tlspair_now_ms();
  mark_point();
  rc = ftps_io_shutdown(io, 1, 300);
  elapsed = tlspair_now_ms() - t0;
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
  ftps_ctx_free(ctx);
}
END_TEST

/* A peer that keeps streaming instead of answering close_notify (after
 * CCC) must not hold the session: the deadline bounds the wait. */
START_TEST (ftps_io_shutdown_peer_streaming_test) {
  SSL_CTX *ctx = tlspair_server_ctx_ec(FTPS_PROTO_ALL);
  char report[TLSPAIR_REPORT_LEN];
  long long t0, elapsed;
  client_arg_t arg;
  client_t client;
  ftps_io_t *io;
  int sv[2], rc;

  tlspair_make_pair(sv);
  memset(&arg, 0, sizeof(arg));
  arg.cfg.max_version = versions[_i];
  arg.fd = sv[1];
  client_start(&client, tlspair_body_stream, &arg, &sv[0], 1);
  close(sv[1]);

  io = server_accept(ctx, sv[0], FTPS_ROLE_CTRL);
  t0 = tlspair_now_ms();
  mark_point();
  rc = ftps_io_shutdown(io, 1, 300);
  elapsed = tlspair_now_ms() - t0;
  ck_assert_msg(rc == -1, "Expected %d, got %d", -1, rc);
  ck_assert_msg(errno == ETIMEDOUT, "Expected errno %d, got %d", ETIMEDOUT,
    errno);
  ck_assert_msg(elapsed < 1500, "Expected about 300 ms, got %d ms",
    (int) elapsed);
  ftps_io_free(io);
  close(sv[0]);
  (void) client_finish(&client, report, sizeof(report));
  SSL_CTX_free(ctx);
}
END_TEST

/* ---- ftps_io_new / free and the accessors ----------------------------- */

START_TEST (ftps_io_new_args_test) {
  SSL_CTX *ctx = tlspair_server_ctx_ec(FTPS_PROTO_ALL);
  ftps_io_t *io;
  int sv[2];

  tlspair_make_pair(sv);

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
  ftps_ctx_free(ctx);
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
  ck_assert_msg(ftps_io_conn(NULL) == NULL, "Expected NULL");
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
  SSL_CTX *ctx = tlspair_server_ctx_ec(FTPS_PROTO_ALL);
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

  tlspair_make_pair(sv);
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
  ftps_ctx_free(ctx);
}
END_TEST

START_TEST (ftps_io_free_restores_blocking_test) {
  SSL_CTX *ctx = tlspair_server_ctx_ec(FTPS_PROTO_ALL);
  ftps_io_t *io;
  int sv[2];

  tlspair_make_pair(sv);
  mark_point();
  io = ftps_io_new(ctx, sv[0], FTPS_ROLE_CTRL);
  ck_assert_msg(io != NULL, "ftps_io_new: %s", strerror(errno));
  ck_assert_msg(ftps_io_fd(io) == sv[0], "Expected %d, got %d", sv[0],
    ftps_io_fd(io));
  ck_assert_msg(ftps_io_conn(io) != NULL, "Expected an SSL");
  ck_assert_msg(SSL_is_server(ftps_io_conn(io)) == 1, "Expected a server SSL");
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
  ftps_ctx_free(ctx);
}
END_TEST

/* ---- the suite -------------------------------------------------------- */

Suite *tests_get_io_suite(void) {
  Suite *suite = suite_create("ftps_io");
  TCase *tc;

  tc = tcase_create("io");
  tcase_add_unchecked_fixture(tc, tlspair_pki_setup, NULL);
  tcase_add_checked_fixture(tc, tlspair_binding_setup, NULL);
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
  tcase_add_loop_test(tc, ftps_io_shutdown_peer_streaming_test, 0,
    TESTS_NELEMS(versions));
  tcase_add_test(tc, ftps_io_free_restores_blocking_test);
  tcase_add_test(tc, ftps_io_size_data_args_test);
  tcase_add_loop_test(tc, ftps_io_size_data_write_test, 0,
    TESTS_NELEMS(versions) * TESTS_NELEMS(size_rows));
  tcase_add_loop_test(tc, ftps_io_size_data_read_test, 0,
    TESTS_NELEMS(versions));
  suite_add_tcase(suite, tc);

  return suite;
}
