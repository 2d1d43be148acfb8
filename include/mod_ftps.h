/*
 * mod_ftps.h -- the glue layer's one header (README: one header per source
 * file for the pure and TLS layers, this one for the whole glue layer): the
 * per-vhost table, the session state and its transitions, and each glue
 * file's entry points.
 *
 * No OpenSSL here or in anything included here: the glue sees the TLS
 * layer only through ftps/ftps_io.h, ftps/ftps_ctx.h and ftps/ftps_cert.h,
 * whose types are opaque (scripts/check-layering enforces it).
 */
#ifndef MOD_FTPS_H
#define MOD_FTPS_H

#include "conf.h"
#include "privs.h"

#include "ftps/ftps_policy.h"
#include "ftps/ftps_prot.h"
#include "ftps/ftps_state.h"
#include "ftps/ftps_ctx.h"
#include "ftps/ftps_warm.h"
#include "ftps/ftps_io.h"
#include "ftps/ftps_sni.h"
#include "ftps/ftps_cert.h"
#include "ftps/ftps_env.h"
#include "ftps/ftps_farmbox.h"
#include "ftps/ftps_ticketkeys.h"
#include "ftps/ftps_keys.h"
#include "ftps/ftps_staple.h"
#include "ftps/ftps_watch.h"
#include "ftps/ftps_certinfo.h"

#define MOD_FTPS_VERSION        "mod_ftps/0.2.0"

#if PROFTPD_VERSION_NUMBER < 0x0001030805
# error "mod_ftps requires ProFTPD 1.3.8 or later"
#endif

extern module ftps_module;

/* The config record mod_core 1.3.8 reads for the PASV address (and the
 * PORT/EPRT checks) of an "ftps" session; FTPSMasqueradeAddress makes it. */
#define FTPS_MASQ_RECORD        "TLSMasqueradeAddress"

/* One per server_rec, built once in the master at postparse (B4). */
typedef struct {
  server_rec *server;
  ftps_policy_t policy;         /* merged and validated */
  ftps_ctx_t *ctx;              /* NULL when FTPSEngine is off */
  const char *unavailable;      /* why FTPS is refused here (a broken file
                                 * at a SIGHUP re-parse), else NULL */
} ftps_vhost_t;

/*
 * The rules in force, resolved from the configuration by ftps_rules.c (the
 * only glue file that looks FTPS directives up at run time), at the moments
 * ftps_session.c asks: session start, vhost switch, USER, PASS.
 */
typedef struct {
  int required;                 /* FTPSRequired (FTPS_REQ_*) */
  int options;                  /* FTPSOptions (FTPS_OPT_*) */
  int user_field;               /* FTPSUserName (FTPS_CERT_FIELD_*) */
  const char *user_oid;         /* ... its dotted OID, or NULL */
  const char *authz_path;       /* FTPSAuthorizedCertificates, or NULL */
  int cert_login;               /* FTPSCertLogin (0/1) */
} ftps_rules_t;

/*
 * The state of this session process (B7, B25). ftps_session.c owns it and
 * is its only writer: every other file reads it through ftps_session() and
 * changes it only by calling a named transition below.
 */
typedef struct {
  ftps_lc_t lc;                 /* lifecycle (ftps_state.c) */
  ftps_prot_state_t prot;       /* RFC 4217 state (ftps_prot.c) */
  const ftps_vhost_t *vhost;    /* policy + context of main_server */
  const ftps_vhost_t *sni_vhost;/* the vhost SNI chose, if any */
  ftps_ctx_t *ctrl_ctx;         /* context the control TLS was made from;
                                 * data connections share its sessions */
  ftps_rules_t rules;           /* session-level rules in force */
  ftps_io_t *ctrl;              /* control TLS; NULL while clear */
  ftps_io_t *data;              /* TLS of the open data connection */
  time_t ctrl_refreshed;        /* last session refresh on the control */
  int upload_truncated;         /* the current upload lacked close_notify */
  int prelogin_errors;          /* failed commands before login */
  ftps_cert_t *client_cert;     /* verified control-channel client cert */
  char client_fp[FTPS_CERT_FP_HEX_LEN]; /* its SHA-256, "" if none */
  char cert_user[FTPS_CERT_NAME_MAX + 1]; /* USER it was mapped to, or "" */
} ftps_sess_t;

/* ftps_session.c: the owner of ftps_sess_t and its transitions. */
const ftps_sess_t *ftps_session(void);
int ftps_session_engine_on(void);
void ftps_session_start(const ftps_vhost_t *vh);
void ftps_session_sni_chosen(const ftps_vhost_t *vh);
int ftps_session_ctrl_secured(ftps_io_t *io, ftps_ctx_t *ctx);
void ftps_session_ctrl_refreshed(void);
int ftps_session_ctrl_cleared(void);
void ftps_session_ctrl_closed(void);
int ftps_session_vhost_followed(const ftps_vhost_t *vh);
void ftps_session_rules_changed(void);
int ftps_session_user_identified(const char *user, int cert_mapped);
void ftps_session_user_refused(void);
int ftps_session_cert_login(void);
int ftps_session_logged_in(void);
int ftps_session_logged_in_now(void);
void ftps_session_prot(const ftps_prot_state_t *next);
int ftps_session_data_secured(ftps_io_t *io);
void ftps_session_upload_truncated(void);
void ftps_session_data_closed(void);
int ftps_session_prelogin_error(void);
void ftps_session_end(void);

/* ftps_conf.c: directive handlers and the per-vhost table. prepare runs on
 * each new context before its warm-up (the module passes the SNI chooser:
 * conf knows nothing of vhost switching). */
extern conftable ftps_conftab[];
typedef int (*ftps_conf_prepare_fn)(ftps_ctx_t *ctx);
int ftps_conf_build_vhosts(ftps_conf_prepare_fn prepare);
int ftps_conf_any_engine(void);
const ftps_vhost_t *ftps_conf_vhost(const server_rec *s);
void ftps_conf_free_vhosts(void);
void ftps_conf_ticket_keys(unsigned int *age, unsigned int *count);
#define FTPS_SESSION_CACHE_OFF       0
#define FTPS_SESSION_CACHE_INTERNAL  1
#define FTPS_SESSION_CACHE_REDIS     2
#define FTPS_DEFAULT_FARM_CACHE_TIMEOUT 300
void ftps_conf_farm(int *cache, long *timeout, int *shared_tickets,
  const char **key_file);

/* ftps_keyring.c: the session-ticket key ring's life in the processes:
 * made (or kept) at postparse and rotated by a timer in the master, locked
 * and never rotated in session processes. */
int ftps_keyring_postparse(void);
int ftps_keyring_install(ftps_ctx_t *ctx);
void ftps_keyring_sess_init(void);
void ftps_keyring_restart(void);

/* ftps_ocsp.c: OCSP responses fetched by the master (FTPSStapling on
 * without FTPSStaplingResponse): at each context's build, then a timer. */
int ftps_ocsp_prepare(ftps_ctx_t *ctx);
void ftps_ocsp_postparse(void);
void ftps_ocsp_restart(void);
int ftps_conf_rebuild_vhosts(ftps_conf_prepare_fn prepare, char *why,
  size_t whylen);
int ftps_conf_build_vhosts_degraded(ftps_conf_prepare_fn prepare);
unsigned int ftps_conf_nvhosts(void);
const ftps_vhost_t *ftps_conf_vhost_at(unsigned int i);
int ftps_conf_reload_interval(void);
typedef void (*ftps_conf_acl_fn)(char *actions, char *allow, char *type,
  char *list, void *arg);
void ftps_conf_each_controls_acl(ftps_conf_acl_fn fn, void *arg);

/* ftps_reload.c: FTPSReload (the master's file watch and timer), reload
 * now, the expiry warnings, and keeping FTPS up across a failed SIGHUP. */
int ftps_reload_postparse(ftps_conf_prepare_fn prepare);
int ftps_reload_now(const char *trigger, char *out, size_t outlen);
void ftps_reload_stop(void);
int ftps_reload_sighup_fallback(ftps_conf_prepare_fn prepare);
void ftps_reload_sess_init(void);

/* ftps_ctrls.c: `ftpdctl ftps reload|certinfo|sessions`, FTPSControlsACLs. */
int ftps_ctrls_register(void);
void ftps_ctrls_apply_acls(void);
void ftps_ctrls_unregister(void);

/* ftps_stats.c: handshake counters shared by the master and its sessions
 * (an anonymous shared mapping made in the master before any fork). */
#define FTPS_STAT_CTRL_HANDSHAKE   0
#define FTPS_STAT_DATA_HANDSHAKE   1
#define FTPS_STAT_CTRL_RESUMED     2
#define FTPS_STAT_DATA_RESUMED     3
#define FTPS_STAT_CTRL_REFUSED     4   /* control handshake failed */
#define FTPS_STAT_DATA_REFUSED     5   /* any refused data connection */
#define FTPS_STAT_AUTH_UNAVAILABLE 6   /* AUTH refused: vhost unavailable */
#define FTPS_STAT_CTRL_LOCAL_HIT   7   /* control resumed, this node */
#define FTPS_STAT_SHARED_HIT       8   /* control resumed from Redis */
#define FTPS_STAT_SHARED_MISS      9   /* asked Redis: nothing usable */
#define FTPS_STAT_SHARED_BAD      10   /* Redis entry failed authentication */
#define FTPS_STAT_REDIS_ERROR     11   /* a Redis operation failed/timed out */
#define FTPS_STAT_NFIXED          12
int ftps_stats_init(void);
void ftps_stats_sess_init(void);
void ftps_stats_count(int which);
void ftps_stats_refusal(const char *reason);
int ftps_stats_report(void (*line)(void *arg, const char *text), void *arg);
/* The farm's Redis state, shared by all processes of this node: returns 1
 * if this call changed it (the caller logs the change once). */
int ftps_stats_redis_state(int up);

/* ftps_farm.c: the farm (issue 12): FTPSSessionCache redis, shared ticket
 * keys, FTPSSharedKeyFile; Redis I/O through ProFTPD's API. */
int ftps_farm_postparse(void);
int ftps_farm_shared_tickets(void);
int ftps_farm_active(void);
int ftps_farm_ticketkeys_sync(unsigned int age, int startup);
void ftps_farm_sess_init(void);
void ftps_farm_restart(void);

/* ftps_cmds.c: AUTH/PBSZ/PROT/CCC and the FTPSRequired gates. */
extern cmdtable ftps_cmdtab[];
int ftps_cmds_sess_init(void);

/* ftps_netio.c: the control and data NetIOs and the control handshake. */
int ftps_netio_register(void);
void ftps_netio_unregister(void);
int ftps_netio_ctrl_accept(void);
int ftps_netio_ctrl_clear(void);
void ftps_netio_discard_pending(void);

/* ftps_rules.c: the one resolver of FTPS directives at run time. */
void ftps_rules_for_session(const ftps_vhost_t *vh, ftps_rules_t *out);
void ftps_rules_for_user(const ftps_vhost_t *vh, const char *user,
  ftps_rules_t *out);
int ftps_rules_required_for_transfer(cmd_rec *cmd, int session_required);
int ftps_rules_validate(server_rec *s, int options, char *err, size_t errlen);

/* ftps_vhost.c: SNI, HOST and vhost switches. */
int ftps_vhost_install_sni(ftps_ctx_t *ctx);
void ftps_vhost_after_handshake(ftps_io_t *io);
void ftps_vhost_update_feat(void);
int ftps_vhost_sess_init(void);

/* ftps_xfer.c: the buffers of each protected transfer, and the control
 * connection's read buffer. */
void ftps_xfer_size(cmd_rec *cmd);
void ftps_xfer_restore(void);
void ftps_xfer_size_ctrl(void);

/* ftps_auth.c: certificate -> user mapping, 232 logins, data identity. */
extern authtable ftps_authtab[];
int ftps_auth_check_user(const char *user, const ftps_rules_t *r,
  const char **why);
int ftps_auth_check_after_pass(const char *user, const ftps_rules_t *r,
  const char **why);
int ftps_auth_data_matches(ftps_io_t *data);
void ftps_auth_pre_pass(cmd_rec *cmd);
void ftps_auth_check_cert_login(cmd_rec *cmd);

/* ftps_facts.c: TLS facts as session notes and environment variables. */
void ftps_facts_ctrl(ftps_io_t *io);

/* ftps_fsio.c: uploads touch no file before the data channel is secured. */
int ftps_fsio_register(void);
void ftps_fsio_arm(cmd_rec *cmd);
int ftps_fsio_commit(void);
void ftps_fsio_disarm(cmd_rec *cmd);
void ftps_fsio_end(void);

/*
 * ftps_log.c: FTPSLog and trace. One line format (docs/mod_ftps.html,
 * FTPSLog): "<severity> <client address>: <message>", after ProFTPD's time,
 * module and PID. Both sinks escape and bound the whole message
 * (ftps/ftps_text.h), so arguments may be peer text as it came.
 */
#define FTPS_LOG_ERROR    0     /* our own failure (cannot create a file) */
#define FTPS_LOG_WARNING  1     /* a refusal, or signs of an attack */
#define FTPS_LOG_INFO     2     /* normal events (handshakes, logins) */

int ftps_log_open(const char *path);
void ftps_log_close(void);
const char *ftps_log_path(void);
void ftps_log(int severity, const char *fmt, ...)
#ifdef __GNUC__
  __attribute__ ((format (printf, 2, 3)))
#endif
  ;
void ftps_log_trace(const char *channel, int level, const char *fmt, ...)
#ifdef __GNUC__
  __attribute__ ((format (printf, 3, 4)))
#endif
  ;

/* ftps_events.c: mod_tls's events (and mod_ftps.* twins) for other
 * modules; see the file's header for each event's data. */
void ftps_events_ctrl_handshake(void);
void ftps_events_handshake_failed(int role, ftps_io_t *io);
void ftps_events_verified(ftps_io_t *io);
void ftps_events_sni(const char *name);

#endif /* MOD_FTPS_H */
