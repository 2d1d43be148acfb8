"""Issue 11: `ftpdctl ftps certinfo|sessions|reload` through mod_ctrls, and
FTPSControlsACLs (a user the ACL does not name is refused)."""

import ftplib
import re
import socket
import ssl

from ftpslib import check, ftp_login, quit_quietly, retr_bytes, sha256, Raw
from lifelib import ctrls_server, ftpdctl, make_cert, cert_fingerprint


def test_life_ctrls_certinfo_two_vhosts_rsa_and_ecdsa():
    from ftpslib import pki
    p = pki()
    rsa_cert, rsa_key = make_cert(p, "ci-rsa", days=40, kind="rsa", cn="rsa.example")
    ec_cert, ec_key = make_cert(p, "ci-ec", days=40, kind="ec", cn="ec.example")
    srv = ctrls_server(
        defaults=False,
        ftps=["FTPSEngine on", "FTPSCertificate %s %s" % (rsa_cert, rsa_key)],
        vhosts=[dict(name="second", own_port=True, lines=[
            "FTPSEngine on", "FTPSCertificate %s %s" % (ec_cert, ec_key),
            "FTPSVerifyClient optional", "FTPSCACertificateFile %s" % p.ca, "FTPSLog {ftpslog}"])])
    srv.start()
    rc, out = ftpdctl(srv, "ftps", "certinfo")
    check(rc == 0, "ftpdctl rc %d: %s" % (rc, out))
    check("server 'ftps-test'" in out and "server 'second'" in out, "vhosts missing:\n" + out)
    check(re.search(r"certificate: CN=rsa\.example", out), "RSA subject:\n" + out)
    check(re.search(r"key: RSA 2048", out), "RSA key type:\n" + out)
    check(re.search(r"certificate: CN=ec\.example", out), "EC subject:\n" + out)
    check(re.search(r"key: ECDSA 256 \(prime256v1\)", out), "EC key type:\n" + out)
    check("SANs: DNS:localhost, IP:127.0.0.1" in out or "SANs: IP:127.0.0.1, DNS:localhost" in out,
          "SANs:\n" + out)
    check(re.search(r"issuer: CN=ftps-test CA", out), "issuer:\n" + out)
    check(re.search(r"not after: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \((39|40) days left\)", out),
          "not after / days left:\n" + out)
    check("sha256: " + cert_fingerprint(ec_cert) in out, "EC fingerprint:\n" + out)
    check(re.search(r"CA: %s \(1 certificates loaded;" % re.escape(p.ca), out), "CA file:\n" + out)
    check(out.count("stapling: off") == 2, "stapling lines:\n" + out)
    srv.stop()


def test_life_ctrls_acl_refuses_other_users():
    # ControlsACLs lets root reach mod_ctrls, but FTPSControlsACLs allows
    # only "sessions" to root: certinfo and reload are denied.
    srv = ctrls_server()
    with open(srv.conf_path) as f:
        conf = f.read()
    conf = conf.replace("FTPSControlsACLs all allow user root",
                        "FTPSControlsACLs sessions allow user root")
    with open(srv.conf_path, "w") as f:
        f.write(conf)
    srv.start()
    rc, out = ftpdctl(srv, "ftps", "certinfo")
    check("access denied" in out and "certificate:" not in out, "certinfo allowed:\n" + out)
    rc, out = ftpdctl(srv, "ftps", "reload")
    check("access denied" in out and "rebuilt" not in out, "reload allowed:\n" + out)
    check("reload (" not in srv.system_log(), "a denied reload ran")
    rc, out = ftpdctl(srv, "ftps", "sessions")
    check("control handshakes:" in out, "sessions denied:\n" + out)
    srv.stop()


def test_life_ctrls_sessions_counts():
    srv = ctrls_server()
    srv.start()
    rc, before = ftpdctl(srv, "ftps", "sessions")
    check(rc == 0 and "control handshakes: 0" in before, "fresh counters:\n" + before)
    # Two logins, each with two resumed data connections.
    for _ in range(2):
        ftp = ftp_login(srv)
        for _ in range(2):
            check(sha256(retr_bytes(ftp, "small.bin")) == srv.files["small.bin"], "RETR")
        quit_quietly(ftp)
    # One data connection that offers no session: refused (425).
    ftp = ftp_login(srv)
    conn, _ = ftplib.FTP.ntransfercmd(ftp, "LIST")
    try:
        tls = srv.pki.client_context().wrap_socket(conn, server_hostname="127.0.0.1")
        tls.recv(65536)
        tls.close()
    except (ssl.SSLError, OSError):
        pass
    finally:
        conn.close()
    try:
        r = ftp.getmultiline()
    except ftplib.error_temp as e:
        r = str(e)
    check(r.startswith("425"), "no-session data connection: %r" % r)
    quit_quietly(ftp)
    # One control handshake that fails: the client does not trust us.
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
        f = s.makefile("rb")
        f.readline()
        s.sendall(b"AUTH TLS\r\n")
        check(f.readline().startswith(b"234"), "AUTH TLS")
        try:
            ssl.create_default_context().wrap_socket(s, server_hostname="127.0.0.1")
            check(False, "handshake with an untrusted server succeeded")
        except ssl.SSLError:
            pass
    srv.wait_log(r"control handshake refused")
    srv.wait_log(r"data connection refused")
    rc, out = ftpdctl(srv, "ftps", "sessions")
    nums = dict((m.group(1), int(m.group(2))) for m in re.finditer(r"^([a-zA-Z ()]+): (\d+)$", out, re.M))
    check(nums.get("control handshakes") == 3, "control handshakes:\n" + out)
    check(nums.get("data handshakes") == 4, "data handshakes:\n" + out)
    check(nums.get("data resumptions") == 4, "data resumptions:\n" + out)
    check(nums.get("control handshakes refused") == 1, "ctrl refused:\n" + out)
    check(nums.get("data connections refused") == 1, "data refused:\n" + out)
    check(re.search(r"^refused: .+: 1$", out, re.M), "refusal reason:\n" + out)

    # The counters are the master's since it started: a SIGHUP (which
    # unloads and reloads the module) keeps them.
    since = re.search(r"^since: (\S+)$", out, re.M).group(1)
    import os
    import signal
    import time
    os.kill(srv.proc.pid, signal.SIGHUP)
    end = time.monotonic() + 15
    while "reparsing" not in srv.system_log():
        check(time.monotonic() < end, "no reparse after SIGHUP")
        time.sleep(0.05)          # poll interval for the log
    ftp = None
    while ftp is None:
        try:
            ftp = ftp_login(srv)
        except OSError:
            check(time.monotonic() < end, "not serving after SIGHUP")
            time.sleep(0.05)      # readiness poll
    quit_quietly(ftp)
    rc, out = ftpdctl(srv, "ftps", "sessions")
    check("since: " + since in out, "counters restarted at SIGHUP:\n" + out)
    check(re.search(r"^control handshakes: 4$", out, re.M), "after SIGHUP:\n" + out)
    srv.stop()
