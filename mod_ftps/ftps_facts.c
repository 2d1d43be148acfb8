/*
 * ftps_facts.c -- glue: the facts of the control connection's TLS session
 * (protocol, cipher, SNI, client certificate) as session notes, for
 * LogFormat %{note:...} and mod_sql, and as environment variables for
 * mod_exec and friends:
 *
 *   notes, always   our FTPS_* names, and mod_tls's names for the same
 *                   facts (TLS_PROTOCOL, TLS_CIPHER, TLS_SERVER_NAME (only
 *                   with SNI), TLS_LIBRARY_VERSIONS, TLS_CLIENT_S_DN ...,
 *                   in mod_tls's formats), so existing LogFormats work;
 *   environment     FTPSOptions StdEnvVars: the same, plus mod_tls's whole
 *                   StdEnvVars set (ftps_env.c); ExportCertData: the PEM
 *                   certificates (TLS_CLIENT_CERT, TLS_CLIENT_CERT_CHAIN<n>,
 *                   TLS_SERVER_CERT).
 */

#include "mod_ftps.h"

static const char *trace_channel = "ftps.facts";

/* Our name, and mod_tls's name for the same fact and format (NULL: none;
 * mod_tls's certificate names come from ftps_env.c in its formats). */
static const struct {
  const char *name;
  const char *alias;
} fact_names[] = {
  { "FTPS",                    NULL },
  { "FTPS_PROTOCOL",           "TLS_PROTOCOL" },
  { "FTPS_CIPHER",             "TLS_CIPHER" },
  { "FTPS_SNI",                NULL },      /* TLS_SERVER_NAME: see below */
  { "FTPS_SESSION_RESUMED",    "TLS_SESSION_RESUMED" },
  { "FTPS_CLIENT_VERIFY",      "TLS_CLIENT_VERIFY" },
  { "FTPS_CLIENT_S_DN",        NULL },
  { "FTPS_CLIENT_I_DN",        NULL },
  { "FTPS_CLIENT_SERIAL",      NULL },
  { "FTPS_CLIENT_FINGERPRINT", "TLS_CLIENT_FINGERPRINT" },
  { "FTPS_CLIENT_NOT_AFTER",   NULL },
  { "FTPS_LIBRARY_VERSION",    "TLS_LIBRARY_VERSION" },
};

#define NFACTS (sizeof(fact_names) / sizeof(fact_names[0]))

/* mod_tls-format variables also kept as notes (LogFormat %{note:...}). */
static const char *const env_notes[] = {
  "TLS_SERVER_NAME", "TLS_CLIENT_S_DN", "TLS_CLIENT_I_DN",
  "TLS_CLIENT_M_SERIAL", "TLS_CLIENT_V_END",
};

static void set_note(const char *key, const char *value) {
  (void) pr_table_remove(session.notes, key, NULL);
  (void) pr_table_add_dup(session.notes, key, value, 0);
}

static void set_env(const char *key, const char *value) {
  /* pr_env_set() refuses values over PR_TUNABLE_ENV_MAX (2048 bytes). */
  if (pr_env_set(session.pool, key, value) < 0) {
    pr_trace_msg(trace_channel, 3, "cannot export %s: %s", key,
      strerror(errno));
  }
}

static void set_one(const char *key, const char *value, int env) {
  set_note(key, value);
  if (env) {
    set_env(key, value);
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

/* ftps_env_fn: arg points to the StdEnvVars/ExportCertData flags. */
static void env_pair(const char *name, const char *value, void *arg) {
  int what = *((int *) arg);
  unsigned int i;

  pr_trace_msg(trace_channel, 19, "%s=%s%s", name, value,
    what != 0 ? " (environment)" : "");
  for (i = 0; i < sizeof(env_notes) / sizeof(env_notes[0]); i++) {
    /* pr_table_add_dup() copies the value, not the key: use ours. */
    if (strcmp(env_notes[i], name) == 0) {
      set_note(env_notes[i], value);
    }
  }
  if (what != 0) {
    set_env(name, value);
  }
}

/* A fact of an earlier handshake must not outlive it (TLS_SERVER_NAME is
 * unset, not "", without SNI, as with mod_tls). */
static void clear_env_notes(void) {
  unsigned int i;

  for (i = 0; i < sizeof(env_notes) / sizeof(env_notes[0]); i++) {
    (void) pr_table_remove(session.notes, env_notes[i], NULL);
    (void) pr_env_unset(session.pool, env_notes[i]);
  }
}

static void set_env_facts(ftps_io_t *io, int options) {
  int what = 0, none = 0;

  if (options & FTPS_OPT_STD_ENV_VARS) {
    what |= FTPS_ENV_STD;
  }
  if (options & FTPS_OPT_EXPORT_CERT_DATA) {
    what |= FTPS_ENV_CERTS;
  }
  clear_env_notes();
  /* The notes always; the environment only as the options say. */
  (void) ftps_env_export(io, FTPS_ENV_STD, env_pair, &none);
  if (what != 0) {
    (void) ftps_env_export(io, what, env_pair, &what);
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
  set_note("TLS_LIBRARY_VERSIONS", ftps_io_library_version());

  if (s->client_cert != NULL) {
    set_cert_facts(s->client_cert, s->client_fp, env);
  }
  set_env_facts(io, s->rules.options);
}
