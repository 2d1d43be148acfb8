/*
 * ftps_events.c -- glue: the events other modules listen to. Every event
 * is raised under mod_tls's name, with mod_tls 1.3.8's event data, so
 * existing configurations keep working (mod_ban's "BanOnEvent
 * TLSHandshake" counts mod_tls.ctrl-handshake; mod_autohost listens to
 * mod_tls.sni), and then under our own name with the same data:
 *
 *   mod_tls.ctrl-handshake         conn_t * (session.c), before the control
 *                                  handshake (AUTH TLS, or implicit FTPS)
 *   mod_tls.ctrl-handshake-failed  int * (the engine's SSL_ERROR_* code)
 *   mod_tls.data-handshake-failed  int * (the same, data connection)
 *   mod_tls.verify-client          NULL: a client certificate verified
 *   mod_tls.verify-client-failed   int * (X509_V_ERR_*)
 *   mod_tls.sni                    const char * (the SNI name), inside the
 *                                  ClientHello, before the vhost is chosen
 *
 * A leaf: it reads nothing and changes no session state.
 */

#include "mod_ftps.h"

static const char *trace_channel = "ftps.events";

static void raise2(const char *suffix, void *data) {
  char tls_name[64], ftps_name[64];

  snprintf(tls_name, sizeof(tls_name), "mod_tls.%s", suffix);
  snprintf(ftps_name, sizeof(ftps_name), "mod_ftps.%s", suffix);
  pr_trace_msg(trace_channel, 9, "raising %s and %s", tls_name, ftps_name);
  pr_event_generate(tls_name, data);
  pr_event_generate(ftps_name, data);
}

void ftps_events_ctrl_handshake(void) {
  raise2("ctrl-handshake", session.c);
}

void ftps_events_handshake_failed(int role, ftps_io_t *io) {
  int code = ftps_io_failure_code(io);

  ftps_events_verified(io);
  raise2(role == FTPS_ROLE_DATA ? "data-handshake-failed" :
    "ctrl-handshake-failed", &code);
}

void ftps_events_verified(ftps_io_t *io) {
  int code = 0;

  switch (ftps_io_verify_result(io, &code)) {
    case FTPS_IO_VERIFY_OK:
      raise2("verify-client", NULL);
      break;
    case FTPS_IO_VERIFY_FAILED:
      raise2("verify-client-failed", &code);
      break;
    default:
      break;
  }
}

void ftps_events_sni(const char *name) {
  if (name != NULL) {
    raise2("sni", (void *) name);
  }
}
