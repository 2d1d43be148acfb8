/*
 * ftps_keyring.c -- glue: when the session-ticket key ring
 * (FTPSSessionTicketKeys, ftps_ticketkeys.c) is made, rotated and locked.
 *
 * The master owns the ring: it is made at postparse (afresh after a
 * restart) and rotated by a timer that runs only in the master. A session process inherits the ring
 * as it was at fork and never rotates it: its own tickets (control and
 * data) keep working for as long as it lives, and a ticket it issued opens
 * sessions forked up to age x count seconds later, which still hold its
 * key. Holds the timer id, nothing else. Never calls OpenSSL (B2).
 */

#include "mod_ftps.h"

/* ProFTPD's main.c: TRUE in the daemon's master process only. */
extern unsigned char is_master;

static const char *trace_channel = "ftps.keyring";

/* Rotation is computed from the clock; the timer only bounds how late a
 * key may come: at most this many seconds. */
#define KEYRING_TICK_MAX  60

static int timer_id = -1;
static unsigned int tick_age = 0;

static int keyring_tick(CALLBACK_FRAME) {
  int added;

  if (!is_master) {
    /* Inherited by a session process: rotating here would fork the ring. */
    timer_id = -1;
    return 0;
  }
  /* In a farm (FTPSSessionTicketKeys ... shared redis) the ring comes from
   * Redis, and one node rotates it there (ftps_farm.c). */
  added = ftps_farm_ticketkeys_sync(tick_age, 0);
  if (added > 0) {
    pr_trace_msg(trace_channel, 9, "rotated the session-ticket keys: %d new, "
      "%u in the ring", added, ftps_ticketkeys_count());
  } else if (added < 0) {
    pr_log_pri(PR_LOG_ERR, MOD_FTPS_VERSION ": cannot make a new session "
      "ticket key: %s", strerror(errno));
  }
  return 1;   /* restart the timer */
}

int ftps_keyring_postparse(void) {
  unsigned int age = 0, count = 0;
  int tick;

  ftps_conf_ticket_keys(&age, &count);
  if (ftps_ticketkeys_matches(age, count)) {
    (void) ftps_ticketkeys_rotate(time(NULL));
  } else if (ftps_ticketkeys_configure(age, count, time(NULL)) < 0) {
    pr_log_pri(PR_LOG_ERR, MOD_FTPS_VERSION ": FTPSSessionTicketKeys: "
      "cannot make the session-ticket key ring: %s", strerror(errno));
    return -1;
  }
  tick_age = age;
  if (ftps_farm_shared_tickets()) {
    (void) ftps_farm_ticketkeys_sync(age, 1);
  }
  if (timer_id >= 0) {
    (void) pr_timer_remove(timer_id, &ftps_module);
  }
  tick = age < KEYRING_TICK_MAX ? (int) age : KEYRING_TICK_MAX;
  timer_id = pr_timer_add(tick, -1, &ftps_module, keyring_tick,
    "FTPS session ticket keys");
  pr_trace_msg(trace_channel, 7, "session-ticket keys: age %u s, count %u, "
    "%lu bytes locked", age, count,
    (unsigned long) ftps_ticketkeys_memory());
  return timer_id < 0 ? -1 : 0;
}

int ftps_keyring_install(ftps_ctx_t *ctx) {
  return ftps_ticketkeys_install(ctx);
}

void ftps_keyring_sess_init(void) {
  if (timer_id >= 0) {
    (void) pr_timer_remove(timer_id, &ftps_module);
    timer_id = -1;
  }
  /* mlock(2) locks are not inherited across fork(2). */
  if (ftps_ticketkeys_lock() < 0) {
    pr_trace_msg(trace_channel, 3, "cannot lock the session-ticket keys in "
      "memory: %s", strerror(errno));
  }
}

/* A restart (SIGHUP) may unload and reload this module: the ring is wiped
 * here, never left mapped, and postparse makes a fresh one. */
void ftps_keyring_restart(void) {
  if (timer_id >= 0) {
    (void) pr_timer_remove(timer_id, &ftps_module);
    timer_id = -1;
  }
  ftps_ticketkeys_wipe();
}
