/*
 * ftps_farm.c -- glue: a farm of FTPS nodes sharing state through Redis
 * (issue 12; docs/farm.md). FTPSSessionCache redis shares TLS 1.2 control
 * sessions (by session ID); FTPSSessionTicketKeys ... shared redis shares
 * the ticket key ring; FTPSSharedKeyFile holds the 32-byte key that seals
 * every entry (ftps_farmbox.c: AES-256-GCM, name and kind bound in).
 *
 * Redis is an optimisation, never a dependency: every operation is bounded
 * (FARM_TIMEOUT_MS for connect and I/O), a failure falls back to the local
 * cache and keys, and the node logs once when Redis goes away and once
 * when it is back (the state is shared by the node's processes through
 * ftps_stats.c). Sessions connect lazily (the first cache use, during the
 * control handshake, before login); the master connects for each ticket
 * ring sync and disconnects again, so no session inherits its socket.
 *
 * Never includes or calls OpenSSL (B2): the TLS layer serializes, seals
 * and opens; this file moves bytes.
 */

#include "mod_ftps.h"
#include "redis.h"

extern unsigned char is_master;

static const char *trace_channel = "ftps.farm";

#define FARM_TIMEOUT_MS   100
#define FARM_RETRY_SECS   1     /* after a failure, no new connect before */

static int cache_redis = 0;
static int shared_tickets = 0;
static long cache_timeout = FTPS_DEFAULT_FARM_CACHE_TIMEOUT;
static unsigned char farm_key[FTPS_FARM_KEY_LEN];
static char prefix[64];           /* "mod_ftps.<farm id>." */
static pr_redis_t *redis = NULL;
static time_t retry_after = 0;

static void close_redis(void) {
  if (redis != NULL) {
    (void) pr_redis_conn_destroy(redis);
    redis = NULL;
  }
}

static void redis_failed(const char *what) {
  int xerrno = errno;

  ftps_stats_count(FTPS_STAT_REDIS_ERROR);
  close_redis();
  retry_after = time(NULL) + FARM_RETRY_SECS;
  if (ftps_stats_redis_state(0)) {
    pr_log_pri(PR_LOG_WARNING, MOD_FTPS_VERSION ": farm: Redis unavailable "
      "(%s: %s); using this node's own session cache and ticket keys until "
      "it is back", what, strerror(xerrno));
    ftps_log(FTPS_LOG_WARNING, "farm: Redis unavailable (%s: %s); using "
      "this node's own session cache and ticket keys", what,
      strerror(xerrno));
  }
  pr_trace_msg(trace_channel, 5, "Redis %s failed: %s", what,
    strerror(xerrno));
}

static void redis_ok(void) {
  if (ftps_stats_redis_state(1)) {
    pr_log_pri(PR_LOG_NOTICE, MOD_FTPS_VERSION ": farm: Redis is back; "
      "sharing sessions and ticket keys again");
    ftps_log(FTPS_LOG_INFO, "farm: Redis is back; sharing sessions and "
      "ticket keys again");
  }
}

static pr_redis_t *get_redis(void) {
  if (redis != NULL) {
    return redis;
  }
  if (time(NULL) < retry_after) {
    errno = EAGAIN;
    return NULL;
  }
  /* ProFTPD applies RedisTimeouts only in sessions (mod_redis sess_init);
   * ours are bounded everywhere, so that Redis never holds a handshake. */
  (void) redis_set_timeouts(FARM_TIMEOUT_MS, FARM_TIMEOUT_MS);
  redis = pr_redis_conn_new(permanent_pool, &ftps_module,
    PR_REDIS_CONN_FL_NO_RECONNECT);
  if (redis == NULL) {
    if (errno == 0) {
      errno = ECONNREFUSED;
    }
    redis_failed("connect");
    return NULL;
  }
  return redis;
}

/* ---- the TLS layer's I/O (ftps_ctx.h ftps_farm_io_t) ------------------ */

static int io_put(const char *name, const unsigned char *val, size_t len,
    time_t expires) {
  pr_redis_t *r = get_redis();
  time_t ttl = expires - time(NULL);

  if (r == NULL) {
    return -1;
  }
  if (ttl < 1) {
    ttl = 1;
  }
  if (pr_redis_kset(r, &ftps_module, name, strlen(name), (void *) val, len,
      ttl) < 0) {
    redis_failed("SET");
    return -1;
  }
  redis_ok();
  return 0;
}

static int io_get(const char *name, unsigned char **val, size_t *len) {
  pr_redis_t *r = get_redis();
  pool *tmp;
  void *v;
  size_t vlen = 0;

  if (r == NULL) {
    return -1;
  }
  tmp = make_sub_pool(permanent_pool);
  errno = 0;
  v = pr_redis_kget(tmp, r, &ftps_module, name, strlen(name), &vlen);
  if (v == NULL) {
    int xerrno = errno;

    destroy_pool(tmp);
    if (xerrno == ENOENT) {
      redis_ok();
      return 1;
    }
    errno = xerrno;
    redis_failed("GET");
    return -1;
  }
  redis_ok();
  *val = malloc(vlen > 0 ? vlen : 1);
  if (*val == NULL) {
    destroy_pool(tmp);
    return -1;
  }
  memcpy(*val, v, vlen);
  *len = vlen;
  destroy_pool(tmp);
  return 0;
}

static void io_event(int ev) {
  switch (ev) {
    case FTPS_FARM_EV_HIT:
      ftps_stats_count(FTPS_STAT_SHARED_HIT);
      break;
    case FTPS_FARM_EV_MISS:
      ftps_stats_count(FTPS_STAT_SHARED_MISS);
      break;
    case FTPS_FARM_EV_BAD:
      ftps_stats_count(FTPS_STAT_SHARED_BAD);
      ftps_log(FTPS_LOG_WARNING, "farm: ignored a Redis entry that does not "
        "authenticate under FTPSSharedKeyFile (another farm's key, or "
        "tampered)");
      break;
  }
}

static const ftps_farm_io_t farm_io = { io_put, io_get, io_event };

/* ---- FTPSSharedKeyFile ------------------------------------------------ */

static int read_key_file(const char *path) {
  struct stat st;
  ssize_t n;
  int fd;

  fd = open(path, O_RDONLY|O_NOFOLLOW|O_CLOEXEC);
  if (fd < 0) {
    pr_log_pri(PR_LOG_ERR, MOD_FTPS_VERSION ": FTPSSharedKeyFile %s: %s",
      path, strerror(errno));
    return -1;
  }
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 ||
      (st.st_mode & 077) != 0 || st.st_size != FTPS_FARM_KEY_LEN) {
    pr_log_pri(PR_LOG_ERR, MOD_FTPS_VERSION ": FTPSSharedKeyFile %s: must "
      "be a regular file of exactly %d bytes, owned by root, mode 0600 "
      "(e.g. head -c 32 /dev/urandom > %s; chmod 600 %s)", path,
      FTPS_FARM_KEY_LEN, path, path);
    (void) close(fd);
    return -1;
  }
  n = read(fd, farm_key, sizeof(farm_key));
  (void) close(fd);
  if (n != (ssize_t) sizeof(farm_key)) {
    pr_log_pri(PR_LOG_ERR, MOD_FTPS_VERSION ": FTPSSharedKeyFile %s: short "
      "read", path);
    return -1;
  }
  return 0;
}

int ftps_farm_postparse(void) {
  const char *key_file = NULL;
  char id[17];
  int cache = FTPS_SESSION_CACHE_INTERNAL;

  ftps_farm_restart();
  ftps_conf_farm(&cache, &cache_timeout, &shared_tickets, &key_file);
  cache_redis = (cache == FTPS_SESSION_CACHE_REDIS);
  if (!cache_redis && !shared_tickets) {
    return 0;
  }
  if (key_file == NULL) {
    pr_log_pri(PR_LOG_ERR, MOD_FTPS_VERSION ": FTPSSessionCache redis and "
      "FTPSSessionTicketKeys ... shared redis need FTPSSharedKeyFile (the "
      "same 32-byte key on every node)");
    return -1;
  }
  if (read_key_file(key_file) < 0 ||
      ftps_farmbox_key_id(farm_key, id) < 0) {
    return -1;
  }
  snprintf(prefix, sizeof(prefix), "mod_ftps.%s.", id);
  if (cache_redis &&
      ftps_ctx_set_farm(farm_key, prefix, cache_timeout, &farm_io) < 0) {
    return -1;
  }
  ftps_ctx_set_farm_tickets(shared_tickets);
  pr_trace_msg(trace_channel, 7, "farm %s: session cache %s, ticket keys %s",
    id, cache_redis ? "redis" : "local", shared_tickets ? "shared" : "local");
  return 0;
}

int ftps_farm_active(void) {
  return cache_redis || shared_tickets;
}

int ftps_farm_shared_tickets(void) {
  return shared_tickets;
}

/* SET lock 1 NX EX ttl: 0 if this node now holds the lock, -1 if another
 * node does (nil reply) or Redis failed. */
static int take_lock(pr_redis_t *r, const char *lock, long ttl) {
  pool *tmp = make_sub_pool(permanent_pool);
  array_header *args = make_array(tmp, 6, sizeof(char *));
  char ttl_str[32];
  int res;

  snprintf(ttl_str, sizeof(ttl_str), "%ld", ttl);
  *((char **) push_array(args)) = pstrdup(tmp, "SET");
  *((char **) push_array(args)) = pstrdup(tmp, lock);
  *((char **) push_array(args)) = pstrdup(tmp, "1");
  *((char **) push_array(args)) = pstrdup(tmp, "NX");
  *((char **) push_array(args)) = pstrdup(tmp, "EX");
  *((char **) push_array(args)) = pstrdup(tmp, ttl_str);
  res = pr_redis_command(r, args, PR_REDIS_REPLY_TYPE_STATUS);
  destroy_pool(tmp);
  return res == 0 ? 0 : -1;
}

/*
 * The master's ticket ring sync (startup and each keyring tick). The ring in
 * Redis wins when it authenticates and is fresh; when it is missing or
 * stale, the node holding the rotation lock (SET NX, expiring) rotates and
 * writes its ring; the others keep their keys and adopt the new ring at
 * their next tick. Without Redis the node rotates its own ring.
 * Returns the number of keys the local ring gained/changed, or -1.
 */
int ftps_farm_ticketkeys_sync(unsigned int age, int startup) {
  char name[96], lock[96];
  unsigned char *box = NULL, *ring = NULL;
  size_t boxlen = 0, ringlen = 0;
  time_t now = time(NULL), newest = 0;
  pr_redis_t *r;
  int res, changed = 0, fresh = 0;
  unsigned int count = 0;

  if (!shared_tickets) {
    return ftps_ticketkeys_rotate(now);
  }
  r = get_redis();
  if (r == NULL) {
    res = ftps_ticketkeys_rotate(now);
    close_redis();
    return res;
  }
  snprintf(name, sizeof(name), "%sticketkeys", prefix);
  snprintf(lock, sizeof(lock), "%sticketkeys.lock", prefix);

  res = io_get(name, &box, &boxlen);
  if (res == 0) {
    if (ftps_farmbox_open(farm_key, name, FTPS_FARM_KIND_TICKETKEYS, now,
        box, boxlen, &ring, &ringlen) == 0) {
      unsigned char before[16], after[16];

      (void) ftps_ticketkeys_newest(NULL, before);
      if (ftps_ticketkeys_import(ring, ringlen) > 0) {
        (void) ftps_ticketkeys_newest(&newest, after);
        changed = memcmp(before, after, sizeof(before)) != 0;
        fresh = now < newest + (time_t) age;
      }
      ftps_farmbox_free(ring, ringlen);
    } else if (errno != ESTALE) {
      ftps_stats_count(FTPS_STAT_SHARED_BAD);
      pr_log_pri(PR_LOG_WARNING, MOD_FTPS_VERSION ": farm: the shared "
        "ticket key ring in Redis does not authenticate under "
        "FTPSSharedKeyFile; ignoring it");
    }
    free(box);
  } else if (res < 0) {
    return ftps_ticketkeys_rotate(now);
  }

  if (!fresh) {
    long lock_ttl = age / 2 > 0 ? age / 2 : 1;

    /* Only one node rotates: the one that takes the lock (SET NX EX). */
    if (take_lock(r, lock, lock_ttl) == 0) {
      unsigned char *out = NULL;
      size_t outlen = 0;

      if (res == 0 || startup || ftps_ticketkeys_count() > 0) {
        int added = ftps_ticketkeys_rotate(now);

        if (added > 0) {
          changed = 1;
        }
      }
      count = ftps_ticketkeys_count();
      (void) ftps_ticketkeys_newest(&newest, NULL);
      if (ftps_ticketkeys_export(&ring, &ringlen) == 0) {
        if (ftps_farmbox_seal(farm_key, name, FTPS_FARM_KIND_TICKETKEYS,
            now + (time_t) age * 64, ring, ringlen, &out, &outlen) == 0) {
          if (io_put(name, out, outlen, now + (time_t) age * 64) == 0) {
            pr_trace_msg(trace_channel, 7, "wrote the shared ticket ring "
              "(%u keys)", count);
          }
          ftps_farmbox_free(out, outlen);
        }
        ftps_ticketkeys_export_free(ring, ringlen);
      }
    }
  }
  close_redis();
  return changed;
}

void ftps_farm_sess_init(void) {
  /* The master's connection is never open at fork; make sure. */
  redis = NULL;
  retry_after = 0;
}

void ftps_farm_restart(void) {
  close_redis();
  ftps_ctx_clear_farm();
  pr_memscrub(farm_key, sizeof(farm_key));
  cache_redis = shared_tickets = 0;
}
