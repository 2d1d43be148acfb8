"""Attack: growing a session process's memory with refused data handshakes
(B26). A logged-in client opens data connection after data connection with
a TLS 1.2 full handshake that offers no session (or a foreign one) and
presents a ~100 KB client certificate chain. Each is refused (425); none may
leave anything behind: the session's RSS stays within a small bound, the
same control session still lists and transfers, and the master lives."""

import ftplib
import os
import ssl

from ftpslib import (ReuseFTP_TLS, check, ftp_login, log, pki, quit_quietly, retr_bytes,
                     rss_kb, server, session_pid, sha256)
from pki_clients import client_pki

ROUNDS = 300
MAX_GROWTH_KB = 8 * 1024
_big = {}


def big_client():
    """A valid client certificate (client root -> intermediate -> leaf) whose
    leaf carries a 90 KB private extension: a ~94 KB chain, just under
    OpenSSL's 100 KB limit on a handshake message. (Too big for a session
    ticket, which must hold the peer certificate in 64 KB: the control
    connection logs in without a certificate.)"""
    if "c" not in _big:
        _big["c"] = client_pki().inter.issue(
            "bigext", "/CN=bigext", addext=["1.2.3.4.5=ASN1:UTF8String:" + "x" * 90000])
    return _big["c"]


def memory_server():
    # A session needs ~17 MB of address space (VmSize, which RLimitMemory
    # limits as RLIMIT_AS): 64 MB leaves room for transfers, not hoarding.
    # Not under the sanitizer build (FTPS_PROFTPD set): ASan's shadow memory
    # needs terabytes of address space; the RSS bound still applies there.
    limit = [] if os.environ.get("FTPS_PROFTPD") else ["RLimitMemory session 64M"]
    return server(ftps=["FTPSVerifyClient optional",
                        "FTPSCACertificateFile " + client_pki().root.cert],
                  extra=limit)


def vm_size(pid):
    with open("/proc/%d/status" % pid) as f:
        return [l.strip() for l in f if l.startswith("VmSize:")][0]


def data_ctx(client):
    ctx = client.context(pki().ca)
    ctx.check_hostname = False
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.options |= ssl.OP_NO_TICKET
    return ctx


def refused_data_handshake(ftp, ctx, session=None):
    """LIST over a data connection that does not resume the control
    session: the server must answer 425 and send no listing."""
    conn, _ = ftplib.FTP.ntransfercmd(ftp, "LIST")    # raw: no TLS yet
    got = b""
    try:
        tls = ctx.wrap_socket(conn, server_hostname="127.0.0.1", session=session)
        try:
            got = tls.recv(65536)
        finally:
            tls.close()
    except (ssl.SSLError, OSError):
        pass
    finally:
        conn.close()
    check(got == b"", "refused data connection carried %r" % got[:80])
    try:
        r = ftp.getmultiline()
    except ftplib.error_temp as e:
        r = str(e)
    check(r.startswith("425"), "data connection without the control session: %r" % r)


def control_still_works(srv, ftp):
    lines = []
    ftp.retrlines("LIST", lines.append)
    check(any("small.bin" in l for l in lines), "LIST after the attack: %r" % lines[:5])
    data = retr_bytes(ftp, "big.bin")
    check(sha256(data) == srv.files["big.bin"], "RETR after the attack: wrong bytes")


def test_attack_refused_data_handshakes_leave_no_memory():
    srv = memory_server()
    client = big_client()
    ftp = ftp_login(srv)
    try:
        control_still_works(srv, ftp)
        pid = session_pid(srv)
        dctx = data_ctx(client)
        for _ in range(10):
            refused_data_handshake(ftp, dctx)
        before = rss_kb(pid)
        foreign = None
        for i in range(ROUNDS):
            refused_data_handshake(ftp, dctx, foreign if i % 2 else None)
        after = rss_kb(pid)
        log("session %d: VmRSS %d KB -> %d KB, %s" % (pid, before, after, vm_size(pid)))
        check(after - before < MAX_GROWTH_KB,
              "%d refused data handshakes with a %d KB chain grew the session from %d KB "
              "to %d KB" % (ROUNDS, os.path.getsize(client.chain) // 1024, before, after))
        control_still_works(srv, ftp)
        check(session_pid(srv) == pid, "the session process changed")
    finally:
        quit_quietly(ftp)
    check(srv.alive(), "master died")
