"""Configuration errors: `proftpd -t` must exit non-zero and name the
directive and the reason; mod_ftps refuses to run beside mod_tls."""

import os
import re
import subprocess

from ftpslib import PROFTPD, SYSTEM_MODULE_DIR, Server, check, pki


def syntax(lines, **kw):
    srv = Server(defaults=False, ftps=lines, files=False, **kw)
    rc, out = srv.syntax_check()
    return srv, rc, out


def bad(lines, directive, reason, **kw):
    """lines must be refused by proftpd -t with a message matching
    `directive` and `reason` (regexes, case-insensitive)."""
    _, rc, out = syntax(lines, **kw)
    check(rc != 0, "proftpd -t accepted %r (rc 0): %s" % (lines, out.strip()[-400:]))
    check(re.search(directive, out, re.I), "message does not name %s: %s" % (directive, out.strip()[-400:]))
    check(re.search(reason, out, re.I), "message gives no reason (%s): %s" % (reason, out.strip()[-400:]))


def cert(c, k=None):
    return "FTPSCertificate %s" % c if k is None else "FTPSCertificate %s %s" % (c, k)


def test_valid_config_passes():
    p = pki()
    _, rc, out = syntax(["FTPSEngine on", cert(p.ec, p.ec_key), cert(p.rsa, p.rsa_key),
                         "FTPSProtocol TLSv1.2 TLSv1.3", "FTPSRequired on",
                         "FTPSCipherSuite HIGH:!aNULL TLS_AES_128_GCM_SHA256",
                         "FTPSTimeoutHandshake 10", "FTPSOptions NoSessionReuseRequired"])
    check(rc == 0, "valid config refused (rc %d): %s" % (rc, out.strip()[-600:]))


def test_key_defaults_to_cert_file():
    p = pki()
    combo = os.path.join(p.dir, "ec-combined.pem")
    with open(combo, "w") as f:
        f.write(open(p.ec).read() + open(p.ec_key).read())
    os.chmod(combo, 0o600)
    _, rc, out = syntax(["FTPSEngine on", cert(combo)])
    check(rc == 0, "cert+key in one file refused (rc %d): %s" % (rc, out.strip()[-600:]))


def test_ftpslog_none():
    p = pki()
    srv, rc, out = syntax(["FTPSEngine on", cert(p.ec, p.ec_key), "FTPSLog none"])
    check(rc == 0, "FTPSLog none refused (rc %d): %s" % (rc, out.strip()[-600:]))


def test_missing_certificate_file():
    bad(["FTPSEngine on", cert("/nonexistent/ftps/cert.pem", pki().ec_key)], "FTPSCertificate",
        r"/nonexistent/ftps/cert\.pem|no such file|not exist|missing")


def test_missing_key_file():
    bad(["FTPSEngine on", cert(pki().ec, "/nonexistent/ftps/key.pem")], "FTPSCertificate",
        r"/nonexistent/ftps/key\.pem|no such file|not exist|missing")


def test_unreadable_key():
    bad(["FTPSEngine on", cert(pki().ec, pki().garbage_key)], "FTPSCertificate",
        r"key")


def test_key_not_matching_certificate():
    bad(["FTPSEngine on", cert(pki().ec, pki().rsa_key)], "FTPSCertificate",
        r"match|correspond|inconsistent")


def test_unknown_protocol_name():
    bad(["FTPSEngine on", cert(pki().ec, pki().ec_key), "FTPSProtocol TLSv1.2 TLSv1.4"],
        "FTPSProtocol", r"TLSv1\.4")


def test_invalid_cipher_string():
    bad(["FTPSEngine on", cert(pki().ec, pki().ec_key), "FTPSCipherSuite NO-SUCH-CIPHER-XYZ"],
        "FTPSCipherSuite", r"NO-SUCH-CIPHER-XYZ|cipher")


def test_invalid_tls13_suites():
    bad(["FTPSEngine on", cert(pki().ec, pki().ec_key), "FTPSCipherSuite HIGH TLS_NO_SUCH_SUITE"],
        "FTPSCipherSuite", r"TLS_NO_SUCH_SUITE|suite|cipher")


def test_implicit_without_certificate():
    bad(["FTPSEngine on", "FTPSImplicit on"], r"FTPSImplicit|FTPSCertificate", r"certificate")


def test_engine_on_without_certificate():
    bad(["FTPSEngine on"], r"FTPSEngine|FTPSCertificate", r"certificate")


def test_invalid_required_value():
    bad(["FTPSEngine on", cert(pki().ec, pki().ec_key), "FTPSRequired sometimes"],
        "FTPSRequired", r"sometimes|invalid|unknown|expected")


def test_invalid_option():
    bad(["FTPSEngine on", cert(pki().ec, pki().ec_key), "FTPSOptions NoSuchOption"],
        "FTPSOptions", r"NoSuchOption|unknown|invalid")


def test_invalid_handshake_timeout():
    bad(["FTPSEngine on", cert(pki().ec, pki().ec_key), "FTPSTimeoutHandshake soon"],
        "FTPSTimeoutHandshake", r"soon|invalid|number|seconds")


MOD_TLS = ["ModulePath " + SYSTEM_MODULE_DIR, "LoadModule mod_tls.c"]


def _conflict(**kw):
    check(os.path.exists(os.path.join(SYSTEM_MODULE_DIR, "mod_tls.so")),
          "mod_tls.so not installed in %s (package proftpd-mod-crypto)" % SYSTEM_MODULE_DIR)
    p = pki()
    srv, rc, out = syntax(["FTPSEngine on", cert(p.ec, p.ec_key)], **kw)
    check(rc != 0, "proftpd -t accepted mod_ftps together with mod_tls: %s" % out.strip()[-400:])
    check("mod_tls" in out, "refusal does not mention mod_tls: %s" % out.strip()[-400:])
    try:
        cp = subprocess.run([PROFTPD, "-n", "-q", "-c", srv.conf_path], capture_output=True,
                            timeout=20, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise AssertionError("proftpd kept running with mod_tls and mod_ftps loaded")
    check(cp.returncode != 0, "proftpd started (exit 0) with mod_tls and mod_ftps loaded")


def test_refuses_mod_tls_loaded_after():
    _conflict(preload=MOD_TLS)


def test_refuses_mod_tls_loaded_before():
    _conflict(head=MOD_TLS)


def test_sighup_reload_keeps_serving_ftps():
    # On SIGHUP the master unloads and reloads every DSO and re-runs
    # postparse: the TLS contexts are rebuilt and FTPS keeps working.
    import signal
    import time
    from ftpslib import fresh_server, ftp_login, quit_quietly, retr_bytes, sha256
    srv = fresh_server()
    ftp = ftp_login(srv)
    check(sha256(retr_bytes(ftp, "small.bin")) == srv.files["small.bin"], "RETR before HUP")
    quit_quietly(ftp)
    os.kill(srv.proc.pid, signal.SIGHUP)
    end = time.monotonic() + 10
    while "reparsing" not in srv.system_log():
        check(time.monotonic() < end, "no 'reparsing' line after SIGHUP")
        time.sleep(0.05)          # poll interval for the log, not synchronisation
    mark = srv.log_mark()
    ftp = None
    while ftp is None:
        try:
            ftp = ftp_login(srv)
        except OSError:
            check(time.monotonic() < end, "server not serving after SIGHUP")
            time.sleep(0.05)      # readiness poll
    check(sha256(retr_bytes(ftp, "small.bin")) == srv.files["small.bin"], "RETR after HUP")
    quit_quietly(ftp)
    check(srv.alive(), "master died on SIGHUP")
    srv.wait_log(r"data handshake ok", mark)


def test_protocols_directive_governs_ftps_logins():
    # mod_auth's `Protocols` checks only "ftp" for clear sessions; mod_ftps
    # applies it to TLS sessions: `Protocols ftp` keeps FTPS users out,
    # `Protocols ftps` lets them in (and keeps plain FTP out, via mod_auth).
    import ftplib
    from ftpslib import fresh_server, ftp_login, quit_quietly, retr_bytes, sha256
    from ftpslib import PASSWORD, USER
    srv = fresh_server(extra=["Protocols ftp"])
    try:
        ftp_login(srv)
        check(False, "FTPS login allowed although Protocols lists only ftp")
    except ftplib.error_perm as e:
        check(str(e).startswith("530"), "Protocols ftp: want 530, got %r" % str(e))
    srv.wait_log(r"'Protocols' does not list ftps")
    plain = ftplib.FTP()
    plain.connect("127.0.0.1", srv.port, timeout=10)
    check(plain.login(USER, PASSWORD).startswith("230"), "plain login under Protocols ftp")
    plain.quit()

    srv2 = fresh_server(extra=["Protocols ftps"])
    ftp = ftp_login(srv2)
    check(sha256(retr_bytes(ftp, "small.bin")) == srv2.files["small.bin"], "RETR under Protocols ftps")
    quit_quietly(ftp)
