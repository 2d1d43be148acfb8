/*
 * ftps_reload.c -- glue: certificates and keys that live without restarts
 * (issue 11), in the master:
 *   - FTPSReload auto: a timer compares the files every context was built
 *     from (ftps_watch.c) and rebuilds all contexts when one changed;
 *   - reload now (the timer, `ftpdctl ftps reload`): all or nothing, through
 *     ftps_conf_rebuild_vhosts(); new sessions get the new contexts,
 *     running sessions (other processes) keep theirs;
 *   - the expiry warnings: at startup, after each reload and once a day;
 *   - a SIGHUP re-parse whose files are broken: the daemon keeps serving,
 *     with FTPS unavailable on the broken vhosts only.
 * Reload events go to syslog and to every vhost's FTPSLog (B13: startup
 * and configuration events; the admin must see them where they look).
 * Owns only its watch snapshot and its timers; no session state.
 */

#include <stdarg.h>

#include "mod_ftps.h"

static const char *trace_channel = "ftps.reload";

/* Marks, in the master's environment, that this process has served: a
 * failing postparse after that is a SIGHUP re-parse, not a startup. */
#define FTPS_SERVING_ENV      "MOD_FTPS_SERVING"
#define FTPS_WARN_INTERVAL    86400

static struct {
  ftps_conf_prepare_fn prepare;
  ftps_watch_t *watch;
  int interval;                 /* FTPSReload seconds, 0 = off */
  int watch_timer, warn_timer;  /* ids, 0 = none */
} rl;

/* To syslog at pri, and to each distinct FTPSLog once. */
static void announce(int pri, int severity, const char *fmt, ...)
#ifdef __GNUC__
  __attribute__ ((format (printf, 3, 4)))
#endif
  ;

static void announce(int pri, int severity, const char *fmt, ...) {
  char msg[1024];
  const char *done[64];
  unsigned int i, j, ndone = 0;
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  /* Syslog names the severity; FTPSLog's record format already does. */
  pr_log_pri(pri, MOD_FTPS_VERSION ": %s%s", severity == FTPS_LOG_ERROR ?
    "error: " : severity == FTPS_LOG_WARNING ? "warning: " : "", msg);
  for (i = 0; i < ftps_conf_nvhosts() && ndone < 64; i++) {
    const char *path = ftps_conf_vhost_at(i)->policy.log_path;
    int seen = 0;

    for (j = 0; path != NULL && j < ndone; j++) {
      seen |= strcmp(done[j], path) == 0;
    }
    if (path == NULL || seen || ftps_log_open(path) < 0) {
      continue;
    }
    done[ndone++] = path;
    ftps_log(severity, "%s", msg);
    ftps_log_close();
  }
}

static const char *vhost_name(const ftps_vhost_t *vh) {
  return vh->server->ServerName != NULL ? vh->server->ServerName :
    "(unnamed)";
}

static void watch_vhost(ftps_watch_t *w, const ftps_vhost_t *vh) {
  const ftps_policy_t *p = &vh->policy;
  const struct { const char *directive, *path; } files[] = {
    { "FTPSCACertificateFile", p->ca_file },
    { "FTPSCACertificatePath", p->ca_path },
    { "FTPSCARevocationFile", p->crl_file },
    { "FTPSCARevocationPath", p->crl_path },
  };
  char label[512];
  int i;

  for (i = 0; i < p->ncerts && i < FTPS_MAX_CERTS; i++) {
    snprintf(label, sizeof(label), "server '%s': FTPSCertificate",
      vhost_name(vh));
    (void) ftps_watch_add(w, label, p->certs[i].cert_file);
    if (p->certs[i].key_file != NULL) {
      (void) ftps_watch_add(w, label, p->certs[i].key_file);
    }
  }
  for (i = 0; i < (int) (sizeof(files) / sizeof(files[0])); i++) {
    if (files[i].path != NULL) {
      snprintf(label, sizeof(label), "server '%s': %s", vhost_name(vh),
        files[i].directive);
      (void) ftps_watch_add(w, label, files[i].path);
    }
  }
}

/* What every context was built from, as the files are now. Read as root:
 * keys are usually readable by root only. */
static void snapshot(void) {
  unsigned int i;

  ftps_watch_free(rl.watch);
  rl.watch = ftps_watch_new();
  if (rl.watch == NULL) {
    return;
  }
  pr_signals_block();
  PRIVS_ROOT
  for (i = 0; i < ftps_conf_nvhosts(); i++) {
    if (ftps_conf_vhost_at(i)->policy.engine == 1) {
      watch_vhost(rl.watch, ftps_conf_vhost_at(i));
    }
  }
  PRIVS_RELINQUISH
  pr_signals_unblock();
  pr_trace_msg(trace_channel, 9, "watching %u files",
    ftps_watch_count(rl.watch));
}

/* The configured file a context's certificate came from (by fingerprint;
 * the file may have changed since), or "?". */
static const char *cert_file(const ftps_vhost_t *vh, const char *fp) {
  ftps_certinfo_cert_t info;
  const char *found = "?";
  int i;

  pr_signals_block();
  PRIVS_ROOT
  for (i = 0; i < vh->policy.ncerts && i < FTPS_MAX_CERTS; i++) {
    if (ftps_certinfo_file(vh->policy.certs[i].cert_file, &info) == 0 &&
        strcmp(info.fingerprint, fp) == 0) {
      found = vh->policy.certs[i].cert_file;
      break;
    }
  }
  PRIVS_RELINQUISH
  pr_signals_unblock();
  return found;
}

static void warn_cert(const ftps_vhost_t *vh, const ftps_certinfo_cert_t *c,
    time_t now) {
  long days = ftps_certinfo_days_left(c->not_after_t, now);
  int cls = ftps_certinfo_expiry_class(c->not_after_t, now);

  if (cls == FTPS_EXPIRY_OK) {
    return;
  }
  if (cls == FTPS_EXPIRY_EXPIRED) {
    announce(PR_LOG_ERR, FTPS_LOG_ERROR, "server '%s': certificate '%s' "
      "(FTPSCertificate '%s') expired on %s; renew it and reload",
      vhost_name(vh), c->subject, cert_file(vh, c->fingerprint),
      c->not_after);
    return;
  }
  announce(cls == FTPS_EXPIRY_WARN ? PR_LOG_WARNING : PR_LOG_ERR,
    cls == FTPS_EXPIRY_WARN ? FTPS_LOG_WARNING : FTPS_LOG_ERROR,
    "server '%s': certificate '%s' (FTPSCertificate '%s') expires on %s, "
    "in %ld days", vhost_name(vh), c->subject,
    cert_file(vh, c->fingerprint), c->not_after, days);
}

/* Certificates within 30 days of expiry (error within 7), CRLs past their
 * next update. */
static void expiry_warnings(void) {
  ftps_certinfo_cert_t certs[FTPS_CERTINFO_MAX_CERTS];
  ftps_certinfo_crl_t crls[FTPS_CERTINFO_MAX_CRLS];
  time_t now = time(NULL);
  unsigned int i;
  int j, n;

  for (i = 0; i < ftps_conf_nvhosts(); i++) {
    const ftps_vhost_t *vh = ftps_conf_vhost_at(i);

    if (vh->ctx == NULL) {
      continue;
    }
    n = ftps_certinfo_certs(vh->ctx, certs, FTPS_CERTINFO_MAX_CERTS);
    for (j = 0; j < n; j++) {
      warn_cert(vh, &certs[j], now);
    }
    n = ftps_certinfo_crls(vh->ctx, crls, FTPS_CERTINFO_MAX_CRLS);
    for (j = 0; j < n; j++) {
      if (crls[j].next_update_t != 0 && crls[j].next_update_t < now) {
        announce(PR_LOG_WARNING, FTPS_LOG_WARNING, "server '%s': "
          "CRL of '%s' (FTPSCARevocation*) is past its next update (%s); "
          "fetch a new one", vhost_name(vh), crls[j].issuer,
          crls[j].next_update);
      }
    }
  }
}

/* One line per vhost naming its certificates, to see what a reload
 * changed. */
static char **fingerprints(pool *p) {
  ftps_certinfo_cert_t certs[FTPS_CERTINFO_MAX_CERTS];
  unsigned int i, n = ftps_conf_nvhosts();
  char **out = pcalloc(p, (n + 1) * sizeof(char *));
  int j, k;

  for (i = 0; i < n; i++) {
    const ftps_vhost_t *vh = ftps_conf_vhost_at(i);

    out[i] = "";
    k = vh->ctx != NULL ? ftps_certinfo_certs(vh->ctx, certs,
      FTPS_CERTINFO_MAX_CERTS) : 0;
    for (j = 0; j < k; j++) {
      out[i] = pstrcat(p, out[i], j ? ", " : "", certs[j].key, " ",
        certs[j].fingerprint, " until ", certs[j].not_after, NULL);
    }
  }
  return out;
}

static void describe_changes(pool *p, char **before, unsigned int nbefore,
    char *out, size_t outlen) {
  char **after = fingerprints(p);
  unsigned int i, changed = 0;
  size_t used = strlen(out);

  for (i = 0; i < ftps_conf_nvhosts(); i++) {
    if (i < nbefore && strcmp(before[i], after[i]) == 0) {
      continue;
    }
    changed++;
    used += snprintf(out + used, used < outlen ? outlen - used : 0,
      "\nserver '%s': now %s", vhost_name(ftps_conf_vhost_at(i)),
      after[i][0] ? after[i] : "no certificate");
    if (used >= outlen) {
      break;
    }
  }
  if (changed == 0 && used < outlen) {
    snprintf(out + used, outlen - used, "\nno certificate changed (CAs or "
      "CRLs may have)");
  }
}

int ftps_reload_now(const char *trigger, char *out, size_t outlen) {
  pool *p = make_sub_pool(permanent_pool);
  unsigned int nbefore = ftps_conf_nvhosts();
  char **before = fingerprints(p), why[1024], dummy[8];
  struct timeval t0, t1;
  long ms;
  int rc;

  if (out == NULL || outlen == 0) {
    out = dummy;
    outlen = sizeof(dummy);
  }
  gettimeofday(&t0, NULL);
  rc = ftps_conf_rebuild_vhosts(rl.prepare, why, sizeof(why));
  gettimeofday(&t1, NULL);
  ms = (t1.tv_sec - t0.tv_sec) * 1000L + (t1.tv_usec - t0.tv_usec) / 1000L;
  snapshot();
  if (rc < 0) {
    announce(PR_LOG_ERR, FTPS_LOG_ERROR, "reload (%s) refused; "
      "nothing changed, the previous certificates stay in use: %s",
      trigger, why);
    snprintf(out, outlen, "ftps reload: refused, nothing changed: %s", why);
    destroy_pool(p);
    return -1;
  }
  announce(PR_LOG_NOTICE, FTPS_LOG_INFO, "reload (%s): %u servers rebuilt "
    "in %ld ms; new sessions use the new contexts", trigger,
    ftps_conf_nvhosts(), ms);
  snprintf(out, outlen, "ftps reload: %u servers rebuilt in %ld ms",
    ftps_conf_nvhosts(), ms);
  describe_changes(p, before, nbefore, out, outlen);
  destroy_pool(p);
  expiry_warnings();
  return 0;
}

static int watch_cb(CALLBACK_FRAME) {
  const char *label = NULL, *path = NULL;
  int changed;

  pr_signals_block();
  PRIVS_ROOT
  changed = ftps_watch_changed(rl.watch, &label, &path);
  PRIVS_RELINQUISH
  pr_signals_unblock();
  if (changed == 1) {
    char trigger[1024];

    snprintf(trigger, sizeof(trigger), "FTPSReload auto: %s '%s' changed",
      label, path);
    (void) ftps_reload_now(trigger, NULL, 0);
  }
  return 1;                     /* keep watching */
}

static int warn_cb(CALLBACK_FRAME) {
  expiry_warnings();
  return 1;
}

void ftps_reload_stop(void) {
  if (rl.watch_timer > 0) {
    (void) pr_timer_remove(rl.watch_timer, &ftps_module);
  }
  if (rl.warn_timer > 0) {
    (void) pr_timer_remove(rl.warn_timer, &ftps_module);
  }
  rl.watch_timer = rl.warn_timer = 0;
  ftps_watch_free(rl.watch);
  rl.watch = NULL;
}

/* In a session process: the master's timers are not ours, and the
 * master's markers (a PID, a mapping's address) are nobody else's business
 * (programs a session may run inherit its environment). */
void ftps_reload_sess_init(void) {
  ftps_reload_stop();
  (void) pr_env_unset(permanent_pool, FTPS_SERVING_ENV);
  ftps_stats_sess_init();
}

int ftps_reload_postparse(ftps_conf_prepare_fn prepare) {
  char pid[32];

  ftps_reload_stop();
  rl.prepare = prepare;
  rl.interval = ftps_conf_reload_interval();
  (void) ftps_stats_init();
  snapshot();
  expiry_warnings();
  if (rl.interval > 0) {
    rl.watch_timer = pr_timer_add(rl.interval, -1, &ftps_module, watch_cb,
      "FTPSReload auto");
  }
  rl.warn_timer = pr_timer_add(FTPS_WARN_INTERVAL, -1, &ftps_module,
    warn_cb, "FTPS expiry warnings");
  snprintf(pid, sizeof(pid), "%lu", (unsigned long) getpid());
  (void) pr_env_set(permanent_pool, FTPS_SERVING_ENV, pid);
  return 0;
}

/*
 * postparse failed. At startup (and `proftpd -t`) that is fatal: -1. At a
 * SIGHUP re-parse this master has served before: mod_dso unloaded the
 * module, so the previous contexts were freed with it (their callbacks
 * pointed into the unloaded code) and cannot be kept. Keep the daemon up
 * instead: every vhost that builds serves FTPS, the broken ones refuse
 * AUTH (FTPSRequired still holds) until a reload succeeds. 0.
 */
int ftps_reload_sighup_fallback(ftps_conf_prepare_fn prepare) {
  const char *v = pr_env_get(permanent_pool, FTPS_SERVING_ENV);
  char pid[32];
  unsigned int i;
  int bad;

  snprintf(pid, sizeof(pid), "%lu", (unsigned long) getpid());
  if (v == NULL || strcmp(v, pid) != 0) {
    return -1;
  }
  bad = ftps_conf_build_vhosts_degraded(prepare);
  for (i = 0; i < ftps_conf_nvhosts(); i++) {
    if (ftps_conf_vhost_at(i)->unavailable != NULL) {
      announce(PR_LOG_ERR, FTPS_LOG_ERROR, "SIGHUP re-parse: FTPS "
        "unavailable on %s", ftps_conf_vhost_at(i)->unavailable);
    }
  }
  announce(PR_LOG_ERR, FTPS_LOG_ERROR, "SIGHUP re-parse: %d "
    "server(s) have broken TLS files; the daemon keeps running, FTPS is "
    "refused on those servers (AUTH answers 431) until the files are "
    "fixed and reloaded (FTPSReload auto, ftpdctl ftps reload or SIGHUP)",
    bad);
  return 0;
}
