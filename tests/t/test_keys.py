"""FTPSCertificate beyond plain PEM (issue 11): an encrypted PEM key
unlocked by FTPSPassPhraseProvider (run by the master with the server name
and the key file; a failing or hanging provider stops startup with a clear
message, the hang within a bounded time), PKCS#12 files with and without a
passphrase, and file: store URIs. Each server that starts must serve an
FTPS login with the configured certificate."""

import os
import ssl
import time

from ftpslib import Raw, Server, ServerError, check, mkdtemp, pki, run

PASS = "correct horse battery staple"


class Keys:
    """Encrypted copies of the test PKI's ECDSA key and providers."""

    def __init__(self):
        self.dir = mkdtemp("ftps-keys-")
        p = pki()
        self.enc_key = self.path("ec-enc.key")
        run(["openssl", "pkey", "-in", p.ec_key, "-aes256", "-passout",
             "pass:" + PASS, "-out", self.enc_key], check_rc=0)
        self.p12_plain = self.path("ec-plain.p12")
        run(["openssl", "pkcs12", "-export", "-in", p.ec, "-inkey", p.ec_key,
             "-passout", "pass:", "-out", self.p12_plain], check_rc=0)
        self.p12_secret = self.path("ec-secret.pfx")
        run(["openssl", "pkcs12", "-export", "-in", p.ec, "-inkey", p.ec_key,
             "-passout", "pass:" + PASS, "-out", self.p12_secret], check_rc=0)
        self.args_log = self.path("provider-args.log")
        self.ok = self.script("ok.sh", 'echo "$1|$2" >> %s\necho "%s"'
                              % (self.args_log, PASS))
        self.fails = self.script("fails.sh", "echo oops >&2; exit 4")
        self.hangs = self.script("hangs.sh", "exec sleep 60")

    def path(self, name):
        return os.path.join(self.dir, name)

    def script(self, name, body):
        path = self.path(name)
        with open(path, "w") as f:
            f.write("#!/bin/sh\n%s\n" % body)
        os.chmod(path, 0o700)
        return path


_keys = None


def keys():
    global _keys
    if _keys is None:
        _keys = Keys()
    return _keys


def start(cert_line, provider=None):
    lines = ["FTPSEngine on", cert_line]
    if provider:
        lines.append("FTPSPassPhraseProvider %s" % provider)
    srv = Server(defaults=False, ftps=lines + ["FTPSLog {}".format(
        "/dev/null")], files=False)
    srv.private = True
    srv.start(deadline=30)
    return srv


def serves_ec_cert(srv):
    """A TLS login whose server certificate is the test PKI's ECDSA one."""
    r = Raw(srv)
    r.auth(context=pki().client_context())
    der = r.sock.getpeercert(binary_form=True)
    with open(pki().ec) as f:
        want = ssl.PEM_cert_to_DER_cert(f.read())
    check(der == want, "served another certificate")
    r.login()
    r.cmd("QUIT")
    r.close()


def refused(cert_line, provider, *want, limit=30):
    t0 = time.monotonic()
    try:
        srv = start(cert_line, provider)
    except ServerError as e:
        took = time.monotonic() - t0
        for w in want:
            check(w in str(e), "startup message lacks %r:\n%s" % (w, str(e)[-1500:]))
        check(took < limit, "startup took %.1fs to fail" % took)
        return took
    srv.stop()
    raise AssertionError("proftpd started with %r" % cert_line)


def test_keys_encrypted_pem_with_provider():
    k = keys()
    srv = start("FTPSCertificate %s %s" % (pki().ec, k.enc_key), k.ok)
    serves_ec_cert(srv)
    with open(k.args_log) as f:
        args = f.read()
    check(":%d|%s" % (srv.port, k.enc_key) in args,
          "provider arguments: %r" % args)
    srv.stop()


def test_keys_encrypted_pem_provider_fails():
    k = keys()
    refused("FTPSCertificate %s %s" % (pki().ec, k.enc_key), k.fails,
            "FTPSPassPhraseProvider", "exit status 4", k.enc_key)


def test_keys_encrypted_pem_provider_hangs_bounded():
    k = keys()
    took = refused("FTPSCertificate %s %s" % (pki().ec, k.enc_key), k.hangs,
                   "did not answer within 10 seconds", limit=25)
    check(took >= 9, "provider killed too early (%.1fs)" % took)


def test_keys_encrypted_pem_without_provider_or_tty():
    k = keys()
    refused("FTPSCertificate %s %s" % (pki().ec, k.enc_key), None,
            "FTPSPassPhraseProvider", "foreground")


def test_keys_pkcs12_without_passphrase():
    srv = start("FTPSCertificate %s" % keys().p12_plain)
    serves_ec_cert(srv)
    srv.stop()


def test_keys_pkcs12_with_passphrase():
    k = keys()
    srv = start("FTPSCertificate %s" % k.p12_secret, k.ok)
    serves_ec_cert(srv)
    srv.stop()


def test_keys_pkcs12_wrong_passphrase():
    k = keys()
    wrong = k.script("wrong.sh", "echo nope")
    refused("FTPSCertificate %s" % k.p12_secret, wrong, "wrong passphrase")


def test_keys_file_uri():
    srv = start("FTPSCertificate file:%s file:%s" % (pki().ec, pki().ec_key))
    serves_ec_cert(srv)
    srv.stop()


def test_keys_file_uri_encrypted_key_with_provider():
    k = keys()
    srv = start("FTPSCertificate file:%s file:%s" % (pki().ec, k.enc_key), k.ok)
    serves_ec_cert(srv)
    srv.stop()


def test_keys_relative_path_refused():
    srv = Server(defaults=False, ftps=["FTPSEngine on",
                                       "FTPSCertificate ec.pem"], files=False)
    rc, out = srv.syntax_check()
    check(rc != 0 and "store URI" in out, "relative path: %s" % out[-400:])
