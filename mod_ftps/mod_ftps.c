/*
 * mod_ftps.c -- glue: the module struct, init/sess_init and the lifecycle
 * event listeners. Nothing else lives here (B1).
 *
 * $Libraries: -lssl -lcrypto$
 */

#include <malloc.h>

#include "mod_ftps.h"

static const char *trace_channel = "ftps";

static void fatal_config(const char *msg) {
  /* Shown by `proftpd -t` and at startup; then exit 1 (notes §2). */
  pr_log_pri(PR_LOG_ERR, MOD_FTPS_VERSION ": fatal: %s", msg);
  pr_session_end(PR_SESS_END_FL_ERROR);
}

/* Each vhost's new context: the SNI chooser, the session-ticket keys, a
 * first OCSP response when the master fetches them. */
static int prepare_ctx(ftps_ctx_t *ctx) {
  if (ftps_vhost_install_sni(ctx) < 0 || ftps_keyring_install(ctx) < 0 ||
      ftps_ocsp_prepare(ctx) < 0) {
    return -1;
  }
  return 0;
}

static void ftps_postparse_ev(const void *event_data, void *user_data) {
  if (pr_module_exists("mod_tls.c")) {
    fatal_config("mod_tls.c is also loaded; mod_ftps and mod_tls cannot "
      "both own the FTP connections: remove 'LoadModule mod_tls.c' (or "
      "mod_ftps)");
    return;
  }
  if (ftps_farm_postparse() < 0 || ftps_keyring_postparse() < 0) {
    pr_session_end(PR_SESS_END_FL_ERROR);
    return;
  }
  if (ftps_conf_build_vhosts(prepare_ctx) < 0 &&
      ftps_reload_sighup_fallback(prepare_ctx) < 0) {
    /* ftps_conf_build_vhosts() already reported the reason; at startup
     * (not a SIGHUP re-parse) a broken file stops the daemon (B4). */
    pr_session_end(PR_SESS_END_FL_ERROR);
  }
  ftps_ocsp_postparse();
  ftps_ctrls_apply_acls();
  (void) ftps_reload_postparse(prepare_ctx);
}

static void ftps_restart_ev(const void *event_data, void *user_data) {
  ftps_farm_restart();
  ftps_keyring_restart();
  ftps_ocsp_restart();
  ftps_conf_free_vhosts();
}

static void ftps_exit_ev(const void *event_data, void *user_data) {
  /* The control connection is already closed here: only free. */
  ftps_session_end();
  ftps_log_close();
}

static void ftps_unload_ev(const void *event_data, void *user_data) {
  if (event_data == NULL || strcmp((const char *) event_data,
      "mod_ftps.c") != 0) {
    return;
  }
  pr_event_unregister(&ftps_module, NULL, NULL);
  ftps_reload_stop();
  pr_timer_remove(-1, &ftps_module);
  ftps_keyring_restart();
  ftps_ctrls_unregister();
  ftps_netio_unregister();
  ftps_conf_free_vhosts();
}

static int ftps_init(void) {
  if (pr_version_get_number() < 0x0001030805) {
    pr_log_pri(PR_LOG_ERR, MOD_FTPS_VERSION ": requires ProFTPD 1.3.8 or "
      "later (this is %s)", pr_version_get_str());
    errno = EPERM;
    return -1;
  }
  pr_event_register(&ftps_module, "core.postparse", ftps_postparse_ev, NULL);
  pr_event_register(&ftps_module, "core.restart", ftps_restart_ev, NULL);
  pr_event_register(&ftps_module, "core.module-unload", ftps_unload_ev,
    NULL);
  (void) ftps_ctrls_register();
  return 0;
}

static int ftps_sess_init(void) {
  const ftps_vhost_t *vh;

  ftps_keyring_sess_init();
  ftps_farm_sess_init();
  ftps_ocsp_restart();          /* the master's timer: never in a session */
  /* The master's FTPSReload timers and markers are not the session's. */
  ftps_reload_sess_init();
  vh = ftps_conf_vhost(main_server);
  /* mod_ifsession (loaded after us) has merged <IfClass> by now, so the
   * session starts with its class's rules. */
  ftps_session_start(vh);

  if (!ftps_conf_any_engine()) {
    /* FTPS is off everywhere: AUTH/PBSZ/PROT answer 502, nothing else. */
    return 0;
  }

  /* Bulk TLS buffers (256 KiB, per data connection) come from mmap and go
   * back to the kernel when freed: glibc's dynamic threshold would keep
   * them in an ever-larger heap of every idle session. */
  (void) mallopt(M_MMAP_THRESHOLD, 64 * 1024);
  ftps_xfer_size_ctrl();

  pr_event_register(&ftps_module, "core.exit", ftps_exit_ev, NULL);
  if (vh != NULL && vh->policy.engine == 1 && vh->policy.log_path != NULL) {
    (void) ftps_log_open(vh->policy.log_path);
  }

  /* SECURITY: a fresh binding per session process, so that no session
   * issued to another FTP session can open our data connections. The
   * NetIOs pass through until TLS is attached, and are registered even
   * on a clear vhost because HOST may switch to an FTPS one. */
  if (ftps_ctx_new_binding() < 0 ||
      ftps_netio_register() < 0 ||
      ftps_fsio_register() < 0 ||
      ftps_vhost_sess_init() < 0 ||
      ftps_cmds_sess_init() < 0) {
    pr_log_pri(PR_LOG_ERR, MOD_FTPS_VERSION ": cannot set up the session: "
      "%s", strerror(errno));
    return -1;
  }

  if (vh != NULL && vh->policy.engine == 1 && vh->policy.implicit == 1 &&
      vh->unavailable != NULL) {
    /* A SIGHUP re-parse found this vhost's files broken (ftps_reload.c):
     * no context to speak TLS with, and nothing may be said in clear. */
    ftps_log(FTPS_LOG_ERROR, "implicit FTPS unavailable on this server "
      "since the last SIGHUP: %s", vh->unavailable);
    ftps_stats_count(FTPS_STAT_AUTH_UNAVAILABLE);
    pr_session_disconnect(&ftps_module, PR_SESS_DISCONNECT_BY_APPLICATION,
      "FTPS unavailable");
  }
  if (vh != NULL && vh->policy.engine == 1 && vh->policy.implicit == 1) {
    /* Implicit FTPS: the handshake precedes the 220 banner (no plaintext). */
    pr_trace_msg(trace_channel, 9, "implicit FTPS: handshake before banner");
    if (ftps_netio_ctrl_accept() < 0) {
      pr_session_disconnect(&ftps_module, PR_SESS_DISCONNECT_BY_APPLICATION,
        "TLS handshake failed");
    }
  }
  return 0;
}

module ftps_module = {
  NULL, NULL,                   /* always NULL */
  0x20,                         /* module API version 2.0 */
  "ftps",                       /* module name */
  ftps_conftab,                 /* configuration directives */
  ftps_cmdtab,                  /* command handlers */
  ftps_authtab,                 /* authentication handlers */
  ftps_init,                    /* module initialization */
  ftps_sess_init,               /* session initialization */
  MOD_FTPS_VERSION              /* module version */
};
