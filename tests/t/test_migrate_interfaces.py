"""Drop-in for mod_tls sites (issue 10), the interfaces other modules use:
mod_tls's environment variables (through a real mod_exec), mod_tls's notes
(through ExtendedLog), mod_tls's events (through a real mod_ban, and the
ftps.events trace)."""

import os
import re
import socket
import ssl
import time

from ftpslib import (PASSWORD, SYSTEM_MODULE_DIR, USER, Raw, ReuseFTP_TLS, Server, TestFailure, check,
                     mkdtemp, pki, quit_quietly, run)
from pki_clients import client_pki

MOD_EXEC = ["ModulePath " + SYSTEM_MODULE_DIR, "LoadModule mod_exec.c"]

# What mod_tls 1.3.8 exports with StdEnvVars, and the format of each.
STD_VARS = {
    "FTPS": r"^1$",
    "TLS_PROTOCOL": r"^TLSv1\.[23]$",
    "TLS_SESSION_ID": r"^[0-9A-F]{64}$",
    "TLS_CIPHER": r"^TLS_AES_\d+_GCM_SHA\d+$|^TLS_CHACHA20",
    "TLS_CIPHER_KEYSIZE_POSSIBLE": r"^(128|256)$",
    "TLS_CIPHER_KEYSIZE_USED": r"^(128|256)$",
    "TLS_LIBRARY_VERSION": r"^OpenSSL 3\.",
    "TLS_CLIENT_M_VERSION": r"^3$",
    "TLS_CLIENT_M_SERIAL": r"^\d+$",
    "TLS_CLIENT_S_DN": r"^CN = alice$",
    "TLS_CLIENT_S_DN_CN": r"^alice$",
    "TLS_CLIENT_I_DN": r"^O = ftps-test, CN = Client Intermediate CA$",
    "TLS_CLIENT_I_DN_O": r"^ftps-test$",
    "TLS_CLIENT_I_DN_CN": r"^Client Intermediate CA$",
    "TLS_CLIENT_V_START": r"^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4} GMT$",
    "TLS_CLIENT_V_END": r"^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4} GMT$",
    "TLS_CLIENT_A_SIG": r"^(ecdsa-with-SHA256|sha256WithRSAEncryption)$",
    "TLS_CLIENT_A_KEY": r"^(id-ecPublicKey|rsaEncryption)$",
    "TLS_SERVER_M_VERSION": r"^3$",
    "TLS_SERVER_S_DN_CN": r"^127\.0\.0\.1$",
    "TLS_SERVER_I_DN": r"^CN = ",
    "TLS_SERVER_A_KEY": r"^id-ecPublicKey$",
    "FTPS_PROTOCOL": r"^TLSv1\.[23]$",
    "FTPS_CLIENT_S_DN": r"^CN=alice$",
}
CERT_VARS = ["TLS_CLIENT_CERT", "TLS_CLIENT_CERT_CHAIN1", "TLS_SERVER_CERT"]
UNSET_VARS = ["TLS_SERVER_NAME"]


def exec_server(options, client=True):
    """A server whose mod_exec dumps the environment it passes (ExecEnviron
    NAME -: the session's value) to env.txt just before PASS (before
    chroot), NUL-separated."""
    cp = client_pki()
    d = mkdtemp("ftps-env-")
    os.chmod(d, 0o777)
    names = list(STD_VARS) + CERT_VARS + UNSET_VARS
    extra = ["ExecEngine on", "ExecLog %s/exec.log" % d, "ExecTimeout 10"]
    extra += ["ExecEnviron %s -" % n for n in names]
    extra += ['ExecBeforeCommand PASS /bin/sh -c "/usr/bin/env -0 > %s/env.txt"' % d]
    ftps = list(options)
    if client:
        ftps += ["FTPSVerifyClient optional", "FTPSCACertificateFile " + cp.root.cert]
    srv = Server(ftps=ftps, preload=MOD_EXEC, extra=extra).start()
    srv.private = True
    srv.env_file = os.path.join(d, "env.txt")
    return srv, cp


def session_env(srv, cert):
    ctx = cert.context(pki().ca) if cert is not None else pki().client_context()
    ftp = ReuseFTP_TLS(context=ctx, timeout=10)
    ftp.connect("127.0.0.1", srv.port)
    ftp.auth()
    try:
        ftp.login(USER, PASSWORD)
        ftp.pwd()
    finally:
        quit_quietly(ftp)
    for _ in range(50):
        if os.path.exists(srv.env_file) and os.path.getsize(srv.env_file) > 0:
            break
        time.sleep(0.1)
    with open(srv.env_file, "rb") as f:
        pairs = [p.decode("utf-8", "replace").split("=", 1) for p in f.read().split(b"\0") if b"=" in p]
    os.unlink(srv.env_file)
    # mod_exec passes "" for a variable the session does not have (the
    # note test checks that TLS_SERVER_NAME is unset, not "").
    return {k: v for k, v in pairs if v not in ("", "-")}


def test_std_env_vars_mod_tls_names_and_formats():
    srv, cp = exec_server(["FTPSOptions StdEnvVars"])
    env = session_env(srv, cp.alice)
    bad = ["%s=%r" % (k, env.get(k)) for k, pat in STD_VARS.items()
           if k not in env or not re.search(pat, env[k])]
    check(not bad, "StdEnvVars: wrong or missing: %s" % ", ".join(bad))
    serial = int(cp.alice.serial, 16)
    check(env["TLS_CLIENT_M_SERIAL"] == str(serial),
          "TLS_CLIENT_M_SERIAL %r, want decimal %d" % (env["TLS_CLIENT_M_SERIAL"], serial))
    for k in UNSET_VARS + CERT_VARS:
        check(k not in env, "%s set without SNI/ExportCertData: %r" % (k, env.get(k, "")[:80]))


def test_export_cert_data_pem():
    srv, cp = exec_server(["FTPSOptions StdEnvVars", "FTPSOptions ExportCertData"])
    env = session_env(srv, cp.alice)
    alice = open(cp.alice.cert).read().strip()
    check(env.get("TLS_CLIENT_CERT", "").strip() == alice,
          "TLS_CLIENT_CERT is not alice's PEM: %r" % env.get("TLS_CLIENT_CERT", "")[:120])
    inter = open(cp.inter.cert).read().strip()
    check(env.get("TLS_CLIENT_CERT_CHAIN1", "").strip() == inter,
          "TLS_CLIENT_CERT_CHAIN1 is not the intermediate: %r" % env.get("TLS_CLIENT_CERT_CHAIN1", "")[:120])
    check(env.get("TLS_SERVER_CERT", "").startswith("-----BEGIN CERTIFICATE-----"),
          "TLS_SERVER_CERT missing")


def test_no_env_without_options():
    """Without StdEnvVars/ExportCertData nothing is exported (notes only)."""
    srv, cp = exec_server([])
    env = session_env(srv, cp.alice)
    leaked = [k for k in list(STD_VARS) + CERT_VARS if k in env]
    check(not leaked, "exported without FTPSOptions StdEnvVars: %s" % leaked)


def test_notes_mod_tls_names():
    """ExtendedLog %{note:...}: mod_tls's note names; TLS_SERVER_NAME unset
    (not "") without SNI and set with it."""
    d = mkdtemp("ftps-ext-")
    log = os.path.join(d, "ext.log")
    fmt = "%u|%{note:TLS_PROTOCOL}|%{note:TLS_CIPHER}|%{note:TLS_LIBRARY_VERSIONS}|" \
          "%{note:TLS_SERVER_NAME}|%{note:FTPS}"
    srv = Server(extra=['LogFormat n "%s"' % fmt, "ExtendedLog %s ALL n" % log]).start()
    srv.private = True
    for hostname in ("127.0.0.1", "localhost"):
        raw = Raw(srv)
        try:
            raw.auth(server_hostname=hostname)
            raw.login()
            raw.cmd("NOOP")
        finally:
            raw.close()
    time.sleep(0.5)
    lines = [l.split("|") for l in open(log).read().splitlines() if l.startswith(USER + "|")]
    check(len(lines) >= 2, "no ExtendedLog lines: %r" % lines)
    first, last = lines[0], lines[-1]
    check(re.match(r"^TLSv1\.[23]$", first[1]) and first[2] and first[3].startswith("OpenSSL 3"),
          "notes: %r" % first)
    check(first[4] == "", "TLS_SERVER_NAME without SNI: %r (want unset)" % first[4])
    check(last[4] == "localhost", "TLS_SERVER_NAME with SNI: %r" % last[4])


# --- events -------------------------------------------------------------------

def trace_server(extra=(), ftps=()):
    d = mkdtemp("ftps-trace-")
    os.chmod(d, 0o755)
    trace = os.path.join(d, "trace.log")
    srv = Server(ftps=ftps, extra=["Trace ftps.events:9", "TraceLog " + trace] + list(extra)).start()
    srv.private = True
    srv.trace = trace
    return srv


def trace_text(srv):
    time.sleep(0.3)
    with open(srv.trace) as f:
        return f.read()


def test_events_raised_with_mod_tls_names():
    srv = trace_server()
    raw = Raw(srv)
    try:
        raw.auth(server_hostname="localhost")
        raw.login()
    finally:
        raw.close()
    # A client that cannot agree on a protocol: the handshake fails.
    raw = Raw(srv)
    try:
        r = raw.cmd("AUTH TLS")
        check(r.code == 234, "AUTH: %r" % r)
        ctx = srv.pki.client_context(maxv=ssl.TLSVersion.TLSv1_1)
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.set_ciphers("DEFAULT@SECLEVEL=0")
        try:
            raw.starttls(ctx)
            raise TestFailure("a TLS 1.1 client got in")
        except (ssl.SSLError, OSError):
            pass
    finally:
        raw.close()
    text = trace_text(srv)
    for ev in ("ctrl-handshake", "sni", "ctrl-handshake-failed"):
        check(re.search(r"raising mod_tls\.%s and mod_ftps\.%s" % (ev, ev), text),
              "event %s not raised: %s" % (ev, text[-800:]))


def test_verify_client_events():
    cp = client_pki()
    srv = trace_server(ftps=["FTPSVerifyClient optional", "FTPSCACertificateFile " + cp.root.cert])
    ftp = ReuseFTP_TLS(context=cp.alice.context(pki().ca), timeout=10)
    ftp.connect("127.0.0.1", srv.port)
    ftp.auth()
    quit_quietly(ftp)
    ftp = ReuseFTP_TLS(context=cp.carol2.context(pki().ca), timeout=10)
    ftp.connect("127.0.0.1", srv.port)
    try:
        ftp.auth()
        ftp.login(USER, PASSWORD)
        raise TestFailure("a certificate from an untrusted CA got in")
    except (ssl.SSLError, OSError, EOFError) as e:
        pass
    finally:
        try:
            ftp.close()
        except OSError:
            pass
    text = trace_text(srv)
    check(re.search(r"raising mod_tls\.verify-client and", text), "no verify-client: %s" % text[-600:])
    check(re.search(r"raising mod_tls\.verify-client-failed and", text),
          "no verify-client-failed: %s" % text[-600:])


def connect_from(srv, source):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(10)
    s.bind((source, 0))
    s.connect(("127.0.0.1", srv.port))
    return s


def first_reply(sock):
    data = b""
    try:
        while not data.endswith(b"\n"):
            d = sock.recv(4096)
            if not d:
                break
            data += d
    except (ConnectionResetError, socket.timeout):
        pass
    return data.decode("utf-8", "replace")


def auth_handshake(srv, source):
    """AUTH TLS and a handshake from source; True if it completed."""
    s = connect_from(srv, source)
    try:
        banner = first_reply(s)
        if not banner.startswith("220"):
            return False, banner
        s.sendall(b"AUTH TLS\r\n")
        r = first_reply(s)
        if not r.startswith("234"):
            return False, r
        t = srv.pki.client_context().wrap_socket(s, server_hostname="127.0.0.1")
        t.sendall(b"NOOP\r\n")
        r = first_reply(t)
        t.close()
        return r.startswith("200"), r
    except (ssl.SSLError, OSError) as e:
        return False, str(e)
    finally:
        s.close()


def test_mod_ban_on_tls_handshake():
    """mod_ban's BanOnEvent TLSHandshake counts mod_tls.ctrl-handshake: the
    second handshake from 127.0.0.1 within a minute bans it; the banned
    address then cannot connect or log in at all; 127.0.0.2 still works."""
    check(os.path.exists(os.path.join(SYSTEM_MODULE_DIR, "mod_ban.so")), "mod_ban.so not installed")
    d = mkdtemp("ftps-ban-")
    srv = Server(preload=["ModulePath " + SYSTEM_MODULE_DIR, "LoadModule mod_ban.c"],
                 extra=["BanEngine on", "BanTable %s/ban.tab" % d, "BanLog %s/ban.log" % d,
                        "BanOnEvent TLSHandshake 2/00:01:00 00:05:00",
                        'BanMessage "Host %a has been banned"']).start()
    srv.private = True
    ok, why = auth_handshake(srv, "127.0.0.1")
    check(ok, "first handshake failed: %s" % why)
    auth_handshake(srv, "127.0.0.1")        # the second one triggers the ban
    time.sleep(0.5)
    ban_log = open(os.path.join(d, "ban.log")).read()
    check(re.search(r"TLSHandshake", ban_log) and "127.0.0.1" in ban_log,
          "mod_ban logged no TLSHandshake ban: %s" % ban_log[-600:])
    # The banned address: refused at connect, whatever it tries next.
    s = connect_from(srv, "127.0.0.1")
    try:
        banner = first_reply(s)
    finally:
        s.close()
    check(not banner.startswith("220"), "banned host got a banner: %r" % banner)
    check(banner == "" or banner.startswith("530"), "banned host: %r" % banner)
    s = connect_from(srv, "127.0.0.1")
    try:
        first_reply(s)
        try:
            s.sendall(b"USER alice\r\nPASS Secret123\r\n")
            r = first_reply(s)
        except OSError:
            r = ""
        check("230" not in r, "banned host logged in: %r" % r)
    finally:
        s.close()
    # Another address is not affected.
    ok, why = auth_handshake(srv, "127.0.0.2")
    check(ok, "127.0.0.2 refused after 127.0.0.1 was banned: %s" % why)
