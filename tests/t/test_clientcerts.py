"""Client certificates: FTPSVerifyClient / CA / CRL / depth verification,
FTPSUserName as a constraint, FTPSCertLogin (232), FTPSAuthorizedCertificates,
TLS facts as session notes, and the data channel's certificate binding.
The client PKI (root -> intermediate -> leaves, a second CA, CRLs) is made
once per run by pki_clients.py."""

import ftplib
import os
import re
import socket
import ssl
import time

from ftpslib import (PASSWORD, UID, USER, Raw, ReuseFTP_TLS, Server, TestFailure, check,
                     lftp, mkdtemp, needs, pki, quit_quietly, recv_all, retr_bytes, run, s_client,
                     sha256)
from pki_clients import client_pki

BOB, BOB_PW, BOB_UID = "bob", "Bob-pw-456", 2002
FMT = ("%u|%m|%{note:FTPS}|%{note:FTPS_PROTOCOL}|%{note:FTPS_CIPHER}|%{note:TLS_CIPHER}|"
       "%{note:FTPS_CLIENT_VERIFY}|%{note:FTPS_CLIENT_S_DN}|%{note:FTPS_CLIENT_I_DN}|"
       "%{note:FTPS_CLIENT_SERIAL}|%{note:FTPS_CLIENT_FINGERPRINT}|"
       "%{note:FTPS_CLIENT_NOT_AFTER}|%{note:TLS_CLIENT_S_DN}|%{note:FTPS_SESSION_RESUMED}")
FIELDS = ("user", "cmd", "ftps", "proto", "cipher", "tls_cipher", "verify", "s_dn", "i_dn",
          "serial", "fp", "not_after", "tls_s_dn", "resumed")
REFUSED = "Login not allowed by certificate policy"

_servers = {}


def cc_server(verify="on", ca=None, lines=(), extra=(), users=(), chroot=True):
    """A running server verifying client certificates against the client
    PKI's root (ca: a different FTPSCACertificateFile/Path line), with an
    ExtendedLog of the TLS notes in srv.ext_log; shared per configuration.
    chroot=False drops the template's "DefaultRoot ~"."""
    cp = client_pki()
    key = repr((verify, ca, tuple(lines), tuple(extra), tuple(users), chroot))
    srv = _servers.get(key)
    if srv is not None and srv.alive():
        return srv
    ext_log = os.path.join(mkdtemp("ftps-ext-"), "ext.log")
    ftps = ["FTPSVerifyClient " + verify,
            ca or "FTPSCACertificateFile " + cp.root.cert] + list(lines)
    extra = ['LogFormat ftpsfmt "%s"' % FMT, "ExtendedLog %s ALL ftpsfmt" % ext_log] + list(extra)
    srv = Server(ftps=ftps, extra=extra, users=((BOB, BOB_PW, BOB_UID, ()),) + tuple(users))
    srv.ext_log = ext_log
    if not chroot:
        with open(srv.conf_path) as f:
            conf = f.read()
        check("\nDefaultRoot ~\n" in conf, "template has no 'DefaultRoot ~' line")
        with open(srv.conf_path, "w") as f:
            f.write(conf.replace("\nDefaultRoot ~\n", "\n"))
    srv.start()
    _servers[key] = srv
    return srv


def ctx_for(client):
    return client.context(pki().ca) if client is not None else pki().client_context()


def connect(srv, client):
    """ftplib client after AUTH TLS, presenting client's certificate (None: none)."""
    ftp = ReuseFTP_TLS(context=ctx_for(client), timeout=10)
    ftp.connect("127.0.0.1", srv.port)
    ftp.auth()
    return ftp


def login_ok(srv, client, user=USER, password=PASSWORD, fetch="small.bin"):
    """USER -> 331, PASS -> 230, PROT P and a resumed data transfer."""
    ftp = connect(srv, client)
    try:
        r = ftp.sendcmd("USER " + user)
        check(r.startswith("331"), "%s with %s: USER -> %r (want 331)" % (user, client, r))
        r = ftp.sendcmd("PASS " + password)
        check(r.startswith("230"), "%s with %s: PASS -> %r (want 230)" % (user, client, r))
        if fetch:
            ftp.prot_p()
            data = retr_bytes(ftp, fetch)
            check(sha256(data) == srv.files[fetch], "%s: RETR %s wrong bytes" % (client, fetch))
    finally:
        quit_quietly(ftp)


def refused_at_user(srv, client, user=USER, password=PASSWORD):
    """USER is answered 530 (certificate policy); PASS afterwards logs nobody in."""
    ftp = connect(srv, client)
    try:
        try:
            r = ftp.sendcmd("USER " + user)
            raise TestFailure("%s with %s: USER -> %r, want 530" % (user, client, r))
        except ftplib.error_perm as e:
            check(str(e).startswith("530") and REFUSED in str(e),
                  "%s with %s: USER -> %r, want 530 %s" % (user, client, str(e), REFUSED))
        try:
            r = ftp.sendcmd("PASS " + password)
            raise TestFailure("%s with %s: PASS after refused USER -> %r" % (user, client, r))
        except ftplib.error_perm as e:
            check(str(e)[:3] in ("503", "530"), "PASS after refused USER: %r" % str(e))
    finally:
        quit_quietly(ftp)


def handshake_refused(srv, client):
    """The TLS handshake (or, with TLS 1.3, the first read after it) fails."""
    ftp = ReuseFTP_TLS(context=ctx_for(client), timeout=10)
    ftp.connect("127.0.0.1", srv.port)
    try:
        ftp.auth()
        r = ftp.sendcmd("USER " + USER)
    except (ssl.SSLError, OSError, EOFError, ftplib.Error) as e:
        return repr(e)
    finally:
        try:
            ftp.close()
        except OSError:
            pass
    raise TestFailure("handshake with %s accepted (USER -> %r)" % (client, r))


def rfc2253(slashed):
    """'/O=x/CN=y' -> 'CN=y,O=x': names as mod_ftps logs them (RFC 2253)."""
    return ",".join(reversed([p for p in slashed.split("/") if p]))


def refused_for(srv, client, reason, depth, subject):
    """client's handshake fails; FTPSLog names reason, depth and subject (and
    the leaf's issuer and serial when the leaf itself is at fault)."""
    mark = srv.log_mark()
    handshake_refused(srv, client)
    tail = ""
    if depth == 0:
        issuer = run(["openssl", "x509", "-in", client.cert, "-noout", "-issuer",
                      "-nameopt", "RFC2253"]).out.strip().split("=", 1)[1]
        tail = ", issuer '%s', serial %s\\)" % (re.escape(issuer), client.serial)
    srv.wait_log(r"control handshake refused: %s \(depth %d, subject '%s'%s"
                 % (reason, depth, re.escape(rfc2253(subject)), tail), mark)
    check(srv.alive(), "master died")


def ext_since(srv, mark, pattern, timeout=5):
    """ExtendedLog lines after mark, polled until one matches pattern; the
    matching line as a dict of FIELDS."""
    rx = re.compile(pattern, re.M)
    end = time.monotonic() + timeout
    while True:
        text = srv.read_log(srv.ext_log)[mark:]
        for line in text.splitlines():
            if rx.search(line):
                return dict(zip(FIELDS, line.split("|")))
        if time.monotonic() > end:
            raise TestFailure("ExtendedLog has no line matching %r; new lines:\n%s"
                              % (pattern, text[-1500:] or "(none)"))
        time.sleep(0.05)         # poll interval, not synchronisation


def ext_mark(srv):
    return len(srv.read_log(srv.ext_log))


def curl_cert(srv, client, name, userinfo=USER, *args):
    cmd = ["curl", "-sS", "-v", "--max-time", "20", "--ssl-reqd", "--cacert", pki().ca,
           "--cert", client.chain, "--key", client.key] + list(args) + [
           "ftp://%s@127.0.0.1:%d/%s" % (userinfo, srv.port, name)]
    return run(cmd, timeout=30)


# --- FTPSVerifyClient -----------------------------------------------------

def test_verify_on_without_certificate_refused():
    srv = cc_server()
    mark = srv.log_mark()
    handshake_refused(srv, None)
    srv.wait_log(r"control handshake refused: .*peer did not return a certificate", mark)
    check(srv.alive(), "master died")


@needs("openssl")
def test_verify_on_s_client():
    cp, srv = client_pki(), cc_server()
    a = cp.alice
    out = s_client(srv, "-cert", a.cert, "-cert_chain", a.chain, "-key", a.key,
                   input=("USER %s\r\nPASS %s\r\nPWD\r\nQUIT\r\n" % (USER, PASSWORD)).encode())
    check(re.search(r"^230 ", out.out, re.M), "s_client with alice's cert: no 230:\n%s"
          % out.out[-800:])
    mark = srv.log_mark()
    out = s_client(srv, input=("USER %s\r\nPASS %s\r\nQUIT\r\n" % (USER, PASSWORD)).encode())
    check(not re.search(r"^(331|230) ", out.out, re.M),
          "s_client without a cert got a login reply:\n%s" % out.out[-800:])
    srv.wait_log(r"control handshake refused: .*peer did not return a certificate", mark)


def test_verify_on_valid_chain_password_login():
    cp, srv = client_pki(), cc_server()
    mark = srv.log_mark()
    login_ok(srv, cp.alice, fetch="big.bin")
    srv.wait_log(r"control handshake ok: .*client=CN=alice", mark)
    srv.wait_log(r"data handshake ok: .*resumed=yes", mark)


@needs("lftp")
def test_verify_on_lftp_with_certificate():
    cp, srv = client_pki(), cc_server()
    a = cp.alice
    out = lftp(srv, "set ssl:cert-file %s; set ssl:key-file %s; cat small.bin" % (a.chain, a.key))
    check(out.returncode == 0, "lftp with alice's cert exit %d: %s" % (out.returncode, out.err[-500:]))
    check(sha256(out.stdout_b) == srv.files["small.bin"], "lftp: wrong bytes")


def test_verify_optional():
    cp, srv = client_pki(), cc_server(verify="optional")
    m = ext_mark(srv)
    ftp = connect(srv, None)
    ftp.login(USER, PASSWORD)
    ftp.pwd()
    quit_quietly(ftp)
    f = ext_since(srv, m, r"^alice\|PWD\|")
    check(f["verify"] == "NONE", "no cert: FTPS_CLIENT_VERIFY %r, want NONE" % f["verify"])
    check(f["s_dn"] in ("", "-"), "no cert: FTPS_CLIENT_S_DN %r" % f["s_dn"])
    login_ok(srv, cp.alice)
    # A presented certificate must still verify.
    refused_for(srv, cp.selfsigned, "self.signed certificate", 0, "/CN=alice")


# --- verification failures ------------------------------------------------

def test_refused_self_signed():
    refused_for(cc_server(), client_pki().selfsigned, "self.signed certificate", 0, "/CN=alice")


def test_refused_unknown_ca():
    refused_for(cc_server(), client_pki().carol2, "unable to get local issuer certificate", 0,
                "/CN=carol2")


def test_refused_expired():
    refused_for(cc_server(), client_pki().expired, "certificate has expired", 0, "/CN=expired")


def test_refused_not_yet_valid():
    refused_for(cc_server(), client_pki().notyet, "certificate is not yet valid", 0,
                "/CN=notyet")


def test_verify_depth():
    cp = client_pki()
    # alice: alice -> inter -> root (levels 0..2); depth 0 allows 0..1.
    srv0 = cc_server(lines=["FTPSVerifyDepth 0"])
    mark = srv0.log_mark()
    handshake_refused(srv0, cp.alice)
    srv0.wait_log(r"control handshake refused: certificate chain too long "
                  r"\(depth \d, subject 'CN=Client [^']*,O=ftps-test'", mark)
    srv1 = cc_server(lines=["FTPSVerifyDepth 1"])
    login_ok(srv1, cp.alice)
    mark = srv1.log_mark()
    handshake_refused(srv1, cp.deep)          # deep -> inter2 -> inter -> root
    srv1.wait_log(r"control handshake refused: certificate chain too long "
                  r"\(depth \d, subject 'CN=Client [^']*,O=ftps-test'", mark)


# --- CRLs -----------------------------------------------------------------

def _crl_bundle(name, *crls):
    cp = client_pki()
    path = os.path.join(cp.dir, name)
    if not os.path.exists(path):
        cp.bundle(name, *crls)
    return path


def test_crl_revoked_refused():
    cp = client_pki()
    srv = cc_server(lines=["FTPSCARevocationFile " +
                           _crl_bundle("crl-current.pem", cp.crl_inter, cp.crl_root)])
    login_ok(srv, cp.alice)
    refused_for(srv, cp.revoked, "certificate revoked", 0, "/CN=revoked")


def test_crl_empty_accepted():
    cp = client_pki()
    srv = cc_server(lines=["FTPSCARevocationFile " +
                           _crl_bundle("crl-empty.pem", cp.crl_inter_empty, cp.crl_root)])
    login_ok(srv, cp.alice)
    login_ok(srv, cp.revoked, fetch=None)     # not listed in this CRL


def test_crl_expired_refused():
    cp = client_pki()
    srv = cc_server(lines=["FTPSCARevocationFile " +
                           _crl_bundle("crl-expired.pem", cp.crl_inter_expired, cp.crl_root)])
    refused_for(srv, cp.alice, "CRL has expired", 0, "/CN=alice")


def test_crl_of_other_ca_only():
    cp = client_pki()
    srv = cc_server(lines=["FTPSCARevocationFile " + cp.crl_ca2])
    refused_for(srv, cp.alice, "unable to get certificate CRL", 0, "/CN=alice")


def test_crl_covers_whole_chain():
    # Only the intermediate's CRL: the intermediate itself has no CRL of its issuer.
    cp = client_pki()
    srv = cc_server(lines=["FTPSCARevocationFile " + cp.crl_inter])
    mark = srv.log_mark()
    handshake_refused(srv, cp.alice)
    srv.wait_log(r"control handshake refused: unable to get certificate CRL \(depth 1, "
                 r"subject 'CN=Client Intermediate CA,O=ftps-test'", mark)


def test_two_cas_via_path_directives():
    cp = client_pki()
    cadir = os.path.join(cp.dir, "cadir")
    crldir = os.path.join(cp.dir, "crldir")
    if not os.path.isdir(cadir):
        cp.directory("cadir", cp.root.cert, cp.ca2.cert)
        cp.directory("crldir", cp.crl_inter, cp.crl_root, cp.crl_ca2)
    srv = cc_server(ca="FTPSCACertificatePath " + cadir,
                    lines=["FTPSCARevocationPath " + crldir])
    login_ok(srv, cp.alice)
    login_ok(srv, cp.carol2, fetch=None)
    refused_for(srv, cp.revoked, "certificate revoked", 0, "/CN=revoked")
    refused_for(srv, cp.revoked2, "certificate revoked", 0, "/CN=revoked2")
    refused_for(srv, cp.selfsigned, "self.signed certificate", 0, "/CN=alice")


# --- FTPSUserName as a constraint ------------------------------------------

def username_server(field, users=()):
    return cc_server(verify="optional", lines=["FTPSUserName " + field], users=users)


def _refusal_logged(srv, mark, user, why):
    srv.wait_log(r"login of '%s' refused by certificate policy: %s"
                 % (re.escape(user), re.escape(why)), mark)


def test_username_commonname():
    cp, srv = client_pki(), username_server("CommonName")
    login_ok(srv, cp.alice)
    login_ok(srv, cp.bob, user=BOB, password=BOB_PW, fetch=None)
    mark = srv.log_mark()
    refused_at_user(srv, cp.bob)
    _refusal_logged(srv, mark, USER, "certificate names 'bob'")
    mark = srv.log_mark()
    refused_at_user(srv, None)
    _refusal_logged(srv, mark, USER, "no verified client certificate")
    mark = srv.log_mark()
    refused_at_user(srv, cp.alice, user=BOB, password=BOB_PW)
    _refusal_logged(srv, mark, BOB, "certificate names 'alice'")


def test_username_email():
    cp = client_pki()
    mail = "alice@example.com"
    srv = username_server("EmailAddress", users=((mail, PASSWORD, 2003, ()),))
    login_ok(srv, cp.alice, user=mail, fetch=None)      # rfc822Name SAN
    login_ok(srv, cp.dnmail, user=mail, fetch=None)     # subject emailAddress
    mark = srv.log_mark()
    refused_at_user(srv, cp.bob, user=mail)
    _refusal_logged(srv, mark, mail, "certificate names 'bob@example.com'")
    mark = srv.log_mark()
    refused_at_user(srv, cp.alice, user=USER)            # CN is not the field
    _refusal_logged(srv, mark, USER, "certificate names 'alice@example.com'")


def test_username_upn():
    cp = client_pki()
    upn = "alice@corp.example"
    srv = username_server("UPN", users=((upn, PASSWORD, 2004, ()),))
    login_ok(srv, cp.alice, user=upn, fetch=None)
    mark = srv.log_mark()
    refused_at_user(srv, cp.bob, user=upn)
    _refusal_logged(srv, mark, upn, "certificate names 'bob@corp.example'")
    mark = srv.log_mark()
    refused_at_user(srv, cp.dnmail, user=upn)            # no UPN at all
    srv.wait_log(r"login of '%s' refused by certificate policy: certificate lacks"
                 % re.escape(upn), mark)


def test_username_dotted_oid():
    cp, srv = client_pki(), username_server("2.5.4.3")
    login_ok(srv, cp.alice, fetch=None)
    mark = srv.log_mark()
    refused_at_user(srv, cp.bob)
    _refusal_logged(srv, mark, USER, "certificate names 'bob'")


def test_username_without_certlogin_needs_password():
    cp, srv = client_pki(), username_server("CommonName")
    ftp = connect(srv, cp.alice)
    try:
        r = ftp.sendcmd("USER " + USER)
        check(r.startswith("331"), "matching cert, no FTPSCertLogin: USER -> %r, want 331" % r)
        try:
            r = ftp.sendcmd("PASS wrong-password")
            raise TestFailure("wrong password accepted: %r" % r)
        except ftplib.error_perm as e:
            check(str(e).startswith("530"), "wrong password: %r" % str(e))
    finally:
        quit_quietly(ftp)


# --- FTPSCertLogin ----------------------------------------------------------

CERTLOGIN = ["FTPSUserName CommonName", "FTPSCertLogin on"]
LIMIT_BOB = ["<Limit LOGIN>", "  DenyUser bob", "</Limit>"]


@needs("curl")
def test_certlogin_curl_232():
    cp, srv = client_pki(), cc_server(lines=CERTLOGIN, extra=LIMIT_BOB)
    mark = srv.log_mark()
    out = curl_cert(srv, cp.alice, "big.bin")
    check(out.returncode == 0, "curl 232 login exit %d: %s" % (out.returncode, out.err[-600:]))
    check(re.search(r"^< 232", out.err, re.M), "no 232 reply to USER:\n%s" % out.err[-900:])
    check(not re.search(r"^> PASS", out.err, re.M), "curl was asked for a password")
    check(sha256(out.stdout_b) == srv.files["big.bin"], "232 login: wrong bytes")
    srv.wait_log(r"certificate login of 'alice' \(fingerprint %s\)" % cp.alice.fp, mark)


def test_certlogin_defaultroot_and_limit_login():
    cp, srv = client_pki(), cc_server(lines=CERTLOGIN, extra=LIMIT_BOB)
    ftp = connect(srv, cp.alice)
    try:
        r = ftp.sendcmd("USER " + USER)
        check(r.startswith("232"), "USER with alice's cert -> %r, want 232" % r)
        pwd = ftp.pwd()
        check(pwd == "/", "DefaultRoot ~ after a 232 login: PWD %r, want '/'" % pwd)
        ftp.prot_p()
        check(sha256(retr_bytes(ftp, "small.bin")) == srv.files["small.bin"], "RETR wrong bytes")
    finally:
        quit_quietly(ftp)
    # bob's certificate maps to bob, but <Limit LOGIN> still denies him.
    ftp = connect(srv, cp.bob)
    try:
        try:
            r = ftp.sendcmd("USER " + BOB)
            if r.startswith("331"):
                r = ftp.sendcmd("PASS " + BOB_PW)
            r2 = ftp.sendcmd("PWD")
            raise TestFailure("bob logged in despite <Limit LOGIN>: %r then PWD %r" % (r, r2))
        except ftplib.error_perm as e:
            check(str(e).startswith("530"), "bob: %r, want 530" % str(e))
        except (EOFError, OSError):
            pass
    finally:
        quit_quietly(ftp)
    # The wrong certificate gets no 232 and no way in.
    refused_at_user(srv, cp.bob, user=USER)


# --- FTPSAuthorizedCertificates --------------------------------------------

def authz_server(chroot=True):
    srv = cc_server(lines=["FTPSAuthorizedCertificates ~/.ftps/authorized_certs",
                           "FTPSCertLogin on"], chroot=chroot)
    d = srv.path(".ftps")
    os.makedirs(d, exist_ok=True)
    os.chown(d, UID, UID)
    return srv


def write_authz(path, text, mode=0o600, uid=UID):
    with open(path, "w") as f:
        f.write(text)
    os.chown(path, uid, uid)
    os.chmod(path, mode)


def colon_fp(fp):
    return ":".join(fp[i:i + 2] for i in range(0, len(fp), 2)).upper()


def cert_login_232(srv, client, pwd, user=USER):
    ftp = connect(srv, client)
    try:
        r = ftp.sendcmd("USER " + user)
        check(r.startswith("232"), "%s: USER -> %r, want 232" % (client, r))
        got = ftp.pwd()
        check(got == pwd, "PWD after 232: %r, want %r" % (got, pwd))
    finally:
        quit_quietly(ftp)


def test_authorized_certs_with_defaultroot():
    # The documented setup, ~/.ftps/authorized_certs with DefaultRoot ~, both
    # as a 232 certificate login and as a constraint on a password login.
    cp = client_pki()
    problems = []
    for certlogin in (True, False):
        srv = authz_server() if certlogin else cc_server(
            lines=["FTPSAuthorizedCertificates ~/.ftps/authorized_certs"])
        d = srv.path(".ftps")
        os.makedirs(d, exist_ok=True)
        os.chown(d, UID, UID)
        write_authz(srv.path(".ftps/authorized_certs"), "SHA256:%s\n" % colon_fp(cp.alice.fp))
        mark = srv.log_mark()
        try:
            if certlogin:
                cert_login_232(srv, cp.alice, "/")
            else:
                login_ok(srv, cp.alice, fetch=None)
        except (TestFailure, ftplib.Error) as e:
            refusal = re.findall(r"login of 'alice' refused by certificate policy: .*",
                                 srv.ftps_log_since(mark))
            problems.append("%s login: %s; FTPSLog: %s"
                            % ("232" if certlogin else "password", e, refusal))
    check(not problems, " || ".join(problems))


def test_authorized_certs_formats():
    # Without DefaultRoot: fingerprint forms, PEM entries and garbage lines.
    cp, srv = client_pki(), authz_server(chroot=False)
    f = srv.path(".ftps/authorized_certs")
    for text in ("# alice's laptop\nSHA256:%s\n" % colon_fp(cp.alice.fp),
                 "sha256:%s\n" % cp.alice.fp,
                 "  %s  \r\n" % cp.alice.fp.upper(),
                 cp.bob.pem() + cp.alice.pem()):
        write_authz(f, text)
        cert_login_232(srv, cp.alice, srv.home)
    junk = ("not a fingerprint\nSHA256:zz\n" + "ab" * 31 + "\n-----BEGIN CERTIFICATE-----\n"
            "bm90IGEgY2VydA==\n-----END CERTIFICATE-----\n\x01\x02\n")
    write_authz(f, junk + cp.alice.fp + "\n")
    mark = srv.log_mark()
    cert_login_232(srv, cp.alice, srv.home)
    srv.wait_log(r"has \d+ unusable line", mark)


def test_authorized_certs_not_listed():
    cp, srv = client_pki(), authz_server()
    write_authz(srv.path(".ftps/authorized_certs"), "SHA256:%s\n" % cp.bob.fp)
    mark = srv.log_mark()
    refused_at_user(srv, cp.alice)
    srv.wait_log(r"login of 'alice' refused by certificate policy: certificate not listed", mark)


def test_authorized_certs_world_writable():
    cp, srv = client_pki(), authz_server()
    write_authz(srv.path(".ftps/authorized_certs"), cp.alice.fp + "\n", mode=0o666)
    mark = srv.log_mark()
    refused_at_user(srv, cp.alice)
    srv.wait_log(r"login of 'alice' refused .*group- or world-writable", mark)


def test_authorized_certs_wrong_owner():
    cp, srv = client_pki(), authz_server()
    write_authz(srv.path(".ftps/authorized_certs"), cp.alice.fp + "\n", uid=BOB_UID)
    mark = srv.log_mark()
    refused_at_user(srv, cp.alice)
    srv.wait_log(r"login of 'alice' refused .*owned by neither", mark)


@needs("curl")
def test_authorized_certs_percent_u_path():
    cp = client_pki()
    d = mkdtemp("ftps-authz-")
    srv = cc_server(lines=["FTPSAuthorizedCertificates %s/%%u.certs" % d, "FTPSCertLogin on"],
                    chroot=False)
    write_authz(os.path.join(d, "alice.certs"), cp.alice.fp + "\n", uid=0, mode=0o644)
    out = curl_cert(srv, cp.alice, "small.bin")
    check(out.returncode == 0 and re.search(r"^< 232", out.err, re.M),
          "curl with %%u file: exit %d:\n%s" % (out.returncode, out.err[-800:]))
    check(sha256(out.stdout_b) == srv.files["small.bin"], "wrong bytes")
    mark = srv.log_mark()
    refused_at_user(srv, cp.bob, user=BOB, password=BOB_PW)     # no bob.certs
    srv.wait_log(r"login of 'bob' refused .*bob\.certs", mark)


# --- facts ------------------------------------------------------------------

def test_notes_in_extended_log():
    cp, srv = client_pki(), cc_server()
    m = ext_mark(srv)
    ftp = connect(srv, cp.alice)
    ftp.login(USER, PASSWORD)
    ftp.pwd()
    quit_quietly(ftp)
    f = ext_since(srv, m, r"^alice\|PWD\|")
    # TLS_CLIENT_S_DN in mod_tls's format (OpenSSL's one-line form).
    want = {"verify": "SUCCESS", "s_dn": "CN=alice", "tls_s_dn": "CN = alice",
            "i_dn": "CN=Client Intermediate CA,O=ftps-test", "fp": cp.alice.fp,
            "serial": cp.alice.serial}
    bad = ["%s=%r (want %r)" % (k, f.get(k), v) for k, v in want.items() if f.get(k) != v]
    check(not bad, "ExtendedLog notes: %s; line %r" % (", ".join(bad), f))
    check(f["proto"] in ("TLSv1.3", "TLSv1.2"), "FTPS_PROTOCOL %r" % f["proto"])
    check(f["ftps"] not in ("", "-"), "FTPS note empty")
    check(f["cipher"] and f["cipher"] == f["tls_cipher"], "FTPS_CIPHER %r vs TLS_CIPHER %r"
          % (f["cipher"], f["tls_cipher"]))
    check(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", f["not_after"]),
          "FTPS_CLIENT_NOT_AFTER %r" % f["not_after"])


# --- configuration ------------------------------------------------------------

def test_verify_without_ca_is_config_error():
    for mode in ("on", "optional"):
        srv = Server(ftps=["FTPSVerifyClient " + mode], files=False)
        rc, out = srv.syntax_check()
        check(rc != 0, "FTPSVerifyClient %s without a CA accepted by proftpd -t" % mode)
        check("FTPSCACertificateFile" in out, "message does not name FTPSCACertificateFile: %s"
              % out.strip()[-400:])


# --- bad input and the data channel -----------------------------------------

def test_big_subject_no_crash():
    cp, srv = client_pki(), cc_server()
    mark = srv.log_mark()
    login_ok(srv, cp.bigsubj)             # a valid chain: accepted, subject truncated in logs
    text = srv.wait_log(r"control handshake ok: .*client=.*OU=unit-0", mark)
    check(all(len(l) < 4096 for l in text.splitlines()), "an FTPSLog line is over 4 KiB")
    srv2 = cc_server(verify="optional", lines=["FTPSUserName CommonName"])
    login_ok(srv2, cp.bigsubj, fetch=None)     # CN=alice is last in the subject
    check(srv.alive() and srv2.alive(), "master died")
    login_ok(srv, cp.alice, fetch=None)


def test_data_channel_other_certificate_refused():
    cp = client_pki()
    srv = cc_server(lines=["FTPSOptions NoSessionReuseRequired"])
    r = Raw(srv)
    try:
        r.auth(context=ctx_for(cp.alice))
        r.login()
        for c in ("PBSZ 0", "PROT P", "TYPE I"):
            check(r.cmd(c).code == 200, c)
        # Same certificate, fresh (not resumed) session: accepted.
        port = r.pasv()
        r.send("RETR small.bin\r\n")
        d = r.data_connect(port, tls=True, session=None, context=ctx_for(cp.alice))
        check(r.reply().code == 150, "RETR did not start")
        data = recv_all(d)
        d.close()
        check(r.reply().code == 226, "RETR with alice's cert on data did not end 226")
        check(sha256(data) == srv.files["small.bin"], "wrong bytes")
        # bob's certificate on the data connection: refused.
        mark = srv.log_mark()
        port = r.pasv()
        r.send("RETR small.bin\r\n")
        got = b""
        try:
            d = r.data_connect(port, tls=True, session=None, context=ctx_for(cp.bob))
            got = recv_all(d)
            d.close()
        except (ssl.SSLError, OSError):
            pass
        rep = r.reply()
        if rep.code == 150:
            rep = r.reply()
        check(rep.code >= 400, "data connection with bob's cert: %r" % rep)
        check(got == b"", "%d bytes sent to a data connection with another cert" % len(got))
        srv.wait_log(r"data connection refused: client certificate differs", mark)
        check(r.cmd("NOOP").code == 200, "control channel unusable after the refusal")
    finally:
        r.close()
