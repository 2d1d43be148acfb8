/*
 * ftps_env.h -- the environment variables mod_tls 1.3.8 exports for a TLS
 * connection (TLSOptions StdEnvVars, ExportCertData), with its names and
 * value formats, as (name, value) pairs handed to a callback: the glue
 * decides where they go (pr_env_set, session notes).
 *
 * OpenSSL only (types opaque here); must not include ProFTPD headers (B2).
 */
#ifndef FTPS_ENV_H
#define FTPS_ENV_H

#include "ftps/ftps_io.h"

typedef void (*ftps_env_fn)(const char *name, const char *value, void *arg);

/* What to export. */
#define FTPS_ENV_STD    0x01    /* StdEnvVars: TLS_PROTOCOL, TLS_SESSION_ID,
                                 * TLS_CIPHER*, TLS_SERVER_NAME,
                                 * TLS_LIBRARY_VERSION, TLS_SERVER_*,
                                 * TLS_CLIENT_* (certificate fields) */
#define FTPS_ENV_CERTS  0x02    /* ExportCertData: TLS_CLIENT_CERT,
                                 * TLS_CLIENT_CERT_CHAIN<n>, TLS_SERVER_CERT
                                 * (PEM) */

/*
 * Call fn once per variable of an established connection; a name may come
 * twice (a DN with two OU components: the last one wins, as with mod_tls).
 * Values are NUL-terminated text; control characters in certificate
 * fields are replaced by '?'. 0, or -1/EINVAL.
 */
int ftps_env_export(ftps_io_t *io, int what, ftps_env_fn fn, void *arg);

/* One certificate's fields under prefix ("TLS_CLIENT_"): M_VERSION,
 * M_SERIAL (decimal), S_DN and I_DN (OpenSSL's one-line form), S_DN_<x>
 * and I_DN_<x> per component (C, CN, D, Email, G, I, L, O, OU, S, ST, T,
 * UID), V_START and V_END ("Nov 22 01:22:39 2026 GMT"), A_SIG, A_KEY. */
int ftps_env_cert(ftps_cert_t *cert, const char *prefix, ftps_env_fn fn,
  void *arg);

#endif /* FTPS_ENV_H */
