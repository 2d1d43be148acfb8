/*
 * ftps_vhost.c -- glue: which virtual host a session belongs to, and
 * keeping mod_ftps in step when it changes.
 *
 *   SNI   (RFC 6066) the ClientHello's server name picks among the
 *         name-based vhosts (ServerAlias) of the address; the chosen
 *         vhost's certificate and TLS settings apply to the handshake.
 *   HOST  (RFC 7151) mod_core switches the vhost; before AUTH this picks
 *         the certificate; after AUTH mod_core insists HOST matches SNI,
 *         which works because the SNI name is recorded where it looks.
 *
 * Owns: the SNI chooser, the post-handshake switch, core.session-reinit.
 */

#include <fnmatch.h>

#include "mod_ftps.h"

/* Where mod_core looks for the SNI name when checking HOST after AUTH. */
#define CORE_SNI_NOTE   "mod_tls.sni"
#define CORE_HOST_NOTE  "mod_core.host"

extern pr_response_t *resp_list, *resp_err_list;

static const char *trace_channel = "ftps.vhost";

static int refuse_sni(int *alert, int code, const char *name,
    const char *why) {
  ftps_log(FTPS_LOG_WARNING, "TLS handshake refused: server name '%s' %s",
    name, why);
  *alert = code;
  return -1;
}

/* Is name the ServerName or one of the ServerAlias patterns of s? (The
 * core's name bindings cover only <VirtualHost>s sharing the address.) */
static int names_server(server_rec *s, const char *name) {
  config_rec *c;

  if (s->ServerName != NULL && strcasecmp(s->ServerName, name) == 0) {
    return TRUE;
  }
  for (c = find_config(s->conf, CONF_PARAM, "ServerAlias", FALSE); c != NULL;
      c = find_config_next(c, c->next, CONF_PARAM, "ServerAlias", FALSE)) {
    unsigned int i;

    for (i = 0; i < c->argc; i++) {
      if (c->argv[i] != NULL &&
          fnmatch(c->argv[i], name, FNM_CASEFOLD|FNM_NOESCAPE) == 0) {
        return TRUE;
      }
    }
  }
  return FALSE;
}

/* ftps_ctx_sni_fn: runs inside the ClientHello callback (control only). */
static int choose_by_sni(ftps_conn_t *conn, const char *name,
    ftps_ctx_t **out, int *alert, void *arg) {
  const char *host = pr_table_get(session.notes, CORE_HOST_NOTE, NULL);
  const ftps_vhost_t *vh;
  server_rec *s;

  ftps_session_sni_chosen(NULL);
  /* As mod_tls: listeners (mod_autohost) see the name before the lookup. */
  ftps_events_sni(name);
  if (name == NULL || pr_namebind_count(main_server) == 0) {
    /* No name, or no name-based vhosts here: the address decides. */
    return 0;
  }

  s = pr_namebind_get_server(name, main_server->addr,
    session.c->local_port);
  if (s == NULL && names_server(main_server, name)) {
    s = main_server;
  }
  if (s == NULL) {
    if (ftps_session()->rules.options & FTPS_OPT_ALLOW_UNKNOWN_SNI) {
      return 0;
    }
    return refuse_sni(alert, FTPS_ALERT_UNRECOGNIZED_NAME, name,
      "matches no vhost (FTPSOptions AllowUnknownSNI falls back)");
  }

  /* RFC 7151 §3.2.2: after HOST, the handshake must name the same vhost. */
  if (host != NULL && !ftps_sni_is_ip_literal(host) && s != main_server) {
    return refuse_sni(alert, FTPS_ALERT_ACCESS_DENIED, name,
      "contradicts the earlier HOST command");
  }

  vh = ftps_conf_vhost(s);
  if (vh == NULL || vh->policy.engine != 1 || vh->ctx == NULL) {
    return refuse_sni(alert, FTPS_ALERT_UNRECOGNIZED_NAME, name,
      "names a vhost without FTPSEngine on");
  }

  ftps_session_sni_chosen(vh);
  if (s == main_server) {
    return 0;
  }
  *out = vh->ctx;
  return 1;
}

int ftps_vhost_install_sni(ftps_ctx_t *ctx) {
  return ftps_ctx_set_sni_fn(ctx, choose_by_sni, NULL);
}

static void set_note(const char *key, const char *value) {
  (void) pr_table_remove(session.notes, key, NULL);
  (void) pr_table_add_dup(session.notes, key, value, 0);
}

/* Switch main_server the way HOST does, so every module re-initialises. */
static void switch_like_host(const char *name) {
  pool *p = make_sub_pool(session.pool);
  cmd_rec *host;

  host = pr_cmd_alloc(p, 2, pstrdup(p, C_HOST), pstrdup(p, name));
  host->arg = pstrdup(p, name);
  host->cmd_class = CL_AUTH;
  host->cmd_id = PR_CMD_HOST_ID;

  if (pr_cmd_dispatch_phase(host, CMD, 0) < 0) {
    /* SECURITY: the handshake used that vhost's certificate and client
     * verification; carrying on under this vhost's rules would mix two
     * policies. The session ends. */
    ftps_log(FTPS_LOG_WARNING, "cannot switch to the vhost named by SNI "
      "'%s' (HOST refused, e.g. by <Limit HOST>); closing the session",
      name);
    pr_response_send_async(R_421, "Cannot serve the requested host; "
      "closing control connection");
    pr_session_disconnect(&ftps_module, PR_SESS_DISCONNECT_CONFIG_ACL,
      "SNI vhost switch refused");
  }
  (void) pr_cmd_dispatch_phase(host, POST_CMD, 0);
  /* The HOST replies belong to no client command: drop them. */
  pr_response_clear(&resp_list);
  pr_response_clear(&resp_err_list);
  destroy_pool(p);
}

void ftps_vhost_after_handshake(ftps_io_t *io) {
  const ftps_vhost_t *chosen = ftps_session()->sni_vhost;
  const char *sni = ftps_io_sni(io);

  if (sni == NULL) {
    return;
  }
  set_note(CORE_SNI_NOTE, sni);
  if (chosen != NULL && chosen->server != main_server) {
    pr_trace_msg(trace_channel, 7, "SNI '%s' selects vhost '%s'", sni,
      chosen->server->ServerName);
    switch_like_host(sni);
  }
}

void ftps_vhost_update_feat(void) {
  static const char *const feats[] = { "AUTH TLS", "PBSZ", "PROT", "CCC" };
  int on = ftps_session_engine_on();
  int required = ftps_session()->rules.required;
  unsigned int i;

  for (i = 0; i < sizeof(feats) / sizeof(feats[0]); i++) {
    int wanted = on && !(i == 3 && (required & FTPS_REQ_CTRL));

    if (wanted) {
      (void) pr_feat_add(feats[i]);
    } else {
      (void) pr_feat_remove(feats[i]);
    }
  }
}

/* HOST (or our SNI switch) changed main_server: follow its policy. The TLS
 * state of the control connection stays as negotiated. */
/* The FTPSLog of the vhost now serving the session. */
static void follow_log(void) {
  const char *want = ftps_session_engine_on() ?
    ftps_session()->vhost->policy.log_path : NULL;
  const char *have = ftps_log_path();

  if (want == NULL || (have != NULL && strcmp(want, have) == 0)) {
    return;
  }
  ftps_log_close();
  (void) ftps_log_open(want);
}

static void ftps_reinit_ev(const void *event_data, void *user_data) {
  if (ftps_session_vhost_followed(ftps_conf_vhost(main_server)) < 0) {
    /* A switch the session cannot follow (after login): never serve one
     * vhost's client under another vhost's rules. */
    pr_session_disconnect(&ftps_module, PR_SESS_DISCONNECT_BY_APPLICATION,
      "vhost switch after login");
  }
  follow_log();
  ftps_vhost_update_feat();
  pr_trace_msg(trace_channel, 7, "now serving vhost '%s'",
    main_server->ServerName);
}

int ftps_vhost_sess_init(void) {
  return pr_event_register(&ftps_module, "core.session-reinit",
    ftps_reinit_ev, NULL);
}
