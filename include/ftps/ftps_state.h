/*
 * ftps_state.h -- the lifecycle of one FTPS session as a pure state
 * machine: which transitions are legal from which state. The glue's session
 * owner (ftps_session.c) asks it before every change, so an impossible
 * sequence (data secured before login, a login after the session ended, a
 * second control handshake, CCC on a clear channel...) is refused and
 * logged instead of silently corrupting the session.
 *
 * Pure C: libc only (B2). Table-tested in tests/api/ftps_state.c.
 */
#ifndef FTPS_STATE_H
#define FTPS_STATE_H

/* The control connection. */
typedef enum {
  FTPS_LC_CTRL_CLEAR = 0,       /* connected, no TLS yet */
  FTPS_LC_CTRL_SECURED,         /* AUTH TLS or implicit: TLS up */
  FTPS_LC_CTRL_CLEARED,         /* CCC: back to clear, for good */
  FTPS_LC_CTRL_ENDED            /* the session is over */
} ftps_lc_ctrl_t;

/* Who the client is. */
typedef enum {
  FTPS_LC_AUTH_NONE = 0,        /* no USER yet (or refused) */
  FTPS_LC_AUTH_IDENTIFIED,      /* USER accepted; PASS (or 232) next */
  FTPS_LC_AUTH_CERT_PENDING,    /* 232: mod_auth replays PASS now */
  FTPS_LC_AUTH_LOGGED_IN
} ftps_lc_auth_t;

typedef struct {
  ftps_lc_ctrl_t ctrl;
  ftps_lc_auth_t auth;
  int data;                     /* a protected data connection is open */
} ftps_lc_t;

typedef enum {
  FTPS_EV_CTRL_SECURED = 0,     /* control handshake done */
  FTPS_EV_VHOST_FOLLOWED,       /* HOST or SNI switched the vhost */
  FTPS_EV_USER_IDENTIFIED,      /* USER passed our checks */
  FTPS_EV_CERT_LOGIN,           /* the certificate logs the user in (232) */
  FTPS_EV_LOGGED_IN,            /* PASS (or its replay) succeeded */
  FTPS_EV_DATA_SECURED,         /* a data handshake passed every check */
  FTPS_EV_DATA_CLOSED,
  FTPS_EV_CTRL_CLEARED,         /* CCC done */
  FTPS_EV_END,
  FTPS_EV_COUNT
} ftps_event_t;

/* The state of a new connection. */
void ftps_lc_init(ftps_lc_t *lc);

/* Apply ev to *lc: 0 (lc updated), or -1 with errno EPERM (illegal here;
 * lc unchanged) or EINVAL (bad arguments). */
int ftps_lc_apply(ftps_lc_t *lc, ftps_event_t ev);

/* Names for logs: "ctrl-secured", ... and "secured/logged-in/data". */
const char *ftps_lc_event_str(ftps_event_t ev);
const char *ftps_lc_ctrl_str(ftps_lc_ctrl_t ctrl);
const char *ftps_lc_auth_str(ftps_lc_auth_t auth);

#endif /* FTPS_STATE_H */
