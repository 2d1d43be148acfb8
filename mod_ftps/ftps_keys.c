/*
 * ftps_keys.c -- TLS layer: owns loading private keys that need a
 * passphrase or a store: encrypted PEM keys, PKCS#12 files and OpenSSL
 * store URIs (FTPSCertificate), the FTPSPassPhraseProvider program run,
 * and the one locked page a passphrase lives in while its key is read.
 *
 * Includes libc and OpenSSL only; never ProFTPD headers (B2).
 */

#define _GNU_SOURCE     /* pipe2(2), closefrom(3) */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/ssl.h>
#include <openssl/store.h>
#include <openssl/ui.h>

#include "ftps/ftps_keys.h"
#include "ftps/ftps_policy.h"
#include "ftps/ftps_tlserr.h"

#define SECRET_LEN  4096    /* one page: FTPS_PASSPHRASE_MAX + NUL fits */

/* Where passphrases come from (set by the glue before each vhost). */
static struct {
  char program[4096];
  char server[512];
  int allow_tty;
  int timeout_ms;
} source;

/* One key being unlocked: its passphrase, fetched at most once. */
typedef struct {
  const char *key_file;
  char *secret;             /* a locked page, or NULL */
  int len;                  /* -1: fetching failed (err says why) */
  char err[512];
} unlock_t;

void ftps_keys_set_source(const char *program, const char *server_name,
    int allow_tty, int timeout_ms) {
  snprintf(source.program, sizeof(source.program), "%s",
    program != NULL ? program : "");
  snprintf(source.server, sizeof(source.server), "%s",
    server_name != NULL ? server_name : "");
  source.allow_tty = allow_tty;
  source.timeout_ms = timeout_ms;
}

int ftps_keys_is_special(const char *cert_file) {
  int src = ftps_policy_cert_source(cert_file);

  return src == FTPS_CERT_SRC_PKCS12 || src == FTPS_CERT_SRC_URI;
}

/* ---- the locked page -------------------------------------------------- */

static char *secret_new(void) {
  void *m = mmap(NULL, SECRET_LEN, PROT_READ|PROT_WRITE,
    MAP_PRIVATE|MAP_ANONYMOUS, -1, 0);

  if (m == MAP_FAILED) {
    return NULL;
  }
#ifdef MADV_DONTDUMP
  (void) madvise(m, SECRET_LEN, MADV_DONTDUMP);
#endif
  (void) mlock(m, SECRET_LEN);    /* best effort: RLIMIT_MEMLOCK may say no */
  return m;
}

static void secret_free(char *s) {
  if (s != NULL) {
    OPENSSL_cleanse(s, SECRET_LEN);
    (void) munlock(s, SECRET_LEN);
    (void) munmap(s, SECRET_LEN);
  }
}

static void unlock_done(unlock_t *u) {
  secret_free(u->secret);
  u->secret = NULL;
  u->len = 0;
}

/* ---- the provider program --------------------------------------------- */

static long long now_ms(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static pid_t spawn(const char *program, const char *server_name,
    const char *key_file, int out_fd) {
  pid_t pid = fork();

  if (pid == 0) {
    char *argv[4];
    int null = open("/dev/null", O_RDWR);

    argv[0] = (char *) program;
    argv[1] = (char *) server_name;
    argv[2] = (char *) key_file;
    argv[3] = NULL;
    if (null < 0 || dup2(null, STDIN_FILENO) < 0 ||
        dup2(out_fd, STDOUT_FILENO) < 0) {
      _exit(127);
    }
    closefrom(STDERR_FILENO + 1);
    execv(program, argv);
    _exit(127);
  }
  return pid;
}

/* Read the child's stdout until EOF, the buffer is full, or the deadline. */
static int read_until(int fd, char *buf, size_t buflen, long long deadline) {
  size_t n = 0;

  while (n < buflen - 1) {
    struct pollfd pfd = { fd, POLLIN, 0 };
    long long left = deadline - now_ms();
    ssize_t r;

    if (left <= 0) {
      return -2;
    }
    if (poll(&pfd, 1, (int) left) <= 0) {
      if (errno == EINTR) {
        continue;
      }
      return -2;
    }
    r = read(fd, buf + n, buflen - 1 - n);
    if (r < 0 && errno == EINTR) {
      continue;
    }
    if (r <= 0) {
      break;
    }
    n += (size_t) r;
  }
  buf[n] = '\0';
  return (int) n;
}

/* Wait for the child until the deadline; then kill it. Its wait status,
 * or -2 if it had to be killed. */
static int reap(pid_t pid, long long deadline) {
  int status = 0;

  for (;;) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      return status;
    }
    if (r < 0 && errno != EINTR) {
      return -1;
    }
    if (now_ms() >= deadline) {
      (void) kill(pid, SIGKILL);
      (void) waitpid(pid, &status, 0);
      return -2;
    }
    usleep(10 * 1000);
  }
}

static int provider_verdict(const char *program, int got, int status,
    int timeout_ms, char *err, size_t errlen) {
  if (got == -2 || status == -2) {
    return ftps_tlserr_fail(err, errlen, "FTPSPassPhraseProvider '%s' did not answer "
      "within %d seconds; it was killed", program, timeout_ms / 1000);
  }
  if (status == -1 || !WIFEXITED(status)) {
    return ftps_tlserr_fail(err, errlen, "FTPSPassPhraseProvider '%s' died (signal %d)",
      program, WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  }
  if (WEXITSTATUS(status) != 0) {
    return ftps_tlserr_fail(err, errlen, "FTPSPassPhraseProvider '%s' failed (exit "
      "status %d%s)", program, WEXITSTATUS(status),
      WEXITSTATUS(status) == 127 ? ": cannot be run" : "");
  }
  return 0;
}

int ftps_keys_run_provider(const char *program, const char *server_name,
    const char *key_file, int timeout_ms, char *buf, size_t buflen,
    char *err, size_t errlen) {
  long long deadline;
  int fds[2], got, status;
  pid_t pid;

  if (program == NULL || *program != '/' || key_file == NULL ||
      buf == NULL || buflen < 2 || err == NULL || errlen == 0) {
    errno = EINVAL;
    return -1;
  }
  if (timeout_ms <= 0) {
    timeout_ms = FTPS_PASSPHRASE_TIMEOUT * 1000;
  }
  if (pipe2(fds, O_CLOEXEC) < 0) {
    return ftps_tlserr_fail(err, errlen, "cannot run FTPSPassPhraseProvider '%s': %s",
      program, strerror(errno));
  }
  deadline = now_ms() + timeout_ms;
  pid = spawn(program, server_name != NULL ? server_name : "", key_file,
    fds[1]);
  (void) close(fds[1]);
  if (pid < 0) {
    (void) close(fds[0]);
    return ftps_tlserr_fail(err, errlen, "cannot run FTPSPassPhraseProvider '%s': %s",
      program, strerror(errno));
  }
  got = read_until(fds[0], buf, buflen, deadline);
  (void) close(fds[0]);
  status = got == -2 ? reap(pid, now_ms()) : reap(pid, deadline);
  if (provider_verdict(program, got, status, timeout_ms, err, errlen) < 0) {
    OPENSSL_cleanse(buf, buflen);
    return -1;
  }
  buf[strcspn(buf, "\r\n")] = '\0';
  if (buf[0] == '\0') {
    return ftps_tlserr_fail(err, errlen, "FTPSPassPhraseProvider '%s' printed no "
      "passphrase", program);
  }
  return (int) strlen(buf);
}

/* ---- fetching a passphrase once per key -------------------------------- */

static int fetch(unlock_t *u) {
  if (u->secret != NULL || u->len < 0) {
    return u->len;
  }
  u->secret = secret_new();
  if (u->secret == NULL) {
    snprintf(u->err, sizeof(u->err), "no memory for a passphrase");
    return u->len = -1;
  }
  if (source.program[0] != '\0') {
    u->len = ftps_keys_run_provider(source.program, source.server,
      u->key_file, source.timeout_ms, u->secret, FTPS_PASSPHRASE_MAX + 1,
      u->err, sizeof(u->err));
  } else if (source.allow_tty && isatty(STDIN_FILENO)) {
    char prompt[1024];

    snprintf(prompt, sizeof(prompt), "Passphrase for %s (%s): ",
      u->key_file, source.server);
    u->len = EVP_read_pw_string(u->secret, FTPS_PASSPHRASE_MAX + 1, prompt,
      0) == 0 ? (int) strlen(u->secret) : -1;
    if (u->len < 0) {
      snprintf(u->err, sizeof(u->err), "no passphrase read on the terminal");
    }
  } else {
    snprintf(u->err, sizeof(u->err), "it is encrypted: give "
      "FTPSPassPhraseProvider, or start proftpd in the foreground on a "
      "terminal");
    u->len = -1;
  }
  return u->len;
}

static int pem_cb(char *buf, int size, int rwflag, void *arg) {
  unlock_t *u = arg;
  int len = fetch(u);

  if (len < 0 || len > size) {
    return -1;
  }
  memcpy(buf, u->secret, (size_t) len);
  return len;
}

EVP_PKEY *ftps_keys_read_pem_key(BIO *bio, const char *key_file, char *err,
    size_t errlen) {
  unlock_t u;
  EVP_PKEY *key;
  char why[256];

  memset(&u, 0, sizeof(u));
  u.key_file = key_file;
  ERR_clear_error();
  key = PEM_read_bio_PrivateKey(bio, NULL, pem_cb, &u);
  if (key == NULL) {
    if (u.len < 0) {
      snprintf(err, errlen, "%s", u.err);
    } else {
      snprintf(err, errlen, "%s%s", u.secret != NULL ? "wrong passphrase? " :
        "", ftps_tlserr_reason(why, sizeof(why)));
    }
  }
  unlock_done(&u);
  ERR_clear_error();
  return key;
}

/* ---- PKCS#12 ----------------------------------------------------------- */

typedef struct {
  X509 *leaf;
  EVP_PKEY *key;
  STACK_OF(X509) *chain;
} loaded_t;

static void loaded_free(loaded_t *l) {
  X509_free(l->leaf);
  EVP_PKEY_free(l->key);
  sk_X509_pop_free(l->chain, X509_free);
  memset(l, 0, sizeof(*l));
}

static int load_pkcs12(const char *file, loaded_t *out, char *err,
    size_t errlen) {
  BIO *bio = BIO_new_file(file, "rb");
  PKCS12 *p12 = NULL;
  const char *pass = NULL;
  unlock_t u;
  char why[256];
  int ok = 0;

  memset(&u, 0, sizeof(u));
  u.key_file = file;
  if (bio == NULL || (p12 = d2i_PKCS12_bio(bio, NULL)) == NULL) {
    BIO_free(bio);
    return ftps_tlserr_fail(err, errlen, "FTPSCertificate: '%s' is not a readable "
      "PKCS#12 file: %s", file, ftps_tlserr_reason(why, sizeof(why)));
  }
  BIO_free(bio);
  /* No passphrase needed when the MAC verifies with none. */
  if (PKCS12_verify_mac(p12, NULL, 0) == 1) {
    pass = NULL;
  } else if (PKCS12_verify_mac(p12, "", 0) == 1) {
    pass = "";
  } else if (fetch(&u) < 0) {
    ftps_tlserr_fail(err, errlen, "FTPSCertificate: cannot open PKCS#12 file '%s': %s",
      file, u.err);
    goto done;
  } else if (PKCS12_verify_mac(p12, u.secret, u.len) != 1) {
    ftps_tlserr_fail(err, errlen, "FTPSCertificate: wrong passphrase for PKCS#12 file "
      "'%s'", file);
    goto done;
  } else {
    pass = u.secret;
  }
  if (PKCS12_parse(p12, pass, &out->key, &out->leaf, &out->chain) != 1 ||
      out->leaf == NULL || out->key == NULL) {
    ftps_tlserr_fail(err, errlen, "FTPSCertificate: PKCS#12 file '%s' holds no "
      "certificate with its key: %s", file, ftps_tlserr_reason(why, sizeof(why)));
    goto done;
  }
  ok = 1;

done:
  unlock_done(&u);
  PKCS12_free(p12);
  ERR_clear_error();
  return ok ? 0 : -1;
}

/* ---- store URIs ---------------------------------------------------------- */

/* Take what uri holds: the first certificate as leaf and the others as
 * chain (want_certs), and/or the first private key (want_key). */
static int store_take(OSSL_STORE_INFO *info, loaded_t *out, int want_certs,
    int want_key) {
  int type = OSSL_STORE_INFO_get_type(info);

  if (want_certs && type == OSSL_STORE_INFO_CERT) {
    X509 *x = OSSL_STORE_INFO_get1_CERT(info);
    if (out->leaf == NULL) {
      out->leaf = x;
    } else if ((out->chain == NULL &&
        (out->chain = sk_X509_new_null()) == NULL) ||
        sk_X509_push(out->chain, x) <= 0) {
      X509_free(x);
      return -1;
    }
  } else if (want_key && type == OSSL_STORE_INFO_PKEY && out->key == NULL) {
    out->key = OSSL_STORE_INFO_get1_PKEY(info);
  }
  return 0;
}

static int load_uri(const char *uri, loaded_t *out, int want_certs,
    int want_key, char *err, size_t errlen) {
  UI_METHOD *ui = UI_UTIL_wrap_read_pem_callback(pem_cb, 0);
  OSSL_STORE_CTX *store;
  unlock_t u;
  char why[256];
  int rc = 0;

  memset(&u, 0, sizeof(u));
  u.key_file = uri;
  ERR_clear_error();
  store = ui != NULL ? OSSL_STORE_open(uri, ui, &u, NULL, NULL) : NULL;
  while (store != NULL && rc == 0 && !OSSL_STORE_eof(store)) {
    OSSL_STORE_INFO *info = OSSL_STORE_load(store);
    if (info != NULL) {
      rc = store_take(info, out, want_certs, want_key);
      OSSL_STORE_INFO_free(info);
    } else if (OSSL_STORE_error(store)) {
      break;
    }
  }
  if (store == NULL || (want_certs && out->leaf == NULL) ||
      (want_key && out->key == NULL)) {
    rc = ftps_tlserr_fail(err, errlen, "FTPSCertificate: '%s' gives no %s: %s", uri,
      want_certs ? "certificate" : "private key",
      u.len < 0 ? u.err : ftps_tlserr_reason(why, sizeof(why)));
  }
  OSSL_STORE_close(store);
  UI_destroy_method(ui);
  unlock_done(&u);
  ERR_clear_error();
  return rc;
}

static int load_special(const char *cert_file, const char *key_file,
    loaded_t *l, char *err, size_t errlen) {
  int same_key = key_file == NULL || strcmp(key_file, cert_file) == 0;

  if (ftps_policy_cert_source(cert_file) == FTPS_CERT_SRC_PKCS12) {
    if (!same_key) {
      return ftps_tlserr_fail(err, errlen, "FTPSCertificate: a PKCS#12 file ('%s') "
        "holds its key: give no key-file", cert_file);
    }
    return load_pkcs12(cert_file, l, err, errlen);
  }
  if (load_uri(cert_file, l, 1, same_key, err, errlen) < 0) {
    return -1;
  }
  if (same_key) {
    return 0;
  }
  if (ftps_policy_cert_source(key_file) != FTPS_CERT_SRC_URI) {
    return ftps_tlserr_fail(err, errlen, "FTPSCertificate: with the certificate '%s' "
      "from a store, give the key as a store URI too (e.g. file:%s)",
      cert_file, key_file);
  }
  return load_uri(key_file, l, 0, 1, err, errlen);
}

int ftps_keys_use_special(SSL_CTX *ctx, const char *cert_file,
    const char *key_file, int *key_type, char *err, size_t errlen) {
  loaded_t l;
  char why[256];

  if (ctx == NULL || cert_file == NULL || key_type == NULL || err == NULL ||
      errlen == 0) {
    errno = EINVAL;
    return -1;
  }
  memset(&l, 0, sizeof(l));
  if (load_special(cert_file, key_file, &l, err, errlen) < 0) {
    loaded_free(&l);
    return -1;
  }
  *key_type = EVP_PKEY_get_base_id(X509_get0_pubkey(l.leaf));
  ERR_clear_error();
  if (X509_check_private_key(l.leaf, l.key) != 1 ||
      SSL_CTX_use_cert_and_key(ctx, l.leaf, l.key, l.chain, 1) != 1) {
    ftps_tlserr_fail(err, errlen, "FTPSCertificate: key of '%s' does not match its "
      "certificate: %s", key_file != NULL ? key_file : cert_file,
      ftps_tlserr_reason(why, sizeof(why)));
    loaded_free(&l);
    return -1;
  }
  loaded_free(&l);
  return 0;
}
