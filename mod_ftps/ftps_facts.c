/*
 * ftps_facts.c -- glue: the facts of the control connection's TLS session
 * (protocol, cipher, SNI, client certificate) as session notes, for
 * LogFormat %{note:...} and mod_sql, and with FTPSOptions StdEnvVars as
 * environment variables for mod_exec and friends. mod_tls's names are set
 * too, so existing LogFormats keep working.
 */

#include "mod_ftps.h"

/* Our name, and mod_tls's name for the same fact (NULL: none). */
static const struct {
  const char *name;
  const char *alias;
} fact_names[] = {
  { "FTPS",                    NULL },
  { "FTPS_PROTOCOL",           "TLS_PROTOCOL" },
  { "FTPS_CIPHER",             "TLS_CIPHER" },
  { "FTPS_SNI",                "TLS_SERVER_NAME" },
  { "FTPS_SESSION_RESUMED",    "TLS_SESSION_RESUMED" },
  { "FTPS_CLIENT_VERIFY",      "TLS_CLIENT_VERIFY" },
  { "FTPS_CLIENT_S_DN",        "TLS_CLIENT_S_DN" },
  { "FTPS_CLIENT_I_DN",        "TLS_CLIENT_I_DN" },
  { "FTPS_CLIENT_SERIAL",      "TLS_CLIENT_M_SERIAL" },
  { "FTPS_CLIENT_FINGERPRINT", "TLS_CLIENT_FINGERPRINT" },
  { "FTPS_CLIENT_NOT_AFTER",   "TLS_CLIENT_V_END" },
  { "FTPS_LIBRARY_VERSION",    "TLS_LIBRARY_VERSION" },
};

#define NFACTS (sizeof(fact_names) / sizeof(fact_names[0]))

static void set_one(const char *key, const char *value, int env) {
  (void) pr_table_remove(session.notes, key, NULL);
  (void) pr_table_add_dup(session.notes, key, value, 0);
  if (env) {
    /* pr_env_set() refuses values over PR_TUNABLE_ENV_MAX (2048). */
    (void) pr_env_set(session.pool, key, value);
  }
}

static void set_fact(unsigned int i, const char *value, int env) {
  if (value == NULL || i >= NFACTS) {
    return;
  }
  set_one(fact_names[i].name, value, env);
  if (fact_names[i].alias != NULL) {
    set_one(fact_names[i].alias, value, env);
  }
}

static void set_cert_facts(ftps_cert_t *cert, const char *fp, int env) {
  char buf[1024];

  if (ftps_cert_subject(cert, buf, sizeof(buf)) == 0) {
    set_fact(6, buf, env);
  }
  if (ftps_cert_issuer(cert, buf, sizeof(buf)) == 0) {
    set_fact(7, buf, env);
  }
  if (ftps_cert_serial(cert, buf, sizeof(buf)) == 0) {
    set_fact(8, buf, env);
  }
  set_fact(9, fp, env);
  if (ftps_cert_not_after(cert, buf, sizeof(buf)) == 0) {
    set_fact(10, buf, env);
  }
}

/* After the control handshake (ftps_session_ctrl_secured() has recorded
 * the verified client certificate, if any). */
void ftps_facts_ctrl(ftps_io_t *io) {
  const ftps_sess_t *s = ftps_session();
  int env = (s->rules.options & FTPS_OPT_STD_ENV_VARS) != 0;
  const char *sni = ftps_io_sni(io);

  set_fact(0, "1", env);
  set_fact(1, ftps_io_version(io), env);
  set_fact(2, ftps_io_cipher(io), env);
  set_fact(3, sni != NULL ? sni : "", env);
  set_fact(4, ftps_io_resumed(io) ? "1" : "0", env);
  set_fact(5, ftps_io_verify_verdict(io), env);
  set_fact(11, ftps_io_library_version(), env);

  if (s->client_cert != NULL) {
    set_cert_facts(s->client_cert, s->client_fp, env);
  }
}
