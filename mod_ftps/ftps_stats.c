/*
 * ftps_stats.c -- glue: the handshake counters `ftpdctl ftps sessions`
 * reports (what a monitoring system scrapes). Sessions are forked
 * processes, so the counters live in one anonymous shared mapping the
 * master makes at postparse, before any session forks; every process adds
 * with atomic increments. Fixed size: a few fixed counters and a small
 * table of refusal reasons (the reason texts are ours, never peer text).
 *
 * The mapping outlives a SIGHUP (the module is unloaded and loaded again,
 * but the mapping is not part of it): its address is kept in the master's
 * environment, tagged with the master's PID, so "since start" means since
 * the master started. Owns nothing else; touches no session state.
 */

#include <sys/mman.h>

#include "mod_ftps.h"

#define FTPS_STATS_MAGIC     0x46545053u      /* "FTPS" */
#define FTPS_STATS_REASONS   16
#define FTPS_STATS_REASON_LEN 64
#define FTPS_STATS_ENV       "MOD_FTPS_STATS"

typedef struct {
  int state;                    /* 0 free, 1 being claimed, 2 ready */
  char reason[FTPS_STATS_REASON_LEN];
  unsigned long count;
} reason_slot_t;

typedef struct {
  unsigned int magic;
  time_t since;
  unsigned long fixed[FTPS_STAT_NFIXED];
  reason_slot_t reasons[FTPS_STATS_REASONS];
  unsigned long other_reasons;  /* the table was full */
  int redis_down;               /* the farm's Redis is unreachable */
} stats_t;

static stats_t *stats = NULL;

static const char *const fixed_names[FTPS_STAT_NFIXED] = {
  "control handshakes", "data handshakes", "control resumptions",
  "data resumptions", "control handshakes refused",
  "data connections refused", "AUTH refused (FTPS unavailable)",
  "control resumptions (local cache or ticket)",
  "shared cache hits (Redis)", "shared cache misses (Redis)",
  "shared entries refused (cannot authenticate)", "Redis errors"
};

/* The mapping this master made before a SIGHUP, if any. */
static stats_t *inherited(void) {
  const char *v = pr_env_get(permanent_pool, FTPS_STATS_ENV);
  unsigned long pid = 0;
  void *addr = NULL;
  stats_t *s;

  if (v == NULL || sscanf(v, "%lu:%p", &pid, &addr) != 2 ||
      pid != (unsigned long) getpid() || addr == NULL) {
    return NULL;
  }
  s = addr;
  return s->magic == FTPS_STATS_MAGIC ? s : NULL;
}

int ftps_stats_init(void) {
  char v[64];
  void *m;

  if (stats != NULL || (stats = inherited()) != NULL) {
    return 0;
  }
  m = mmap(NULL, sizeof(stats_t), PROT_READ|PROT_WRITE,
    MAP_SHARED|MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) {
    pr_log_pri(PR_LOG_WARNING, MOD_FTPS_VERSION ": cannot map the session "
      "counters (ftpdctl ftps sessions): %s", strerror(errno));
    return -1;
  }
  stats = m;
  stats->magic = FTPS_STATS_MAGIC;
  stats->since = time(NULL);
  snprintf(v, sizeof(v), "%lu:%p", (unsigned long) getpid(), m);
  (void) pr_env_set(permanent_pool, FTPS_STATS_ENV, v);
  return 0;
}

/* Sessions keep the mapping (inherited) but not its address in their
 * environment. */
void ftps_stats_sess_init(void) {
  (void) pr_env_unset(permanent_pool, FTPS_STATS_ENV);
}

void ftps_stats_count(int which) {
  if (stats != NULL && which >= 0 && which < FTPS_STAT_NFIXED) {
    __atomic_add_fetch(&stats->fixed[which], 1, __ATOMIC_RELAXED);
  }
}

/* The slot counting reason: an existing one, else a newly claimed one. */
static reason_slot_t *slot_for(const char *reason) {
  int i;

  for (i = 0; i < FTPS_STATS_REASONS; i++) {
    reason_slot_t *r = &stats->reasons[i];
    int expect = 0;

    if (__atomic_load_n(&r->state, __ATOMIC_ACQUIRE) == 2 &&
        strncmp(r->reason, reason, FTPS_STATS_REASON_LEN - 1) == 0) {
      return r;
    }
    if (__atomic_compare_exchange_n(&r->state, &expect, 1, FALSE,
        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
      sstrncpy(r->reason, reason, sizeof(r->reason));
      __atomic_store_n(&r->state, 2, __ATOMIC_RELEASE);
      return r;
    }
  }
  return NULL;
}

void ftps_stats_refusal(const char *reason) {
  reason_slot_t *r;

  if (stats == NULL || reason == NULL) {
    return;
  }
  r = slot_for(reason);
  if (r != NULL) {
    __atomic_add_fetch(&r->count, 1, __ATOMIC_RELAXED);
  } else {
    __atomic_add_fetch(&stats->other_reasons, 1, __ATOMIC_RELAXED);
  }
}

int ftps_stats_report(void (*line)(void *arg, const char *text), void *arg) {
  char buf[256], when[64];
  struct tm tm;
  int i;

  if (stats == NULL) {
    errno = ENOENT;
    return -1;
  }
  strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ",
    gmtime_r(&stats->since, &tm));
  snprintf(buf, sizeof(buf), "since: %s", when);
  line(arg, buf);
  snprintf(buf, sizeof(buf), "redis: %s",
    __atomic_load_n(&stats->redis_down, __ATOMIC_RELAXED) ? "unreachable"
    : "ok or not used");
  line(arg, buf);
  for (i = 0; i < FTPS_STAT_NFIXED; i++) {
    snprintf(buf, sizeof(buf), "%s: %lu", fixed_names[i],
      __atomic_load_n(&stats->fixed[i], __ATOMIC_RELAXED));
    line(arg, buf);
  }
  for (i = 0; i < FTPS_STATS_REASONS; i++) {
    reason_slot_t *r = &stats->reasons[i];

    if (__atomic_load_n(&r->state, __ATOMIC_ACQUIRE) == 2) {
      snprintf(buf, sizeof(buf), "refused: %s: %lu", r->reason,
        __atomic_load_n(&r->count, __ATOMIC_RELAXED));
      line(arg, buf);
    }
  }
  if (stats->other_reasons > 0) {
    snprintf(buf, sizeof(buf), "refused: (other reasons): %lu",
      stats->other_reasons);
    line(arg, buf);
  }
  return 0;
}

int ftps_stats_redis_state(int up) {
  static int local_down = 0;    /* without the mapping: this process */
  int *state = stats != NULL ? &stats->redis_down : &local_down;
  int expect = up ? 1 : 0;

  return __atomic_compare_exchange_n(state, &expect, up ? 0 : 1, FALSE,
    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE) ? 1 : 0;
}
