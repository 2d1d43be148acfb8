/*
 * ftps_ocsp.c -- glue: when the master fetches OCSP responses for
 * `FTPSStapling on` without FTPSStaplingResponse (ftps_staple.c does the
 * fetching): once as each vhost's context is built, then from a timer that
 * runs only in the master, outside any handshake, when a response is
 * missing, stale or past half its life. Session processes inherit the
 * response at fork and never fetch. Holds the timer id, nothing else.
 * Never calls OpenSSL (B2).
 */

#include "mod_ftps.h"

extern unsigned char is_master;
extern xaset_t *server_list;

static const char *trace_channel = "ftps.ocsp";

#define OCSP_TICK       60      /* seconds between checks in the master */
#define OCSP_TIMEOUT    5       /* seconds a responder may take */

static int timer_id = -1;

static void fetch_one(server_rec *s, ftps_ctx_t *ctx) {
  char err[512];

  if (ctx == NULL || !ftps_staple_fetch_due(ctx, time(NULL))) {
    return;
  }
  if (ftps_staple_fetch(ctx, OCSP_TIMEOUT, err, sizeof(err)) < 0) {
    pr_log_pri(PR_LOG_WARNING, MOD_FTPS_VERSION ": warning: FTPSStapling "
      "(server '%s'): %s; nothing is stapled until a fetch succeeds",
      s != NULL && s->ServerName ? s->ServerName : "", err);
    return;
  }
  pr_trace_msg(trace_channel, 7, "fetched an OCSP response for '%s'",
    s != NULL && s->ServerName ? s->ServerName : "");
}

int ftps_ocsp_prepare(ftps_ctx_t *ctx) {
  fetch_one(NULL, ctx);
  return 0;
}

static int ocsp_tick(CALLBACK_FRAME) {
  server_rec *s;

  if (!is_master) {
    timer_id = -1;
    return 0;
  }
  for (s = (server_rec *) server_list->xas_list; s != NULL; s = s->next) {
    const ftps_vhost_t *vh = ftps_conf_vhost(s);
    if (vh != NULL) {
      fetch_one(s, vh->ctx);
    }
  }
  return 1;
}

void ftps_ocsp_postparse(void) {
  ftps_ocsp_restart();
  timer_id = pr_timer_add(OCSP_TICK, -1, &ftps_module, ocsp_tick,
    "FTPS OCSP responses");
}

void ftps_ocsp_restart(void) {
  if (timer_id >= 0) {
    (void) pr_timer_remove(timer_id, &ftps_module);
    timer_id = -1;
  }
}
