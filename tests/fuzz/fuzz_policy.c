/*
 * fuzz_policy.c -- libFuzzer target for the pure directive-value parsers
 * (ftps_policy.c) and the RFC 4217 state machine (ftps_prot.c): the input
 * is split on spaces into directive arguments / command arguments.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ftps/ftps_policy.h"
#include "ftps/ftps_prot.h"

#define MAX_ARGS 16

static int split(char *s, char **argv) {
  int argc = 0;
  char *tok = strtok(s, " ");

  while (tok != NULL && argc < MAX_ARGS) {
    argv[argc++] = tok;
    tok = strtok(NULL, " ");
  }
  return argc;
}

static void parse_all(char *copy, size_t size) {
  char err[256], *argv[MAX_ARGS], groups[FTPS_GROUPS_MAX_LEN];
  const char *path = NULL;
  int v = 0, argc;

  (void) ftps_policy_parse_bool(copy, &v, err, sizeof(err));
  (void) ftps_policy_parse_required(copy, &v, err, sizeof(err));
  (void) ftps_policy_parse_timeout(copy, &v, err, sizeof(err));
  (void) ftps_policy_parse_count(copy, &v, err, sizeof(err));
  (void) ftps_policy_parse_verify(copy, &v, err, sizeof(err));
  (void) ftps_policy_parse_depth(copy, &v, err, sizeof(err));
  (void) ftps_policy_parse_log(copy, &path, err, sizeof(err));
  (void) ftps_policy_mod_tls_equivalent(copy);
  (void) ftps_policy_cert_source(copy);
  argc = split(copy, argv);
  if (argc > 0) {
    unsigned int age = 0, count = 0;
    if (ftps_policy_parse_ticket_keys(argc, argv, &age, &count, err,
        sizeof(err)) == 0 && (age < 1 || age > FTPS_MAX_TICKET_KEY_AGE ||
        count < 1 || count > FTPS_MAX_TICKET_KEY_COUNT)) {
      __builtin_trap();   /* accepted values are in range */
    }
    (void) ftps_policy_parse_protocols(argc, argv, &v, err, sizeof(err));
    (void) ftps_policy_parse_options(argc, argv, &v, err, sizeof(err));
    if (ftps_policy_parse_groups(argc, argv, groups, sizeof(groups), err,
        sizeof(err)) == 0 && strlen(groups) >= sizeof(groups)) {
      __builtin_trap();   /* a list that parsed is bounded */
    }
  }
}

static void run_prot(const char *arg, uint8_t selector) {
  ftps_prot_state_t st;
  ftps_prot_env_t env;
  ftps_prot_result_t res;
  const char *msg = NULL;

  ftps_prot_init(&st, selector & 1);
  env.engine = 1;
  env.logged_in = (selector >> 1) & 1;
  env.required = (selector >> 2) & 7;
  if (ftps_prot_step(&st, &env, (ftps_cmd_t) ((selector >> 5) & 3), arg,
      &res) == 0 && (res.code < 200 || res.code > 599 || res.msg == NULL)) {
    __builtin_trap();
  }
  (void) ftps_prot_gate_ctrl(&st, env.required, arg, &msg);
  (void) ftps_prot_gate_data(&st, env.required, &msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *copy;

  if (size == 0) {
    return 0;
  }
  copy = malloc(size);
  if (copy == NULL) {
    return 0;
  }
  memcpy(copy, data + 1, size - 1);
  copy[size - 1] = '\0';
  run_prot(copy, data[0]);
  parse_all(copy, size - 1);
  free(copy);
  return 0;
}
