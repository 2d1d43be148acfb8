/*
 * tests.c -- the single registry of the mod_ftps unit tests (B19).
 *
 * Environment:
 *   FTPS_TEST_SUITE=<name>   run only that suite (ftps_policy, ftps_prot,
 *                            ftps_ctx, ftps_io, ftps_cert, ftps_text; the
 *                            "ftps_" prefix may be omitted)
 *   FTPS_TEST_NOFORK=1       run in one process (CK_NOFORK), for debuggers
 * Exit status: 0 if every test passed, 1 on any failure, 2 on bad usage.
 */

#include <signal.h>

#include "tests.h"

static const struct {
  const char *name;
  Suite *(*get)(void);
} suites[] = {
  { "ftps_policy", tests_get_policy_suite },
  { "ftps_prot",   tests_get_prot_suite },
  { "ftps_ctx",    tests_get_ctx_suite },
  { "ftps_io",     tests_get_io_suite },
  { "ftps_cert",   tests_get_cert_suite },
  { "ftps_text",   tests_get_text_suite },
  { "ftps_state",  tests_get_state_suite },
  { "ftps_env",    tests_get_env_suite },
  { "ftps_ticketkeys", tests_get_ticketkeys_suite },
  { "ftps_keys",   tests_get_keys_suite },
  { "ftps_staple", tests_get_staple_suite },
  { "ftps_policy_keys", tests_get_policy_keys_suite },
  { "ftps_watch",  tests_get_watch_suite },
  { "ftps_certinfo", tests_get_certinfo_suite },
  { "ftps_farmbox", tests_get_farmbox_suite },
};

static int suite_selected(const char *want, const char *name) {
  if (want == NULL || *want == '\0') {
    return 1;
  }
  if (strcmp(want, name) == 0) {
    return 1;
  }
  return strncmp(name, "ftps_", 5) == 0 && strcmp(want, name + 5) == 0;
}

int main(void) {
  const char *want = getenv("FTPS_TEST_SUITE");
  const char *nofork = getenv("FTPS_TEST_NOFORK");
  SRunner *runner = NULL;
  int i, nfailed;

  /* A peer that goes away must show up as EPIPE, not kill the runner. */
  (void) signal(SIGPIPE, SIG_IGN);

  for (i = 0; i < TESTS_NELEMS(suites); i++) {
    if (!suite_selected(want, suites[i].name)) {
      continue;
    }
    if (runner == NULL) {
      runner = srunner_create(suites[i].get());
    } else {
      srunner_add_suite(runner, suites[i].get());
    }
  }

  if (runner == NULL) {
    fprintf(stderr, "FTPS_TEST_SUITE: unknown suite '%s'; expected",
      want);
    for (i = 0; i < TESTS_NELEMS(suites); i++) {
      fprintf(stderr, " %s", suites[i].name);
    }
    fprintf(stderr, "\n");
    return 2;
  }

  if (nofork != NULL && strcmp(nofork, "1") == 0) {
    srunner_set_fork_status(runner, CK_NOFORK);
  }

  srunner_run_all(runner, CK_NORMAL);
  nfailed = srunner_ntests_failed(runner);
  srunner_free(runner);

  return nfailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
