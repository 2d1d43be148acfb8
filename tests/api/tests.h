/*
 * tests.h -- shared declarations of the mod_ftps unit-test runner: the suite
 * constructors registered in tests.c and the test PKI of testpki.c.
 *
 * Includes libc and Check only; the TLS suite adds OpenSSL itself, so the
 * pure-core suites stay free of it (house style B2, B19).
 */
#ifndef FTPS_TESTS_H
#define FTPS_TESTS_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

/* Rows in a test table (B20). */
#define TESTS_NELEMS(a) ((int) (sizeof(a) / sizeof((a)[0])))

/* One constructor per core/TLS source file, named for it (B19). */
Suite *tests_get_policy_suite(void);
Suite *tests_get_prot_suite(void);
Suite *tests_get_ctx_suite(void);
Suite *tests_get_io_suite(void);
Suite *tests_get_cert_suite(void);
Suite *tests_get_text_suite(void);
Suite *tests_get_state_suite(void);
Suite *tests_get_env_suite(void);
Suite *tests_get_ticketkeys_suite(void);
Suite *tests_get_keys_suite(void);
Suite *tests_get_staple_suite(void);
Suite *tests_get_policy_keys_suite(void);
Suite *tests_get_watch_suite(void);
Suite *tests_get_certinfo_suite(void);
Suite *tests_get_farmbox_suite(void);

/*
 * Test certificates, generated in-process on first use into a fresh
 * mkdtemp(3) directory that the creating process removes at exit. Call
 * testpki_setup() from an unchecked fixture so that, in fork mode, the
 * keys are generated once in the runner instead of once per test.
 *
 * Names:
 *   ec.crt / ec.key        self-signed ECDSA P-256 server certificate + key
 *   rsa.crt / rsa.key      self-signed RSA-2048 server certificate + key
 *   other.key              an unrelated ECDSA P-256 key (cert/key mismatch)
 *   garbage.pem            bytes that are neither a certificate nor a key
 *   ca.crt                 the test CA (self-signed ECDSA P-256)
 *   chain.crt / chain.key  ECDSA leaf signed by the test CA, then the CA
 *   combined.pem           ec.crt followed by ec.key in one file
 *   enc.key                ec.key, encrypted with a passphrase
 * Any other name gives a path in the directory that does not exist.
 */
int testpki_setup(void);
const char *testpki_dir(void);
const char *testpki_path(const char *name);

#endif /* FTPS_TESTS_H */
