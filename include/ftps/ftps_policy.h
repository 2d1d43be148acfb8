/*
 * ftps_policy.h -- the typed TLS policy of one virtual host, its defaults,
 * merge, cross-directive validation and every directive-value parser.
 *
 * PURE: libc only. No OpenSSL, no ProFTPD headers (house style B2).
 * Each parser is the single place its rule is validated (B6): the glue
 * stores exactly what the parser produced and the runtime uses only that.
 */
#ifndef FTPS_POLICY_H
#define FTPS_POLICY_H

#include <stddef.h>

/* "Not configured here": the merge replaces it with the compiled default. */
#define FTPS_UNSET              (-1)

/* FTPSRequired bits. */
#define FTPS_REQ_AUTH           0x01  /* AUTH before USER/PASS/ACCT */
#define FTPS_REQ_CTRL           0x02  /* AUTH before every command (implies AUTH) */
#define FTPS_REQ_DATA           0x04  /* PROT P before any transfer */

/* FTPSProtocol bits. */
#define FTPS_PROTO_TLS12        0x01
#define FTPS_PROTO_TLS13        0x02
#define FTPS_PROTO_ALL          (FTPS_PROTO_TLS12|FTPS_PROTO_TLS13)
/* RFC 8996 deprecated these: only with FTPSOptions AllowLegacyProtocols. */
#define FTPS_PROTO_TLS10        0x04
#define FTPS_PROTO_TLS11        0x08
#define FTPS_PROTO_LEGACY       (FTPS_PROTO_TLS10|FTPS_PROTO_TLS11)
#define FTPS_PROTO_ANY          (FTPS_PROTO_ALL|FTPS_PROTO_LEGACY)

/* FTPSOptions bits. */
#define FTPS_OPT_NO_SESSION_REUSE_REQUIRED  0x0001
#define FTPS_OPT_ALLOW_UNKNOWN_SNI          0x0002  /* unknown SNI: default vhost */
#define FTPS_OPT_ALLOW_PER_USER             0x0004  /* group rules after PASS */
#define FTPS_OPT_ALLOW_ANY_ALPN             0x0008  /* ALPACA: accept foreign ALPN */
#define FTPS_OPT_STD_ENV_VARS               0x0010  /* export FTPS_* environment */
#define FTPS_OPT_KERNEL_TLS                 0x0020  /* data records via kTLS */
/* A data connection that did not resume is accepted from the control
 * connection's address with its client certificate (ftps_policy_data_verdict);
 * only inside <IfUser>, <IfGroup> or <IfClass>. */
#define FTPS_OPT_NO_SESSION_REUSE_SAME_ADDR 0x0040
/* FTPSProtocol may name TLSv1 and TLSv1.1 (RFC 8996: deprecated). */
#define FTPS_OPT_ALLOW_LEGACY_PROTOCOLS     0x0080
/* TLS_CLIENT_CERT and TLS_CLIENT_CERT_CHAIN<n> (PEM) in the environment. */
#define FTPS_OPT_EXPORT_CERT_DATA           0x0100

/* FTPSVerifyClient. */
#define FTPS_VERIFY_OFF         0
#define FTPS_VERIFY_OPTIONAL    1   /* ask; a certificate given must verify */
#define FTPS_VERIFY_ON          2   /* a valid certificate is required */

/* One RSA and one ECDSA certificate may be configured together. */
#define FTPS_MAX_CERTS          2

/* Compiled defaults, recorded once (B15). */
#define FTPS_DEFAULT_ENGINE             0
#define FTPS_DEFAULT_IMPLICIT           0
#define FTPS_DEFAULT_PROTOCOLS          FTPS_PROTO_ALL
#define FTPS_DEFAULT_REQUIRED           0
#define FTPS_DEFAULT_OPTIONS            0
#define FTPS_DEFAULT_HANDSHAKE_TIMEOUT  30
#define FTPS_DEFAULT_PRELOGIN_ERRORS    10   /* ALPACA: failing commands before login */
#define FTPS_DEFAULT_VERIFY_CLIENT      FTPS_VERIFY_OFF
#define FTPS_DEFAULT_VERIFY_DEPTH       9
#define FTPS_DEFAULT_SESSION_TICKETS    1    /* TLS 1.2 tickets on */
#define FTPS_DEFAULT_STAPLING           0    /* no OCSP staple */

/* FTPSGroups: at most this many names, the joined list at most this long. */
#define FTPS_MAX_GROUPS         16
#define FTPS_GROUPS_MAX_LEN     256
#define FTPS_MAX_VERIFY_DEPTH           100

typedef struct {
  const char *cert_file;        /* PEM: leaf, then optional intermediates */
  const char *key_file;         /* PEM private key; defaults to cert_file */
} ftps_cert_pair_t;

typedef struct {
  int engine;                   /* FTPS_UNSET, 0, 1 */
  int implicit;                 /* FTPS_UNSET, 0, 1 */
  int protocols;                /* FTPS_UNSET or FTPS_PROTO_* mask */
  const char *ciphers;          /* TLS <= 1.2 cipher string; NULL: OpenSSL default */
  const char *ciphersuites;     /* TLS 1.3 suites; NULL: OpenSSL default */
  int required;                 /* FTPS_UNSET or FTPS_REQ_* mask */
  int options;                  /* FTPS_UNSET or FTPS_OPT_* mask */
  int handshake_timeout;        /* FTPS_UNSET or seconds, 0 = none */
  int prelogin_errors;          /* FTPS_UNSET or count, 0 = unlimited */
  const char *log_path;         /* NULL: no FTPSLog ("none" parses to NULL) */
  int log_set;                  /* FTPSLog given explicitly */
  int ncerts;
  ftps_cert_pair_t certs[FTPS_MAX_CERTS];

  /* Client certificates (FTPSVerifyClient and friends). */
  int verify_client;            /* FTPS_UNSET or FTPS_VERIFY_* */
  int verify_depth;             /* FTPS_UNSET or 0..FTPS_MAX_VERIFY_DEPTH */
  const char *ca_file;          /* FTPSCACertificateFile */
  const char *ca_path;          /* FTPSCACertificatePath */
  const char *crl_file;         /* FTPSCARevocationFile */
  const char *crl_path;         /* FTPSCARevocationPath */
  int cert_login;               /* FTPSCertLogin at server level, or UNSET */
  int user_field;               /* FTPSUserName at server level, or UNSET */
  int authorized_certs;         /* FTPSAuthorizedCertificates given (0/1) */

  const char *groups;           /* FTPSGroups "X25519:P-256"; NULL: OpenSSL's */
  int session_tickets;          /* FTPSSessionTickets: FTPS_UNSET, 0, 1 */

  /* OCSP stapling (issue 11). */
  int stapling;                 /* FTPSStapling: FTPS_UNSET, 0, 1 */
  const char *stapling_response; /* FTPSStaplingResponse (DER file) */
} ftps_policy_t;

/* Every field FTPS_UNSET / NULL / 0 certificates. */
void ftps_policy_init(ftps_policy_t *p);

/* The compiled defaults above. */
void ftps_policy_defaults(ftps_policy_t *p);

/* out = explicit, with every unset field taken from defaults. 0 or -1/EINVAL. */
int ftps_policy_merge(ftps_policy_t *out, const ftps_policy_t *explicit_,
  const ftps_policy_t *defaults);

/* Cross-directive checks on a merged policy. 0, or -1/EINVAL with a message
 * naming both directives in err. */
int ftps_policy_validate(const ftps_policy_t *p, char *err, size_t errlen);

/*
 * Directive-value parsers. Each returns 0 and fills *out, or -1 with errno
 * EINVAL and a message in err saying what was wrong and what is accepted.
 */
int ftps_policy_parse_bool(const char *s, int *out, char *err, size_t errlen);
int ftps_policy_parse_protocols(int argc, char *const *argv, int *out,
  char *err, size_t errlen);
int ftps_policy_parse_required(const char *s, int *out, char *err,
  size_t errlen);
int ftps_policy_parse_options(int argc, char *const *argv, int *out,
  char *err, size_t errlen);
int ftps_policy_parse_timeout(const char *s, int *out, char *err,
  size_t errlen);

/*
 * FTPSGroups: key-exchange group names in preference order, one per
 * argument or colon-separated (X25519, X448, P-256, P-384, P-521,
 * ffdhe2048 ... ffdhe8192, and OpenSSL's aliases prime256v1, secp384r1,
 * secp521r1). Writes OpenSSL's list form "X25519:P-256" into out.
 */
int ftps_policy_parse_groups(int argc, char *const *argv, char *out,
  size_t outlen, char *err, size_t errlen);

/*
 * A directive of mod_tls: what to write instead with mod_ftps ("FTPSEngine",
 * "FTPSCertificate cert-file key-file", or a sentence saying why none is
 * needed), or NULL if name is not one of mod_tls 1.3.8's directives.
 */
const char *ftps_policy_mod_tls_equivalent(const char *name);

/*
 * FTPSSessionTicketKeys [age seconds] [count n], in any order, each at most
 * once: fills both (the defaults for what is not given).
 */
#define FTPS_DEFAULT_TICKET_KEY_AGE     43200   /* 12 hours */
#define FTPS_DEFAULT_TICKET_KEY_COUNT   3
#define FTPS_MAX_TICKET_KEY_AGE         604800  /* a week */
#define FTPS_MAX_TICKET_KEY_COUNT       32      /* FTPS_TICKETKEYS_MAX_COUNT */
int ftps_policy_parse_ticket_keys(int argc, char *const *argv,
  unsigned int *age, unsigned int *count, char *err, size_t errlen);

/*
 * FTPSCertificate: what a cert-file or key-file argument names: an absolute
 * PEM path, an absolute PKCS#12 path (.p12, .pfx), or an OpenSSL store URI
 * ("scheme:rest", e.g. file:/etc/x.pem, pkcs11:token=...). -1/EINVAL for
 * anything else (a relative path, an empty string, "x:").
 */
#define FTPS_CERT_SRC_PEM     1
#define FTPS_CERT_SRC_PKCS12  2
#define FTPS_CERT_SRC_URI     3
int ftps_policy_cert_source(const char *s);

/* FTPSMaxPreLoginErrors: a count, 0 or "none" = unlimited. */
int ftps_policy_parse_count(const char *s, int *out, char *err,
  size_t errlen);

/*
 * The FTPSRequired bits for a transfer: the control bits of the session
 * (user/class level) and the data bit of the deepest <Directory>,
 * <Anonymous> or .ftpaccess setting for the target path, when there is one
 * (dir_required FTPS_UNSET: none). The most specific setting wins.
 */
int ftps_policy_required_for_path(int session_required, int dir_required);

/* FTPSVerifyClient: off|optional|on. */
int ftps_policy_parse_verify(const char *s, int *out, char *err,
  size_t errlen);

/* FTPSVerifyDepth: 0..FTPS_MAX_VERIFY_DEPTH. */
int ftps_policy_parse_depth(const char *s, int *out, char *err,
  size_t errlen);

/* FTPSLog: an absolute path, or "none" (*out = NULL). */
int ftps_policy_parse_log(const char *s, const char **out, char *err,
  size_t errlen);

/*
 * Whether a protected data connection is let through (RFC 4217 §10.2), from
 * what the glue observed after its handshake:
 *   resumed    it resumed a session bound to this FTP session's control
 *              connection (ftps_ctx_check_reuse() == FTPS_REUSE_OK);
 *   same_addr  its peer address equals the control connection's;
 *   cert_ok    the control connection had no client certificate, or this
 *              connection presented the same one.
 * The strongest rule the FTPSOptions in force allow decides.
 */
typedef struct {
  int resumed;
  int same_addr;
  int cert_ok;
} ftps_data_facts_t;

#define FTPS_DATA_ACCEPT            0   /* resumed (the default rule) */
#define FTPS_DATA_ACCEPT_NO_REUSE   1   /* NoSessionReuseRequired */
#define FTPS_DATA_ACCEPT_SAME_ADDR  2   /* NoSessionReuseSameAddress */
#define FTPS_DATA_REFUSE_REUSE      3   /* did not resume */
#define FTPS_DATA_REFUSE_ADDR       4   /* exempted, but another address */
#define FTPS_DATA_REFUSE_CERT       5   /* another client certificate */

/* A FTPS_DATA_* verdict; -1/EINVAL for NULL facts. */
int ftps_policy_data_verdict(int options, const ftps_data_facts_t *f);

/* "TLSv1.2 TLSv1.3" for a mask (lowest first), for logs; static storage
 * ("none" for no protocol). */
const char *ftps_policy_protocols_str(int mask);

#endif /* FTPS_POLICY_H */
