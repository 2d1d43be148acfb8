"""Attack: resuming a TLS session on a virtual host other than the one that
made it (B26). The default server trusts a second, unrelated CA; the vhost
"secure.example" (name-based, chosen by SNI) and "vh-port" (a port of its
own) trust only the client root CA, require a client certificate and log in
by certificate (FTPSCertLogin, 232). A session made on the default server
with a CA2 certificate CN=alice must never open either of them: the
resumption is refused, the handshake is a full one under the vhost's rules,
and it fails there on the certificate, so no 232 and no login at all.
Covers TLS 1.3 tickets, TLS 1.2 tickets and TLS 1.2 session IDs."""

import ftplib
import socket
import ssl

from ftpslib import (Raw, ReuseFTP_TLS, TestFailure, check, pki, quit_quietly, retr_bytes,
                     server, sha256)
from pki_clients import client_pki

SECURE = "secure.example"
_alice2 = {}


def alice_ca2():
    """A certificate CN=alice issued by the second CA (trusted only by the
    default server)."""
    if "c" not in _alice2:
        _alice2["c"] = client_pki().ca2.issue("alice-ca2", "/CN=alice")
    return _alice2["c"]


def attack_server():
    cp, p = client_pki(), pki()
    strict = ["FTPSEngine on", "FTPSVerifyClient on",
              "FTPSCACertificateFile " + cp.root.cert, "FTPSUserName CommonName",
              "FTPSCertLogin on", "FTPSLog {ftpslog}"]
    return server(
        ftps=["FTPSVerifyClient optional", "FTPSCACertificateFile " + cp.ca2.cert,
              "FTPSUserName CommonName", "FTPSCertLogin on"],
        vhosts=[
            dict(name="vh-secure", lines=["ServerAlias " + SECURE,
                 "FTPSCertificate %s %s" % p.leaf(SECURE, dns=[SECURE])] + strict),
            dict(name="vh-port", own_port=True, lines=[
                 "FTPSCertificate %s %s" % (p.ec, p.ec_key)] + strict),
        ])


def client_ctx(kind):
    """The attacker's context: the CA2 certificate, and the session kind."""
    ctx = alice_ca2().context(pki().ca)
    ctx.check_hostname = False
    if kind == "tls13":
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    else:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if kind == "tls12_id":
        ctx.options |= ssl.OP_NO_TICKET
    return ctx


def session_on_default(srv, ctx):
    """A full handshake on the default server with the CA2 certificate: it is
    accepted there (232 alice); returns the session to replay."""
    r = Raw(srv)
    r.auth(context=ctx)
    u = r.cmd("USER alice")
    check(u.code == 232, "default server: USER alice with CA2 cert: want 232, got %r" % u)
    sess = r.sock.session
    check(sess is not None, "no TLS session to replay")
    r.cmd("QUIT")
    r.close()
    return sess


def replay(srv, ctx, sess, port, sni):
    """AUTH TLS on port with SNI sni, offering sess; returns (what the
    attacker got, whether the session was resumed)."""
    r = Raw(srv, port=port)
    try:
        check(r.cmd("AUTH TLS").code == 234, "AUTH TLS refused")
        try:
            r.starttls(context=ctx, session=sess, server_hostname=sni)
            resumed = r.sock.session_reused
            u = r.cmd("USER alice")
        except (ssl.SSLError, OSError, EOFError) as e:
            return "handshake failed: %r" % e, False
        if u.code == 232:
            return "232", resumed
        return "USER -> %d" % u.code, resumed
    finally:
        r.close()


def attacker_next_steps(srv, port, sni):
    """After the refusal: a fresh handshake without a certificate is refused,
    and the CA2 certificate is refused outright ('unknown ca')."""
    mark = srv.log_mark()
    ctx = pki().client_context()
    ctx.check_hostname = False
    got, _ = replay(srv, ctx, None, port, sni)
    check(got.startswith("handshake failed"), "%s without a certificate: %s" % (sni, got))
    got, _ = replay(srv, client_ctx("tls13"), None, port, sni)
    check(got.startswith("handshake failed"), "%s with the CA2 certificate: %s" % (sni, got))
    srv.wait_log(r"control handshake refused: .*(unable to get local issuer|unknown ca)", mark)
    check(srv.alive(), "master died")


def default_still_works(srv, ctx):
    """The session kind still resumes where it was made (control -> data)."""
    ftp = ReuseFTP_TLS(context=ctx, timeout=10)
    ftp.connect("127.0.0.1", srv.port)
    try:
        ftp.auth()
        r = ftp.sendcmd("USER alice")
        check(r.startswith("232"), "default server: %r" % r)
        ftp.prot_p()
        data = retr_bytes(ftp, "small.bin")
        check(sha256(data) == srv.files["small.bin"], "default server: wrong bytes")
    finally:
        quit_quietly(ftp)


def cross_vhost(kind, by_port):
    srv = attack_server()
    ctx = client_ctx(kind)
    port = srv.vport["vh-port"] if by_port else srv.port
    sni = "127.0.0.1" if by_port else SECURE
    sess = session_on_default(srv, ctx)
    mark = srv.log_mark()
    got, resumed = replay(srv, ctx, sess, port, sni)
    check(got != "232", "%s session from the default server logged in on %s: 232 alice"
          % (kind, "vh-port" if by_port else SECURE))
    check(not resumed, "%s session from the default server resumed on %s (%s)"
          % (kind, sni, got))
    check(got.startswith("handshake failed"), "full handshake under the vhost's rules "
          "should fail on the CA2 certificate, got %s" % got)
    srv.wait_log(r"control handshake refused: .*(unable to get local issuer|unknown ca)", mark)
    attacker_next_steps(srv, port, sni)
    default_still_works(srv, ctx)


def test_attack_resume_tls13_ticket_on_sni_vhost():
    cross_vhost("tls13", False)


def test_attack_resume_tls12_ticket_on_sni_vhost():
    cross_vhost("tls12_ticket", False)


def test_attack_resume_tls12_session_id_on_sni_vhost():
    cross_vhost("tls12_id", False)


def test_attack_resume_tls13_ticket_on_port_vhost():
    cross_vhost("tls13", True)


def test_attack_resume_tls12_ticket_on_port_vhost():
    cross_vhost("tls12_ticket", True)


def test_attack_resume_tls12_session_id_on_port_vhost():
    cross_vhost("tls12_id", True)


def test_sni_vhost_data_connections_resume_after_switch():
    """The vhost's own client (root-CA certificate) logs in by certificate
    and its data connections resume the control session after the SNI
    switch, for both protocol versions."""
    srv = attack_server()
    cp = client_pki()
    for maxv in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        ctx = cp.alice.context(pki().ca)
        ctx.check_hostname = False
        ctx.maximum_version = maxv
        ftp = ReuseFTP_TLS(context=ctx, timeout=10)
        ftp.connect("127.0.0.1", srv.port)
        ftp.host = SECURE             # ReuseFTP_TLS sends it as SNI
        try:
            ftp.auth()
            r = ftp.sendcmd("USER alice")
            check(r.startswith("232"), "%s: own certificate: %r" % (SECURE, r))
            ftp.prot_p()
            for _ in range(2):
                data = retr_bytes(ftp, "small.bin")
                check(sha256(data) == srv.files["small.bin"], "%s: wrong bytes" % SECURE)
        finally:
            quit_quietly(ftp)
