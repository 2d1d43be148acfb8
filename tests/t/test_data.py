"""Protected data connections: required session reuse, truncation, ABOR,
sendfile under PROT P and the legacy AUTH SSL (implied PROT P)."""

import ftplib
import os
import socket
import ssl
import time

from ftpslib import (Raw, check, ftp_login, quit_quietly, recv_all,
                     refused_transfer, retr_bytes, server, sha256, stor_bytes)

NO_REUSE = ["FTPSOptions NoSessionReuseRequired"]


def _code(text):
    return str(text)[:3]


def test_reuse_client_list_retr_stor():
    srv = server()
    ftp = ftp_login(srv)
    names = ftp.nlst()
    check({"small.bin", "big.bin", "empty.bin"} <= set(names), "NLST: %r" % names)
    data = retr_bytes(ftp, "big.bin")
    check(sha256(data) == srv.files["big.bin"], "RETR big.bin: wrong bytes (%d)" % len(data))
    up = os.urandom(3 << 20)
    resp = stor_bytes(ftp, "reuse-up.bin", up)
    check(resp.startswith("226"), "STOR: %r" % resp)
    check(srv.file_sha("reuse-up.bin") == sha256(up), "STOR: server file differs")
    quit_quietly(ftp)


def test_reuse_many_transfers_one_control_session():
    srv = server()
    ftp = ftp_login(srv)
    for i in range(6):
        data = retr_bytes(ftp, "small.bin")
        check(sha256(data) == srv.files["small.bin"], "RETR #%d: wrong bytes" % i)
        ftp.nlst()
    quit_quietly(ftp)


def _reuse_with(maxv):
    srv = server()
    ctx = srv.pki.client_context(maxv=maxv)
    ftp = ftp_login(srv, context=ctx)
    check(ftp.sock.version() == {ssl.TLSVersion.TLSv1_2: "TLSv1.2"}.get(maxv, "TLSv1.3"),
          "control protocol %r" % ftp.sock.version())
    for _ in range(3):
        data = retr_bytes(ftp, "small.bin")
        check(sha256(data) == srv.files["small.bin"], "RETR: wrong bytes")
    up = os.urandom(70000)
    stor_bytes(ftp, "reuse-%s.bin" % ftp.sock.version(), up)
    check(srv.file_sha("reuse-%s.bin" % ftp.sock.version()) == sha256(up), "STOR: server file differs")
    quit_quietly(ftp)


def test_reuse_tls12():
    _reuse_with(ssl.TLSVersion.TLSv1_2)


def test_reuse_tls13():
    _reuse_with(ssl.TLSVersion.TLSv1_3)


def test_stock_ftplib_list_refused_425():
    srv = server()
    mark = srv.log_mark()
    ftp = ftp_login(srv, cls=ftplib.FTP_TLS)     # does not offer the session
    text = refused_transfer(ftp, "LIST")
    check(_code(text) == "425", "LIST without session reuse: want 425, got %r" % text)
    check("session" in text.lower(), "425 does not say why: %r" % text)
    check("no session" in text.lower() or "not offered" in text.lower(),
          "425 for a client offering no session should say so: %r" % text)
    srv.wait_log(r"session|reus|resum", mark)
    check(ftp.voidcmd("NOOP").startswith("200"), "control unusable after refusal")
    quit_quietly(ftp)


def test_stock_ftplib_tls12_refused_425():
    srv = server()
    ctx = srv.pki.client_context(maxv=ssl.TLSVersion.TLSv1_2)
    ftp = ftp_login(srv, cls=ftplib.FTP_TLS, context=ctx)
    text = refused_transfer(ftp, "NLST")
    check(_code(text) == "425", "TLSv1.2 NLST without session reuse: want 425, got %r" % text)
    quit_quietly(ftp)


def test_stock_ftplib_active_refused_425():
    srv = server()
    ftp = ftp_login(srv, cls=ftplib.FTP_TLS)
    ftp.set_pasv(False)                        # server connects; same reuse rule
    text = refused_transfer(ftp, "RETR small.bin")
    check(_code(text) == "425", "active RETR without session reuse: want 425, got %r" % text)
    quit_quietly(ftp)


def test_stock_ftplib_retr_refused_425():
    srv = server()
    ftp = ftp_login(srv, cls=ftplib.FTP_TLS)
    text = refused_transfer(ftp, "RETR small.bin")
    check(_code(text) == "425", "RETR without session reuse: want 425, got %r" % text)
    quit_quietly(ftp)


def test_stock_ftplib_stor_refused_keeps_files():
    srv = server()
    keep = os.urandom(5000)
    srv.put_file("keep-me.bin", keep)
    ftp = ftp_login(srv, cls=ftplib.FTP_TLS)
    text = refused_transfer(ftp, "STOR keep-me.bin", payload=b"X" * 20000)
    check(_code(text) == "425", "STOR (existing) without reuse: want 425, got %r" % text)
    check(srv.file_sha("keep-me.bin") == sha256(keep), "refused STOR changed/truncated keep-me.bin")
    text = refused_transfer(ftp, "STOR never-created.bin", payload=b"Y" * 20000)
    check(_code(text) == "425", "STOR (new) without reuse: want 425, got %r" % text)
    check(not os.path.exists(srv.path("never-created.bin")), "refused STOR created never-created.bin")
    quit_quietly(ftp)


def test_no_session_reuse_required_option_allows_stock_ftplib():
    srv = server(ftps=NO_REUSE)
    ftp = ftp_login(srv, cls=ftplib.FTP_TLS)
    check("small.bin" in ftp.nlst(), "NLST failed")
    data = retr_bytes(ftp, "big.bin")
    check(sha256(data) == srv.files["big.bin"], "RETR: wrong bytes")
    up = os.urandom(100000)
    stor_bytes(ftp, "stock-up.bin", up)
    check(srv.file_sha("stock-up.bin") == sha256(up), "STOR: server file differs")
    quit_quietly(ftp)


def _foreign_session(maxv):
    srv = server()
    mark = srv.log_mark()
    ctx = srv.pki.client_context(maxv=maxv)
    a = ftp_login(srv, context=ctx)
    retr_bytes(a, "small.bin")                 # A's session is a valid one
    b = Raw(srv)
    b.auth(context=srv.pki.client_context(maxv=maxv))
    b.cmd("PBSZ 0")
    check(b.cmd("PROT P").code == 200, "PROT P")
    b.login()
    port = b.pasv()
    b.send("NLST\r\n")
    try:
        d = b.data_connect(port, tls=True, session=a.sock.session,   # A's session on B
                           context=a.context)
        try:
            recv_all(d)
        except (OSError, ssl.SSLError):
            pass
        d.close()
    except (OSError, ssl.SSLError):
        pass
    rep = b.reply()
    if rep.code == 150:
        rep = b.reply()
    check(rep.code == 425, "data connection resuming another control session: want 425, got %r"
          % rep.text)
    check("session" in rep.text.lower(), "425 does not say why: %r" % rep.text)
    srv.wait_log(r"session|reus|resum", mark)
    b.close()
    quit_quietly(a)


def test_foreign_session_refused_425():
    _foreign_session(None)


def test_foreign_session_tls12_refused_425():
    _foreign_session(ssl.TLSVersion.TLSv1_2)


def test_prot_p_plain_data_connection_gets_no_plaintext():
    srv = server()
    r = Raw(srv)
    r.auth()
    r.cmd("PBSZ 0")
    check(r.cmd("PROT P").code == 200, "PROT P")
    r.login()
    r.cmd("TYPE I")
    port = r.pasv()
    r.send("RETR small.bin\r\n")
    d = r.data_connect(port, tls=False)        # a client that forgets TLS on data
    d.sendall(b"hello, no TLS here\r\n")
    try:
        got = recv_all(d)
    except OSError:
        got = b""
    d.close()
    with open(srv.path("small.bin"), "rb") as f:
        head = f.read(64)
    check(head not in got, "file bytes sent in clear on a PROT P data connection")
    rep = r.reply()
    if rep.code == 150:
        rep = r.reply()
    check(rep.code in range(400, 600), "failed data handshake: want 4xx/5xx, got %r" % rep.text)
    check(r.cmd("NOOP").code == 200, "control unusable after failed data handshake")
    r.close()


def test_truncated_upload_not_226():
    srv = server()
    mark = srv.log_mark()
    ftp = ftp_login(srv)
    conn = ftp.transfercmd("STOR truncated.bin")
    conn.sendall(os.urandom(1 << 20))
    raw = socket.socket(fileno=os.dup(conn.fileno()))   # TCP close, no close_notify
    raw.shutdown(socket.SHUT_RDWR)
    raw.close()
    conn.close()
    try:
        resp = ftp.getmultiline()
    except (EOFError, OSError) as e:
        resp = "closed: %s" % e
    check(not resp.startswith("226"), "truncated upload reported as success: %r" % resp)
    check(resp[:1] in ("4", "5"), "truncated upload: want 4xx/5xx, got %r" % resp)
    srv.wait_log(r"truncat", mark)
    quit_quietly(ftp)


def test_abort_mid_download_then_noop():
    srv = server()
    srv.sparse_file("abort.bin", 64 << 20)
    ftp = ftp_login(srv)
    conn = ftp.transfercmd("RETR abort.bin")
    got = len(recv_all(conn, limit=64 << 10))
    ftp.sock.sendall(b"ABOR\r\n")              # through TLS; no OOB/Telnet IP
    conn.settimeout(30)
    try:
        while True:
            d = conn.recv(1 << 16)
            if not d:
                break
            got += len(d)
    except (OSError, ssl.SSLError):
        pass
    conn.close()
    replies = [ftp.getmultiline(), ftp.getmultiline()]     # 426 + 226, in either order
    codes = sorted(r[:3] for r in replies)
    check(codes in (["226", "426"], ["225", "426"], ["226", "226"], ["225", "226"]),
          "after ABOR mid-RETR: want 426 and 226, got %r" % replies)
    check(ftp.voidcmd("NOOP").startswith("200"), "NOOP after ABOR failed")
    data = retr_bytes(ftp, "small.bin")
    check(sha256(data) == srv.files["small.bin"], "RETR after ABOR: wrong bytes")
    quit_quietly(ftp)


def test_sendfile_on_prot_p_retr():
    srv = server(extra=["UseSendfile on"])
    ftp = ftp_login(srv)
    data = retr_bytes(ftp, "big.bin")
    check(sha256(data) == srv.files["big.bin"],
          "RETR under PROT P with UseSendfile on: wrong bytes (%d; plaintext leaked?)" % len(data))
    quit_quietly(ftp)


def _legacy_auth_retr(mech):
    srv = server(extra=["UseSendfile on"])
    r = Raw(srv)
    r.auth(mech)                               # implies PROT P: no PBSZ/PROT sent
    r.login()
    r.cmd("TYPE I")
    port = r.pasv()
    r.send("RETR big.bin\r\n")
    d = r.data_connect(port, tls=True)
    data = recv_all(d)
    d.close()
    first = r.reply()
    check(first.code == 150, "RETR: want 150, got %r" % first.text)
    end = r.reply()
    check(end.code == 226, "RETR: want 226, got %r" % end.text)
    check(sha256(data) == srv.files["big.bin"], "AUTH %s RETR: wrong bytes (%d)" % (mech, len(data)))
    r.close()


def test_auth_ssl_implies_prot_p_retr():
    _legacy_auth_retr("SSL")


def test_auth_tls_p_implies_prot_p_retr():
    _legacy_auth_retr("TLS-P")


def test_required_on_full_session_works():
    srv = server(ftps=["FTPSRequired on"])
    ftp = ftp_login(srv)
    data = retr_bytes(ftp, "small.bin")
    check(sha256(data) == srv.files["small.bin"], "RETR: wrong bytes")
    up = os.urandom(4096)
    stor_bytes(ftp, "req-on.bin", up)
    check(srv.file_sha("req-on.bin") == sha256(up), "STOR: server file differs")
    quit_quietly(ftp)


def test_rest_retr():
    srv = server()
    ftp = ftp_login(srv)
    ftp.voidcmd("TYPE I")
    data = retr_bytes(ftp, "big.bin", rest=1000)
    with open(srv.path("big.bin"), "rb") as f:
        want = f.read()[1000:]
    check(sha256(data) == sha256(want), "REST 1000 + RETR: wrong bytes (%d)" % len(data))
    quit_quietly(ftp)


def test_kernel_tls_option_falls_back_and_keeps_bytes():
    # FTPSOptions KernelTLS asks OpenSSL for kernel TLS on data connections.
    # Where the kernel lacks the tls ULP (as here) the user-space path must
    # carry the same bytes, and FTPSLog must say which path was used.
    srv = server(extra=["FTPSOptions KernelTLS"])
    mark = srv.log_mark()
    ftp = ftp_login(srv)
    data = retr_bytes(ftp, "big.bin")
    check(sha256(data) == srv.files["big.bin"], "RETR under KernelTLS: wrong bytes")
    up = os.urandom(1 << 20)
    stor_bytes(ftp, "ktls-up.bin", up)
    check(srv.file_sha("ktls-up.bin") == sha256(up), "STOR under KernelTLS: file differs")
    quit_quietly(ftp)
    srv.wait_log(r"kernel TLS (active|not available)", mark)


def test_client_vanishing_mid_download_ends_only_its_session():
    # A client that drops both connections (no close_notify, no QUIT) in the
    # middle of a protected download: its session ends, the master and the
    # other sessions carry on, and the file is still served whole.
    srv = server()
    bystander = ftp_login(srv)
    ftp = ftp_login(srv)
    ftp.voidcmd("TYPE I")
    conn = ftp.transfercmd("RETR big.bin")
    check(len(conn.recv(65536)) > 0, "no data before the client vanished")
    for s in (conn, ftp.sock):
        raw = socket.socket(fileno=os.dup(s.fileno()))
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        raw.close()                    # RST, as a crashed client would
        s.close()
    check(srv.alive(), "master died")
    check(bystander.voidcmd("NOOP").startswith("200"), "bystander session broken")
    data = retr_bytes(bystander, "big.bin")
    check(sha256(data) == srv.files["big.bin"], "RETR after a vanished client: wrong bytes")
    quit_quietly(bystander)


def test_deferred_upload_keeps_user_owner():
    # A protected STOR of a new file is created only once the data channel
    # is secured; mod_xfer's UserOwner chown (done by path before the data
    # connection opens) must still reach the file.
    srv = server(users=[("bob", "Bob-pw-456", 2002, ())], extra=["<Directory />", "  UserOwner bob", "</Directory>"])
    ftp = ftp_login(srv)
    up = os.urandom(50000)
    stor_bytes(ftp, "owned-by-bob.bin", up)
    quit_quietly(ftp)
    path = os.path.join(srv.home, "owned-by-bob.bin")
    check(srv.file_sha("owned-by-bob.bin") == sha256(up), "STOR: file differs")
    check(os.stat(path).st_uid == 2002, "UserOwner bob: file owned by uid %d"
          % os.stat(path).st_uid)


def test_upload_close_notify_answered_promptly():
    """A client that ends an upload with close_notify and waits for the
    server's (ftplib's storbinary does, via unwrap()) gets it at once, not
    after a poll timeout; some client libraries give up after 1 s and report
    the upload as failed. TLS 1.2 and 1.3."""
    srv = server()
    for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        ctx = srv.pki.client_context()
        ctx.minimum_version = ctx.maximum_version = version
        ftp = ftp_login(srv, context=ctx)
        try:
            payload = os.urandom(70000)
            ftp.voidcmd("TYPE I")
            conn = ftp.transfercmd("STOR notify-%s.bin" % version.name)
            conn.sendall(payload)
            t0 = time.monotonic()
            conn.unwrap()
            waited = time.monotonic() - t0
            conn.close()
            r = ftp.voidresp()
            check(waited < 0.5, "%s: server's close_notify came %.2f s after the client's"
                  % (version.name, waited))
            check(r.startswith("226"), "%s: upload reply %r" % (version.name, r))
            check(srv.file_sha("notify-%s.bin" % version.name) == sha256(payload),
                  "%s: uploaded bytes differ" % version.name)
        finally:
            quit_quietly(ftp)
