/*
 * ftps_session.c -- glue: owns the state of this session process
 * (ftps_sess_t, B7/B25) and is its only writer. Every change is a named
 * transition, checked first against the lifecycle machine (ftps_state.c):
 * an illegal one is refused, logged, and changes nothing.
 *
 *   start            sess_init: the vhost that accepted the connection
 *   sni chosen       inside the control handshake (ClientHello)
 *   ctrl secured     AUTH TLS / implicit handshake done
 *   vhost followed   HOST, or the switch after SNI (core.session-reinit)
 *   user identified  USER passed the certificate checks (or none applied)
 *   cert login       requires_pass said yes: mod_auth replays PASS (232)
 *   logged in        PASS (or its replay) succeeded
 *   data secured     a data handshake passed every check
 *   data closed      the data connection went away
 *   ctrl cleared     CCC
 *   end              core.exit
 *
 * The rules in force come from the resolver (ftps_rules.c) at start, at a
 * vhost switch and at PASS; this file stores them, never looks them up.
 */

#include "mod_ftps.h"

static const char *trace_channel = "ftps.session";

static ftps_sess_t sess;

const ftps_sess_t *ftps_session(void) {
  return &sess;
}

int ftps_session_engine_on(void) {
  return sess.vhost != NULL && sess.vhost->policy.engine == 1;
}

/* Ask the lifecycle machine; an illegal transition is a bug somewhere (or
 * a client driving the core somewhere we did not expect): log, refuse. */
static int step(ftps_event_t ev) {
  if (ftps_lc_apply(&sess.lc, ev) < 0) {
    ftps_log(FTPS_LOG_WARNING, "session: transition '%s' refused in state "
      "%s/%s%s", ftps_lc_event_str(ev), ftps_lc_ctrl_str(sess.lc.ctrl),
      ftps_lc_auth_str(sess.lc.auth), sess.lc.data ? "/data" : "");
    errno = EPERM;
    return -1;
  }
  ftps_log_trace(trace_channel, 9, "%s -> %s/%s%s", ftps_lc_event_str(ev),
    ftps_lc_ctrl_str(sess.lc.ctrl), ftps_lc_auth_str(sess.lc.auth),
    sess.lc.data ? "/data" : "");
  return 0;
}

static void resolve_rules(void) {
  ftps_rules_for_session(sess.vhost, &sess.rules);
}

void ftps_session_start(const ftps_vhost_t *vh) {
  memset(&sess, 0, sizeof(sess));
  ftps_lc_init(&sess.lc);
  sess.vhost = vh;
  ftps_prot_init(&sess.prot, vh != NULL && vh->policy.engine == 1 &&
    vh->policy.implicit == 1);
  resolve_rules();
}

void ftps_session_sni_chosen(const ftps_vhost_t *vh) {
  sess.sni_vhost = vh;
}

int ftps_session_ctrl_secured(ftps_io_t *io, ftps_ctx_t *ctx) {
  if (io == NULL || step(FTPS_EV_CTRL_SECURED) < 0) {
    return -1;
  }
  sess.ctrl = io;
  sess.ctrl_ctx = ctx;
  sess.ctrl_refreshed = time(NULL);

  /* The client's identity, for authorization: only a verified one. */
  sess.client_cert = ftps_io_peer_cert(io);
  if (sess.client_cert == NULL ||
      ftps_cert_fingerprint(sess.client_cert, sess.client_fp) < 0) {
    ftps_cert_free(sess.client_cert);
    sess.client_cert = NULL;
    sess.client_fp[0] = '\0';
  }
  return 0;
}

void ftps_session_ctrl_refreshed(void) {
  sess.ctrl_refreshed = time(NULL);
}

/* CCC: the control TLS is gone for good; data keeps its protection. */
int ftps_session_ctrl_cleared(void) {
  if (step(FTPS_EV_CTRL_CLEARED) < 0) {
    return -1;
  }
  ftps_io_free(sess.ctrl);
  sess.ctrl = NULL;
  return 0;
}

/* The control connection itself is closing (its close callback). */
void ftps_session_ctrl_closed(void) {
  ftps_io_free(sess.ctrl);
  sess.ctrl = NULL;
}

int ftps_session_vhost_followed(const ftps_vhost_t *vh) {
  if (step(FTPS_EV_VHOST_FOLLOWED) < 0) {
    return -1;
  }
  sess.vhost = vh;
  resolve_rules();
  return 0;
}

/* mod_ifsession merged user or class rules into main_server (PASS). */
void ftps_session_rules_changed(void) {
  resolve_rules();
}

int ftps_session_user_identified(const char *user, int cert_mapped) {
  if (step(FTPS_EV_USER_IDENTIFIED) < 0) {
    return -1;
  }
  sess.cert_user[0] = '\0';
  if (cert_mapped && user != NULL) {
    sstrncpy(sess.cert_user, user, sizeof(sess.cert_user));
  }
  return 0;
}

/* A refused USER changes nothing but forgets any certificate mapping. */
void ftps_session_user_refused(void) {
  sess.cert_user[0] = '\0';
}

int ftps_session_cert_login(void) {
  return step(FTPS_EV_CERT_LOGIN);
}

int ftps_session_logged_in(void) {
  return step(FTPS_EV_LOGGED_IN);
}

int ftps_session_logged_in_now(void) {
  return sess.lc.auth == FTPS_LC_AUTH_LOGGED_IN;
}

void ftps_session_prot(const ftps_prot_state_t *next) {
  if (next != NULL) {
    sess.prot = *next;
  }
}

int ftps_session_data_secured(ftps_io_t *io) {
  if (io == NULL || step(FTPS_EV_DATA_SECURED) < 0) {
    return -1;
  }
  sess.data = io;
  sess.upload_truncated = FALSE;
  return 0;
}

void ftps_session_upload_truncated(void) {
  sess.upload_truncated = TRUE;
}

void ftps_session_data_closed(void) {
  if (sess.data == NULL) {
    return;
  }
  (void) step(FTPS_EV_DATA_CLOSED);
  ftps_io_free(sess.data);
  sess.data = NULL;
}

int ftps_session_prelogin_error(void) {
  return ++sess.prelogin_errors;
}

/* core.exit: the control connection is already closed; only free. */
void ftps_session_end(void) {
  (void) step(FTPS_EV_END);
  ftps_io_free(sess.data);
  ftps_io_free(sess.ctrl);
  sess.data = sess.ctrl = NULL;
  ftps_cert_free(sess.client_cert);
  sess.client_cert = NULL;
}
