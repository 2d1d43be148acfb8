/*
 * ftps_prot.h -- the RFC 4217 / RFC 2228 command state machine:
 * (state, AUTH|PBSZ|PROT|CCC, argument) -> reply code + next state + action,
 * and the FTPSRequired gates that run before other commands.
 *
 * PURE: libc only (house style B2). Replies never echo client input.
 */
#ifndef FTPS_PROT_H
#define FTPS_PROT_H

/* Reply codes used by this module (RFC 959, RFC 2228, RFC 4217). */
#define FTPS_R_200  200
#define FTPS_R_234  234   /* AUTH accepted, handshake follows */
#define FTPS_R_421  421
#define FTPS_R_425  425
#define FTPS_R_501  501   /* syntax error in parameters */
#define FTPS_R_502  502   /* command not implemented (FTPS off here) */
#define FTPS_R_503  503   /* bad sequence of commands */
#define FTPS_R_504  504   /* parameter not implemented */
#define FTPS_R_521  521   /* data connection cannot be opened with this PROT */
#define FTPS_R_530  530
#define FTPS_R_533  533   /* command protection level denied (CCC in clear) */
#define FTPS_R_534  534   /* request denied for policy reasons */
#define FTPS_R_536  536   /* requested PROT level not supported */

typedef enum {
  FTPS_CMD_AUTH = 0,
  FTPS_CMD_PBSZ,
  FTPS_CMD_PROT,
  FTPS_CMD_CCC
} ftps_cmd_t;

/* Control channel. */
#define FTPS_CTRL_CLEAR    0   /* never protected */
#define FTPS_CTRL_TLS      1   /* protected (explicit AUTH or implicit) */
#define FTPS_CTRL_CLEARED  2   /* protected, then CCC */

/* What the glue must do after sending the reply. */
#define FTPS_ACT_NONE       0
#define FTPS_ACT_HANDSHAKE  1  /* send the reply in clear, then accept TLS */
#define FTPS_ACT_CCC        2  /* send the reply protected, then shut TLS down */

typedef struct {
  int ctrl;          /* FTPS_CTRL_* */
  int pbsz;          /* PBSZ accepted */
  char prot;         /* 'C' or 'P': data channel protection */
} ftps_prot_state_t;

typedef struct {
  int engine;        /* FTPS on for this vhost */
  int logged_in;
  int required;      /* FTPS_REQ_* in force for this command */
} ftps_prot_env_t;

typedef struct {
  int code;                 /* FTPS_R_* */
  const char *msg;          /* fixed text, never client data */
  int action;               /* FTPS_ACT_* */
  ftps_prot_state_t next;   /* state after the reply */
} ftps_prot_result_t;

/* Fresh state; implicit mode starts protected, with PBSZ 0 and PROT P. */
void ftps_prot_init(ftps_prot_state_t *st, int implicit);

/* One AUTH/PBSZ/PROT/CCC command. arg may be NULL (no argument).
 * Returns 0 and fills *res; -1/EINVAL on NULL arguments or unknown cmd. */
int ftps_prot_step(const ftps_prot_state_t *st, const ftps_prot_env_t *env,
  ftps_cmd_t cmd, const char *arg, ftps_prot_result_t *res);

/* AUTH mechanism -> 1 if it implies PROT P (SSL, TLS-P), 0 if not (TLS,
 * TLS-C), -1 unknown. Case-insensitive (RFC 2228 §3). */
int ftps_prot_auth_mech(const char *mech);

/*
 * Gate for any other command on the control channel (FTPSRequired control /
 * auth). Returns 0 if allowed, else a reply code with *msg set.
 * cmd is the upper-case command name.
 */
int ftps_prot_gate_ctrl(const ftps_prot_state_t *st, int required,
  const char *cmd, const char **msg);

/* 1 if cmd opens a data connection (APPE LIST MLSD NLST RETR STOR STOU). */
int ftps_prot_is_transfer(const char *cmd);

/* Gate for transfer commands (FTPSRequired data): 0 or FTPS_R_521 + *msg. */
int ftps_prot_gate_data(const ftps_prot_state_t *st, int required,
  const char **msg);

#endif /* FTPS_PROT_H */
