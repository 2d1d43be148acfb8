"""Per-user, per-class and per-directory FTPSRequired (mod_ifsession,
<Directory>, .ftpaccess), the ALPACA defences (ALPN, pre-login error budget)
and replies that never echo client input."""

import ftplib
import os
import re

from ftpslib import (PASSWORD, SYSTEM_MODULE_DIR, UID, GID, Raw, check, clear_transfer,
                     ftp_login, needs, quit_quietly, refused_transfer, retr_bytes,
                     s_client, server, sha256)

# mod_ifsession must load after mod_ftps (it then runs first, notes §2).
IFSESSION = ["ModulePath " + SYSTEM_MODULE_DIR, "LoadModule mod_ifsession.c"]
BOB, BOB_PW = "bob", "Bob-pw-456"


def expect(r, line, code):
    rep = r.cmd(line)
    check(rep.code == code, "%s: want %d, got %r" % (line, code, rep.text))
    return rep


def clear_retr(r, name):
    """RETR over a clear passive data connection: (final reply, bytes or None)."""
    return clear_transfer(r, "RETR " + name)


# --------------------------------------------------------------------------
# mod_ifsession: <IfUser>, <IfGroup>, <IfClass>
# --------------------------------------------------------------------------

def user_server():
    return server(preload=IFSESSION, users=[(BOB, BOB_PW, 2002)],
                  ftps=["<IfUser %s>" % BOB, "  FTPSRequired control", "</IfUser>",
                        "<IfGroup alicegrp>", "  FTPSRequired data", "</IfGroup>"])


def test_ifuser_required_control_refuses_user_before_password():
    srv = user_server()
    mark = srv.log_mark()
    r = Raw(srv)
    expect(r, "USER " + BOB, 530)          # before any password is sent
    expect(r, "USER alice", 331)
    expect(r, "PASS " + PASSWORD, 230)
    expect(r, "PWD", 257)
    r.close()
    srv.wait_log(r"refused USER", mark)
    r = Raw(srv)
    r.auth()
    expect(r, "USER " + BOB, 331)
    expect(r, "PASS " + BOB_PW, 230)
    r.close()


def test_ifgroup_required_data_refuses_clear_list_521():
    srv = user_server()
    mark = srv.log_mark()
    r = Raw(srv)
    r.login()                              # alice (alicegrp): clear control is fine
    r.pasv()
    expect(r, "LIST", 521)
    expect(r, "NOOP", 200)
    r.close()
    srv.wait_log(r"refused LIST", mark)
    ftp = ftp_login(srv)                   # protected: allowed
    names = ftp.nlst()
    check("small.bin" in names, "protected NLST for alice: %r" % names)
    quit_quietly(ftp)


def class_server():
    return server(preload=IFSESSION, extra=["<Class legacy>", "  From 127.0.0.1", "</Class>"],
                  ftps=["<IfClass legacy>", "  FTPSOptions NoSessionReuseRequired",
                        "</IfClass>"])


def test_ifclass_no_session_reuse_required_allows_stock_ftplib():
    srv = class_server()
    ftp = ftp_login(srv, cls=ftplib.FTP_TLS)       # offers no session on data connections
    names = ftp.nlst()
    check("small.bin" in names, "stock FTP_TLS in class legacy: NLST %r" % names)
    data = retr_bytes(ftp, "small.bin")
    check(sha256(data) == srv.files["small.bin"], "stock FTP_TLS RETR: wrong bytes")
    quit_quietly(ftp)
    # Without the class the same client is refused.
    ftp = ftp_login(server(), cls=ftplib.FTP_TLS)
    text = refused_transfer(ftp, "LIST")
    check(str(text)[:3] == "425", "stock FTP_TLS without the class: want 425, got %r" % text)
    quit_quietly(ftp)


def test_ifuser_same_address_exemption_allows_stock_ftplib_for_that_user_only():
    """Stock FTP_TLS cannot resume: exempted for alice (<IfUser>), every
    such data connection logged; bob, not exempted, keeps getting 425."""
    srv = server(preload=IFSESSION, users=[(BOB, BOB_PW, 2002)],
                 ftps=["<IfUser alice>", "  FTPSOptions NoSessionReuseSameAddress", "</IfUser>"])
    mark = srv.log_mark()
    ftp = ftp_login(srv, cls=ftplib.FTP_TLS)
    check("small.bin" in ftp.nlst(), "exempted stock FTP_TLS: NLST failed")
    data = retr_bytes(ftp, "small.bin")
    check(sha256(data) == srv.files["small.bin"], "exempted stock FTP_TLS RETR: wrong bytes")
    quit_quietly(ftp)
    text = srv.ftps_log_since(mark)
    check(len(re.findall(r"exempted from session reuse \(FTPSOptions NoSessionReuseSameAddress"
                         r"\): same address 127\.0\.0\.1", text)) == 2, "FTPSLog:\n" + text)
    ftp = ftplib.FTP_TLS(context=srv.pki.client_context(), timeout=15)
    ftp.connect("127.0.0.1", srv.port)
    ftp.login(BOB, BOB_PW)
    ftp.prot_p()
    for cmd in ("LIST", "NLST", "MLSD"):
        text = refused_transfer(ftp, cmd)
        check(str(text).startswith("425") and "no session offered" in str(text),
              "bob (not exempted) %s: want 425, got %r" % (cmd, text))
    quit_quietly(ftp)


def test_ifgroup_required_control_with_allow_per_user_530_after_pass():
    srv = server(preload=IFSESSION, ftps=["FTPSOptions AllowPerUser", "<IfGroup alicegrp>",
                                          "  FTPSRequired control", "</IfGroup>"])
    mark = srv.log_mark()
    r = Raw(srv)
    expect(r, "USER alice", 331)            # group known only after PASS
    expect(r, "PASS " + PASSWORD, 530)
    r.expect_closed(within=5)
    r.close()
    srv.wait_log(r"login of 'alice' refused after PASS", mark)
    r = Raw(srv)
    r.auth()
    r.login()
    expect(r, "PWD", 257)
    r.close()


# --------------------------------------------------------------------------
# <Directory> and .ftpaccess
# --------------------------------------------------------------------------

def _files(srv, files):
    for rel, data in files.items():
        if rel not in srv.files:
            srv.put_file(rel, data)
            os.chown(os.path.dirname(srv.path(rel)), UID, GID)


def dir_server():
    srv = server(extra=["AllowOverride on", "<Directory ~/secret>", "  FTPSRequired data",
                        "</Directory>"])
    _files(srv, {"secret/x": os.urandom(2000), "x": os.urandom(1500),
                 "acc/y": os.urandom(700), "acc/.ftpaccess": b"FTPSRequired data\n",
                 "typo/z": os.urandom(300), "typo/.ftpaccess": b"FTPSRequired maybee\n"})
    return srv


def test_directory_required_data():
    srv = dir_server()
    mark = srv.log_mark()
    r = Raw(srv)
    r.login()
    expect(r, "TYPE I", 200)
    rep, _ = clear_retr(r, "secret/x")
    check(rep.code == 521, "clear RETR secret/x: want 521, got %r" % rep.text)
    rep, data = clear_retr(r, "x")
    check(rep.code == 226 and sha256(data) == srv.files["x"],
          "clear RETR x outside <Directory>: %r" % rep.text)
    r.close()
    srv.wait_log(r"refused RETR", mark)
    ftp = ftp_login(srv)
    data = retr_bytes(ftp, "secret/x")
    check(sha256(data) == srv.files["secret/x"], "protected RETR secret/x: wrong bytes")
    quit_quietly(ftp)


def test_ftpaccess_required_data():
    srv = dir_server()
    r = Raw(srv)
    r.login()
    expect(r, "TYPE I", 200)
    rep, _ = clear_retr(r, "acc/y")
    check(rep.code == 521, "clear RETR under .ftpaccess 'FTPSRequired data': want 521, got %r"
          % rep.text)
    r.close()
    ftp = ftp_login(srv)
    check(sha256(retr_bytes(ftp, "acc/y")) == srv.files["acc/y"], "protected RETR acc/y")
    quit_quietly(ftp)


def test_ftpaccess_required_data_below_server_level_required():
    """A server-level FTPSRequired (here auth) must not make the .ftpaccess
    FTPSRequired a 'duplicate': the directory's rule still applies."""
    srv = server(ftps=["FTPSRequired auth"], extra=["AllowOverride on"])
    _files(srv, {"acc2/y": os.urandom(600), "acc2/.ftpaccess": b"FTPSRequired data\n"})
    r = Raw(srv)
    r.auth()
    r.login()                              # PROT C: data in clear
    expect(r, "TYPE I", 200)
    rep, _ = clear_retr(r, "acc2/y")
    r.close()
    warn = [l for l in srv.system_log().splitlines() if "acc2/.ftpaccess" in l]
    check(rep.code == 521, "clear RETR under .ftpaccess 'FTPSRequired data' (server config has "
          "FTPSRequired auth): want 521, got %r; system log: %s" % (rep.text, warn[-1:]))


def test_ftpaccess_typo_session_continues():
    srv = dir_server()
    r = Raw(srv)
    r.login()
    expect(r, "TYPE I", 200)
    rep, _ = clear_retr(r, "typo/z")
    check(rep.code in (226, 521), "RETR under a broken .ftpaccess: %r" % rep.text)
    expect(r, "NOOP", 200)
    rep, data = clear_retr(r, "x")
    check(rep.code == 226 and sha256(data) == srv.files["x"], "later RETR x: %r" % rep.text)
    expect(r, "QUIT", 221)
    r.close()
    check(srv.alive(), "master died")
    log = srv.system_log()
    check(re.search(r"FTPSRequired.*maybee.*typo/\.ftpaccess", log),
          "system log does not name the broken .ftpaccess line: %s" % log[-800:])


# --------------------------------------------------------------------------
# ALPACA: ALPN and the pre-login error budget
# --------------------------------------------------------------------------

@needs("openssl")
def test_alpn_http_refused():
    srv = server()
    mark = srv.log_mark()
    cp = s_client(srv, "-alpn", "http/1.1")
    out = cp.out + cp.err
    check(cp.returncode != 0 and "no application protocol" in out,
          "ALPN http/1.1: want alert no_application_protocol, rc %d: %s" % (cp.returncode, out[-400:]))
    srv.wait_log(r"refused: ALPN", mark)


@needs("openssl")
def test_alpn_ftp_negotiated_and_none_accepted():
    srv = server()
    cp = s_client(srv, "-alpn", "ftp")
    out = cp.out + cp.err
    check(cp.returncode == 0 and "ALPN protocol: ftp" in out, "ALPN ftp: %s" % out[-400:])
    cp = s_client(srv)
    out = cp.out + cp.err
    check(cp.returncode == 0 and "No ALPN negotiated" in out, "no ALPN: %s" % out[-400:])


@needs("openssl")
def test_allow_any_alpn_accepts_http():
    srv = server(ftps=["FTPSOptions AllowAnyALPN"])
    cp = s_client(srv, "-alpn", "http/1.1")
    out = cp.out + cp.err
    check(cp.returncode == 0 and "No ALPN negotiated" in out
          and "Verify return code: 0 (ok)" in out, "AllowAnyALPN + http/1.1: %s" % out[-400:])


def test_allow_any_alpn_in_ifclass_applies():
    """FTPSOptions AllowAnyALPN inside <IfClass> used to be ignored (the
    option was read only when the TLS context was built): it now applies to
    the sessions of that class, and only to them."""
    srv = server(preload=IFSESSION, extra=["<Class local>", "  From 127.0.0.1", "</Class>"],
                 ftps=["<IfClass local>", "  FTPSOptions AllowAnyALPN", "</IfClass>"])
    cp = s_client(srv, "-alpn", "http/1.1")
    out = cp.out + cp.err
    check(cp.returncode == 0 and "No ALPN negotiated" in out
          and "Verify return code: 0 (ok)" in out,
          "AllowAnyALPN in <IfClass> + http/1.1: %s" % out[-400:])
    other = server(preload=IFSESSION, extra=["<Class far>", "  From 10.9.9.9", "</Class>"],
                   ftps=["<IfClass far>", "  FTPSOptions AllowAnyALPN", "</IfClass>"])
    cp = s_client(other, "-alpn", "http/1.1")
    out = cp.out + cp.err
    check("no application protocol" in out.lower() or cp.returncode != 0,
          "AllowAnyALPN for another class applied here: %s" % out[-400:])


def _budget(srv, limit):
    mark = srv.log_mark()
    r = Raw(srv)
    for i in range(limit - 1):
        expect(r, "XYZZY%d" % i, 500)
    rep = r.cmd("XYZZY-last")
    if rep.code != 421:                    # its own 500 may come first
        rep = r.reply()
    check(rep.code == 421, "failed command #%d: want 421, got %r" % (limit, rep.text))
    r.expect_closed(within=5)
    r.close()
    srv.wait_log(r"%d failed commands before login" % limit, mark)


def test_prelogin_error_budget_default_10():
    _budget(server(), 10)


def test_prelogin_error_budget_3():
    _budget(server(ftps=["FTPSMaxPreLoginErrors 3"]), 3)


def test_prelogin_error_budget_none():
    r = Raw(server(ftps=["FTPSMaxPreLoginErrors none"]))
    for i in range(20):
        expect(r, "XYZZY%d" % i, 500)
    r.login()
    r.close()


def test_errors_after_login_not_counted():
    r = Raw(server())
    r.login()
    for i in range(15):
        expect(r, "XYZZY%d" % i, 500)
    expect(r, "NOOP", 200)
    r.close()


def test_replies_do_not_echo_client_input():
    r = Raw(server())
    for line, code in (("AUTH <script>alert(1)</script>", 504),):
        rep = expect(r, line, code)
        check("<" not in rep.text, "%s echoed: %r" % (line, rep.text))
    r.auth()
    for line, code in (("PBSZ <i>", 501), ("PBSZ 0", 200), ("PROT <b>", 504)):
        rep = expect(r, line, code)
        check("<" not in rep.text, "%s echoed: %r" % (line, rep.text))
    r.close()
