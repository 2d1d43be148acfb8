/*
 * mod_ftps.h -- shared declarations of the glue files (the only files that
 * include ProFTPD headers): the per-vhost table, the per-process session
 * state, and each glue file's entry points.
 */
#ifndef MOD_FTPS_H
#define MOD_FTPS_H

#include "conf.h"
#include "privs.h"

#include "ftps/ftps_policy.h"
#include "ftps/ftps_prot.h"
#include "ftps/ftps_ctx.h"
#include "ftps/ftps_io.h"
#include "ftps/ftps_sni.h"
#include "ftps/ftps_cert.h"

#define MOD_FTPS_VERSION        "mod_ftps/0.1.0"

#if PROFTPD_VERSION_NUMBER < 0x0001030805
# error "mod_ftps requires ProFTPD 1.3.8 or later"
#endif

extern module ftps_module;

/* One per server_rec, built once in the master at postparse (B4). */
typedef struct {
  server_rec *server;
  ftps_policy_t policy;         /* merged and validated */
  SSL_CTX *ctx;                 /* NULL when FTPSEngine is off */
} ftps_vhost_t;

/*
 * The state of this session process (B7: one per process). Resetting it is
 * a single memset.
 */
typedef struct {
  const ftps_vhost_t *vhost;    /* policy + context of main_server */
  const ftps_vhost_t *sni_vhost;/* the vhost SNI chose, if any */
  SSL_CTX *ctrl_ctx;            /* context the control SSL was made from;
                                 * data SSLs share it (and its sessions) */
  int required;                 /* FTPSRequired in force (session level) */
  int options;                  /* FTPSOptions in force (session level) */
  ftps_prot_state_t prot;       /* RFC 4217 state */
  ftps_io_t *ctrl;              /* control TLS; NULL while clear */
  ftps_io_t *data;              /* TLS of the open data connection */
  time_t ctrl_refreshed;        /* last session refresh on the control */
  int logfd;                    /* FTPSLog, -1 if none */
  const char *log_path;         /* the FTPSLog open on logfd */
  int upload_truncated;         /* the current upload lacked close_notify */
  int prelogin_errors;          /* failed commands before login */
  X509 *client_cert;            /* verified control-channel client cert */
  char client_fp[FTPS_CERT_FP_HEX_LEN]; /* its SHA-256, "" if none */
  char *cert_user;              /* USER the certificate was mapped to */
  int cert_login;               /* FTPS_CERT_LOGIN_*: the 232 path */
} ftps_sess_t;

/* Where a certificate (232) login stands. mod_auth marks the session
 * authenticated before it replays PASS and never undoes that when the PASS
 * fails, so a login that is not DONE by the end of USER ends the session. */
#define FTPS_CERT_LOGIN_NONE     0
#define FTPS_CERT_LOGIN_PENDING  1   /* requires_pass said yes; PASS replay */
#define FTPS_CERT_LOGIN_DONE     2   /* the replayed PASS succeeded */

extern ftps_sess_t ftps_sess;

/* ftps_conf.c: directive handlers and the per-vhost table. */
extern conftable ftps_conftab[];
int ftps_conf_build_vhosts(void);
int ftps_conf_any_engine(void);
const ftps_vhost_t *ftps_conf_vhost(const server_rec *s);
void ftps_conf_free_vhosts(void);

/* ftps_cmds.c: AUTH/PBSZ/PROT/CCC and the FTPSRequired gates. */
extern cmdtable ftps_cmdtab[];
int ftps_cmds_sess_init(void);

/* ftps_netio.c: the control and data NetIOs and the control handshake. */
int ftps_netio_register(void);
void ftps_netio_unregister(void);
int ftps_netio_ctrl_accept(void);
int ftps_netio_ctrl_clear(void);
void ftps_netio_discard_pending(void);
void ftps_netio_tune_server(server_rec *s);

/* ftps_rules.c: which FTPSRequired/FTPSOptions apply now. */
void ftps_rules_refresh(void);
int ftps_rules_required_for_user(const char *user);
config_rec *ftps_rules_param_for_user(const char *user, const char *name);
int ftps_rules_required_for_transfer(cmd_rec *cmd);
int ftps_rules_validate(server_rec *s, int options, char *err, size_t errlen);

/* ftps_vhost.c: SNI, HOST and vhost switches. */
int ftps_vhost_install_sni(SSL_CTX *ctx);
void ftps_vhost_after_handshake(SSL *ssl);
void ftps_vhost_update_feat(void);
int ftps_vhost_sess_init(void);

/* ftps_auth.c: certificate -> user mapping, 232 logins, data identity. */
extern authtable ftps_authtab[];
int ftps_auth_check_user(const char *user, const char **why);
int ftps_auth_check_after_pass(const char *user, const char **why);
int ftps_auth_data_matches(SSL *data);
void ftps_auth_pre_pass(cmd_rec *cmd);
void ftps_auth_logged_in(void);
void ftps_auth_check_cert_login(cmd_rec *cmd);

/* ftps_facts.c: TLS facts as session notes and environment variables. */
void ftps_facts_ctrl(SSL *ssl);

/* ftps_fsio.c: uploads touch no file before the data channel is secured. */
int ftps_fsio_register(void);
void ftps_fsio_arm(cmd_rec *cmd);
int ftps_fsio_commit(void);
void ftps_fsio_disarm(cmd_rec *cmd);
void ftps_fsio_end(void);

/* ftps_log.c: FTPSLog and trace. Both escape and bound the whole message
 * (ftps/ftps_text.h), so arguments may be peer text as it came. */
int ftps_log_open(const char *path);
void ftps_log_close(void);
void ftps_log(const char *fmt, ...)
#ifdef __GNUC__
  __attribute__ ((format (printf, 1, 2)))
#endif
  ;
void ftps_log_trace(const char *channel, int level, const char *fmt, ...)
#ifdef __GNUC__
  __attribute__ ((format (printf, 3, 4)))
#endif
  ;

#endif /* MOD_FTPS_H */
