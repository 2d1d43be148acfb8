"""RFC 4217 command replies, FTPSRequired gates and control-channel attacks,
driven byte by byte with the raw client."""

import os
import socket
import time

from ftpslib import Raw, check, pki, recv_all, server, session_works, sha256

REQ_CONTROL = ["FTPSRequired control"]
REQ_DATA = ["FTPSRequired data"]
REQ_ON = ["FTPSRequired on"]
REQ_AUTH = ["FTPSRequired auth"]


def has_feat(reply, name):
    for line in reply.lines[1:-1]:
        if line.startswith(" " + name):
            rest = line[len(name) + 1:]
            if rest == "" or rest[0] in " ;":
                return True
    return False


def expect(r, line, code, prefix=None):
    rep = r.cmd(line)
    check(rep.code == code, "%s: want %d, got %r" % (line, code, rep.text))
    if prefix is not None:
        check(rep.text.startswith(prefix), "%s: want %r, got %r" % (line, prefix, rep.text))
    return rep


def tls_session(srv, pbsz=False, login=False, mech="TLS"):
    r = Raw(srv)
    r.auth(mech)
    if pbsz:
        expect(r, "PBSZ 0", 200)
    if login:
        r.login()
    return r


# --- FEAT -----------------------------------------------------------------

def test_feat_lists_auth_pbsz_prot_ccc():
    r = Raw(server())
    f = expect(r, "FEAT", 211)
    r.close()
    for feat in ("AUTH TLS", "PBSZ", "PROT", "CCC"):
        check(has_feat(f, feat), "FEAT lacks %r: %r" % (feat, f.text))


def test_feat_inside_tls():
    r = tls_session(server())
    f = expect(r, "FEAT", 211)
    r.close()
    for feat in ("AUTH TLS", "PBSZ", "PROT"):
        check(has_feat(f, feat), "FEAT (inside TLS) lacks %r: %r" % (feat, f.text))


def test_feat_omits_ccc_when_control_required():
    r = Raw(server(ftps=REQ_CONTROL))
    f = expect(r, "FEAT", 211)
    r.close()
    check(has_feat(f, "AUTH TLS") and has_feat(f, "PBSZ") and has_feat(f, "PROT"),
          "FEAT lacks RFC 4217 features: %r" % f.text)
    check(not has_feat(f, "CCC"), "FEAT offers CCC although control protection is required: %r" % f.text)


# --- AUTH -----------------------------------------------------------------

def test_auth_tls_handshake_then_noop():
    r = Raw(server())
    r.auth("TLS")
    check(r.sock.version() in ("TLSv1.2", "TLSv1.3"), "protocol %r" % r.sock.version())
    expect(r, "NOOP", 200)
    r.close()


def test_auth_all_mechanisms_234():
    for mech in ("TLS", "TLS-C", "SSL", "TLS-P"):
        r = Raw(server())
        r.auth(mech)
        expect(r, "NOOP", 200)
        r.close()


def test_auth_mechanism_case_insensitive():
    r = Raw(server())
    r.auth("tls")           # RFC 2228: the mechanism name is case-insensitive
    expect(r, "NOOP", 200)
    r.close()


def test_auth_unknown_mechanism_504():
    r = Raw(server())
    expect(r, "AUTH GSSAPI", 504)
    expect(r, "AUTH KERBEROS_V4", 504)
    expect(r, "NOOP", 200)        # still in clear, still usable
    r.close()


def test_auth_without_argument_501():
    r = Raw(server())
    expect(r, "AUTH", 501)
    r.close()


def test_auth_twice_503():
    r = tls_session(server())
    expect(r, "AUTH TLS", 503)
    expect(r, "NOOP", 200)        # the refused AUTH did not disturb the TLS channel
    r.close()


def test_auth_after_login_503():
    r = Raw(server())
    r.login()
    expect(r, "AUTH TLS", 503)
    expect(r, "PWD", 257)
    r.close()


def test_auth_engine_off_502():
    p = pki()
    srv = server(defaults=False, ftps=["FTPSEngine off", "FTPSCertificate %s %s" % (p.ec, p.ec_key)])
    r = Raw(srv)
    expect(r, "AUTH TLS", 502)
    r.login()                     # plain FTP still works
    r.close()


# --- PBSZ / PROT ----------------------------------------------------------

def test_pbsz_before_auth_503():
    r = Raw(server())
    expect(r, "PBSZ 0", 503)
    r.close()


def test_pbsz_any_number_answers_pbsz_0():
    r = tls_session(server())
    expect(r, "PBSZ 0", 200, "200 PBSZ=0")
    expect(r, "PBSZ 16384", 200, "200 PBSZ=0")
    r.close()


def test_pbsz_non_numeric_501():
    r = tls_session(server())
    expect(r, "PBSZ abc", 501)
    r.close()


def test_prot_before_pbsz_503():
    r = tls_session(server())
    expect(r, "PROT P", 503)
    r.close()


def test_prot_c_and_p_200():
    r = tls_session(server(), pbsz=True)
    expect(r, "PROT C", 200)
    expect(r, "PROT P", 200)
    r.close()


def test_prot_s_and_e_536():
    r = tls_session(server(), pbsz=True)
    expect(r, "PROT S", 536)
    expect(r, "PROT E", 536)
    r.close()


def test_prot_unknown_level_504():
    r = tls_session(server(), pbsz=True)
    expect(r, "PROT X", 504)
    r.close()


def test_prot_c_refused_when_data_required_534():
    for policy in (REQ_DATA, REQ_ON):
        r = tls_session(server(ftps=policy), pbsz=True)
        expect(r, "PROT C", 534)
        expect(r, "PROT P", 200)
        r.close()


# --- CCC ------------------------------------------------------------------

def test_ccc_on_clear_channel_533():
    r = Raw(server())
    r.login()
    expect(r, "CCC", 533)
    r.close()


def test_ccc_refused_when_control_required_534():
    for policy in (REQ_CONTROL, REQ_ON):
        r = tls_session(server(ftps=policy), pbsz=True, login=True)
        expect(r, "CCC", 534)
        expect(r, "NOOP", 200)    # still inside TLS
        r.close()


def test_ccc_returns_control_to_clear():
    r = tls_session(server(), pbsz=True, login=True)
    expect(r, "PROT P", 200)
    expect(r, "CCC", 200)
    r.unwrap()                    # bidirectional close_notify
    expect(r, "PWD", 257)         # now in clear text
    expect(r, "NOOP", 200)
    r.close()


def test_ccc_then_protected_list():
    srv = server()
    r = tls_session(srv, pbsz=True, login=True)
    expect(r, "PROT P", 200)
    sess, ctx = r.sock.session, r.sock.context
    expect(r, "CCC", 200)
    r.unwrap()
    port = r.pasv()
    r.send("NLST\r\n")
    d = r.data_connect(port, tls=True, session=sess, context=ctx)
    listing = recv_all(d).decode()
    d.close()
    check(r.reply().code == 150, "NLST after CCC: no 150")
    end = r.reply()
    check(end.code == 226, "NLST after CCC: want 226, got %r" % end.text)
    check("small.bin" in listing, "listing after CCC: %r" % listing)
    r.close()


def test_ccc_then_injected_prot_c_refused():
    """After CCC an on-path attacker can write on the control channel: an
    injected PROT C (or PBSZ) is refused, and the next transfer still
    requires TLS on its data connection (a clear one gets no bytes)."""
    srv = server()
    r = tls_session(srv, pbsz=True, login=True)
    expect(r, "PROT P", 200)
    sess, ctx = r.sock.session, r.sock.context
    expect(r, "CCC", 200)
    r.unwrap()
    expect(r, "PBSZ 0", 534)
    expect(r, "PROT C", 534)
    expect(r, "TYPE I", 200)
    port = r.pasv()
    r.send("RETR small.bin\r\n")
    d = r.data_connect(port)                        # clear: no TLS
    check(r.reply().code == 150, "RETR after injected PROT C: no 150")
    d.settimeout(5)
    try:
        d.sendall(b"not a TLS ClientHello\r\n")    # a clear client, not waiting
        leaked = recv_all(d)
    except (ConnectionResetError, OSError):
        leaked = b""
    d.close()
    end = r.reply()
    check(end.code in (425, 426), "clear data connection after CCC: want 425/426, got %r" % end.text)
    check(not leaked or srv.file_sha("small.bin") != sha256(leaked),
          "file bytes crossed in clear after an injected PROT C")
    # The client's own protected transfer still works.
    port = r.pasv()
    r.send("NLST\r\n")
    d = r.data_connect(port, tls=True, session=sess, context=ctx)
    listing = recv_all(d).decode()
    d.close()
    check(r.reply().code == 150 and r.reply().code == 226, "protected NLST after the attack")
    check("small.bin" in listing, "listing: %r" % listing)
    r.close()


# --- FTPSRequired gates ---------------------------------------------------

def _gates_before_auth(srv):
    r = Raw(srv)
    expect(r, "USER alice", 530)
    expect(r, "PASS x", 530)
    expect(r, "ACCT x", 530)
    expect(r, "PWD", 534)
    expect(r, "CWD /", 534)
    expect(r, "FEAT", 211)
    expect(r, "SYST", 215)
    expect(r, "NOOP", 200)
    r.auth()
    r.login()                     # after AUTH the same commands pass
    expect(r, "PWD", 257)
    expect(r, "QUIT", 221)
    r.close()


def test_required_control_gates_commands_before_auth():
    _gates_before_auth(server(ftps=REQ_CONTROL))


def test_required_on_gates_commands_before_auth():
    _gates_before_auth(server(ftps=REQ_ON))


def test_required_control_allows_listed_commands_before_auth():
    r = Raw(server(ftps=REQ_CONTROL))
    expect(r, "HELP", 214)
    expect(r, "PBSZ 0", 503)      # reaches its handler: out of sequence, not 534
    expect(r, "PROT P", 503)
    expect(r, "CCC", 533)         # still "clear channel", not the policy refusal
    for line in ("CLNT ftps-test-suite", "HOST 127.0.0.1"):
        rep = r.cmd(line)
        check(rep.code not in (530, 534), "%s before AUTH refused by policy: %r" % (line, rep.text))
    r.auth()
    r.login()
    r.close()


def test_required_control_quit_before_auth_221():
    r = Raw(server(ftps=REQ_CONTROL))
    expect(r, "QUIT", 221)
    r.close()


def test_required_auth_gates_login_only():
    srv = server(ftps=REQ_AUTH)
    r = Raw(srv)
    expect(r, "USER alice", 530)
    expect(r, "FEAT", 211)
    r.auth()
    r.login()
    expect(r, "PBSZ 0", 200)
    expect(r, "CCC", 200)         # only the login needs protection
    r.unwrap()
    expect(r, "PWD", 257)
    r.close()


def test_required_auth_data_combination():
    srv = server(ftps=["FTPSRequired auth+data"])
    r = Raw(srv)
    expect(r, "USER alice", 530)
    expect(r, "FEAT", 211)
    r.auth()
    r.login()
    expect(r, "PBSZ 0", 200)
    expect(r, "PROT C", 534)
    _refused_clear_transfer(r, "LIST")
    r.close()


def _refused_clear_transfer(r, line):
    port = r.pasv()
    rep = r.cmd(line)
    check(rep.code == 521, "%s with PROT C: want 521 before any 150, got %r" % (line, rep.text))
    return port


def test_required_data_refuses_clear_transfers_521():
    srv = server(ftps=REQ_DATA)
    r = tls_session(srv, login=True)           # AUTH but no PROT P: data is clear
    for line in ("LIST", "NLST", "MLSD", "RETR small.bin", "STOR req-data-new.bin",
                 "APPE req-data-new.bin", "STOU"):
        _refused_clear_transfer(r, line)
    expect(r, "NOOP", 200)
    r.close()
    check(not os.path.exists(srv.path("req-data-new.bin")), "refused STOR created the file")


def test_required_data_without_auth_521():
    r = Raw(server(ftps=REQ_DATA))
    r.login()                     # "data" alone allows a clear control channel
    _refused_clear_transfer(r, "RETR small.bin")
    r.close()


# --- attacks on the control channel --------------------------------------

def test_injection_after_auth_is_discarded():
    srv = server()
    r = Raw(srv)
    r.send("AUTH TLS\r\nFEAT\r\n")            # one write: FEAT is plaintext injection
    rep = r.reply()
    check(rep.code == 234, "AUTH TLS: %r" % rep.text)
    r.starttls()                  # fails if any clear byte followed the 234
    rep = r.cmd("NOOP")
    check(rep.code == 200, "first reply inside TLS is %r: the injected FEAT was executed" % rep.text)
    expect(r, "NOOP", 200)
    r.close()


def test_injection_of_user_after_auth_is_discarded():
    r = Raw(server())
    r.send("AUTH TLS\r\nUSER alice\r\n")
    check(r.reply().code == 234, "AUTH TLS not accepted")
    r.starttls()
    rep = r.cmd("PASS wrong-and-unused")
    check(rep.code == 503, "PASS right after TLS: want 503 (no USER seen), got %r" % rep.text)
    r.close()


def test_garbage_instead_of_client_hello():
    srv = server()
    r = Raw(srv)
    expect(r, "AUTH TLS", 234)
    r.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + os.urandom(600))
    r.expect_closed(within=10)
    r.close()
    session_works(srv)


def test_handshake_timeout_closes_session():
    srv = server(ftps=["FTPSTimeoutHandshake 2"])
    r = Raw(srv)
    expect(r, "AUTH TLS", 234)
    took = r.expect_closed(within=10)         # send nothing: no ClientHello
    r.close()
    check(took <= 5.0, "handshake timeout 2s, but closed only after %.1fs" % took)
    check(took >= 1.0, "closed after %.1fs, before the 2s handshake timeout" % took)
    session_works(srv)


def test_implicit_handshake_timeout_closes_session():
    srv = server(implicit=True, ftps=["FTPSTimeoutHandshake 2"])
    t0 = time.monotonic()
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
        try:
            data = s.recv(4096)
        except ConnectionResetError:
            data = b""
    took = time.monotonic() - t0
    check(not data.startswith(b"220"), "implicit port sent a clear banner: %r" % data[:80])
    check(took <= 5.0, "implicit handshake timeout 2s, but closed only after %.1fs" % took)
    r = Raw(srv, implicit=True)
    check(r.banner.code == 220, "implicit banner: %r" % r.banner)
    r.close()


def test_long_command_line_master_survives():
    srv = server()
    r = Raw(srv)
    try:
        r.send("NOOP " + "A" * 100000 + "\r\n")
        r.reply()                 # a 5xx or a closed session are both fine
    except (EOFError, OSError):
        pass
    r.close()
    r = tls_session(srv)
    try:
        r.send("NOOP " + "B" * 100000 + "\r\n")
        r.reply()
    except (EOFError, OSError):
        pass
    r.close()
    session_works(srv)


# --- implicit FTPS ---------------------------------------------------------

def test_implicit_banner_inside_tls():
    srv = server(implicit=True)
    r = Raw(srv, implicit=True)
    check(r.banner.code == 220, "banner: %r" % r.banner)
    check(r.sock.version() in ("TLSv1.2", "TLSv1.3"), "protocol %r" % r.sock.version())
    r.login()
    expect(r, "PWD", 257)
    r.close()


def test_implicit_rejects_clear_client():
    srv = server(implicit=True)
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
        s.sendall(b"USER alice\r\n")
        got = b""
        try:
            while len(got) < 4096:
                d = s.recv(4096)
                if not d:
                    break
                got += d
        except (ConnectionResetError, socket.timeout):
            pass
    check(b"220" not in got and b"331" not in got, "implicit port answered in clear: %r" % got[:100])
    session_works_implicit(srv)


def session_works_implicit(srv):
    r = Raw(srv, implicit=True)
    check(r.banner.code == 220, "banner: %r" % r.banner)
    expect(r, "NOOP", 200)
    r.close()


def test_implicit_data_defaults_to_prot_p():
    srv = server(implicit=True)
    r = Raw(srv, implicit=True)
    r.login()
    expect(r, "TYPE I", 200)
    port = r.pasv()
    r.send("RETR small.bin\r\n")
    d = r.data_connect(port, tls=True)        # no PBSZ/PROT sent
    data = recv_all(d)
    d.close()
    check(r.reply().code == 150, "no 150")
    end = r.reply()
    check(end.code == 226, "RETR: %r" % end.text)
    check(sha256(data) == srv.files["small.bin"], "implicit RETR: wrong bytes (%d)" % len(data))
    r.close()
