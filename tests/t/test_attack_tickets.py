"""Attack: the fresh ticket mod_ftps sends before every data connection is
bound to its FTP session and virtual host (B26). Session A gets a ticket
on its control connection at PASV; session B (another FTP session of the
same client identity, or one on another vhost) offers it on its own data
connection: refused (425, 'foreign session'), and what B tries next fails
too, while A goes on using fresh tickets. TLS 1.3 (one new ticket per data
connection) and TLS 1.2 (the control session itself)."""

import os
import ssl

from ftpslib import Raw, check, pki, recv_all, server, sha256

VHOST_B = dict(name="vh-b", own_port=True, lines=[
    "FTPSEngine on", "FTPSCertificate %s %s" % (pki().ec, pki().ec_key),
    "FTPSLog {ftpslog}"])


def context(tls):
    ctx = pki().client_context()
    if tls == "TLSv1.3":
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    else:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def logged_in(srv, ctx, port=None):
    r = Raw(srv, port=port)
    r.auth(context=ctx)
    r.login()
    for line in ("PBSZ 0", "PROT P", "TYPE I"):
        check(r.cmd(line).code == 200, "%s refused" % line)
    return r


def retr(r, ctx, name, session):
    """PASV + RETR offering session on the data connection; returns
    (final reply, bytes, resumed)."""
    port = r.pasv()
    if session == "fresh":
        session = r.sock.session          # what arrived with the 227
    r.send("RETR %s\r\n" % name)
    d = r.data_connect(port, tls=True, session=session, context=ctx)
    first = r.reply()
    check(first.code == 150, "RETR: want 150, got %r" % first)
    resumed = d.session_reused
    try:
        data = recv_all(d)
    except (OSError, ssl.SSLError):
        data = None
    d.close()
    return r.reply(), data, resumed


def stor_refused(r, ctx, name, session):
    port = r.pasv()
    r.send("STOR %s\r\n" % name)
    d = r.data_connect(port, tls=True, session=session, context=ctx)
    check(r.reply().code == 150, "STOR: want 150")
    try:
        d.sendall(os.urandom(4096))
    except (OSError, ssl.SSLError):
        pass
    d.close()
    return r.reply()


def ticket_of_a(srv, ctx):
    """Session A: a fresh ticket at PASV, used once for a real download."""
    a = logged_in(srv, ctx)
    before = a.sock.session
    port = a.pasv()
    ticket = a.sock.session
    if ctx.minimum_version == ssl.TLSVersion.TLSv1_3:
        check(ticket.id != before.id, "no fresh TLS 1.3 ticket arrived with the 227")
    a.send("RETR small.bin\r\n")
    d = a.data_connect(port, tls=True, session=ticket, context=ctx)
    check(a.reply().code == 150, "A: RETR not started")
    check(d.session_reused, "A's own fresh ticket did not resume")
    check(sha256(recv_all(d)) == srv.files["small.bin"], "A: wrong bytes")
    d.close()
    check(a.reply().code == 226, "A: RETR did not complete")
    return a, ticket


def cross_session(tls):
    srv = server()
    ctx = context(tls)
    mark = srv.log_mark()
    a, ticket = ticket_of_a(srv, ctx)
    b = logged_in(srv, ctx)
    rep, data, resumed = retr(b, ctx, "small.bin", ticket)
    check(rep.code == 425 and "foreign session" in rep.text,
          "B offering A's ticket: want 425 foreign session, got %r" % rep)
    check(not resumed and not data, "B's data connection resumed A's ticket")
    srv.wait_log(r"data connection refused: foreign session", mark)
    # B tries again, for an upload: refused, no file.
    rep = stor_refused(b, ctx, "stolen-%s.bin" % tls, ticket)
    check(rep.code == 425, "B's STOR with A's ticket: want 425, got %r" % rep)
    check(not os.path.exists(srv.path("stolen-%s.bin" % tls)), "refused STOR made a file")
    # A goes on with its own fresh tickets; B with its own.
    for r in (a, b):
        rep, data, resumed = retr(r, ctx, "small.bin", "fresh")
        check(rep.code == 226 and resumed and sha256(data) == srv.files["small.bin"],
              "own fresh ticket: %r resumed=%s" % (rep, resumed))
        r.close()


def test_attack_ticket_of_session_a_on_session_b_tls13():
    cross_session("TLSv1.3")


def test_attack_ticket_of_session_a_on_session_b_tls12():
    cross_session("TLSv1.2")


def cross_vhost(tls):
    srv = server(vhosts=[VHOST_B])
    ctx = context(tls)
    mark = srv.log_mark()
    a, ticket = ticket_of_a(srv, ctx)
    a.close()
    # On vhost B's control connection: not resumed.
    b = Raw(srv, port=srv.vport["vh-b"])
    check(b.cmd("AUTH TLS").code == 234, "vhost B: AUTH TLS")
    b.starttls(context=ctx, session=ticket)
    check(not b.sock.session_reused, "vhost A's ticket resumed on vhost B's control")
    b.close()
    # On vhost B's data connection: refused.
    b = logged_in(srv, ctx, port=srv.vport["vh-b"])
    rep, data, resumed = retr(b, ctx, "small.bin", ticket)
    check(rep.code == 425 and not resumed and not data,
          "vhost A's ticket on vhost B's data connection: %r resumed=%s" % (rep, resumed))
    srv.wait_log(r"data connection refused: (foreign|unknown)", mark)
    rep, data, resumed = retr(b, ctx, "small.bin", "fresh")
    check(rep.code == 226 and resumed, "vhost B's own ticket: %r" % rep)
    b.close()


def test_attack_ticket_of_vhost_a_on_vhost_b_tls13():
    cross_vhost("TLSv1.3")


def test_attack_ticket_of_vhost_a_on_vhost_b_tls12():
    cross_vhost("TLSv1.2")
