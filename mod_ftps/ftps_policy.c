/*
 * ftps_policy.c -- owns the typed per-vhost TLS policy: defaults, merge,
 * cross-directive validation and every directive-value parser.
 *
 * PURE: libc only; must not include OpenSSL or ProFTPD headers (B2).
 * The glue (ftps_conf.c) stores what these parsers return, nothing else (B6).
 */

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ftps/ftps_policy.h"

/* Longest handshake timeout accepted: one day. */
#define FTPS_MAX_HANDSHAKE_TIMEOUT  86400

typedef struct {
  const char *name;
  int value;
} ftps_name_t;

/* Lowest first: ftps_policy_protocols_str() and the range check walk it. */
static const ftps_name_t protocol_names[] = {
  { "TLSv1",   FTPS_PROTO_TLS10 },
  { "TLSv1.1", FTPS_PROTO_TLS11 },
  { "TLSv1.2", FTPS_PROTO_TLS12 },
  { "TLSv1.3", FTPS_PROTO_TLS13 },
};

/* The key-exchange groups of OpenSSL 3.0's TLS layer (RFC 8446 §4.2.7,
 * RFC 7919); the names it accepts in SSL_CTX_set1_groups_list(). */
static const char *const group_names[] = {
  "X25519", "X448", "P-256", "P-384", "P-521", "prime256v1", "secp384r1",
  "secp521r1", "ffdhe2048", "ffdhe3072", "ffdhe4096", "ffdhe6144",
  "ffdhe8192",
};

static const ftps_name_t required_names[] = {
  { "off",       0 },
  { "on",        FTPS_REQ_AUTH|FTPS_REQ_CTRL|FTPS_REQ_DATA },
  { "control",   FTPS_REQ_AUTH|FTPS_REQ_CTRL },
  { "ctrl",      FTPS_REQ_AUTH|FTPS_REQ_CTRL },
  { "data",      FTPS_REQ_DATA },
  { "auth",      FTPS_REQ_AUTH },
  { "auth+data", FTPS_REQ_AUTH|FTPS_REQ_DATA },
};

static const ftps_name_t option_names[] = {
  { "NoSessionReuseRequired", FTPS_OPT_NO_SESSION_REUSE_REQUIRED },
  { "AllowUnknownSNI",        FTPS_OPT_ALLOW_UNKNOWN_SNI },
  { "AllowPerUser",           FTPS_OPT_ALLOW_PER_USER },
  { "AllowAnyALPN",           FTPS_OPT_ALLOW_ANY_ALPN },
  { "StdEnvVars",             FTPS_OPT_STD_ENV_VARS },
  { "KernelTLS",              FTPS_OPT_KERNEL_TLS },
  { "NoSessionReuseSameAddress", FTPS_OPT_NO_SESSION_REUSE_SAME_ADDR },
  { "AllowLegacyProtocols",   FTPS_OPT_ALLOW_LEGACY_PROTOCOLS },
  { "ExportCertData",         FTPS_OPT_EXPORT_CERT_DATA },
};

#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))

static int fail(char *err, size_t errlen, const char *fmt, ...) {
  if (err != NULL && errlen > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  errno = EINVAL;
  return -1;
}

static const ftps_name_t *lookup(const ftps_name_t *tab, size_t n,
    const char *s) {
  size_t i;

  for (i = 0; i < n; i++) {
    if (strcasecmp(tab[i].name, s) == 0) {
      return &tab[i];
    }
  }
  return NULL;
}

void ftps_policy_init(ftps_policy_t *p) {
  if (p == NULL) {
    return;
  }
  memset(p, 0, sizeof(*p));
  p->engine = FTPS_UNSET;
  p->implicit = FTPS_UNSET;
  p->protocols = FTPS_UNSET;
  p->required = FTPS_UNSET;
  p->options = FTPS_UNSET;
  p->handshake_timeout = FTPS_UNSET;
  p->prelogin_errors = FTPS_UNSET;
  p->verify_client = FTPS_UNSET;
  p->verify_depth = FTPS_UNSET;
  p->cert_login = FTPS_UNSET;
  p->user_field = FTPS_UNSET;
  p->session_tickets = FTPS_UNSET;
  p->stapling = FTPS_UNSET;
}

void ftps_policy_defaults(ftps_policy_t *p) {
  if (p == NULL) {
    return;
  }
  ftps_policy_init(p);
  p->engine = FTPS_DEFAULT_ENGINE;
  p->implicit = FTPS_DEFAULT_IMPLICIT;
  p->protocols = FTPS_DEFAULT_PROTOCOLS;
  p->required = FTPS_DEFAULT_REQUIRED;
  p->options = FTPS_DEFAULT_OPTIONS;
  p->handshake_timeout = FTPS_DEFAULT_HANDSHAKE_TIMEOUT;
  p->prelogin_errors = FTPS_DEFAULT_PRELOGIN_ERRORS;
  p->verify_client = FTPS_DEFAULT_VERIFY_CLIENT;
  p->verify_depth = FTPS_DEFAULT_VERIFY_DEPTH;
  p->cert_login = 0;
  p->user_field = 0;
  p->session_tickets = FTPS_DEFAULT_SESSION_TICKETS;
  p->stapling = FTPS_DEFAULT_STAPLING;
}

static int pick_int(int explicit_, int dflt) {
  return explicit_ != FTPS_UNSET ? explicit_ : dflt;
}

int ftps_policy_merge(ftps_policy_t *out, const ftps_policy_t *explicit_,
    const ftps_policy_t *defaults) {
  ftps_policy_t m;

  if (out == NULL || explicit_ == NULL || defaults == NULL) {
    errno = EINVAL;
    return -1;
  }

  m = *explicit_;
  m.engine = pick_int(explicit_->engine, defaults->engine);
  m.implicit = pick_int(explicit_->implicit, defaults->implicit);
  m.protocols = pick_int(explicit_->protocols, defaults->protocols);
  m.required = pick_int(explicit_->required, defaults->required);
  m.options = pick_int(explicit_->options, defaults->options);
  m.handshake_timeout = pick_int(explicit_->handshake_timeout,
    defaults->handshake_timeout);
  m.prelogin_errors = pick_int(explicit_->prelogin_errors,
    defaults->prelogin_errors);
  m.verify_client = pick_int(explicit_->verify_client,
    defaults->verify_client);
  m.verify_depth = pick_int(explicit_->verify_depth, defaults->verify_depth);
  m.cert_login = pick_int(explicit_->cert_login, defaults->cert_login);
  m.user_field = pick_int(explicit_->user_field, defaults->user_field);
  m.session_tickets = pick_int(explicit_->session_tickets,
    defaults->session_tickets);
  m.stapling = pick_int(explicit_->stapling, defaults->stapling);
  if (m.stapling_response == NULL) {
    m.stapling_response = defaults->stapling_response;
  }
  if (m.groups == NULL) {
    m.groups = defaults->groups;
  }
  if (m.ciphers == NULL) {
    m.ciphers = defaults->ciphers;
  }
  if (m.ciphersuites == NULL) {
    m.ciphersuites = defaults->ciphersuites;
  }
  if (!explicit_->log_set) {
    m.log_path = defaults->log_path;
    m.log_set = defaults->log_set;
  }
  if (m.ncerts == 0) {
    m.ncerts = defaults->ncerts;
    memcpy(m.certs, defaults->certs, sizeof(m.certs));
  }

  *out = m;
  return 0;
}

static int validate_client_certs(const ftps_policy_t *p, char *err,
    size_t errlen) {
  int verify = p->verify_client > 0;

  if (verify && p->ca_file == NULL && p->ca_path == NULL) {
    return fail(err, errlen, "'FTPSVerifyClient %s' needs "
      "'FTPSCACertificateFile' or 'FTPSCACertificatePath' (the CAs trusted "
      "for client certificates)", p->verify_client == FTPS_VERIFY_ON ? "on" :
      "optional");
  }
  if (!verify && p->cert_login == 1) {
    return fail(err, errlen, "'FTPSCertLogin on' needs 'FTPSVerifyClient on' "
      "or 'optional' (only a verified certificate may log a user in)");
  }
  if (!verify && p->authorized_certs) {
    return fail(err, errlen, "'FTPSAuthorizedCertificates' needs "
      "'FTPSVerifyClient on' or 'optional' (it lists verified certificates)");
  }
  if (!verify && p->user_field > 0) {
    return fail(err, errlen, "'FTPSUserName' needs 'FTPSVerifyClient on' or "
      "'optional' (only a verified certificate can name a user)");
  }
  if (!verify && (p->crl_file != NULL || p->crl_path != NULL)) {
    return fail(err, errlen, "'FTPSCARevocationFile/Path' has no effect "
      "without 'FTPSVerifyClient on' or 'optional'");
  }
  return 0;
}

int ftps_policy_validate(const ftps_policy_t *p, char *err, size_t errlen) {
  if (p == NULL) {
    errno = EINVAL;
    return -1;
  }

  if (p->engine != 1) {
    if (p->implicit == 1) {
      return fail(err, errlen,
        "'FTPSImplicit on' needs 'FTPSEngine on' in the same server");
    }
    if (p->required > 0) {
      return fail(err, errlen,
        "'FTPSRequired' needs 'FTPSEngine on' in the same server");
    }
    return 0;
  }

  if (p->ncerts == 0) {
    return fail(err, errlen, "%s needs an 'FTPSCertificate' in the same "
      "server", p->implicit == 1 ? "'FTPSImplicit on'" : "'FTPSEngine on'");
  }
  if (p->protocols <= 0 || (p->protocols & ~FTPS_PROTO_ANY) != 0) {
    return fail(err, errlen, "'FTPSProtocol' enables no protocol");
  }
  /* SECURITY: TLS 1.0 and 1.1 (RFC 8996) only when asked for twice. */
  if ((p->protocols & FTPS_PROTO_LEGACY) &&
      !(p->options != FTPS_UNSET &&
        (p->options & FTPS_OPT_ALLOW_LEGACY_PROTOCOLS))) {
    return fail(err, errlen, "'FTPSProtocol %s' enables a deprecated "
      "protocol (RFC 8996); add 'FTPSOptions AllowLegacyProtocols' to the "
      "same server to accept it, or use TLSv1.2 and TLSv1.3 only",
      ftps_policy_protocols_str(p->protocols));
  }
  return validate_client_certs(p, err, errlen);
}

int ftps_policy_parse_bool(const char *s, int *out, char *err,
    size_t errlen) {
  static const ftps_name_t bools[] = {
    { "on", 1 }, { "off", 0 }, { "yes", 1 }, { "no", 0 },
    { "true", 1 }, { "false", 0 }, { "1", 1 }, { "0", 0 },
  };
  const ftps_name_t *hit;

  if (s == NULL || out == NULL) {
    return fail(err, errlen, "missing value; expected on or off");
  }
  hit = lookup(bools, NELEMS(bools), s);
  if (hit == NULL) {
    return fail(err, errlen, "'%.64s' is not a boolean; expected on or off",
      s);
  }
  *out = hit->value;
  return 0;
}

/* A protocol between two enabled ones is disabled (e.g. TLSv1 TLSv1.2). */
static int has_gap(int mask) {
  size_t i;
  int seen = 0, ended = 0;

  for (i = 0; i < NELEMS(protocol_names); i++) {
    int on = (mask & protocol_names[i].value) != 0;

    if (on && ended) {
      return 1;
    }
    if (!on && seen) {
      ended = 1;
    }
    seen |= on;
  }
  return 0;
}

int ftps_policy_parse_protocols(int argc, char *const *argv, int *out,
    char *err, size_t errlen) {
  int i, mask = 0;

  if (argc < 1 || argv == NULL || out == NULL) {
    return fail(err, errlen, "missing value; expected TLSv1.2 and/or TLSv1.3");
  }

  for (i = 0; i < argc; i++) {
    const ftps_name_t *hit;

    if (argv[i] == NULL) {
      return fail(err, errlen, "missing value");
    }
    hit = lookup(protocol_names, NELEMS(protocol_names), argv[i]);
    if (hit == NULL && strcasecmp(argv[i], "TLSv1.0") == 0) {
      hit = &protocol_names[0];
    }
    if (hit == NULL) {
      return fail(err, errlen, "unknown protocol '%.64s'; expected TLSv1.2 "
        "and/or TLSv1.3 (TLSv1, TLSv1.1: see FTPSOptions "
        "AllowLegacyProtocols)", argv[i]);
    }
    if (mask & hit->value) {
      return fail(err, errlen, "protocol '%s' is listed twice", hit->name);
    }
    mask |= hit->value;
  }
  if (has_gap(mask)) {
    return fail(err, errlen, "'%s' is not a range of consecutive versions; "
      "TLS enables every version between the lowest and the highest "
      "listed, so list them all", ftps_policy_protocols_str(mask));
  }

  *out = mask;
  return 0;
}

int ftps_policy_parse_required(const char *s, int *out, char *err,
    size_t errlen) {
  const ftps_name_t *hit;

  if (s == NULL || out == NULL) {
    return fail(err, errlen, "missing value");
  }
  hit = lookup(required_names, NELEMS(required_names), s);
  if (hit == NULL) {
    return fail(err, errlen, "unknown value '%.64s'; expected off, on, "
      "control, data, auth or auth+data", s);
  }
  *out = hit->value;
  return 0;
}

int ftps_policy_parse_options(int argc, char *const *argv, int *out,
    char *err, size_t errlen) {
  int i, mask = 0;

  if (argc < 1 || argv == NULL || out == NULL) {
    return fail(err, errlen, "missing value; expected NoSessionReuseRequired");
  }

  for (i = 0; i < argc; i++) {
    const ftps_name_t *hit;

    if (argv[i] == NULL) {
      return fail(err, errlen, "missing value");
    }
    hit = lookup(option_names, NELEMS(option_names), argv[i]);
    if (hit == NULL) {
      return fail(err, errlen, "unknown option '%.64s'; expected "
        "NoSessionReuseRequired, NoSessionReuseSameAddress, AllowUnknownSNI, "
        "AllowPerUser, AllowAnyALPN, AllowLegacyProtocols, StdEnvVars, "
        "ExportCertData or KernelTLS", argv[i]);
    }
    mask |= hit->value;
  }

  *out = mask;
  return 0;
}

int ftps_policy_parse_timeout(const char *s, int *out, char *err,
    size_t errlen) {
  char *end = NULL;
  long v;

  if (s == NULL || out == NULL || *s == '\0') {
    return fail(err, errlen, "missing value; expected seconds (0 = none)");
  }
  if (*s < '0' || *s > '9') {
    return fail(err, errlen, "'%.64s' is not a number of seconds", s);
  }

  errno = 0;
  v = strtol(s, &end, 10);
  if (errno != 0 || end == NULL || *end != '\0') {
    return fail(err, errlen, "'%.64s' is not a number of seconds", s);
  }
  if (v > FTPS_MAX_HANDSHAKE_TIMEOUT) {
    return fail(err, errlen, "%ld seconds is too long; at most %d", v,
      FTPS_MAX_HANDSHAKE_TIMEOUT);
  }

  *out = (int) v;
  return 0;
}

int ftps_policy_parse_count(const char *s, int *out, char *err,
    size_t errlen) {
  char *end = NULL;
  long v;

  if (s == NULL || out == NULL || *s == '\0') {
    return fail(err, errlen, "missing value; expected a count (0 or none = "
      "unlimited)");
  }
  if (strcasecmp(s, "none") == 0) {
    *out = 0;
    return 0;
  }
  errno = 0;
  v = strtol(s, &end, 10);
  if (*s < '0' || *s > '9' || errno != 0 || *end != '\0' || v > 100000) {
    return fail(err, errlen, "'%.64s' is not a count from 0 to 100000 (or "
      "none)", s);
  }
  *out = (int) v;
  return 0;
}

int ftps_policy_required_for_path(int session_required, int dir_required) {
  int req = session_required > 0 ? session_required : 0;

  if (dir_required == FTPS_UNSET || dir_required < 0) {
    return req;
  }
  return (req & ~FTPS_REQ_DATA) | (dir_required & FTPS_REQ_DATA);
}

int ftps_policy_parse_verify(const char *s, int *out, char *err,
    size_t errlen) {
  static const ftps_name_t modes[] = {
    { "off", FTPS_VERIFY_OFF }, { "optional", FTPS_VERIFY_OPTIONAL },
    { "on", FTPS_VERIFY_ON },
  };
  const ftps_name_t *hit;

  if (s == NULL || out == NULL) {
    return fail(err, errlen, "missing value; expected off, optional or on");
  }
  hit = lookup(modes, NELEMS(modes), s);
  if (hit == NULL) {
    return fail(err, errlen, "unknown value '%.64s'; expected off, optional "
      "or on", s);
  }
  *out = hit->value;
  return 0;
}

int ftps_policy_parse_depth(const char *s, int *out, char *err,
    size_t errlen) {
  char *end = NULL;
  long v;

  if (s == NULL || out == NULL || *s < '0' || *s > '9') {
    return fail(err, errlen, "expected a chain depth from 0 to %d",
      FTPS_MAX_VERIFY_DEPTH);
  }
  errno = 0;
  v = strtol(s, &end, 10);
  if (errno != 0 || *end != '\0' || v > FTPS_MAX_VERIFY_DEPTH) {
    return fail(err, errlen, "'%.64s' is not a chain depth from 0 to %d", s,
      FTPS_MAX_VERIFY_DEPTH);
  }
  *out = (int) v;
  return 0;
}

int ftps_policy_parse_log(const char *s, const char **out, char *err,
    size_t errlen) {
  if (s == NULL || out == NULL || *s == '\0') {
    return fail(err, errlen, "missing value; expected an absolute path or "
      "none");
  }
  if (strcasecmp(s, "none") == 0) {
    *out = NULL;
    return 0;
  }
  if (*s != '/') {
    return fail(err, errlen, "'%.200s' is not an absolute path; expected an "
      "absolute path or none", s);
  }
  *out = s;
  return 0;
}

const char *ftps_policy_protocols_str(int mask) {
  static char buf[64];
  size_t i;

  buf[0] = '\0';
  for (i = 0; i < NELEMS(protocol_names); i++) {
    if (mask & protocol_names[i].value) {
      if (buf[0] != '\0') {
        strcat(buf, " ");
      }
      strcat(buf, protocol_names[i].name);
    }
  }
  return buf[0] != '\0' ? buf : "none";
}

static const char *group_name(const char *s, size_t len) {
  size_t i;

  for (i = 0; i < NELEMS(group_names); i++) {
    if (strlen(group_names[i]) == len &&
        strncasecmp(group_names[i], s, len) == 0) {
      return group_names[i];
    }
  }
  return NULL;
}

/* Is name one of the entries of the list "a:b:c"? */
static int in_list(const char *list, const char *name) {
  size_t len = strlen(name);
  const char *p = list;

  while (*p != '\0') {
    size_t n = strcspn(p, ":");

    if (n == len && strncmp(p, name, len) == 0) {
      return 1;
    }
    p += n + (p[n] == ':' ? 1 : 0);
  }
  return 0;
}

/* Append one name of "a:b" (or of one argument) to out. */
static int add_group(const char *s, size_t len, char *out, size_t outlen,
    int *n, char *err, size_t errlen) {
  const char *name = group_name(s, len);
  size_t used = strlen(out);

  if (name == NULL) {
    return fail(err, errlen, "unknown group '%.*s'; expected X25519, X448, "
      "P-256, P-384, P-521 or ffdhe2048/3072/4096/6144/8192",
      (int) (len > 64 ? 64 : len), s);
  }
  if (in_list(out, name)) {
    return fail(err, errlen, "group '%s' is listed twice", name);
  }
  if (++*n > FTPS_MAX_GROUPS ||
      used + strlen(name) + 2 > outlen) {
    return fail(err, errlen, "too many groups; give at most %d",
      FTPS_MAX_GROUPS);
  }
  snprintf(out + used, outlen - used, "%s%s", used > 0 ? ":" : "", name);
  return 0;
}

/* One argument: names separated by colons, none of them empty. */
static int add_groups_arg(const char *arg, char *out, size_t outlen, int *n,
    char *err, size_t errlen) {
  const char *p = arg;

  if (arg == NULL || *arg == '\0') {
    return fail(err, errlen, "missing value");
  }
  for (;;) {
    size_t len = strcspn(p, ":");

    if (len == 0) {
      return fail(err, errlen, "empty group name in '%.64s'", arg);
    }
    if (add_group(p, len, out, outlen, n, err, errlen) < 0) {
      return -1;
    }
    if (p[len] == '\0') {
      return 0;
    }
    p += len + 1;
  }
}

int ftps_policy_parse_groups(int argc, char *const *argv, char *out,
    size_t outlen, char *err, size_t errlen) {
  int i, n = 0;

  if (argc < 1 || argv == NULL || out == NULL || outlen == 0) {
    return fail(err, errlen, "missing value; expected group names such as "
      "X25519 P-256");
  }
  out[0] = '\0';
  for (i = 0; i < argc; i++) {
    if (add_groups_arg(argv[i], out, outlen, &n, err, errlen) < 0) {
      out[0] = '\0';
      return -1;
    }
  }
  return 0;
}

/*
 * SECURITY: RFC 4217 §10.2. Resuming this FTP session's control session is
 * what proves a data connection comes from our client. The exemptions, for
 * clients that cannot resume, give up that proof and keep what they can:
 * NoSessionReuseRequired (the blunt one) only the certificate match;
 * NoSessionReuseSameAddress also the control connection's address. A
 * certificate that differs from the control connection's is never let in.
 */
int ftps_policy_data_verdict(int options, const ftps_data_facts_t *f) {
  if (f == NULL) {
    errno = EINVAL;
    return -1;
  }
  if (!f->cert_ok) {
    return FTPS_DATA_REFUSE_CERT;
  }
  if (f->resumed) {
    return FTPS_DATA_ACCEPT;
  }
  if (options & FTPS_OPT_NO_SESSION_REUSE_REQUIRED) {
    return FTPS_DATA_ACCEPT_NO_REUSE;
  }
  if (options & FTPS_OPT_NO_SESSION_REUSE_SAME_ADDR) {
    return f->same_addr ? FTPS_DATA_ACCEPT_SAME_ADDR : FTPS_DATA_REFUSE_ADDR;
  }
  return FTPS_DATA_REFUSE_REUSE;
}

/*
 * Every directive of mod_tls 1.3.8 (contrib/mod_tls.c's conftable) and what
 * a mod_ftps configuration says instead. A sentence where there is no
 * directive to write.
 */
static const struct {
  const char *mod_tls;
  const char *mod_ftps;
} mod_tls_directives[] = {
  { "TLSCACertificateFile",     "FTPSCACertificateFile" },
  { "TLSCACertificatePath",     "FTPSCACertificatePath" },
  { "TLSCARevocationFile",      "FTPSCARevocationFile" },
  { "TLSCARevocationPath",      "FTPSCARevocationPath" },
  { "TLSCertificateChainFile",  "FTPSCertificate (append the chain to the "
                                "certificate file)" },
  { "TLSCipherSuite",           "FTPSCipherSuite" },
  { "TLSControlsACLs",          "nothing (mod_ftps has no ftpdctl actions)" },
  { "TLSCryptoDevice",          "nothing (configure engines/providers in "
                                "openssl.cnf)" },
  { "TLSDHParamFile",           "FTPSGroups (e.g. ffdhe2048)" },
  { "TLSDSACertificateFile",    "FTPSCertificate with an RSA or ECDSA "
                                "certificate (DSA is not supported)" },
  { "TLSDSACertificateKeyFile", "FTPSCertificate with an RSA or ECDSA "
                                "certificate (DSA is not supported)" },
  { "TLSECCertificateFile",     "FTPSCertificate cert-file key-file" },
  { "TLSECCertificateKeyFile",  "FTPSCertificate cert-file key-file" },
  { "TLSECDHCurve",             "FTPSGroups" },
  { "TLSEngine",                "FTPSEngine" },
  { "TLSLog",                   "FTPSLog" },
  { "TLSMasqueradeAddress",     "FTPSMasqueradeAddress" },
  { "TLSNextProtocol",          "nothing (ALPN \"ftp\" is always answered)" },
  { "TLSOptions",               "FTPSOptions (UseImplicitSSL: FTPSImplicit "
                                "on)" },
  { "TLSPassPhraseProvider",    "FTPSPassPhraseProvider" },
  { "TLSPKCS12File",            "FTPSCertificate file.p12 (or .pfx)" },
  { "TLSPreSharedKey",          "nothing (pre-shared keys are not supported)" },
  { "TLSProtocol",              "FTPSProtocol" },
  { "TLSRandomSeed",            "nothing (OpenSSL seeds itself)" },
  { "TLSRenegotiate",           "nothing (renegotiation is always refused)" },
  { "TLSRequired",              "FTPSRequired" },
  { "TLSRSACertificateFile",    "FTPSCertificate cert-file key-file" },
  { "TLSRSACertificateKeyFile", "FTPSCertificate cert-file key-file" },
  { "TLSServerCipherPreference", "nothing (the server's order always wins)" },
  { "TLSServerInfoFile",        "nothing (not supported)" },
  { "TLSSessionCache",          "nothing (sessions resume without an "
                                "external cache)" },
  { "TLSSessionTicketKeys",     "FTPSSessionTicketKeys [age seconds] "
                                "[count n]" },
  { "TLSSessionTickets",        "FTPSSessionTickets" },
  { "TLSStapling",              "FTPSStapling" },
  { "TLSStaplingCache",         "nothing (the master keeps the response)" },
  { "TLSStaplingOptions",       "nothing (FTPSStapling has no options)" },
  { "TLSStaplingResponder",     "FTPSStaplingResponse file, kept fresh by "
                                "an external job" },
  { "TLSStaplingTimeout",       "nothing (the responder gets 5 seconds)" },
  { "TLSTimeoutHandshake",      "FTPSTimeoutHandshake" },
  { "TLSUserName",              "FTPSUserName" },
  { "TLSVerifyClient",          "FTPSVerifyClient" },
  { "TLSVerifyDepth",           "FTPSVerifyDepth" },
  { "TLSVerifyOrder",           "nothing (CRLs are checked; OCSP is not "
                                "supported)" },
  { "TLSVerifyServer",          "nothing (mod_ftps never connects as a "
                                "client)" },
};

const char *ftps_policy_mod_tls_equivalent(const char *name) {
  size_t i;

  if (name == NULL) {
    errno = EINVAL;
    return NULL;
  }
  for (i = 0; i < NELEMS(mod_tls_directives); i++) {
    if (strcasecmp(mod_tls_directives[i].mod_tls, name) == 0) {
      return mod_tls_directives[i].mod_ftps;
    }
  }
  errno = ENOENT;
  return NULL;
}


/* ------------------------------------------- FTPSSessionTicketKeys (#11) */

static int parse_ticket_number(const char *word, const char *s, long max,
    unsigned int *out, char *err, size_t errlen) {
  char *end = NULL;
  long v;

  if (s == NULL) {
    return fail(err, errlen, "'%s' needs a value; expected 'age seconds' "
      "and/or 'count n'", word);
  }
  errno = 0;
  v = strtol(s, &end, 10);
  if (*s < '0' || *s > '9' || errno != 0 || *end != '\0' || v < 1 ||
      v > max) {
    return fail(err, errlen, "%s '%.64s' is not a number from 1 to %ld",
      word, s, max);
  }
  *out = (unsigned int) v;
  return 0;
}

int ftps_policy_parse_ticket_keys(int argc, char *const *argv,
    unsigned int *age, unsigned int *count, char *err, size_t errlen) {
  int i, seen_age = 0, seen_count = 0;

  if (argc < 0 || (argc > 0 && argv == NULL) || age == NULL ||
      count == NULL) {
    return fail(err, errlen, "missing value");
  }
  *age = FTPS_DEFAULT_TICKET_KEY_AGE;
  *count = FTPS_DEFAULT_TICKET_KEY_COUNT;
  for (i = 0; i < argc; i += 2) {
    const char *value = i + 1 < argc ? argv[i + 1] : NULL;
    int *seen = NULL;

    if (argv[i] != NULL && strcasecmp(argv[i], "age") == 0) {
      seen = &seen_age;
      if (!*seen && parse_ticket_number("age", value,
          FTPS_MAX_TICKET_KEY_AGE, age, err, errlen) < 0) {
        return -1;
      }
    } else if (argv[i] != NULL && strcasecmp(argv[i], "count") == 0) {
      seen = &seen_count;
      if (!*seen && parse_ticket_number("count", value,
          FTPS_MAX_TICKET_KEY_COUNT, count, err, errlen) < 0) {
        return -1;
      }
    } else {
      return fail(err, errlen, "unknown parameter '%.64s'; expected "
        "'age seconds' and/or 'count n'", argv[i] ? argv[i] : "");
    }
    if (*seen) {
      return fail(err, errlen, "'%s' is given twice", argv[i]);
    }
    *seen = 1;
  }
  return 0;
}

/* ------------------------------- FTPSCertificate sources (issue 11) */

static int has_suffix(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);

  return n > m && strcasecmp(s + n - m, suffix) == 0;
}

int ftps_policy_cert_source(const char *s) {
  const char *p;

  if (s == NULL || *s == '\0') {
    errno = EINVAL;
    return -1;
  }
  if (*s == '/') {
    return has_suffix(s, ".p12") || has_suffix(s, ".pfx") ?
      FTPS_CERT_SRC_PKCS12 : FTPS_CERT_SRC_PEM;
  }
  /* RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
  if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z'))) {
    errno = EINVAL;
    return -1;
  }
  for (p = s + 1; *p != ':'; p++) {
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
        (*p >= '0' && *p <= '9') || *p == '+' || *p == '-' || *p == '.')) {
      errno = EINVAL;
      return -1;
    }
  }
  if (p[1] == '\0') {
    errno = EINVAL;
    return -1;
  }
  return FTPS_CERT_SRC_URI;
}
