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

/* The verification verdict: SUCCESS, NONE or FAILED:<reason>. */
static const char *verify_verdict(SSL *ssl, X509 *cert) {
  long res;

  if (cert == NULL) {
    return "NONE";
  }
  res = SSL_get_verify_result(ssl);
  if (res == X509_V_OK) {
    return "SUCCESS";
  }
  return pstrcat(session.pool, "FAILED:", X509_verify_cert_error_string(res),
    NULL);
}

static void set_cert_facts(X509 *cert, int env) {
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
  set_fact(9, ftps_sess.client_fp, env);
  if (ftps_cert_not_after(cert, buf, sizeof(buf)) == 0) {
    set_fact(10, buf, env);
  }
}

void ftps_facts_ctrl(SSL *ssl) {
  int env = (ftps_sess.options & FTPS_OPT_STD_ENV_VARS) != 0;
  X509 *cert = SSL_get0_peer_certificate(ssl);
  const char *sni = ftps_ctx_sni(ssl);

  set_fact(0, "1", env);
  set_fact(1, SSL_get_version(ssl), env);
  set_fact(2, SSL_get_cipher_name(ssl), env);
  set_fact(3, sni != NULL ? sni : "", env);
  set_fact(4, SSL_session_reused(ssl) ? "1" : "0", env);
  set_fact(5, verify_verdict(ssl, cert), env);
  set_fact(11, OpenSSL_version(OPENSSL_VERSION), env);

  if (cert != NULL && SSL_get_verify_result(ssl) == X509_V_OK) {
    X509_up_ref(cert);
    ftps_sess.client_cert = cert;
    if (ftps_cert_fingerprint(cert, ftps_sess.client_fp) < 0) {
      ftps_sess.client_fp[0] = '\0';
    }
    set_cert_facts(cert, env);
  }
}
