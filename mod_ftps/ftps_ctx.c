/*
 * ftps_ctx.c -- owns building a per-vhost server SSL_CTX from a policy
 * (protocol range, ciphers, groups, session handling) and the data-channel
 * session binding (ticket and session-cache callbacks). Certificates, keys,
 * CAs and CRLs are loaded by ftps_trust.c.
 *
 * OpenSSL only; must not include ProFTPD headers (B2).
 */

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "ftps/ftps_cert.h"
#include "ftps/ftps_ctx.h"
#include "ftps/ftps_farmbox.h"
#include "ftps/ftps_sni.h"
#include "ftps/ftps_trust.h"
#include "ftps/ftps_sidctx.h"
#include "ftps/ftps_staple.h"
#include "ftps/ftps_tlserr.h"

#define FTPS_NONCE_LEN  16

/* The header's alert numbers are the protocol's. */
_Static_assert(FTPS_ALERT_ACCESS_DENIED == SSL_AD_ACCESS_DENIED, "alert");
_Static_assert(FTPS_ALERT_INTERNAL_ERROR == SSL_AD_INTERNAL_ERROR, "alert");
_Static_assert(FTPS_ALERT_UNRECOGNIZED_NAME == SSL_AD_UNRECOGNIZED_NAME,
  "alert");

/* Sessions a session process keeps in its cache: its control session(s);
 * the oldest goes first. */
#define FTPS_SESSION_CACHE_SIZE 8

/* Per-SSL facts the callbacks record for the reuse decision and logs. */
typedef struct {
  int role;
  SSL_CTX *session_ctx;             /* the context given to SSL_new() */
  int offered;        /* the ClientHello carried a session or ticket */
  int foreign;        /* a ticket that is not bound to this process */
  int bound;          /* a ticket/session bound to this process was used */
  int from_farm;      /* the control session came from the farm's store */
  int allow_any_alpn; /* FTPSOptions AllowAnyALPN from the session's rules, */
  SSL_CTX *alpn_ctx;  /* ... for the vhost (context) they belong to */
  const char *refusal;              /* why a callback refused, for logs */
  char verify_error[768];           /* first certificate failure, or "" */
  char sni[FTPS_SNI_MAX + 1];       /* the server name sent, or "" */
} ssl_info_t;

/* OpenSSL 3.0's own list (ssl/t1_lib.c), for a vhost without FTPSGroups
 * chosen by SNI after one with it. */
#define FTPS_OPENSSL_DEFAULT_GROUPS \
  "x25519:secp256r1:x448:secp521r1:secp384r1:ffdhe2048:ffdhe3072:" \
  "ffdhe4096:ffdhe6144:ffdhe8192"

/* Per-context settings that SSL_set_SSL_CTX() does not carry over. */
typedef struct {
  int min_version, max_version;
  char *ciphers;                    /* NULL: OpenSSL's default */
  char *ciphersuites;               /* NULL: OpenSSL's default */
  char *groups;                     /* NULL: OpenSSL's default */
  int allow_any_alpn;
  int no_tls12_tickets;             /* FTPSSessionTickets off */
  unsigned char sid_ctx[SSL_MAX_SID_CTX_LENGTH];   /* see set_sid_ctx */
  ftps_ctx_sni_fn sni_fn;
  void *sni_arg;
} ctx_info_t;

/*
 * The binding of one session process: a random nonce stored in every
 * session issued on its control connection. Regenerated in each session
 * process (ftps_ctx_new_binding), so sessions never bind across sessions.
 */
static struct {
  int ready;
  unsigned char nonce[FTPS_NONCE_LEN];
} binding;


static void free_ctx_info(ctx_info_t *ci) {
  if (ci != NULL) {
    OPENSSL_free(ci->ciphers);
    OPENSSL_free(ci->ciphersuites);
    OPENSSL_free(ci->groups);
    OPENSSL_free(ci);
  }
}

/*
 * Our per-SSL and per-context records hang on the app_data slot, which has
 * no free callback, and are freed by our own code (ftps_ctx_clear_role,
 * ftps_ctx_free). SECURITY: never register an ex_data index with callbacks:
 * libcrypto would keep calling them after mod_dso unloads this module on
 * SIGHUP, i.e. jump into unmapped or foreign code in the master.
 */
static ssl_info_t *info_of(SSL *ssl) {
  return SSL_get_app_data(ssl);
}

static ctx_info_t *ctx_info_of(SSL_CTX *ctx) {
  return SSL_CTX_get_app_data(ctx);
}

int ftps_ctx_new_binding(void) {
  if (RAND_bytes(binding.nonce, sizeof(binding.nonce)) != 1) {
    binding.ready = 0;
    errno = EIO;
    return -1;
  }
  binding.ready = 1;
  return 0;
}

int ftps_ctx_set_role(SSL *ssl, int role) {
  ssl_info_t *info;

  if (ssl == NULL || (role != FTPS_ROLE_CTRL && role != FTPS_ROLE_DATA)) {
    errno = EINVAL;
    return -1;
  }
  info = OPENSSL_zalloc(sizeof(*info));
  if (info == NULL) {
    errno = ENOMEM;
    return -1;
  }
  info->role = role;
  /* The context whose cache and ticket keys serve this SSL: an SNI switch
   * later changes SSL_get_SSL_CTX() but not that. */
  info->session_ctx = SSL_get_SSL_CTX(ssl);
  ftps_ctx_clear_role(ssl);
  if (SSL_set_app_data(ssl, info) != 1) {
    OPENSSL_free(info);
    errno = ENOMEM;
    return -1;
  }
  return 0;
}

int ftps_ctx_set_allow_any_alpn(SSL *ssl, int on) {
  ssl_info_t *info = ssl != NULL ? info_of(ssl) : NULL;

  if (info == NULL) {
    errno = EINVAL;
    return -1;
  }
  info->allow_any_alpn = on != 0;
  info->alpn_ctx = SSL_get_SSL_CTX(ssl);
  return 0;
}

void ftps_ctx_clear_role(SSL *ssl) {
  if (ssl != NULL) {
    OPENSSL_free(info_of(ssl));
    (void) SSL_set_app_data(ssl, NULL);
  }
}

void ftps_ctx_free(SSL_CTX *ctx) {
  if (ctx != NULL) {
    ftps_staple_free_ctx(ctx);
    free_ctx_info(ctx_info_of(ctx));
    (void) SSL_CTX_set_app_data(ctx, NULL);
    SSL_CTX_free(ctx);
  }
}

static int is_bound(const SSL_SESSION *sess) {
  void *data = NULL;
  size_t len = 0;

  if (!binding.ready || sess == NULL ||
      SSL_SESSION_get0_ticket_appdata((SSL_SESSION *) sess, &data, &len) != 1) {
    return 0;
  }
  return len == FTPS_NONCE_LEN &&
    CRYPTO_memcmp(data, binding.nonce, FTPS_NONCE_LEN) == 0;
}

/*
 * The farm (issue 12): a process-wide store of TLS 1.2 control sessions
 * shared between nodes (FTPSSessionCache redis) and whether the ticket keys
 * are shared (FTPSSessionTicketKeys ... shared redis). The glue sets it in
 * the master; session processes inherit it. Entries are sealed with the
 * farm key (ftps_farmbox.c) under the name prefix + "s." + hex(session ID).
 */
static struct {
  int on;
  int shared_tickets;
  unsigned char key[FTPS_FARM_KEY_LEN];
  char prefix[64];
  long timeout;
  ftps_farm_io_t io;
} farm;

int ftps_ctx_set_farm(const unsigned char *key, const char *prefix,
    long timeout, const ftps_farm_io_t *io) {
  if (key == NULL || prefix == NULL || strlen(prefix) >= sizeof(farm.prefix)
      || timeout <= 0 || io == NULL || io->put == NULL || io->get == NULL) {
    errno = EINVAL;
    return -1;
  }
  memcpy(farm.key, key, FTPS_FARM_KEY_LEN);
  snprintf(farm.prefix, sizeof(farm.prefix), "%s", prefix);
  farm.timeout = timeout;
  farm.io = *io;
  farm.on = 1;
  return 0;
}

void ftps_ctx_set_farm_tickets(int shared) {
  farm.shared_tickets = shared ? 1 : 0;
}

void ftps_ctx_clear_farm(void) {
  OPENSSL_cleanse(&farm, sizeof(farm));
}

static void farm_event(int ev) {
  if (farm.io.event != NULL) {
    farm.io.event(ev);
  }
}

static void farm_name(const unsigned char *id, size_t idlen, char *name,
    size_t namelen) {
  size_t i, off;

  off = (size_t) snprintf(name, namelen, "%ss.", farm.prefix);
  for (i = 0; i < idlen && off + 3 <= namelen; i++) {
    off += (size_t) snprintf(name + off, namelen - off, "%02x", id[i]);
  }
}

/* A TLS 1.2 control session, sealed, into the shared store. */
static void farm_put(SSL_SESSION *sess) {
  unsigned int idlen = 0;
  const unsigned char *id = SSL_SESSION_get_id(sess, &idlen);
  unsigned char *der = NULL, *p, *box = NULL;
  size_t boxlen = 0;
  char name[160];
  long ttl = farm.timeout;
  int derlen;
  time_t now = time(NULL);

  if (idlen == 0) {
    return;
  }
  if (SSL_SESSION_get_timeout(sess) < ttl) {
    ttl = SSL_SESSION_get_timeout(sess);
  }
  derlen = i2d_SSL_SESSION(sess, NULL);
  if (derlen <= 0 || (der = OPENSSL_malloc(derlen)) == NULL) {
    return;
  }
  p = der;
  (void) i2d_SSL_SESSION(sess, &p);
  farm_name(id, idlen, name, sizeof(name));
  if (ftps_farmbox_seal(farm.key, name, FTPS_FARM_KIND_SESSION, now + ttl,
      der, (size_t) derlen, &box, &boxlen) == 0) {
    (void) farm.io.put(name, box, boxlen, now + ttl);
    ftps_farmbox_free(box, boxlen);
  }
  OPENSSL_clear_free(der, derlen);
}

/*
 * A TLS 1.2 session ID unknown here, offered on a control connection: ask
 * the farm. SECURITY: what comes back is a session another node's control
 * connection made; OpenSSL still refuses it unless its session-ID context
 * (vhost, verification settings) is this one's; it is rebound to this
 * process's nonce, so from now on it belongs to this FTP session (its
 * data connections resume it from the local cache); a session with another
 * process's nonce never opens a data connection. Data connections never
 * ask the farm.
 */
static SSL_SESSION *farm_get_cb(SSL *ssl, const unsigned char *id, int idlen,
    int *copy) {
  ssl_info_t *info = info_of(ssl);
  unsigned char *box = NULL, *der = NULL;
  size_t boxlen = 0, derlen = 0;
  const unsigned char *p;
  SSL_SESSION *sess = NULL;
  char name[160];
  int res;

  *copy = 0;
  if (!farm.on || info == NULL || info->role != FTPS_ROLE_CTRL || idlen <= 0) {
    return NULL;
  }
  farm_name(id, (size_t) idlen, name, sizeof(name));
  res = farm.io.get(name, &box, &boxlen);
  if (res != 0) {
    if (res > 0) {
      farm_event(FTPS_FARM_EV_MISS);
    }
    return NULL;
  }
  if (ftps_farmbox_open(farm.key, name, FTPS_FARM_KIND_SESSION, time(NULL),
      box, boxlen, &der, &derlen) < 0) {
    farm_event(errno == ESTALE ? FTPS_FARM_EV_MISS : FTPS_FARM_EV_BAD);
    free(box);
    return NULL;
  }
  free(box);
  p = der;
  sess = d2i_SSL_SESSION(NULL, &p, (long) derlen);
  ftps_farmbox_free(der, derlen);
  if (sess == NULL) {
    farm_event(FTPS_FARM_EV_BAD);
    return NULL;
  }
  if (binding.ready) {
    (void) SSL_SESSION_set1_ticket_appdata(sess, binding.nonce,
      sizeof(binding.nonce));
  }
  if (info->session_ctx != NULL) {
    (void) SSL_CTX_add_session(info->session_ctx, sess);
  }
  info->from_farm = 1;
  farm_event(FTPS_FARM_EV_HIT);
  return sess;
}

int ftps_ctx_from_farm(ftps_conn_t *ssl) {
  ssl_info_t *info = info_of(ssl);

  return info != NULL && info->from_farm;
}

/* SECURITY: only sessions born on the control connection are bound. */
static void bind_if_ctrl(SSL *ssl, SSL_SESSION *sess) {
  ssl_info_t *info = info_of(ssl);

  if (info != NULL && info->role == FTPS_ROLE_CTRL && binding.ready &&
      sess != NULL) {
    (void) SSL_SESSION_set1_ticket_appdata(sess, binding.nonce,
      sizeof(binding.nonce));
  }
}

/*
 * SECURITY: a session proves only what the vhost and verification settings
 * that made it checked. OpenSSL 3.0 already refuses to resume a session
 * whose session-ID context differs (TLS 1.2 IDs and tickets, TLS 1.3
 * tickets: checked by tests/api/ftps_ctx.c and test_attack_resumption.py);
 * every ticket is checked here too against the context now serving the
 * handshake (after SNI), so the rule does not rest on that alone.
 */
static int same_vhost(SSL *ssl, SSL_SESSION *sess) {
  ctx_info_t *ci = ctx_info_of(SSL_get_SSL_CTX(ssl));
  unsigned int len = 0;
  const unsigned char *id = SSL_SESSION_get0_id_context(sess, &len);

  return ci != NULL && id != NULL && len == sizeof(ci->sid_ctx) &&
    CRYPTO_memcmp(id, ci->sid_ctx, len) == 0;
}

static int ticket_gen_cb(SSL *ssl, void *arg) {
  bind_if_ctrl(ssl, SSL_get0_session(ssl));
  return 1;
}

static SSL_TICKET_RETURN ticket_dec_cb(SSL *ssl, SSL_SESSION *sess,
    const unsigned char *keyname, size_t keyname_len,
    SSL_TICKET_STATUS status, void *arg) {
  ssl_info_t *info = info_of(ssl);
  int ok = (status == SSL_TICKET_SUCCESS || status == SSL_TICKET_SUCCESS_RENEW);
  int is_data = (info != NULL && info->role == FTPS_ROLE_DATA);

  if (status == SSL_TICKET_NO_DECRYPT && info != NULL) {
    info->foreign = 1;
  }
  if (ok && !same_vhost(ssl, sess)) {
    /* Made on another vhost: a full handshake under this one's rules. */
    ok = 0;
    if (info != NULL) {
      info->foreign = 1;
    }
  }

  if (!is_data) {
    /* Control: resume, and always issue a ticket bound to us. TLS 1.2
     * clients that keep the ticket they resumed with (JSSE ignores the
     * renewed one) would offer another FTP session's ticket on every data
     * connection: there, only our own tickets resume. */
    if (ok && SSL_version(ssl) < TLS1_3_VERSION && !is_bound(sess) &&
        !farm.shared_tickets) {
      ok = 0;
    }
    /* In a farm with shared ticket keys another node's (or FTP session's)
     * TLS 1.2 ticket resumes the control connection; the renewed ticket
     * is bound to this process (ticket_gen_cb), and data connections
     * still accept only bound ones (below). */
    return ok ? SSL_TICKET_RETURN_USE_RENEW : SSL_TICKET_RETURN_IGNORE_RENEW;
  }

  if (!ok) {
    return SSL_TICKET_RETURN_IGNORE;
  }

  if (!is_bound(sess)) {
    info->foreign = 1;
    return SSL_TICKET_RETURN_IGNORE;
  }

  /* A session of our own control connection lives as long as the FTP
   * session does: refresh its clock so hours-old sessions still resume. */
  (void) SSL_SESSION_set_time(sess, (long) time(NULL));
  info->bound = 1;
  return SSL_TICKET_RETURN_USE;
}

/*
 * SECURITY: the server cache stores nothing by itself
 * (SSL_SESS_CACHE_NO_INTERNAL_STORE): only TLS 1.2 sessions born on the
 * control connection are added, so data handshakes, refused or not, can
 * never fill a session's memory with sessions and client chains. (TLS 1.3
 * tickets carry their session; data connections issue none.)
 */
static int new_session_cb(SSL *ssl, SSL_SESSION *sess) {
  ssl_info_t *info = info_of(ssl);

  bind_if_ctrl(ssl, sess);
  if (info != NULL && info->role == FTPS_ROLE_CTRL &&
      info->session_ctx != NULL && SSL_version(ssl) < TLS1_3_VERSION) {
    (void) SSL_CTX_add_session(info->session_ctx, sess);
    if (farm.on) {
      farm_put(sess);
    }
  }
  return 0;   /* the cache holds its own reference */
}

/*
 * RFC 6066 §3: the ClientHello's server_name picks the vhost, before version
 * negotiation and resumption, so the chosen vhost's limits all apply.
 */
static int choose_vhost(SSL *ssl, ssl_info_t *info, int *alert) {
  ctx_info_t *ci = ctx_info_of(SSL_get_SSL_CTX(ssl));
  const unsigned char *ext = NULL;
  SSL_CTX *to = NULL;
  size_t len = 0;
  int res;

  if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &ext,
      &len) == 1 &&
      ftps_sni_parse(ext, len, info->sni, sizeof(info->sni)) < 0) {
    info->refusal = "malformed server name (SNI)";
    *alert = SSL_AD_UNRECOGNIZED_NAME;
    return SSL_CLIENT_HELLO_ERROR;
  }
  if (ci == NULL || ci->sni_fn == NULL) {
    return SSL_CLIENT_HELLO_SUCCESS;
  }

  res = ci->sni_fn(ssl, info->sni[0] != '\0' ? info->sni : NULL, &to, alert,
    ci->sni_arg);
  if (res < 0) {
    info->refusal = "server name (SNI) refused";
    return SSL_CLIENT_HELLO_ERROR;
  }
  if (res > 0 && to != NULL && to != SSL_get_SSL_CTX(ssl) &&
      ftps_ctx_apply(ssl, to) < 0) {
    info->refusal = "cannot switch to the vhost chosen by SNI";
    *alert = SSL_AD_INTERNAL_ERROR;
    return SSL_CLIENT_HELLO_ERROR;
  }
  return SSL_CLIENT_HELLO_SUCCESS;
}

/*
 * Acknowledge SNI (the choice itself was made in the ClientHello callback).
 * OpenSSL calls this on every handshake, after version negotiation and
 * before the ServerHello: the one place where FTPSSessionTickets off can
 * withhold a TLS 1.2 ticket (the session is then cached by ID) and leave
 * TLS 1.3, which resumes only with tickets, alone.
 */
static int servername_cb(SSL *ssl, int *alert, void *arg) {
  ctx_info_t *ci = ctx_info_of(SSL_get_SSL_CTX(ssl));

  if (ci != NULL && ci->no_tls12_tickets && SSL_version(ssl) < TLS1_3_VERSION) {
    SSL_set_options(ssl, SSL_OP_NO_TICKET);
  }
  return SSL_TLSEXT_ERR_OK;
}

/*
 * SECURITY: ALPACA (CVE-2021-3618): a client that negotiates ALPN must name
 * FTP ("ftp"; "ftp-data" also on data connections), so a TLS session meant
 * for HTTP or mail cannot be redirected to this server. No ALPN: accepted.
 */
static int alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg) {
  ssl_info_t *info = info_of(ssl);
  ctx_info_t *ci = ctx_info_of(SSL_get_SSL_CTX(ssl));
  const unsigned char *hit;
  int bad = 0;

  hit = ftps_alpn_find(in, inlen, "ftp", &bad);
  if (hit == NULL && !bad && info != NULL && info->role == FTPS_ROLE_DATA) {
    hit = ftps_alpn_find(in, inlen, "ftp-data", &bad);
  }
  if (hit != NULL) {
    *out = hit + 1;
    *outlen = hit[0];
    return SSL_TLSEXT_ERR_OK;
  }
  /* The session's own rule (e.g. from <IfClass>) while the handshake stays
   * on its vhost; after an SNI switch, the other vhost's policy. */
  if (!bad && (info != NULL && info->alpn_ctx == SSL_get_SSL_CTX(ssl) ?
      info->allow_any_alpn : (ci != NULL && ci->allow_any_alpn))) {
    return SSL_TLSEXT_ERR_NOACK;
  }
  if (info != NULL) {
    info->refusal = bad ? "malformed ALPN list" :
      "ALPN offered without \"ftp\" (ALPACA defence)";
  }
  return SSL_TLSEXT_ERR_ALERT_FATAL;
}

static int client_hello_cb(SSL *ssl, int *alert, void *arg) {
  ssl_info_t *info = info_of(ssl);
  const unsigned char *ext = NULL, *sid = NULL;
  size_t extlen = 0, sidlen;

  if (info == NULL) {
    return SSL_CLIENT_HELLO_SUCCESS;
  }

  sidlen = SSL_client_hello_get0_session_id(ssl, &sid);
  if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_psk, &ext, &extlen) == 1 &&
      extlen > 0) {
    info->offered = 1;
  } else if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_session_ticket, &ext,
      &extlen) == 1 && extlen > 0) {
    info->offered = 1;
  } else if (sidlen > 0 &&
      SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_supported_versions, &ext,
        &extlen) != 1) {
    /* A TLS 1.2-only client sending a session ID asks for resumption (a
     * TLS 1.3 client's legacy ID is random and means nothing). */
    info->offered = 1;
  }

  if (info->role == FTPS_ROLE_CTRL) {
    return choose_vhost(ssl, info, alert);
  }
  return SSL_CLIENT_HELLO_SUCCESS;
}

int ftps_ctx_check_reuse(SSL *data) {
  ssl_info_t *info;
  SSL_SESSION *sess;

  if (data == NULL || (info = info_of(data)) == NULL) {
    errno = EINVAL;
    return -1;
  }

  sess = SSL_get0_session(data);
  if (SSL_session_reused(data) == 1 && is_bound(sess)) {
    return FTPS_REUSE_OK;
  }
  if (info->foreign) {
    return FTPS_REUSE_FOREIGN;
  }
  return info->offered ? FTPS_REUSE_UNKNOWN : FTPS_REUSE_NONE;
}

const char *ftps_ctx_reuse_str(int reason) {
  switch (reason) {
    case FTPS_REUSE_OK:
      return "session reused";
    case FTPS_REUSE_NONE:
      return "no session offered";
    case FTPS_REUSE_FOREIGN:
      return "foreign session";
    case FTPS_REUSE_UNKNOWN:
      return "unknown or expired session";
    default:
      return "handshake failed";
  }
}

int ftps_ctx_set_sni_fn(SSL_CTX *ctx, ftps_ctx_sni_fn fn, void *arg) {
  ctx_info_t *ci = ctx != NULL ? ctx_info_of(ctx) : NULL;

  if (ci == NULL) {
    errno = EINVAL;
    return -1;
  }
  ci->sni_fn = fn;
  ci->sni_arg = arg;
  return 0;
}

const char *ftps_ctx_sni(SSL *ssl) {
  ssl_info_t *info = ssl != NULL ? info_of(ssl) : NULL;

  return (info != NULL && info->sni[0] != '\0') ? info->sni : NULL;
}

const char *ftps_ctx_verify_error(SSL *ssl) {
  ssl_info_t *info = ssl != NULL ? info_of(ssl) : NULL;

  return (info != NULL && info->verify_error[0] != '\0') ?
    info->verify_error : NULL;
}

const char *ftps_ctx_refusal(SSL *ssl) {
  ssl_info_t *info = ssl != NULL ? info_of(ssl) : NULL;

  return info != NULL ? info->refusal : NULL;
}

int ftps_ctx_apply(SSL *ssl, SSL_CTX *ctx) {
  ctx_info_t *ci = ctx_info_of(ctx);
  const char *ciphers, *suites;

  if (ssl == NULL || ci == NULL) {
    errno = EINVAL;
    return -1;
  }

  /* SSL_set_SSL_CTX() moves the certificates and session-ID context only
   * (openssl/openssl#6109): every other setting is copied by hand. */
  ciphers = ci->ciphers != NULL ? ci->ciphers : OSSL_default_cipher_list();
  suites = ci->ciphersuites != NULL ? ci->ciphersuites :
    OSSL_default_ciphersuites();
  if (SSL_set_SSL_CTX(ssl, ctx) != ctx ||
      SSL_set_min_proto_version(ssl, ci->min_version) != 1 ||
      SSL_set_max_proto_version(ssl, ci->max_version) != 1 ||
      SSL_set_cipher_list(ssl, ciphers) != 1 ||
      SSL_set_ciphersuites(ssl, suites) != 1 ||
      SSL_set1_groups_list(ssl, ci->groups != NULL ? ci->groups :
        FTPS_OPENSSL_DEFAULT_GROUPS) != 1) {
    errno = EINVAL;
    return -1;
  }
  SSL_set_security_level(ssl, SSL_CTX_get_security_level(ctx));
  SSL_clear_options(ssl, SSL_get_options(ssl) & ~SSL_CTX_get_options(ctx));
  SSL_set_options(ssl, SSL_CTX_get_options(ctx));
  SSL_set_verify(ssl, SSL_CTX_get_verify_mode(ctx),
    SSL_CTX_get_verify_callback(ctx));
  SSL_set_verify_depth(ssl, SSL_CTX_get_verify_depth(ctx));
  if (SSL_set1_verify_cert_store(ssl, SSL_CTX_get_cert_store(ctx)) != 1) {
    errno = ENOMEM;
    return -1;
  }
  if (SSL_CTX_get_client_CA_list(ctx) != NULL) {
    SSL_set_client_CA_list(ssl,
      SSL_dup_CA_list(SSL_CTX_get_client_CA_list(ctx)));
  }
  return 0;
}

/* FTPSProtocol bits (a range without gaps: ftps_policy_parse_protocols)
 * to OpenSSL's version range. */
static void proto_range(int mask, int *min, int *max) {
  static const struct {
    int bit, version;
  } versions[] = {
    { FTPS_PROTO_TLS10, TLS1_VERSION },
    { FTPS_PROTO_TLS11, TLS1_1_VERSION },
    { FTPS_PROTO_TLS12, TLS1_2_VERSION },
    { FTPS_PROTO_TLS13, TLS1_3_VERSION },
  };
  size_t i;

  *min = *max = 0;
  for (i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
    if (mask & versions[i].bit) {
      *min = *min == 0 ? versions[i].version : *min;
      *max = versions[i].version;
    }
  }
}

static char *dup_or_null(const char *s) {
  return s != NULL ? OPENSSL_strdup(s) : NULL;
}

static int attach_ctx_info(SSL_CTX *ctx, const ftps_policy_t *p) {
  ctx_info_t *ci = OPENSSL_zalloc(sizeof(*ci));

  if (ci == NULL) {
    return -1;
  }
  proto_range(p->protocols, &ci->min_version, &ci->max_version);
  ci->no_tls12_tickets = p->session_tickets == 0;
  ci->ciphers = dup_or_null(p->ciphers);
  ci->ciphersuites = dup_or_null(p->ciphersuites);
  ci->groups = dup_or_null(p->groups);
  ci->allow_any_alpn = (p->options & FTPS_OPT_ALLOW_ANY_ALPN) != 0;
  if (SSL_CTX_set_app_data(ctx, ci) != 1) {
    free_ctx_info(ci);
    return -1;
  }
  return 0;
}

/* Record the first verification failure with the certificate's names. */
static int verify_cb(int ok, X509_STORE_CTX *store) {
  SSL *ssl = X509_STORE_CTX_get_ex_data(store,
    SSL_get_ex_data_X509_STORE_CTX_idx());
  ssl_info_t *info = ssl != NULL ? info_of(ssl) : NULL;
  X509 *cert = X509_STORE_CTX_get_current_cert(store);
  char subject[256] = "-", issuer[256] = "-", serial[80] = "-";

  if (ok || info == NULL || info->verify_error[0] != '\0') {
    return ok;
  }
  /* The same names (RFC 2253, unprintable bytes replaced) as every other
   * log line that shows a certificate. */
  if (cert != NULL) {
    (void) ftps_cert_subject(cert, subject, sizeof(subject));
    (void) ftps_cert_issuer(cert, issuer, sizeof(issuer));
    (void) ftps_cert_serial(cert, serial, sizeof(serial));
  }
  snprintf(info->verify_error, sizeof(info->verify_error),
    "%s (depth %d, subject '%s', issuer '%s', serial %s)",
    X509_verify_cert_error_string(X509_STORE_CTX_get_error(store)),
    X509_STORE_CTX_get_error_depth(store), subject, issuer, serial);
  return ok;
}

static int set_verification(SSL_CTX *ctx, const ftps_policy_t *p, char *err,
    size_t errlen) {
  X509_STORE *store = SSL_CTX_get_cert_store(ctx);

  if (p->verify_client <= 0) {
    return 0;
  }
  if (ftps_trust_load_store(store, p, err, errlen) < 0) {
    return -1;
  }

  /* SECURITY: with CRLs configured, every certificate in the chain must be
   * covered by a current CRL of its issuer (revoked, missing or expired
   * CRL: refused). */
  if (p->crl_file != NULL || p->crl_path != NULL) {
    X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK |
      X509_V_FLAG_CRL_CHECK_ALL);
  }
  if (p->ca_file != NULL) {
    STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(p->ca_file);
    if (names != NULL) {
      SSL_CTX_set_client_CA_list(ctx, names);
    }
    ERR_clear_error();
  }

  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
    (p->verify_client == FTPS_VERIFY_ON ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
    verify_cb);
  SSL_CTX_set_verify_depth(ctx, p->verify_depth);
  return 0;
}


static int set_protocols(SSL_CTX *ctx, int mask, char *err, size_t errlen) {
  int min, max;

  proto_range(mask, &min, &max);
  /* OpenSSL 3 refuses TLS 1.0/1.1 above security level 0 (their handshake
   * signatures use SHA-1/MD5): the price of FTPSOptions
   * AllowLegacyProtocols, paid on this vhost only. */
  if (mask & FTPS_PROTO_LEGACY) {
    SSL_CTX_set_security_level(ctx, 0);
  }
  if (SSL_CTX_set_min_proto_version(ctx, min) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, max) != 1) {
    return ftps_tlserr_fail(err, errlen, "FTPSProtocol: cannot enable %s",
      ftps_policy_protocols_str(mask));
  }
  return 0;
}

static int set_ciphers(SSL_CTX *ctx, const ftps_policy_t *p, char *err,
    size_t errlen) {
  char why[256];

  ERR_clear_error();
  if (p->ciphers != NULL && SSL_CTX_set_cipher_list(ctx, p->ciphers) != 1) {
    return ftps_tlserr_fail(err, errlen, "FTPSCipherSuite: '%s' selects no usable "
      "TLS 1.2 cipher: %s", p->ciphers, ftps_tlserr_reason(why, sizeof(why)));
  }
  if (p->ciphersuites != NULL &&
      SSL_CTX_set_ciphersuites(ctx, p->ciphersuites) != 1) {
    return ftps_tlserr_fail(err, errlen, "FTPSCipherSuite: '%s' selects no usable "
      "TLS 1.3 cipher suite: %s", p->ciphersuites,
      ftps_tlserr_reason(why, sizeof(why)));
  }
  return 0;
}

/* FTPSGroups, in the client's preference order's place: the server's. */
static int set_groups(SSL_CTX *ctx, const ftps_policy_t *p, char *err,
    size_t errlen) {
  char why[256];

  ERR_clear_error();
  if (p->groups != NULL && SSL_CTX_set1_groups_list(ctx, p->groups) != 1) {
    return ftps_tlserr_fail(err, errlen, "FTPSGroups: OpenSSL refuses '%s': %s",
      p->groups, ftps_tlserr_reason(why, sizeof(why)));
  }
  return 0;
}

static void set_session_handling(SSL_CTX *ctx) {
  (void) SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER |
    SSL_SESS_CACHE_NO_INTERNAL_STORE);
  (void) SSL_CTX_sess_set_cache_size(ctx, FTPS_SESSION_CACHE_SIZE);
  (void) SSL_CTX_set_timeout(ctx, FTPS_SESSION_TIMEOUT);
  /* TLS 1.3: one ticket after the control handshake (OpenSSL's default is
   * two); every PASV/EPSV/PORT/EPRT brings a fresh one anyway
   * (ftps_io_refresh_session), and data connections issue none. */
  (void) SSL_CTX_set_num_tickets(ctx, 1);
  SSL_CTX_sess_set_new_cb(ctx, new_session_cb);
  SSL_CTX_sess_set_get_cb(ctx, farm_get_cb);
  (void) SSL_CTX_set_session_ticket_cb(ctx, ticket_gen_cb, ticket_dec_cb,
    NULL);
  SSL_CTX_set_client_hello_cb(ctx, client_hello_cb, NULL);
  SSL_CTX_set_tlsext_servername_callback(ctx, servername_cb);
  SSL_CTX_set_alpn_select_cb(ctx, alpn_cb, NULL);
}

/*
 * SECURITY: the session-ID context names the vhost and everything a
 * session proves (verification mode, trust anchors and CRLs with their
 * contents, depth, protocols, ciphers): SHA-256 of a canonical description.
 * A session is resumed only where this is equal (by OpenSSL, and for
 * tickets by same_vhost), so one made on vhost A never skips B's checks.
 */
static int set_sid_ctx(SSL_CTX *ctx, const ftps_policy_t *p,
    const char *vhost_id, char *err, size_t errlen) {
  ctx_info_t *ci = ctx_info_of(ctx);
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  unsigned int len = 0;
  int ok;

  ok = md != NULL && ci != NULL &&
    EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
    ftps_sidctx_digest(md, p, vhost_id, SSL_CTX_get_cert_store(ctx)) == 0 &&
    EVP_DigestFinal_ex(md, ci->sid_ctx, &len) == 1 &&
    len == sizeof(ci->sid_ctx) &&
    SSL_CTX_set_session_id_context(ctx, ci->sid_ctx, len) == 1;
  EVP_MD_CTX_free(md);
  ERR_clear_error();
  if (!ok) {
    return ftps_tlserr_fail(err, errlen, "cannot compute the session-ID context of "
      "vhost '%s'", vhost_id);
  }
  return 0;
}

SSL_CTX *ftps_ctx_build(const ftps_policy_t *p, const char *vhost_id,
    char *err, size_t errlen) {
  SSL_CTX *ctx;

  if (p == NULL || vhost_id == NULL || err == NULL || errlen == 0) {
    errno = EINVAL;
    return NULL;
  }
  ERR_clear_error();
  ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == NULL || attach_ctx_info(ctx, p) < 0) {
    ftps_tlserr_fail(err, errlen, "cannot create a TLS context");
    SSL_CTX_free(ctx);
    return NULL;
  }

  /* At least OpenSSL security level 2 (112-bit keys, no SHA-1 signatures),
   * whatever the system's openssl.cnf says; a cipher string may still say
   * @SECLEVEL=n explicitly. */
  if (SSL_CTX_get_security_level(ctx) < 2) {
    SSL_CTX_set_security_level(ctx, 2);
  }

  /* SECURITY: no renegotiation (CVE-2009-3555 class, DoS), no compression
   * (CRIME); the server picks the cipher. */
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
    SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_clear_mode(ctx, SSL_MODE_AUTO_RETRY);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_default_passwd_cb(ctx, ftps_cert_no_passphrase);
  set_session_handling(ctx);

  if (set_protocols(ctx, p->protocols, err, errlen) < 0 ||
      set_ciphers(ctx, p, err, errlen) < 0 ||
      set_groups(ctx, p, err, errlen) < 0 ||
      ftps_trust_load_certs(ctx, p, err, errlen) < 0 ||
      ftps_staple_load(ctx, p, err, errlen) < 0 ||
      set_verification(ctx, p, err, errlen) < 0 ||
      set_sid_ctx(ctx, p, vhost_id, err, errlen) < 0) {
    ftps_ctx_free(ctx);
    return NULL;
  }
  return ctx;
}
