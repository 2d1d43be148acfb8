/*
 * ftps_state.c -- owns the legal transitions of an FTPS session's
 * lifecycle (see include/ftps/ftps_state.h). Pure C: libc only (B2).
 *
 *   control   clear --CTRL_SECURED--> secured --CTRL_CLEARED--> cleared
 *             any --END--> ended (nothing is legal after that)
 *   auth      none --USER_IDENTIFIED--> identified --LOGGED_IN--> logged-in
 *             identified --CERT_LOGIN--> cert-pending --LOGGED_IN--> ...
 *   data      closed --DATA_SECURED--> open --DATA_CLOSED--> closed
 *             (only after login, over a control connection that was
 *             secured at some point: RFC 4217 data protection needs it)
 */

#include <errno.h>
#include <stddef.h>

#include "ftps/ftps_state.h"

#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))

typedef int (*lc_step_fn)(ftps_lc_t *lc);

static int refuse(void) {
  errno = EPERM;
  return -1;
}

static int ctrl_secured(ftps_lc_t *lc) {
  if (lc->ctrl != FTPS_LC_CTRL_CLEAR || lc->auth == FTPS_LC_AUTH_LOGGED_IN) {
    return refuse();      /* one handshake; never after login (503) */
  }
  lc->ctrl = FTPS_LC_CTRL_SECURED;
  return 0;
}

static int vhost_followed(ftps_lc_t *lc) {
  /* RFC 7151: HOST only before login (mod_core answers 503 after). */
  return lc->auth == FTPS_LC_AUTH_NONE ||
    lc->auth == FTPS_LC_AUTH_IDENTIFIED ? 0 : refuse();
}

static int user_identified(ftps_lc_t *lc) {
  if (lc->auth == FTPS_LC_AUTH_LOGGED_IN ||
      lc->auth == FTPS_LC_AUTH_CERT_PENDING) {
    return refuse();
  }
  lc->auth = FTPS_LC_AUTH_IDENTIFIED;
  return 0;
}

static int cert_login(ftps_lc_t *lc) {
  /* A certificate exists only if the control channel was secured. */
  if (lc->auth != FTPS_LC_AUTH_IDENTIFIED ||
      lc->ctrl == FTPS_LC_CTRL_CLEAR) {
    return refuse();
  }
  lc->auth = FTPS_LC_AUTH_CERT_PENDING;
  return 0;
}

static int logged_in(ftps_lc_t *lc) {
  if (lc->auth != FTPS_LC_AUTH_IDENTIFIED &&
      lc->auth != FTPS_LC_AUTH_CERT_PENDING) {
    return refuse();
  }
  lc->auth = FTPS_LC_AUTH_LOGGED_IN;
  return 0;
}

static int data_secured(ftps_lc_t *lc) {
  if (lc->auth != FTPS_LC_AUTH_LOGGED_IN || lc->data ||
      lc->ctrl == FTPS_LC_CTRL_CLEAR) {
    return refuse();
  }
  lc->data = 1;
  return 0;
}

static int data_closed(ftps_lc_t *lc) {
  if (!lc->data) {
    return refuse();
  }
  lc->data = 0;
  return 0;
}

static int ctrl_cleared(ftps_lc_t *lc) {
  if (lc->ctrl != FTPS_LC_CTRL_SECURED) {
    return refuse();
  }
  lc->ctrl = FTPS_LC_CTRL_CLEARED;
  return 0;
}

static int end(ftps_lc_t *lc) {
  lc->ctrl = FTPS_LC_CTRL_ENDED;
  lc->data = 0;
  return 0;
}

static const struct {
  lc_step_fn step;
  const char *name;
} events[] = {
  [FTPS_EV_CTRL_SECURED]    = { ctrl_secured,    "ctrl-secured" },
  [FTPS_EV_VHOST_FOLLOWED]  = { vhost_followed,  "vhost-followed" },
  [FTPS_EV_USER_IDENTIFIED] = { user_identified, "user-identified" },
  [FTPS_EV_CERT_LOGIN]      = { cert_login,      "cert-login" },
  [FTPS_EV_LOGGED_IN]       = { logged_in,       "logged-in" },
  [FTPS_EV_DATA_SECURED]    = { data_secured,    "data-secured" },
  [FTPS_EV_DATA_CLOSED]     = { data_closed,     "data-closed" },
  [FTPS_EV_CTRL_CLEARED]    = { ctrl_cleared,    "ctrl-cleared" },
  [FTPS_EV_END]             = { end,             "end" },
};

void ftps_lc_init(ftps_lc_t *lc) {
  if (lc != NULL) {
    lc->ctrl = FTPS_LC_CTRL_CLEAR;
    lc->auth = FTPS_LC_AUTH_NONE;
    lc->data = 0;
  }
}

int ftps_lc_apply(ftps_lc_t *lc, ftps_event_t ev) {
  ftps_lc_t next;

  if (lc == NULL || (unsigned) ev >= NELEMS(events)) {
    errno = EINVAL;
    return -1;
  }
  if (lc->ctrl == FTPS_LC_CTRL_ENDED) {
    return ev == FTPS_EV_END ? 0 : refuse();
  }
  next = *lc;
  if (events[ev].step(&next) < 0) {
    return -1;
  }
  *lc = next;
  return 0;
}

const char *ftps_lc_event_str(ftps_event_t ev) {
  return (unsigned) ev < NELEMS(events) ? events[ev].name : "unknown";
}

const char *ftps_lc_ctrl_str(ftps_lc_ctrl_t ctrl) {
  static const char *const names[] = { "clear", "secured", "cleared",
    "ended" };

  return (unsigned) ctrl < NELEMS(names) ? names[ctrl] : "unknown";
}

const char *ftps_lc_auth_str(ftps_lc_auth_t auth) {
  static const char *const names[] = { "no-user", "identified",
    "cert-pending", "logged-in" };

  return (unsigned) auth < NELEMS(names) ? names[auth] : "unknown";
}
