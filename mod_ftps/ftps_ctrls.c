/*
 * ftps_ctrls.c -- glue: the `ftps` action of ProFTPD's controls
 * (mod_ctrls, ftpdctl) and its ACLs (FTPSControlsACLs, which work as
 * mod_tls's TLSControlsACLs: by default nobody may use an action):
 *   ftpdctl ftps reload     rebuild every context now (all or nothing)
 *   ftpdctl ftps certinfo   each vhost's certificates, CA and CRL files
 *   ftpdctl ftps sessions   handshake counters since the master started
 * Handlers run in the master. Owns the action table only.
 */

#include "mod_ftps.h"

#ifdef PR_USE_CTRLS
#include "mod_ctrls.h"

static ctrls_acttab_t acttab[] = {
  { "reload",   "rebuild every TLS context now",     NULL, NULL },
  { "certinfo", "certificates, CAs and CRLs in use",  NULL, NULL },
  { "sessions", "handshake and refusal counters",     NULL, NULL },
  { NULL, NULL, NULL, NULL }
};

static pool *acl_pool = NULL;

static void respond_line(void *arg, const char *text) {
  (void) pr_ctrls_add_response(arg, "%s", text);
}

/* Each line of text as one response line. */
static void respond_text(pr_ctrls_t *ctrl, char *text) {
  char *line = text, *nl;

  while (line != NULL) {
    nl = strchr(line, '\n');
    if (nl != NULL) {
      *nl = '\0';
    }
    (void) pr_ctrls_add_response(ctrl, "%s", line);
    line = nl != NULL ? nl + 1 : NULL;
  }
}

static int handle_reload(pr_ctrls_t *ctrl) {
  char out[4096];
  int rc = ftps_reload_now("ftpdctl ftps reload", out, sizeof(out));

  respond_text(ctrl, out);
  return rc < 0 ? -1 : 0;
}

static void certinfo_files(pr_ctrls_t *ctrl, const ftps_vhost_t *vh) {
  ftps_certinfo_crl_t crls[FTPS_CERTINFO_MAX_CRLS];
  const ftps_policy_t *p = &vh->policy;
  int i, n;

  if (p->ca_file != NULL || p->ca_path != NULL) {
    (void) pr_ctrls_add_response(ctrl, "  CA: %s (%d certificates loaded; "
      "none without FTPSVerifyClient)",
      p->ca_file != NULL ? p->ca_file : p->ca_path,
      ftps_certinfo_ca_count(vh->ctx));
  }
  if (p->crl_file != NULL || p->crl_path != NULL) {
    (void) pr_ctrls_add_response(ctrl, "  CRL: %s",
      p->crl_file != NULL ? p->crl_file : p->crl_path);
  }
  n = ftps_certinfo_crls(vh->ctx, crls, FTPS_CERTINFO_MAX_CRLS);
  for (i = 0; i < n; i++) {
    (void) pr_ctrls_add_response(ctrl, "  CRL issuer: %s; next update: %s%s",
      crls[i].issuer, crls[i].next_update, crls[i].next_update_t != 0 &&
      crls[i].next_update_t < time(NULL) ? " (PAST)" : "");
  }
  (void) pr_ctrls_add_response(ctrl, "  stapling: %s",
    ftps_certinfo_stapling(vh->ctx));
}

static void certinfo_vhost(pr_ctrls_t *ctrl, const ftps_vhost_t *vh) {
  ftps_certinfo_cert_t certs[FTPS_CERTINFO_MAX_CERTS];
  time_t now = time(NULL);
  int i, n;

  (void) pr_ctrls_add_response(ctrl, "server '%s' (%s:%u):",
    vh->server->ServerName ? vh->server->ServerName : "(unnamed)",
    vh->server->ServerAddress ? vh->server->ServerAddress : "*",
    (unsigned int) vh->server->ServerPort);
  if (vh->unavailable != NULL) {
    (void) pr_ctrls_add_response(ctrl, "  FTPS unavailable: %s",
      vh->unavailable);
    return;
  }
  if (vh->ctx == NULL) {
    (void) pr_ctrls_add_response(ctrl, "  FTPSEngine off");
    return;
  }
  n = ftps_certinfo_certs(vh->ctx, certs, FTPS_CERTINFO_MAX_CERTS);
  for (i = 0; i < n; i++) {
    (void) pr_ctrls_add_response(ctrl, "  certificate: %s", certs[i].subject);
    (void) pr_ctrls_add_response(ctrl, "    SANs: %s", certs[i].sans);
    (void) pr_ctrls_add_response(ctrl, "    issuer: %s", certs[i].issuer);
    (void) pr_ctrls_add_response(ctrl, "    key: %s", certs[i].key);
    (void) pr_ctrls_add_response(ctrl, "    sha256: %s",
      certs[i].fingerprint);
    (void) pr_ctrls_add_response(ctrl, "    not after: %s (%ld days left)",
      certs[i].not_after, ftps_certinfo_days_left(certs[i].not_after_t,
      now));
  }
  certinfo_files(ctrl, vh);
}

static int handle_certinfo(pr_ctrls_t *ctrl) {
  unsigned int i;

  for (i = 0; i < ftps_conf_nvhosts(); i++) {
    certinfo_vhost(ctrl, ftps_conf_vhost_at(i));
  }
  return 0;
}

static int handle_sessions(pr_ctrls_t *ctrl) {
  if (ftps_stats_report(respond_line, ctrl) < 0) {
    (void) pr_ctrls_add_response(ctrl, "ftps sessions: no counters (%s)",
      strerror(errno));
    return -1;
  }
  return 0;
}

/* usage: ftpdctl ftps reload|certinfo|sessions */
static int handle_ftps(pr_ctrls_t *ctrl, int reqargc, char **reqargv) {
  static const struct {
    const char *action;
    int (*fn)(pr_ctrls_t *);
  } actions[] = {
    { "reload", handle_reload },
    { "certinfo", handle_certinfo },
    { "sessions", handle_sessions },
  };
  unsigned int i;

  if (reqargc != 1 || reqargv == NULL) {
    (void) pr_ctrls_add_response(ctrl, "ftps: expected one action: "
      "reload, certinfo or sessions");
    return -1;
  }
  for (i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
    if (strcmp(reqargv[0], actions[i].action) != 0) {
      continue;
    }
    if (!pr_ctrls_check_acl(ctrl, acttab, actions[i].action)) {
      (void) pr_ctrls_add_response(ctrl, "access denied");
      return -1;
    }
    return actions[i].fn(ctrl);
  }
  (void) pr_ctrls_add_response(ctrl, "ftps: unknown action '%s'; expected "
    "reload, certinfo or sessions", reqargv[0]);
  return -1;
}

static void apply_one(char *actions, char *allow, char *type, char *list,
    void *arg) {
  char **names = pr_ctrls_parse_acl(acl_pool, actions);
  const char *bad = NULL;

  if (pr_ctrls_set_module_acls2(acttab, acl_pool, names, allow, type, list,
      &bad) < 0) {
    pr_log_pri(PR_LOG_WARNING, MOD_FTPS_VERSION ": FTPSControlsACLs: "
      "cannot apply '%s %s %s %s': %s", actions, allow, type, list,
      bad != NULL ? bad : strerror(errno));
  }
}

/* At postparse: fresh ACLs (deny everyone), then each FTPSControlsACLs. */
void ftps_ctrls_apply_acls(void) {
  unsigned int i;

  if (acl_pool != NULL) {
    destroy_pool(acl_pool);
  }
  acl_pool = make_sub_pool(permanent_pool);
  pr_pool_tag(acl_pool, MOD_FTPS_VERSION " controls ACLs");
  for (i = 0; acttab[i].act_action != NULL; i++) {
    acttab[i].act_acl = pcalloc(acl_pool, sizeof(ctrls_acl_t));
    (void) pr_ctrls_init_acl(acttab[i].act_acl);
  }
  ftps_conf_each_controls_acl(apply_one, NULL);
}

int ftps_ctrls_register(void) {
  if (pr_ctrls_register(&ftps_module, "ftps", "mod_ftps certificates, "
      "reload and counters", handle_ftps) < 0) {
    pr_log_pri(PR_LOG_NOTICE, MOD_FTPS_VERSION ": cannot register the "
      "'ftps' control: %s", strerror(errno));
    return -1;
  }
  return 0;
}

void ftps_ctrls_unregister(void) {
  (void) pr_ctrls_unregister(&ftps_module, "ftps");
  if (acl_pool != NULL) {
    destroy_pool(acl_pool);
    acl_pool = NULL;
  }
}

#else /* ProFTPD built without controls: nothing to register. */

void ftps_ctrls_apply_acls(void) {
}

int ftps_ctrls_register(void) {
  return 0;
}

void ftps_ctrls_unregister(void) {
}
#endif /* PR_USE_CTRLS */
