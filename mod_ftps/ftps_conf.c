/*
 * ftps_conf.c -- glue: the set_ftps*() directive handlers and the per-vhost
 * table of {policy, SSL_CTX} built once in the master at postparse (B3, B4).
 *
 * Handlers parse with ftps_policy_parse_*() and store exactly the typed
 * value it returned (B6). ProFTPD's rule applies: server config does not
 * flow into <VirtualHost>; <Global> flows into every server.
 */

#include "mod_ftps.h"

extern xaset_t *server_list;

static const char *trace_channel = "ftps.conf";

/* The per-vhost table (B7: the second and last module-wide global). A
 * reload builds a candidate table in its place and puts the old one back
 * if any vhost fails (all or nothing). */
typedef struct {
  pool *pool;
  ftps_vhost_t *vhosts;
  unsigned int nvhosts;
  const char *verdict;          /* how report() words a failure */
  char why[1024];               /* the first failure, for the caller */
} vtable_t;

static vtable_t table;

static void free_table(vtable_t *t);

/* The set a directive lands in: <Global>/<Anonymous>/... or the server. */
static xaset_t *context_set(cmd_rec *cmd) {
  if (cmd->config != NULL) {
    /* Inside a block: its own set, which does not exist until the first
     * directive is stored in it (so nothing can be a duplicate yet). */
    return cmd->config->subset;
  }
  return cmd->server != NULL ? cmd->server->conf : NULL;
}

static int is_duplicate(cmd_rec *cmd) {
  xaset_t *set = context_set(cmd);

  return set != NULL &&
    find_config(set, CONF_PARAM, cmd->argv[0], FALSE) != NULL;
}

/* mod_ifsession blocks: their contents are parsed in the enclosing context
 * but applied per session; directives that shape the TLS context (built
 * once at startup) cannot work there. */
static int in_ifsession_block(cmd_rec *cmd) {
  static const char *const blocks[] = { "<IfUser>", "<IfGroup>", "<IfClass>",
    "<IfAuthenticated>" };
  config_rec *c;
  unsigned int i;

  for (c = cmd->config; c != NULL; c = c->parent) {
    for (i = 0; c->name != NULL && i < 4; i++) {
      if (strcmp(c->name, blocks[i]) == 0) {
        return TRUE;
      }
    }
  }
  return FALSE;
}

#define CHECK_NOT_IFSESSION(cmd) \
  if (in_ifsession_block(cmd)) \
    CONF_ERROR(cmd, "cannot be used inside <IfUser>, <IfGroup>, <IfClass> " \
      "or <IfAuthenticated>: it shapes the TLS context, which is built once " \
      "at startup")

#define CHECK_NOT_DUPLICATE(cmd) \
  if (is_duplicate(cmd)) \
    CONF_ERROR(cmd, "is duplicate in this context; give it once")

static int *store_int(cmd_rec *cmd, int value) {
  config_rec *c = add_config_param(cmd->argv[0], 1, NULL);

  c->argv[0] = palloc(c->pool, sizeof(int));
  *((int *) c->argv[0]) = value;
  return c->argv[0];
}

/* The one argument, an absolute path, stored as a string. */
MODRET store_absolute_path(cmd_rec *cmd) {
  if (*((char *) cmd->argv[1]) != '/') {
    CONF_ERROR(cmd, pstrcat(cmd->tmp_pool, "'", cmd->argv[1],
      "' is not an absolute path", NULL));
  }
  (void) add_config_param_str(cmd->argv[0], 1, cmd->argv[1]);
  return PR_HANDLED(cmd);
}

#define PARSE_OR_FAIL(cmd, call) \
  do { \
    char err_[256]; \
    size_t errlen_ = sizeof(err_); \
    err_[0] = '\0'; \
    if ((call) < 0) \
      CONF_ERROR(cmd, pstrdup(cmd->tmp_pool, err_)); \
    (void) errlen_; \
  } while (0)

/*
 * The single-value directives whose value is one integer: one handler,
 * dispatched by name to the parser that defines the accepted values (B10).
 */
typedef int (*int_parser_fn)(const char *, int *, char *, size_t);

static const struct {
  const char *name;
  int_parser_fn parse;
} int_directives[] = {
  { "FTPSCertLogin",            ftps_policy_parse_bool },     /* on|off */
  { "FTPSEngine",               ftps_policy_parse_bool },     /* on|off */
  { "FTPSImplicit",             ftps_policy_parse_bool },     /* on|off */
  { "FTPSMaxPreLoginErrors",    ftps_policy_parse_count },    /* n|none */
  { "FTPSSessionTickets",       ftps_policy_parse_bool },     /* on|off */
  { "FTPSStapling",             ftps_policy_parse_bool },     /* on|off */
  { "FTPSTimeoutHandshake",     ftps_policy_parse_timeout },  /* seconds */
  { "FTPSVerifyClient",         ftps_policy_parse_verify },   /* off|optional|on */
  { "FTPSVerifyDepth",          ftps_policy_parse_depth },    /* 0..100 */
};

/* usage: <one of int_directives> value */
MODRET set_ftpsint(cmd_rec *cmd) {
  unsigned int i;
  int v = 0;

  CHECK_ARGS(cmd, 1);
  CHECK_CONF(cmd, CONF_ROOT|CONF_VIRTUAL|CONF_GLOBAL);
  CHECK_NOT_DUPLICATE(cmd);
  if (strcasecmp(cmd->argv[0], "FTPSCertLogin") != 0) {
    CHECK_NOT_IFSESSION(cmd);
  }
  for (i = 0; i < sizeof(int_directives) / sizeof(int_directives[0]); i++) {
    if (strcasecmp(cmd->argv[0], int_directives[i].name) == 0) {
      PARSE_OR_FAIL(cmd, int_directives[i].parse(cmd->argv[1], &v, err_,
        errlen_));
      store_int(cmd, v);
      return PR_HANDLED(cmd);
    }
  }
  CONF_ERROR(cmd, "internal error: no parser for this directive");
}

/* usage: FTPSPassPhraseProvider /path/to/program  (server config) */
MODRET set_ftpspassphraseprovider(cmd_rec *cmd) {
  CHECK_ARGS(cmd, 1);
  CHECK_CONF(cmd, CONF_ROOT);
  CHECK_NOT_DUPLICATE(cmd);
  if (*((char *) cmd->argv[1]) != '/') {
    CONF_ERROR(cmd, pstrcat(cmd->tmp_pool, "'", cmd->argv[1],
      "' is not an absolute path; expected the program's absolute path",
      NULL));
  }
  (void) add_config_param_str(cmd->argv[0], 1, cmd->argv[1]);
  return PR_HANDLED(cmd);
}

/* usage: FTPSSessionTicketKeys [age seconds] [count n] [shared redis]
 * (server config) */
MODRET set_ftpssessionticketkeys(cmd_rec *cmd) {
  unsigned int age = 0, count = 0;
  int argc = cmd->argc - 1, shared = 0;
  config_rec *c;

  CHECK_CONF(cmd, CONF_ROOT);
  CHECK_NOT_DUPLICATE(cmd);
  if (argc >= 1 && strcasecmp(cmd->argv[argc], "shared") == 0) {
    CONF_ERROR(cmd, "'shared' needs a store; expected 'shared redis'");
  }
  if (argc >= 2 && strcasecmp(cmd->argv[argc - 1], "shared") == 0) {
    if (strcasecmp(cmd->argv[argc], "redis") != 0) {
      CONF_ERROR(cmd, pstrcat(cmd->tmp_pool, "unknown shared store '",
        cmd->argv[argc], "'; expected 'shared redis'", NULL));
    }
    shared = 1;
    argc -= 2;
  }
  PARSE_OR_FAIL(cmd, ftps_policy_parse_ticket_keys(argc,
    (char *const *) cmd->argv + 1, &age, &count, err_, errlen_));
  c = add_config_param(cmd->argv[0], 3, NULL, NULL, NULL);
  c->argv[0] = palloc(c->pool, sizeof(unsigned int));
  c->argv[1] = palloc(c->pool, sizeof(unsigned int));
  c->argv[2] = palloc(c->pool, sizeof(int));
  *((unsigned int *) c->argv[0]) = age;
  *((unsigned int *) c->argv[1]) = count;
  *((int *) c->argv[2]) = shared;
  return PR_HANDLED(cmd);
}

/* usage: FTPSSessionCache off|internal|redis [timeout seconds]
 * (server config) */
MODRET set_ftpssessioncache(cmd_rec *cmd) {
  int mode;
  long timeout = FTPS_DEFAULT_FARM_CACHE_TIMEOUT;
  config_rec *c;

  CHECK_CONF(cmd, CONF_ROOT);
  CHECK_NOT_DUPLICATE(cmd);
  if (cmd->argc != 2 && cmd->argc != 4) {
    CONF_ERROR(cmd, "expected 'off', 'internal' or 'redis', optionally "
      "followed by 'timeout seconds'");
  }
  if (strcasecmp(cmd->argv[1], "off") == 0) {
    mode = FTPS_SESSION_CACHE_OFF;
  } else if (strcasecmp(cmd->argv[1], "internal") == 0) {
    mode = FTPS_SESSION_CACHE_INTERNAL;
  } else if (strcasecmp(cmd->argv[1], "redis") == 0) {
    mode = FTPS_SESSION_CACHE_REDIS;
  } else {
    CONF_ERROR(cmd, pstrcat(cmd->tmp_pool, "unknown cache '", cmd->argv[1],
      "'; expected 'off', 'internal' or 'redis'", NULL));
  }
  if (cmd->argc == 4) {
    char *end = NULL;

    if (strcasecmp(cmd->argv[2], "timeout") != 0) {
      CONF_ERROR(cmd, pstrcat(cmd->tmp_pool, "unknown parameter '",
        cmd->argv[2], "'; expected 'timeout seconds'", NULL));
    }
    timeout = strtol(cmd->argv[3], &end, 10);
    if (end == NULL || *end != '\0' || timeout < 1 || timeout > 86400) {
      CONF_ERROR(cmd, pstrcat(cmd->tmp_pool, "bad timeout '", cmd->argv[3],
        "'; expected seconds from 1 to 86400", NULL));
    }
  }
  c = add_config_param(cmd->argv[0], 2, NULL, NULL);
  c->argv[0] = palloc(c->pool, sizeof(int));
  c->argv[1] = palloc(c->pool, sizeof(long));
  *((int *) c->argv[0]) = mode;
  *((long *) c->argv[1]) = timeout;
  return PR_HANDLED(cmd);
}

/* usage: FTPSSharedKeyFile path  (server config) */
MODRET set_ftpssharedkeyfile(cmd_rec *cmd) {
  CHECK_ARGS(cmd, 1);
  CHECK_CONF(cmd, CONF_ROOT);
  CHECK_NOT_DUPLICATE(cmd);
  return store_absolute_path(cmd);
}

/* usage: FTPSCertificate cert-file [key-file]  (repeatable: RSA + ECDSA) */
MODRET set_ftpscertificate(cmd_rec *cmd) {
  config_rec *c;
  int i;

  CHECK_CONF(cmd, CONF_ROOT|CONF_VIRTUAL|CONF_GLOBAL);
  CHECK_NOT_IFSESSION(cmd);
  if (cmd->argc < 2 || cmd->argc > 3) {
    CONF_ERROR(cmd, "expected cert-file [key-file]");
  }
  for (i = 1; i < (int) cmd->argc; i++) {
    if (ftps_policy_cert_source(cmd->argv[i]) < 0) {
      CONF_ERROR(cmd, pstrcat(cmd->tmp_pool, "'", cmd->argv[i],
        "' is not an absolute path or a store URI (file:..., pkcs11:...)",
        NULL));
    }
  }

  c = add_config_param_str(cmd->argv[0], 2, cmd->argv[1],
    cmd->argc == 3 ? cmd->argv[2] : cmd->argv[1]);
  c->flags |= CF_MULTI;
  return PR_HANDLED(cmd);
}

/* usage: FTPSProtocol TLSv1.2|TLSv1.3 ... */
MODRET set_ftpsprotocol(cmd_rec *cmd) {
  int v = 0;

  CHECK_CONF(cmd, CONF_ROOT|CONF_VIRTUAL|CONF_GLOBAL);
  CHECK_NOT_IFSESSION(cmd);
  CHECK_NOT_DUPLICATE(cmd);
  PARSE_OR_FAIL(cmd, ftps_policy_parse_protocols(cmd->argc - 1,
    (char *const *) &cmd->argv[1], &v, err_, errlen_));
  store_int(cmd, v);
  return PR_HANDLED(cmd);
}

/* usage: FTPSCipherSuite tls12-cipher-string [tls13-suites] */
MODRET set_ftpsciphersuite(cmd_rec *cmd) {
  CHECK_CONF(cmd, CONF_ROOT|CONF_VIRTUAL|CONF_GLOBAL);
  CHECK_NOT_IFSESSION(cmd);
  CHECK_NOT_DUPLICATE(cmd);
  if (cmd->argc < 2 || cmd->argc > 3) {
    CONF_ERROR(cmd, "expected an OpenSSL cipher string for TLS 1.2 and "
      "optionally the TLS 1.3 cipher suites");
  }
  /* Validated where it is applied, at postparse (ftps_ctx_build), which
   * also runs under `proftpd -t`. */
  (void) add_config_param_str(cmd->argv[0], 2, cmd->argv[1],
    cmd->argc == 3 ? cmd->argv[2] : NULL);
  return PR_HANDLED(cmd);
}

/* usage: FTPSRequired off|on|control|data|auth|auth+data
 * In <Directory>, <Anonymous> and .ftpaccess only transfers are concerned:
 * off, data (or on, meaning data) are accepted there. */
MODRET set_ftpsrequired(cmd_rec *cmd) {
  int v = 0, in_tree;

  CHECK_ARGS(cmd, 1);
  CHECK_CONF(cmd, CONF_ROOT|CONF_VIRTUAL|CONF_GLOBAL|CONF_ANON|CONF_DIR|
    CONF_DYNDIR);
  CHECK_NOT_DUPLICATE(cmd);
  PARSE_OR_FAIL(cmd, ftps_policy_parse_required(cmd->argv[1], &v, err_,
    errlen_));

  in_tree = check_context(cmd, CONF_ANON|CONF_DIR|CONF_DYNDIR);
  if (in_tree && (v & FTPS_REQ_CTRL) && strcasecmp(cmd->argv[1], "on") != 0) {
    CONF_ERROR(cmd, "only off, data or on apply inside <Directory>, "
      "<Anonymous> and .ftpaccess (they govern transfers in that tree; the "
      "control channel is decided before any directory is known)");
  }
  if (in_tree && (v & FTPS_REQ_AUTH) && !(v & FTPS_REQ_CTRL)) {
    CONF_ERROR(cmd, "only off, data or on apply inside <Directory>, "
      "<Anonymous> and .ftpaccess");
  }
  store_int(cmd, in_tree ? (v & FTPS_REQ_DATA) : v);
  return PR_HANDLED(cmd);
}

/* Inside <IfUser>, <IfGroup> or <IfClass>: a named set of clients. */
static int in_client_block(cmd_rec *cmd) {
  config_rec *c;

  for (c = cmd->config; c != NULL; c = c->parent) {
    if (c->name != NULL && (strcmp(c->name, "<IfUser>") == 0 ||
        strcmp(c->name, "<IfGroup>") == 0 ||
        strcmp(c->name, "<IfClass>") == 0)) {
      return TRUE;
    }
  }
  return FALSE;
}

/* usage: FTPSOptions opt1 ...  (several lines in one context add up, as
 * TLSOptions lines do: one record per context holds their union) */
MODRET set_ftpsoptions(cmd_rec *cmd) {
  xaset_t *set = context_set(cmd);
  config_rec *c;
  int v = 0;

  CHECK_CONF(cmd, CONF_ROOT|CONF_VIRTUAL|CONF_GLOBAL);
  PARSE_OR_FAIL(cmd, ftps_policy_parse_options(cmd->argc - 1,
    (char *const *) &cmd->argv[1], &v, err_, errlen_));
  /* SECURITY: the exemption names the clients it covers, so an audit of
   * the configuration finds every one of them. */
  if ((v & FTPS_OPT_NO_SESSION_REUSE_SAME_ADDR) && !in_client_block(cmd)) {
    CONF_ERROR(cmd, "NoSessionReuseSameAddress applies only inside <IfUser>, "
      "<IfGroup> or <IfClass> (mod_ifsession): name the clients that cannot "
      "resume TLS sessions, e.g. a <Class> of their addresses");
  }
  c = set != NULL ? find_config(set, CONF_PARAM, cmd->argv[0], FALSE) : NULL;
  if (c != NULL) {
    *((int *) c->argv[0]) |= v;
    return PR_HANDLED(cmd);
  }
  store_int(cmd, v);
  return PR_HANDLED(cmd);
}

/* usage: FTPSGroups group ...  (X25519 P-256 ..., preference order) */
MODRET set_ftpsgroups(cmd_rec *cmd) {
  char groups[FTPS_GROUPS_MAX_LEN];

  CHECK_CONF(cmd, CONF_ROOT|CONF_VIRTUAL|CONF_GLOBAL);
  CHECK_NOT_IFSESSION(cmd);
  CHECK_NOT_DUPLICATE(cmd);
  PARSE_OR_FAIL(cmd, ftps_policy_parse_groups(cmd->argc - 1,
    (char *const *) &cmd->argv[1], groups, sizeof(groups), err_, errlen_));
  (void) add_config_param_str(cmd->argv[0], 1, groups);
  return PR_HANDLED(cmd);
}

/*
 * usage: FTPSMasqueradeAddress ip-address|dns-name
 * mod_core answers PASV (and checks PORT/EPRT) with the address of the
 * record "TLSMasqueradeAddress" (argv[0]: a pr_netaddr_t) when the session
 * protocol is "ftps", before MasqueradeAddress: the record mod_tls makes.
 */
MODRET set_ftpsmasqueradeaddress(cmd_rec *cmd) {
  const pr_netaddr_t *addr;
  xaset_t *set = context_set(cmd);
  config_rec *c;

  CHECK_ARGS(cmd, 1);
  CHECK_CONF(cmd, CONF_ROOT|CONF_VIRTUAL|CONF_GLOBAL);
  CHECK_NOT_IFSESSION(cmd);
  if (set != NULL && find_config(set, CONF_PARAM, FTPS_MASQ_RECORD,
      FALSE) != NULL) {
    CONF_ERROR(cmd, "is duplicate in this context; give it once");
  }
  addr = pr_netaddr_get_addr2(cmd->server->pool, cmd->argv[1], NULL,
    PR_NETADDR_GET_ADDR_FL_INCL_DEVICE);
  if (addr == NULL) {
    CONF_ERROR(cmd, pstrcat(cmd->tmp_pool, "cannot resolve '", cmd->argv[1],
      "' to an address; give an IP address or a name that resolves at "
      "startup", NULL));
  }
  c = add_config_param(FTPS_MASQ_RECORD, 2, (void *) addr, NULL);
  c->argv[1] = pstrdup(c->pool, cmd->argv[1]);
  return PR_HANDLED(cmd);
}

/*
 * usage: any mod_tls directive, outside <IfModule mod_tls.c>, without
 * mod_tls loaded: stop with the mod_ftps equivalent instead of ProFTPD's
 * bare "Unknown configuration directive". With mod_tls loaded its own
 * handler takes the line (and postparse refuses the pair of modules).
 */
MODRET set_modtlsdirective(cmd_rec *cmd) {
  const char *instead;

  if (pr_module_exists("mod_tls.c")) {
    return PR_DECLINED(cmd);
  }
  instead = ftps_policy_mod_tls_equivalent(cmd->argv[0]);
  CONF_ERROR(cmd, pstrcat(cmd->tmp_pool, "is a mod_tls directive and "
    "mod_tls is not loaded; with mod_ftps use ",
    instead != NULL ? instead : "the FTPS* directives", " (see "
    "docs/migrating-from-mod_tls.md), or put the line inside "
    "<IfModule mod_tls.c>", NULL));
}

/* usage: FTPSLog path|none */
MODRET set_ftpslog(cmd_rec *cmd) {
  const char *path = NULL;

  CHECK_ARGS(cmd, 1);
  CHECK_CONF(cmd, CONF_ROOT|CONF_VIRTUAL|CONF_GLOBAL);
  CHECK_NOT_IFSESSION(cmd);
  CHECK_NOT_DUPLICATE(cmd);
  PARSE_OR_FAIL(cmd, ftps_policy_parse_log(cmd->argv[1], &path, err_,
    errlen_));
  (void) add_config_param_str(cmd->argv[0], 1, path);
  return PR_HANDLED(cmd);
}

/* usage: FTPSCACertificateFile|FTPSCACertificatePath|FTPSCARevocationFile|
 *        FTPSCARevocationPath|FTPSStaplingResponse absolute-path
 * Read in full at startup, before chroot (see ftps_ctx_build). */
MODRET set_ftpstrustpath(cmd_rec *cmd) {
  CHECK_ARGS(cmd, 1);
  CHECK_CONF(cmd, CONF_ROOT|CONF_VIRTUAL|CONF_GLOBAL);
  CHECK_NOT_IFSESSION(cmd);
  CHECK_NOT_DUPLICATE(cmd);
  return store_absolute_path(cmd);
}

/* usage: FTPSUserName off|CommonName|EmailAddress|UPN|dotted-OID */
MODRET set_ftpsusername(cmd_rec *cmd) {
  char oid[128];
  config_rec *c;
  int field = 0;

  CHECK_ARGS(cmd, 1);
  CHECK_CONF(cmd, CONF_ROOT|CONF_VIRTUAL|CONF_GLOBAL);
  CHECK_NOT_DUPLICATE(cmd);
  oid[0] = '\0';
  PARSE_OR_FAIL(cmd, ftps_cert_parse_field(cmd->argv[1], &field, oid,
    sizeof(oid), err_, errlen_));
  c = add_config_param(cmd->argv[0], 2, NULL, NULL);
  c->argv[0] = palloc(c->pool, sizeof(int));
  *((int *) c->argv[0]) = field;
  c->argv[1] = pstrdup(c->pool, oid);
  return PR_HANDLED(cmd);
}

/* usage: FTPSAuthorizedCertificates path  (~ and %u are expanded) */
MODRET set_ftpsauthorizedcertificates(cmd_rec *cmd) {
  const char *path = cmd->argv[1];

  CHECK_ARGS(cmd, 1);
  CHECK_CONF(cmd, CONF_ROOT|CONF_VIRTUAL|CONF_GLOBAL);
  CHECK_NOT_DUPLICATE(cmd);
  if (*path != '/' && *path != '~') {
    CONF_ERROR(cmd, pstrcat(cmd->tmp_pool, "'", path, "' must be an absolute "
      "path or start with ~ (the user's home)", NULL));
  }
  (void) add_config_param_str(cmd->argv[0], 1, path);
  return PR_HANDLED(cmd);
}

/* usage: FTPSReload off|auto [seconds]  (server config; default auto 60) */
MODRET set_ftpsreload(cmd_rec *cmd) {
  int v = 0;

  CHECK_CONF(cmd, CONF_ROOT);
  CHECK_NOT_DUPLICATE(cmd);
  PARSE_OR_FAIL(cmd, ftps_watch_parse_reload(cmd->argc - 1,
    (char *const *) &cmd->argv[1], &v, err_, errlen_));
  store_int(cmd, v);
  return PR_HANDLED(cmd);
}

/* The ftpdctl actions FTPSControlsACLs may name (ftps_ctrls.c). */
static int is_ctrls_action_list(const char *list) {
  static const char *const actions[] = { "all", "reload", "certinfo",
    "sessions" };
  const char *p = list;

  while (*p != '\0') {
    size_t len = strcspn(p, ","), i, ok = 0;

    for (i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
      ok |= (strlen(actions[i]) == len && strncmp(p, actions[i], len) == 0);
    }
    if (!ok) {
      return FALSE;
    }
    p += len + (p[len] == ',');
  }
  return TRUE;
}

/* usage: FTPSControlsACLs reload|certinfo|sessions|all[,...] allow|deny
 *        user|group name[,...]  (server config; as TLSControlsACLs) */
MODRET set_ftpscontrolsacls(cmd_rec *cmd) {
  config_rec *c;

  CHECK_ARGS(cmd, 4);
  CHECK_CONF(cmd, CONF_ROOT);
  if (!is_ctrls_action_list(cmd->argv[1])) {
    CONF_ERROR(cmd, pstrcat(cmd->tmp_pool, "unknown action in '",
      cmd->argv[1], "'; expected a comma-separated list of reload, "
      "certinfo, sessions, or all", NULL));
  }
  if (strcmp(cmd->argv[2], "allow") != 0 &&
      strcmp(cmd->argv[2], "deny") != 0) {
    CONF_ERROR(cmd, "second parameter must be 'allow' or 'deny'");
  }
  if (strcmp(cmd->argv[3], "user") != 0 &&
      strcmp(cmd->argv[3], "group") != 0) {
    CONF_ERROR(cmd, "third parameter must be 'user' or 'group'");
  }
  c = add_config_param_str(cmd->argv[0], 4, cmd->argv[1], cmd->argv[2],
    cmd->argv[3], cmd->argv[4]);
  c->flags |= CF_MULTI;
  return PR_HANDLED(cmd);
}

conftable ftps_conftab[] = {
  { "FTPSAuthorizedCertificates", set_ftpsauthorizedcertificates, NULL },
  { "FTPSCACertificateFile",    set_ftpstrustpath,              NULL },
  { "FTPSCACertificatePath",    set_ftpstrustpath,              NULL },
  { "FTPSCARevocationFile",     set_ftpstrustpath,              NULL },
  { "FTPSCARevocationPath",     set_ftpstrustpath,              NULL },
  { "FTPSCertLogin",              set_ftpsint,                    NULL },
  { "FTPSCertificate",          set_ftpscertificate,            NULL },
  { "FTPSCipherSuite",          set_ftpsciphersuite,            NULL },
  { "FTPSControlsACLs",         set_ftpscontrolsacls,           NULL },
  { "FTPSEngine",                 set_ftpsint,                    NULL },
  { "FTPSImplicit",               set_ftpsint,                    NULL },
  { "FTPSLog",                  set_ftpslog,                    NULL },
  { "FTPSGroups",               set_ftpsgroups,                 NULL },
  { "FTPSMasqueradeAddress",    set_ftpsmasqueradeaddress,      NULL },
  { "FTPSMaxPreLoginErrors",      set_ftpsint,                    NULL },
  { "FTPSSessionTickets",         set_ftpsint,                    NULL },
  { "FTPSSessionTicketKeys",    set_ftpssessionticketkeys,      NULL },
  { "FTPSSessionCache",         set_ftpssessioncache,           NULL },
  { "FTPSSharedKeyFile",        set_ftpssharedkeyfile,          NULL },
  { "FTPSPassPhraseProvider",   set_ftpspassphraseprovider,     NULL },
  { "FTPSStapling",               set_ftpsint,                    NULL },
  { "FTPSStaplingResponse",     set_ftpstrustpath,              NULL },
  { "FTPSOptions",              set_ftpsoptions,                NULL },
  { "FTPSProtocol",             set_ftpsprotocol,               NULL },
  { "FTPSReload",               set_ftpsreload,                 NULL },
  { "FTPSRequired",             set_ftpsrequired,               NULL },
  { "FTPSTimeoutHandshake",       set_ftpsint,                    NULL },
  { "FTPSUserName",             set_ftpsusername,               NULL },
  { "FTPSVerifyClient",           set_ftpsint,                    NULL },
  { "FTPSVerifyDepth",            set_ftpsint,                    NULL },

  /* mod_tls 1.3.8's directives: a helpful startup error (see above). */
  { "TLSCACertificateFile",       set_modtlsdirective, NULL },
  { "TLSCACertificatePath",       set_modtlsdirective, NULL },
  { "TLSCARevocationFile",        set_modtlsdirective, NULL },
  { "TLSCARevocationPath",        set_modtlsdirective, NULL },
  { "TLSCertificateChainFile",    set_modtlsdirective, NULL },
  { "TLSCipherSuite",             set_modtlsdirective, NULL },
  { "TLSControlsACLs",            set_modtlsdirective, NULL },
  { "TLSCryptoDevice",            set_modtlsdirective, NULL },
  { "TLSDHParamFile",             set_modtlsdirective, NULL },
  { "TLSDSACertificateFile",      set_modtlsdirective, NULL },
  { "TLSDSACertificateKeyFile",   set_modtlsdirective, NULL },
  { "TLSECCertificateFile",       set_modtlsdirective, NULL },
  { "TLSECCertificateKeyFile",    set_modtlsdirective, NULL },
  { "TLSECDHCurve",               set_modtlsdirective, NULL },
  { "TLSEngine",                  set_modtlsdirective, NULL },
  { "TLSLog",                     set_modtlsdirective, NULL },
  { "TLSMasqueradeAddress",       set_modtlsdirective, NULL },
  { "TLSNextProtocol",            set_modtlsdirective, NULL },
  { "TLSOptions",                 set_modtlsdirective, NULL },
  { "TLSPassPhraseProvider",      set_modtlsdirective, NULL },
  { "TLSPKCS12File",              set_modtlsdirective, NULL },
  { "TLSPreSharedKey",            set_modtlsdirective, NULL },
  { "TLSProtocol",                set_modtlsdirective, NULL },
  { "TLSRandomSeed",              set_modtlsdirective, NULL },
  { "TLSRenegotiate",             set_modtlsdirective, NULL },
  { "TLSRequired",                set_modtlsdirective, NULL },
  { "TLSRSACertificateFile",      set_modtlsdirective, NULL },
  { "TLSRSACertificateKeyFile",   set_modtlsdirective, NULL },
  { "TLSServerCipherPreference",  set_modtlsdirective, NULL },
  { "TLSServerInfoFile",          set_modtlsdirective, NULL },
  { "TLSSessionCache",            set_modtlsdirective, NULL },
  { "TLSSessionTicketKeys",       set_modtlsdirective, NULL },
  { "TLSSessionTickets",          set_modtlsdirective, NULL },
  { "TLSStapling",                set_modtlsdirective, NULL },
  { "TLSStaplingCache",           set_modtlsdirective, NULL },
  { "TLSStaplingOptions",         set_modtlsdirective, NULL },
  { "TLSStaplingResponder",       set_modtlsdirective, NULL },
  { "TLSStaplingTimeout",         set_modtlsdirective, NULL },
  { "TLSTimeoutHandshake",        set_modtlsdirective, NULL },
  { "TLSUserName",                set_modtlsdirective, NULL },
  { "TLSVerifyClient",            set_modtlsdirective, NULL },
  { "TLSVerifyDepth",             set_modtlsdirective, NULL },
  { "TLSVerifyOrder",             set_modtlsdirective, NULL },
  { "TLSVerifyServer",            set_modtlsdirective, NULL },
  { NULL }
};

/* ---------------------------------------------------------------- table */

static int get_int(server_rec *s, const char *name) {
  int *v = get_param_ptr(s->conf, name, FALSE);
  return v != NULL ? *v : FTPS_UNSET;
}

/* The values configured for s itself (and through <Global>). */
static void collect_explicit(server_rec *s, ftps_policy_t *p) {
  config_rec *c;

  ftps_policy_init(p);
  p->engine = get_int(s, "FTPSEngine");
  p->implicit = get_int(s, "FTPSImplicit");
  p->protocols = get_int(s, "FTPSProtocol");
  p->required = get_int(s, "FTPSRequired");
  p->options = get_int(s, "FTPSOptions");
  p->handshake_timeout = get_int(s, "FTPSTimeoutHandshake");
  p->prelogin_errors = get_int(s, "FTPSMaxPreLoginErrors");
  p->verify_client = get_int(s, "FTPSVerifyClient");
  p->verify_depth = get_int(s, "FTPSVerifyDepth");
  p->cert_login = get_int(s, "FTPSCertLogin");
  p->user_field = get_int(s, "FTPSUserName");
  p->session_tickets = get_int(s, "FTPSSessionTickets");
  p->groups = get_param_ptr(s->conf, "FTPSGroups", FALSE);
  p->stapling = get_int(s, "FTPSStapling");
  p->stapling_response = get_param_ptr(s->conf, "FTPSStaplingResponse",
    FALSE);
  p->ca_file = get_param_ptr(s->conf, "FTPSCACertificateFile", FALSE);
  p->ca_path = get_param_ptr(s->conf, "FTPSCACertificatePath", FALSE);
  p->crl_file = get_param_ptr(s->conf, "FTPSCARevocationFile", FALSE);
  p->crl_path = get_param_ptr(s->conf, "FTPSCARevocationPath", FALSE);
  p->authorized_certs = find_config(s->conf, CONF_PARAM,
    "FTPSAuthorizedCertificates", FALSE) != NULL;

  c = find_config(s->conf, CONF_PARAM, "FTPSCipherSuite", FALSE);
  if (c != NULL) {
    p->ciphers = c->argv[0];
    p->ciphersuites = c->argv[1];
  }
  c = find_config(s->conf, CONF_PARAM, "FTPSLog", FALSE);
  if (c != NULL) {
    p->log_path = c->argv[0];
    p->log_set = 1;
  }

  c = find_config(s->conf, CONF_PARAM, "FTPSCertificate", FALSE);
  while (c != NULL && p->ncerts < FTPS_MAX_CERTS + 1) {
    if (p->ncerts < FTPS_MAX_CERTS) {
      p->certs[p->ncerts].cert_file = c->argv[0];
      p->certs[p->ncerts].key_file = c->argv[1];
    }
    p->ncerts++;
    c = find_config_next(c, c->next, CONF_PARAM, "FTPSCertificate", FALSE);
  }
}

static const char *port_str(server_rec *s) {
  char buf[16];

  snprintf(buf, sizeof(buf), "%u", (unsigned int) s->ServerPort);
  return pstrdup(table.pool, buf);
}

static void report(server_rec *s, const char *msg) {
  const char *text = pstrcat(table.pool, "server '",
    s->ServerName ? s->ServerName : "(unnamed)", "' (",
    s->ServerAddress ? s->ServerAddress : "*", ":",
    port_str(s), "): ", msg, NULL);

  if (table.why[0] == '\0') {
    sstrncpy(table.why, text, sizeof(table.why));
  }
  pr_log_pri(PR_LOG_ERR, MOD_FTPS_VERSION ": %s: %s",
    table.verdict != NULL ? table.verdict : "fatal", text);
}

/* Who a vhost is, for its session-ID context: sessions made on one vhost
 * never resume on another (see ftps_ctx_build). */
/* Does the configuration make this server part of a farm (docs/farm.md)? */
static int farm_configured(void) {
  int cache = 0, shared = 0;
  long timeout = 0;
  const char *key_file = NULL;

  ftps_conf_farm(&cache, &timeout, &shared, &key_file);
  return cache == FTPS_SESSION_CACHE_REDIS || shared;
}

static const char *vhost_id(server_rec *s) {
  char sid[32];

  if (farm_configured()) {
    /* A farm (docs/farm.md): the same vhost runs on every node, at other
     * addresses and ports, so it is named by its ServerName (the settings
     * it checks are still digested into the context by ftps_ctx_build). */
    return pstrcat(table.pool, "farm|", s->ServerName ? s->ServerName : "",
      NULL);
  }

  snprintf(sid, sizeof(sid), "%u", (unsigned int) s->sid);
  return pstrcat(table.pool, s->ServerName ? s->ServerName : "", "|",
    s->ServerAddress ? s->ServerAddress : "*", "|", port_str(s), "|", sid,
    NULL);
}

/* ProFTPD's main.c: -n (stay in the foreground). */
extern int nodaemon;

/* Encrypted keys of s: FTPSPassPhraseProvider, run as `program
 * ServerName:port key-file`, or else the terminal in the foreground. */
static void set_passphrase_source(server_rec *s) {
  const char *program = get_param_ptr(main_server->conf,
    "FTPSPassPhraseProvider", FALSE);

  ftps_keys_set_source(program, pstrcat(table.pool,
    s->ServerName ? s->ServerName : "", ":", port_str(s), NULL), nodaemon,
    0);
}

static int build_one(server_rec *s, ftps_vhost_t *vh,
    const ftps_policy_t *defaults, ftps_conf_prepare_fn prepare) {
  char err[512];
  ftps_policy_t explicit_;

  vh->server = s;
  collect_explicit(s, &explicit_);
  if (explicit_.ncerts > FTPS_MAX_CERTS) {
    report(s, "FTPSCertificate: given more than twice; give at most one "
      "RSA and one ECDSA certificate");
    return -1;
  }

  (void) ftps_policy_merge(&vh->policy, &explicit_, defaults);
  if (ftps_policy_validate(&vh->policy, err, sizeof(err)) < 0 ||
      ftps_rules_validate(s, vh->policy.options, err, sizeof(err)) < 0) {
    report(s, err);
    return -1;
  }
  if (vh->policy.engine != 1) {
    return 0;
  }
  if (vh->policy.protocols & FTPS_PROTO_LEGACY) {
    pr_log_pri(PR_LOG_WARNING, MOD_FTPS_VERSION ": warning: server '%s' "
      "(%s:%s) accepts %s: TLS 1.0 and 1.1 are deprecated (RFC 8996) and "
      "need OpenSSL security level 0 on this server (FTPSOptions "
      "AllowLegacyProtocols)", s->ServerName ? s->ServerName : "(unnamed)",
      s->ServerAddress ? s->ServerAddress : "*", port_str(s),
      ftps_policy_protocols_str(vh->policy.protocols));
  }

  /* Certificates and keys are read here, once, as root (before chroot). */
  set_passphrase_source(s);
  pr_signals_block();
  PRIVS_ROOT
  vh->ctx = ftps_ctx_build(&vh->policy, vhost_id(s), err, sizeof(err));
  PRIVS_RELINQUISH
  pr_signals_unblock();

  if (vh->ctx == NULL) {
    report(s, err);
    return -1;
  }
  if (prepare != NULL) {
    (void) prepare(vh->ctx);
  }
  ftps_warm_up(vh->ctx);
  pr_trace_msg(trace_channel, 7, "built TLS context for '%s' (%s)",
    s->ServerName, ftps_policy_protocols_str(vh->policy.protocols));
  return 0;
}

/* Build every vhost into the (empty) table. keep_going: a vhost that
 * fails is kept with FTPS unavailable (its reason in ->unavailable). */
static int build_table(ftps_conf_prepare_fn prepare, int keep_going) {
  ftps_policy_t defaults;
  server_rec *s;
  unsigned int n = 0;
  int rc = 0;

  table.pool = make_sub_pool(permanent_pool);
  pr_pool_tag(table.pool, MOD_FTPS_VERSION " vhost table");

  for (s = (server_rec *) server_list->xas_list; s != NULL; s = s->next) {
    n++;
  }
  table.vhosts = pcalloc(table.pool, n * sizeof(ftps_vhost_t));

  ftps_policy_defaults(&defaults);
  for (s = (server_rec *) server_list->xas_list; s != NULL; s = s->next) {
    ftps_vhost_t *vh = &table.vhosts[table.nvhosts++];

    table.why[0] = '\0';
    if (build_one(s, vh, &defaults, prepare) < 0) {
      rc = -1;
      if (!keep_going) {
        return -1;
      }
      vh->ctx = NULL;
      vh->unavailable = pstrdup(table.pool, table.why);
    }
  }
  return rc;
}

int ftps_conf_build_vhosts(ftps_conf_prepare_fn prepare) {
  ftps_conf_free_vhosts();
  return build_table(prepare, FALSE);
}

/*
 * FTPSReload, ftpdctl ftps reload: all or nothing. A candidate table is
 * built while the current one is set aside; only if every vhost builds is
 * it kept (for new sessions: running sessions are other processes and
 * keep the contexts they forked with). Else the current one comes back.
 */
int ftps_conf_rebuild_vhosts(ftps_conf_prepare_fn prepare, char *why,
    size_t whylen) {
  vtable_t current = table;
  int rc;

  memset(&table, 0, sizeof(table));
  table.verdict = "reload refused, previous certificates kept";
  rc = build_table(prepare, FALSE);
  if (why != NULL && whylen > 0) {
    sstrncpy(why, rc < 0 ? table.why : "", whylen);
  }
  if (rc < 0) {
    ftps_conf_free_vhosts();
    table = current;
    return -1;
  }
  table.verdict = NULL;
  free_table(&current);
  return 0;
}

/*
 * After a SIGHUP re-parse that failed: the module was unloaded, so the
 * previous contexts are gone (their callbacks pointed into the unloaded
 * code). Build again, keeping every vhost that builds and marking the
 * others unavailable (AUTH refused, FTPSRequired still enforced). Returns
 * how many vhosts are unavailable.
 */
int ftps_conf_build_vhosts_degraded(ftps_conf_prepare_fn prepare) {
  unsigned int i, bad = 0;

  ftps_conf_free_vhosts();
  table.verdict = "after SIGHUP, FTPS unavailable";
  (void) build_table(prepare, TRUE);
  table.verdict = NULL;
  for (i = 0; i < table.nvhosts; i++) {
    bad += table.vhosts[i].unavailable != NULL;
  }
  return (int) bad;
}

unsigned int ftps_conf_nvhosts(void) {
  return table.nvhosts;
}

const ftps_vhost_t *ftps_conf_vhost_at(unsigned int i) {
  return i < table.nvhosts ? &table.vhosts[i] : NULL;
}

int ftps_conf_any_engine(void) {
  unsigned int i;

  for (i = 0; i < table.nvhosts; i++) {
    if (table.vhosts[i].policy.engine == 1) {
      return TRUE;
    }
  }
  return FALSE;
}

const ftps_vhost_t *ftps_conf_vhost(const server_rec *s) {
  unsigned int i;

  for (i = 0; i < table.nvhosts; i++) {
    if (table.vhosts[i].server == s) {
      return &table.vhosts[i];
    }
  }
  return NULL;
}

/* FTPSSessionTicketKeys of the main server, or the defaults. */
void ftps_conf_ticket_keys(unsigned int *age, unsigned int *count) {
  config_rec *c = find_config(main_server->conf, CONF_PARAM,
    "FTPSSessionTicketKeys", FALSE);

  *age = FTPS_DEFAULT_TICKET_KEY_AGE;
  *count = FTPS_DEFAULT_TICKET_KEY_COUNT;
  if (c != NULL) {
    *age = *((unsigned int *) c->argv[0]);
    *count = *((unsigned int *) c->argv[1]);
  }
}

/* FTPSSessionCache of the main server (mode, timeout), FTPSSharedKeyFile
 * and the 'shared redis' of FTPSSessionTicketKeys. */
void ftps_conf_farm(int *cache, long *timeout, int *shared_tickets,
    const char **key_file) {
  config_rec *c;

  *cache = FTPS_SESSION_CACHE_INTERNAL;
  *timeout = FTPS_DEFAULT_FARM_CACHE_TIMEOUT;
  *shared_tickets = 0;
  *key_file = NULL;
  c = find_config(main_server->conf, CONF_PARAM, "FTPSSessionCache", FALSE);
  if (c != NULL) {
    *cache = *((int *) c->argv[0]);
    *timeout = *((long *) c->argv[1]);
  }
  c = find_config(main_server->conf, CONF_PARAM, "FTPSSessionTicketKeys",
    FALSE);
  if (c != NULL) {
    *shared_tickets = *((int *) c->argv[2]);
  }
  c = find_config(main_server->conf, CONF_PARAM, "FTPSSharedKeyFile", FALSE);
  if (c != NULL) {
    *key_file = c->argv[0];
  }
}

void ftps_conf_free_vhosts(void) {
  free_table(&table);
}

static void free_table(vtable_t *t) {
  unsigned int i;

  for (i = 0; i < t->nvhosts; i++) {
    ftps_ctx_free(t->vhosts[i].ctx);
  }
  if (t->pool != NULL) {
    destroy_pool(t->pool);
  }
  memset(t, 0, sizeof(*t));
}

/* FTPSReload's interval in seconds, 0 for off (main server only). */
int ftps_conf_reload_interval(void) {
  int *v = get_param_ptr(main_server->conf, "FTPSReload", FALSE);

  return v != NULL ? *v : FTPS_RELOAD_DEFAULT_SECS;
}

/* Each FTPSControlsACLs line: fn(actions, allow|deny, user|group, list). */
void ftps_conf_each_controls_acl(ftps_conf_acl_fn fn, void *arg) {
  config_rec *c;

  c = find_config(main_server->conf, CONF_PARAM, "FTPSControlsACLs", FALSE);
  while (c != NULL) {
    fn(c->argv[0], c->argv[1], c->argv[2], c->argv[3], arg);
    c = find_config_next(c, c->next, CONF_PARAM, "FTPSControlsACLs", FALSE);
  }
}
