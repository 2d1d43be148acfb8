/*
 * ftps_ticketkeys.c -- tests of mod_ftps/ftps_ticketkeys.c: the key ring's
 * argument contract, rotation (one key per period, at most count, the
 * oldest dropped), its memory, and real TLS 1.2 and 1.3 resumptions over an
 * in-memory BIO pair: a ticket under an older key still resumes, one whose
 * key was rotated out makes a full handshake.
 *
 * OpenSSL and Check only; no ProFTPD (B2, B19).
 */

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "tlspair.h"
#include "ftps/ftps_ticketkeys.h"
#include "ftps/ftps_warm.h"

#define T0  ((time_t) 1000000)

static void teardown(void) {
  ftps_ticketkeys_wipe();
}

/* ---- arguments -------------------------------------------------------- */

START_TEST(ftps_ticketkeys_configure_args_test) {
  mark_point();
  ck_assert_int_eq(ftps_ticketkeys_configure(0, 3, T0), -1);
  ck_assert_int_eq(errno, EINVAL);
  ck_assert_int_eq(ftps_ticketkeys_configure(10, 0, T0), -1);
  ck_assert_int_eq(errno, EINVAL);
  ck_assert_int_eq(ftps_ticketkeys_configure(10,
    FTPS_TICKETKEYS_MAX_COUNT + 1, T0), -1);
  ck_assert_int_eq(errno, EINVAL);
  ck_assert_int_eq(ftps_ticketkeys_rotate(T0), -1);
  ck_assert_int_eq(errno, EINVAL);
  ck_assert_int_eq(ftps_ticketkeys_install(NULL), -1);
  ck_assert_int_eq(errno, EINVAL);
  ck_assert_int_eq(ftps_ticketkeys_count(), 0);
  ck_assert_int_eq(ftps_ticketkeys_lock(), 0);
}
END_TEST

START_TEST(ftps_ticketkeys_install_args_test) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

  mark_point();
  ck_assert_ptr_nonnull(ctx);
  ck_assert_int_eq(ftps_ticketkeys_install(ctx), -1);   /* no ring */
  ck_assert_int_eq(errno, EINVAL);
  SSL_CTX_free(ctx);
}
END_TEST

/* ---- rotation --------------------------------------------------------- */

typedef struct {
  const char *name;
  unsigned int age, count;
  long at;                  /* seconds after T0 */
  int want_added;
  unsigned int want_count;
} rotate_row_t;

static const rotate_row_t rotate_rows[] = {
  { "too_early",          10, 3, 9,    0, 1 },
  { "one_period",         10, 3, 10,   1, 2 },
  { "two_periods",        10, 3, 25,   2, 3 },
  { "long_idle_capped",   10, 3, 1000, 3, 3 },
  { "count_one",          10, 1, 10,   1, 1 },
  { "clock_backwards",    10, 3, -50,  0, 1 },
};

START_TEST(ftps_ticketkeys_rotate_count_test) {
  const rotate_row_t *row = &rotate_rows[_i];
  int added;

  ck_assert_int_eq(ftps_ticketkeys_configure(row->age, row->count, T0), 0);
  mark_point();
  added = ftps_ticketkeys_rotate(T0 + row->at);
  ck_assert_msg(added == row->want_added, "%s: expected %d added, got %d",
    row->name, row->want_added, added);
  ck_assert_msg(ftps_ticketkeys_count() == row->want_count,
    "%s: expected %u keys, got %u", row->name, row->want_count,
    ftps_ticketkeys_count());
}
END_TEST

START_TEST(ftps_ticketkeys_rotate_steady_test) {
  int i;

  ck_assert_int_eq(ftps_ticketkeys_configure(5, 3, T0), 0);
  for (i = 1; i <= 10; i++) {
    mark_point();
    ck_assert_int_eq(ftps_ticketkeys_rotate(T0 + 5 * i), 1);
    ck_assert_uint_le(ftps_ticketkeys_count(), 3);
  }
  ck_assert_uint_eq(ftps_ticketkeys_count(), 3);
}
END_TEST

/* The ring is page-sized, whatever the count (printed for docs). */
START_TEST(ftps_ticketkeys_memory_test) {
  long page = sysconf(_SC_PAGESIZE);

  ck_assert_uint_eq(ftps_ticketkeys_memory(), 0);
  ck_assert_int_eq(ftps_ticketkeys_configure(43200, 3, T0), 0);
  ck_assert_uint_eq(ftps_ticketkeys_memory() % (size_t) page, 0);
  ck_assert_uint_le(ftps_ticketkeys_memory(), 8192);
  fprintf(stderr, "ftps_ticketkeys: ring of up to %d keys holds %zu bytes\n",
    FTPS_TICKETKEYS_MAX_COUNT, ftps_ticketkeys_memory());
  ftps_ticketkeys_wipe();
  ck_assert_uint_eq(ftps_ticketkeys_memory(), 0);
  ck_assert_uint_eq(ftps_ticketkeys_count(), 0);
}
END_TEST

/* ---- real resumptions over a BIO pair --------------------------------- */

/* One exchange offering resume (or none); *resumed set; the client's new
 * session (its ticket) is returned. */
static SSL_SESSION *exchange(SSL_CTX *cctx, SSL_CTX *sctx,
    SSL_SESSION *resume, int *resumed) {
  SSL *client = SSL_new(cctx), *server = SSL_new(sctx);
  BIO *cb = NULL, *sb = NULL;
  SSL_SESSION *sess = NULL;
  char buf[16];
  size_t n;

  *resumed = -1;
  ck_assert_int_eq(BIO_new_bio_pair(&cb, 0, &sb, 0), 1);
  SSL_set_bio(client, cb, cb);
  SSL_set_bio(server, sb, sb);
  SSL_set_connect_state(client);
  SSL_set_accept_state(server);
  ck_assert_int_eq(ftps_ctx_set_role(server, FTPS_ROLE_CTRL), 0);
  if (resume != NULL) {
    ck_assert_int_eq(SSL_set_session(client, resume), 1);
  }
  if (ftps_warm_pump(client, server) == 0 &&
      SSL_write_ex(server, "ok", 2, &n) == 1 &&
      SSL_read_ex(client, buf, sizeof(buf), &n) == 1) {
    *resumed = SSL_session_reused(client);
    sess = SSL_get1_session(client);
  }
  /* A session freed without close_notify is marked not resumable. */
  SSL_set_shutdown(client, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  SSL_free(client);
  ftps_ctx_clear_role(server);
  SSL_free(server);
  ERR_clear_error();
  return sess;
}

typedef struct {
  const char *name;
  int version;
  unsigned int count;
  int rotations;            /* between issuing and offering the ticket */
  int want_resumed;
} resume_row_t;

static const resume_row_t resume_rows[] = {
  { "tls13_same_key",         TLS1_3_VERSION, 3, 0, 1 },
  { "tls13_previous_key",     TLS1_3_VERSION, 3, 1, 1 },
  { "tls13_count_minus_one",  TLS1_3_VERSION, 3, 2, 1 },
  { "tls13_rotated_out",      TLS1_3_VERSION, 3, 3, 0 },
  { "tls13_count_one",        TLS1_3_VERSION, 1, 1, 0 },
  { "tls12_same_key",         TLS1_2_VERSION, 3, 0, 1 },
  { "tls12_count_minus_one",  TLS1_2_VERSION, 3, 2, 1 },
  { "tls12_rotated_out",      TLS1_2_VERSION, 3, 3, 0 },
};

START_TEST(ftps_ticketkeys_resume_test) {
  const resume_row_t *row = &resume_rows[_i];
  SSL_CTX *sctx, *cctx;
  SSL_SESSION *first, *second;
  int resumed = -1, i;

  ck_assert_int_eq(ftps_ticketkeys_configure(10, row->count, T0), 0);
  sctx = tlspair_server_ctx_ec(FTPS_PROTO_TLS12 | FTPS_PROTO_TLS13);
  ck_assert_int_eq(ftps_ticketkeys_install(sctx), 0);
  cctx = SSL_CTX_new(TLS_client_method());
  ck_assert_ptr_nonnull(cctx);
  SSL_CTX_set_min_proto_version(cctx, row->version);
  SSL_CTX_set_max_proto_version(cctx, row->version);

  first = exchange(cctx, sctx, NULL, &resumed);
  ck_assert_ptr_nonnull(first);
  ck_assert_int_eq(resumed, 0);
  for (i = 0; i < row->rotations; i++) {
    ck_assert_int_eq(ftps_ticketkeys_rotate(T0 + 10 * (i + 1)), 1);
  }
  mark_point();
  second = exchange(cctx, sctx, first, &resumed);
  ck_assert_msg(resumed == row->want_resumed, "%s: expected resumed %d, "
    "got %d", row->name, row->want_resumed, resumed);
  SSL_SESSION_free(first);
  SSL_SESSION_free(second);
  SSL_CTX_free(cctx);
  ftps_ctx_free(sctx);
}
END_TEST

/* A wiped ring issues nothing and accepts nothing: full handshakes. */
START_TEST(ftps_ticketkeys_wipe_refuses_test) {
  SSL_CTX *sctx, *cctx;
  SSL_SESSION *first, *second;
  int resumed = -1;

  ck_assert_int_eq(ftps_ticketkeys_configure(10, 3, T0), 0);
  sctx = tlspair_server_ctx_ec(FTPS_PROTO_TLS13);
  ck_assert_int_eq(ftps_ticketkeys_install(sctx), 0);
  cctx = SSL_CTX_new(TLS_client_method());
  first = exchange(cctx, sctx, NULL, &resumed);
  ck_assert_ptr_nonnull(first);
  ftps_ticketkeys_wipe();
  second = exchange(cctx, sctx, first, &resumed);
  ck_assert_int_eq(resumed, 0);
  SSL_SESSION_free(first);
  SSL_SESSION_free(second);
  SSL_CTX_free(cctx);
  ftps_ctx_free(sctx);
}
END_TEST

Suite *tests_get_ticketkeys_suite(void) {
  Suite *suite = suite_create("ftps_ticketkeys");
  TCase *tc = tcase_create("ring");

  tcase_add_unchecked_fixture(tc, tlspair_pki_setup, NULL);
  tcase_add_checked_fixture(tc, tlspair_binding_setup, teardown);
  tcase_add_test(tc, ftps_ticketkeys_configure_args_test);
  tcase_add_test(tc, ftps_ticketkeys_install_args_test);
  tcase_add_loop_test(tc, ftps_ticketkeys_rotate_count_test, 0,
    TESTS_NELEMS(rotate_rows));
  tcase_add_test(tc, ftps_ticketkeys_rotate_steady_test);
  tcase_add_test(tc, ftps_ticketkeys_memory_test);
  tcase_add_loop_test(tc, ftps_ticketkeys_resume_test, 0,
    TESTS_NELEMS(resume_rows));
  tcase_add_test(tc, ftps_ticketkeys_wipe_refuses_test);
  suite_add_tcase(suite, tc);
  return suite;
}
