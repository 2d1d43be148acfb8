"""Issue 11: certificates and keys that live without restarts. A reload
(ftpdctl ftps reload, FTPSReload auto, SIGHUP) is all or nothing: new
sessions see the new certificate, running sessions keep theirs (their data
connections keep resuming); a broken file changes nothing and the logs say
which vhost, directive, file and why; a SIGHUP with a broken file keeps the
daemon up. Expiry warnings at startup; expired certificates refused."""

import os
import re
import shutil
import signal
import time

from ftpslib import (Raw, Server, ServerError, TestFailure, check, ftp_login, pki,
                     quit_quietly, retr_bytes, sha256)
from lifelib import (cert_fingerprint, ctrls_server, ftpdctl, make_cert, make_crl,
                     own_copy, replace_file, served_fingerprint, syslog_mark,
                     wait_system_log)


def reload_server(extra_ftps=(), **kw):
    """A ctrls server with one ECDSA certificate in its own directory."""
    p = pki()
    srv = ctrls_server(defaults=False, ftps=["FTPSEngine on"] + list(extra_ftps), **kw)
    srv.cert, srv.key = own_copy(srv, p.ec, p.ec_key)
    with open(srv.conf_path) as f:
        conf = f.read()
    conf = conf.replace("  FTPSEngine on\n", "  FTPSEngine on\n  FTPSCertificate %s %s\n"
                        "  FTPSLog %s\n" % (srv.cert, srv.key, srv.ftps_log_path), 1)
    with open(srv.conf_path, "w") as f:
        f.write(conf)
    return srv


def test_life_reload_renewed_certificate_new_sessions_old_session_resumes():
    srv = reload_server()
    srv.start()
    old_fp = served_fingerprint(srv)
    check(old_fp == cert_fingerprint(srv.cert), "served certificate is not the configured one")
    old = ftp_login(srv)
    check(sha256(retr_bytes(old, "small.bin")) == srv.files["small.bin"], "RETR before")

    new_cert, new_key = make_cert(srv.pki, "renewed", days=90)
    replace_file(new_key, srv.key)
    replace_file(new_cert, srv.cert)
    mark = srv.log_mark()
    rc, out = ftpdctl(srv, "ftps", "reload")
    check(rc == 0 and "servers rebuilt" in out, "ftpdctl ftps reload:\n" + out)
    check("server 'ftps-test': now ECDSA 256" in out and cert_fingerprint(new_cert) in out,
          "reload output does not name the new certificate:\n" + out)
    check(served_fingerprint(srv) == cert_fingerprint(new_cert), "new session sees the old cert")
    srv.wait_log(r"reload \(ftpdctl ftps reload\): 1 servers rebuilt", mark)

    # The session that started before keeps its context: its data
    # connections still resume its control session.
    mark = srv.log_mark()
    for _ in range(3):
        check(sha256(retr_bytes(old, "small.bin")) == srv.files["small.bin"], "RETR after reload")
    text = srv.wait_log(r"data handshake ok.*resumed=yes", mark)
    check("data connection refused" not in text, "old session refused:\n" + text)
    quit_quietly(old)
    new = ftp_login(srv)
    check(sha256(retr_bytes(new, "small.bin")) == srv.files["small.bin"], "RETR new session")
    quit_quietly(new)
    srv.stop()


def _crl_server():
    p = pki()
    srv = reload_server(extra_ftps=["FTPSVerifyClient optional",
                                    "FTPSCACertificateFile %s" % p.ca])
    srv.crl = make_crl(p, os.path.join(srv.dir, "ca.crl"), 7)
    with open(srv.conf_path) as f:
        conf = f.read()
    conf = conf.replace("  FTPSVerifyClient optional\n", "  FTPSVerifyClient optional\n"
                        "  FTPSCARevocationFile %s\n" % srv.crl, 1)
    with open(srv.conf_path, "w") as f:
        f.write(conf)
    return srv


def _corrupt_cert(srv):
    with open(srv.cert, "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n")
    return "FTPSCertificate", srv.cert


def _mismatched_key(srv):
    other_cert, other_key = make_cert(srv.pki, "other", days=90)
    replace_file(other_key, srv.key)
    return "FTPSCertificate", srv.key


def _missing_crl(srv):
    os.unlink(srv.crl)
    return "FTPSCARevocationFile", srv.crl


def _expired_pair(srv):
    dead_cert, dead_key = make_cert(srv.pki, "expired", days=-1)
    replace_file(dead_key, srv.key)
    replace_file(dead_cert, srv.cert)
    return "FTPSCertificate", srv.cert


BROKEN = [
    ("expired certificate", _expired_pair, r"expired on \d{4}-\d\d-\d\d"),
    ("corrupt certificate", _corrupt_cert, r"holds no PEM certificate"),
    ("key that does not match", _mismatched_key, r"does not match"),
    ("missing CRL", _missing_crl, r"No such file or directory"),
]


def test_life_reload_broken_file_changes_nothing():
    for label, breaker, reason in BROKEN:
        srv = _crl_server()
        srv.start()
        fp = served_fingerprint(srv)
        directive, path = breaker(srv)
        mark, smark = srv.log_mark(), syslog_mark(srv)
        rc, out = ftpdctl(srv, "ftps", "reload")
        check("refused, nothing changed" in out and directive in out and path in out
              and re.search(reason, out), "%s: ftpdctl output:\n%s" % (label, out))
        want = r"reload \(ftpdctl ftps reload\) refused.*server 'ftps-test'.*%s.*%s.*%s" % (
            directive, re.escape(path), reason)
        srv.wait_log(want, mark)
        wait_system_log(srv, want, smark)
        # Nothing changed: the old certificate is still served, and a whole
        # session (login, protected transfer) works.
        check(served_fingerprint(srv) == fp, "%s: served certificate changed" % label)
        ftp = ftp_login(srv)
        check(sha256(retr_bytes(ftp, "small.bin")) == srv.files["small.bin"], label + ": RETR")
        quit_quietly(ftp)
        check(srv.alive(), label + ": master died")
        srv.stop()


def test_life_reload_auto_picks_up_replaced_file():
    srv = reload_server(extra_ftps=["FTPSReload auto 1"])
    srv.start()
    smark = syslog_mark(srv)
    new_cert, new_key = make_cert(srv.pki, "auto", days=90)
    replace_file(new_key, srv.key)
    replace_file(new_cert, srv.cert)
    # Readiness: the reload's own log line, not a fixed sleep.
    wait_system_log(srv, r"reload \(FTPSReload auto: server 'ftps-test': FTPSCertificate "
                    r"'%s/server\.(pem|key)' changed\): 1 servers rebuilt" % re.escape(srv.dir),
                    smark, timeout=15)
    check(served_fingerprint(srv) == cert_fingerprint(new_cert), "auto reload not in effect")
    # A later broken write is noticed once and changes nothing.
    smark = syslog_mark(srv)
    with open(srv.cert, "w") as f:
        f.write("garbage\n")
    wait_system_log(srv, r"reload \(FTPSReload auto: .*\) refused; nothing changed", smark,
                    timeout=15)
    check(served_fingerprint(srv) == cert_fingerprint(new_cert), "broken file changed the cert")
    srv.stop()


def test_life_reload_off_does_not_watch():
    srv = reload_server(extra_ftps=["FTPSReload off"])
    srv.start()
    fp = served_fingerprint(srv)
    new_cert, new_key = make_cert(srv.pki, "off", days=90)
    replace_file(new_key, srv.key)
    replace_file(new_cert, srv.cert)
    rc, out = ftpdctl(srv, "ftps", "sessions")   # > 1 s of master time passes
    time.sleep(2.5)                # the absence of an event: nothing to poll
    check("reload (" not in srv.system_log(), "FTPSReload off reloaded")
    check(served_fingerprint(srv) == fp, "FTPSReload off: certificate changed")
    srv.stop()


def test_life_reload_sighup_with_broken_file_keeps_daemon_up():
    p = pki()
    srv = reload_server(vhosts=[dict(name="second", own_port=True, lines=[
        "FTPSEngine on", "FTPSRequired on", "FTPSLog {ftpslog}"])])
    srv.cert2, srv.key2 = own_copy(srv, p.rsa, p.rsa_key, "second")
    with open(srv.conf_path) as f:
        conf = f.read()
    conf = conf.replace("  FTPSRequired on\n", "  FTPSRequired on\n  FTPSCertificate %s %s\n"
                        % (srv.cert2, srv.key2), 1)
    with open(srv.conf_path, "w") as f:
        f.write(conf)
    srv.start()
    pid = srv.proc.pid
    with open(srv.cert2, "w") as f:
        f.write("garbage\n")
    mark = srv.log_mark()
    os.kill(pid, signal.SIGHUP)
    # During the re-parse SystemLog is closed (ProFTPD sends pr_log_pri to
    # syslog(3) then): FTPSLog carries the lines.
    srv.wait_log(r"SIGHUP re-parse: FTPS unavailable on server 'second'.*"
                 r"FTPSCertificate: '%s' holds no PEM certificate" % re.escape(srv.cert2), mark)
    check(srv.alive() and srv.proc.pid == pid, "master died on SIGHUP with a broken file")
    # The good vhost serves FTPS as before.
    ftp = None
    end = time.monotonic() + 10
    while ftp is None:
        try:
            ftp = ftp_login(srv)
        except OSError:
            check(time.monotonic() < end, "main vhost not serving after SIGHUP")
            time.sleep(0.05)      # readiness poll
    check(sha256(retr_bytes(ftp, "small.bin")) == srv.files["small.bin"], "RETR after HUP")
    quit_quietly(ftp)
    # The broken vhost refuses AUTH (431), and FTPSRequired still holds:
    # no clear login either.
    port2 = srv.vport["second"]
    r = Raw(srv, port=port2)
    rep = r.cmd("AUTH TLS")
    check(rep.code == 431, "AUTH on the broken vhost: %r" % rep)
    rep = r.cmd("USER alice")
    check(rep.code >= 500, "clear USER on a FTPSRequired vhost without FTPS: %r" % rep)
    rep = r.cmd("PASS Alice-pw-123")
    check(rep.code >= 500, "clear PASS accepted: %r" % rep)
    rep = r.cmd("RETR small.bin")
    check(rep.code >= 500, "RETR without login: %r" % rep)
    r.close()
    srv.wait_log(r"AUTH refused: FTPS unavailable")
    # Fixed and reloaded: the vhost serves FTPS again.
    replace_file(p.rsa, srv.cert2)
    rc, out = ftpdctl(srv, "ftps", "reload")
    check(rc == 0 and "rebuilt" in out, "reload after the fix:\n" + out)
    check(served_fingerprint(srv, port=port2) == cert_fingerprint(p.rsa), "second vhost cert")
    srv.stop()


def test_life_reload_expiry_warnings_and_expired_refused():
    p = pki()
    soon_cert, soon_key = make_cert(p, "soon", days=5)
    month_cert, month_key = make_cert(p, "month", days=20)
    srv = Server(defaults=False, ftps=["FTPSEngine on", "FTPSCertificate %s %s" % (soon_cert, soon_key),
                                       "FTPSVerifyClient optional", "FTPSCACertificateFile %s" % p.ca],
                 vhosts=[dict(name="month", own_port=True, lines=[
                     "FTPSEngine on", "FTPSCertificate %s %s" % (month_cert, month_key)])])
    crl = make_crl(p, os.path.join(srv.dir, "old.crl"), -2)
    with open(srv.conf_path) as f:
        conf = f.read()
    conf = conf.replace("  FTPSVerifyClient optional\n", "  FTPSVerifyClient optional\n"
                        "  FTPSCARevocationFile %s\n" % crl, 1)
    with open(srv.conf_path, "w") as f:
        f.write(conf)
    srv.start()
    log = wait_system_log(srv, r"error: server 'ftps-test': certificate 'CN=127\.0\.0\.1' "
                          r"\(FTPSCertificate '%s'\) expires on \S+, in [45] days" % re.escape(soon_cert))
    wait_system_log(srv, r"warning: server 'month': certificate 'CN=127\.0\.0\.1' "
                    r"\(FTPSCertificate '%s'\) expires on \S+, in (19|20) days" % re.escape(month_cert))
    wait_system_log(srv, r"warning: server 'ftps-test': CRL of 'CN=ftps-test CA' "
                    r"\(FTPSCARevocation\*\) is past its next update")
    srv.stop()

    dead_cert, dead_key = make_cert(p, "dead", days=-1)
    srv = Server(defaults=False, ftps=["FTPSEngine on",
                                       "FTPSCertificate %s %s" % (dead_cert, dead_key)])
    rc, out = srv.syntax_check()
    check(rc != 0 and re.search(r"certificate '%s' expired on \d{4}-\d\d-\d\d" % re.escape(dead_cert),
                                out), "proftpd -t with an expired certificate: rc %d\n%s" % (rc, out[-600:]))
    try:
        srv.start(deadline=5)
        check(False, "started with an expired certificate")
    except ServerError as e:
        check("expired on" in str(e) or "expired on" in srv.system_log(),
              "no 'expired on' reason: %s" % str(e)[-600:])


def test_life_reload_directive_errors_name_what_is_accepted():
    rows = [
        (["FTPSReload auto 0"], r"FTPSReload: expected off, auto or auto <seconds> \(1 to 86400\)"),
        (["FTPSReload sometimes"], r"FTPSReload: expected off, auto"),
        (["FTPSReload auto 5", "FTPSReload off"], r"FTPSReload: is duplicate"),
        (["FTPSControlsACLs restart allow user root"],
         r"FTPSControlsACLs: unknown action in 'restart'; expected .*reload, certinfo, sessions"),
        (["FTPSControlsACLs all permit user root"], r"second parameter must be 'allow' or 'deny'"),
    ]
    for lines, want in rows:
        srv = Server(ftps=lines)
        rc, out = srv.syntax_check()
        check(rc != 0 and re.search(want, out), "%s: rc %d, output:\n%s" % (lines, rc, out[-600:]))
    srv = Server(vhosts=[dict(name="v", own_port=True, lines=["FTPSReload auto 5"])])
    rc, out = srv.syntax_check()
    check(rc != 0 and "FTPSReload" in out and "not allowed" in out,
          "FTPSReload in <VirtualHost>: rc %d\n%s" % (rc, out[-600:]))
