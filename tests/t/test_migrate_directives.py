"""Drop-in for mod_tls sites (issue 10), the directive half:
FTPSMasqueradeAddress, FTPSGroups, legacy FTPSProtocol with
AllowLegacyProtocols, FTPSSessionTickets, FTPSOptions lines that add up,
and a mod_tls directive left in the configuration."""

import os
import re
import ssl

from ftpslib import (PASSWORD, USER, SYSTEM_MODULE_DIR, Raw, ReuseFTP_TLS, Server, check, fresh_server, ftp_login,
                     pki, quit_quietly, retr_bytes, run, sha256)


def syntax(ftps=(), extra=(), defaults=True):
    srv = Server(ftps=ftps, extra=extra, defaults=defaults, files=False)
    rc, out = srv.syntax_check()
    return rc, out


def refused(out_rc, *patterns):
    rc, out = out_rc
    check(rc != 0, "proftpd -t accepted the configuration: %s" % out.strip()[-400:])
    for p in patterns:
        check(re.search(p, out), "startup message lacks %r: %s" % (p, out.strip()[-500:]))


def s_client(srv, *args, timeout=20):
    """openssl s_client -starttls ftp against srv; (rc, combined output)."""
    cmd = ["openssl", "s_client", "-starttls", "ftp", "-connect", "127.0.0.1:%d" % srv.port,
           "-CAfile", srv.pki.ca, "-servername", "localhost"] + list(args)
    cp = run(cmd, timeout=timeout, input=b"QUIT\r\n")
    return cp.returncode, cp.out + cp.err


def pasv_address(raw):
    r = raw.cmd("PASV")
    check(r.code == 227, "PASV: want 227, got %r" % r)
    m = re.search(r"\((\d+),(\d+),(\d+),(\d+),\d+,\d+\)", r.text)
    check(m is not None, "PASV reply without an address: %r" % r)
    return ".".join(m.groups())


# --- FTPSMasqueradeAddress --------------------------------------------------

def test_masquerade_address_in_pasv_for_ftps_only():
    """mod_core reads the TLSMasqueradeAddress record for "ftps" sessions:
    the protected session sees the masquerade address, a clear session on
    the same vhost the real one; EPSV carries no address either way."""
    srv = fresh_server(ftps=["FTPSMasqueradeAddress 10.9.8.7"])
    clear = Raw(srv)
    try:
        clear.login()
        check(pasv_address(clear) == "127.0.0.1", "clear session got a masqueraded PASV")
        r = clear.cmd("EPSV")
        check(r.code == 229 and re.search(r"\(\|\|\|\d+\|\)", r.text), "EPSV: %r" % r)
    finally:
        clear.close()
    tls = Raw(srv)
    try:
        tls.auth()
        tls.login()
        check(pasv_address(tls) == "10.9.8.7", "FTPS session PASV does not show 10.9.8.7")
        r = tls.cmd("EPSV")
        check(r.code == 229 and re.search(r"\(\|\|\|\d+\|\)", r.text), "EPSV: %r" % r)
    finally:
        tls.close()


def test_masquerade_name_resolved_at_startup():
    srv = fresh_server(ftps=["FTPSMasqueradeAddress localhost"])
    raw = Raw(srv)
    try:
        raw.auth()
        raw.login()
        check(pasv_address(raw) == "127.0.0.1", "name 'localhost' not resolved for PASV")
    finally:
        raw.close()


def test_masquerade_unresolvable_name_stops_startup():
    refused(syntax(ftps=["FTPSMasqueradeAddress no-such-host.invalid"]),
            r"FTPSMasqueradeAddress", r"no-such-host\.invalid", r"cannot resolve")


def test_masquerade_duplicate_refused():
    refused(syntax(ftps=["FTPSMasqueradeAddress 10.0.0.1", "FTPSMasqueradeAddress 10.0.0.2"]),
            r"FTPSMasqueradeAddress", r"duplicate")


# --- FTPSGroups --------------------------------------------------------------

def temp_key(srv, *args):
    rc, text = s_client(srv, *args)
    m = re.search(r"(?:Server|Peer) Temp Key: (?:ECDH, )?([A-Za-z0-9-]+)", text)
    check(m is not None, "%s: no handshake: %s" % (" ".join(args), text[-600:]))
    return m.group(1)


def test_groups_server_choice_negotiated():
    """FTPSGroups P-384 X25519: TLS 1.2 takes the server's order; TLS 1.3
    takes a key share the client sent if the list allows it, and asks the
    client for one (HelloRetryRequest) when it does not."""
    srv = fresh_server(ftps=["FTPSGroups P-384 X25519"])
    got = temp_key(srv, "-tls1_2", "-groups", "X25519:P-384")
    check(got in ("secp384r1", "P-384"), "TLS 1.2: server chose %s, want P-384" % got)
    got = temp_key(srv, "-tls1_3", "-groups", "P-256:P-384")
    check(got in ("secp384r1", "P-384"), "TLS 1.3 (HRR): server chose %s, want P-384" % got)
    got = temp_key(srv, "-tls1_3", "-groups", "X25519:P-256")
    check(got == "X25519", "TLS 1.3: server chose %s, want the client's X25519 share" % got)


def test_groups_no_common_group_refused():
    srv = fresh_server(ftps=["FTPSGroups X25519"])
    rc, out = s_client(srv, "-groups", "P-256")
    text = out if isinstance(out, str) else out.decode("utf-8", "replace")
    check(not re.search(r"Temp Key", text), "handshake with no common group succeeded: %s" % text[-600:])
    # The next client, with X25519, still gets in.
    rc, out = s_client(srv, "-groups", "X25519")
    text = out if isinstance(out, str) else out.decode("utf-8", "replace")
    check(re.search(r"Temp Key: X25519", text), "X25519 client refused: %s" % text[-600:])


def test_groups_unknown_name_stops_startup():
    refused(syntax(ftps=["FTPSGroups X25519 P-255"]), r"FTPSGroups", r"unknown group 'P-255'",
            r"X25519")


# --- FTPSProtocol TLSv1 / TLSv1.1 -------------------------------------------

def test_legacy_protocol_refused_without_option():
    refused(syntax(ftps=["FTPSProtocol TLSv1.1 TLSv1.2 TLSv1.3"]),
            r"FTPSProtocol TLSv1\.1 TLSv1\.2 TLSv1\.3", r"FTPSOptions AllowLegacyProtocols")


def test_legacy_protocol_gap_refused():
    refused(syntax(ftps=["FTPSProtocol TLSv1 TLSv1.2", "FTPSOptions AllowLegacyProtocols"]),
            r"FTPSProtocol", r"not a range")


def tls11_ok(text):
    """s_client output of a completed TLS 1.1 handshake (a failed one still
    prints "Protocol : TLSv1.1" with cipher 0000)."""
    return (re.search(r"Protocol\s*:\s*TLSv1\.1", text) is not None and
            "Cipher is (NONE)" not in text and not re.search(r"Cipher\s*:\s*0000", text))


def test_legacy_tls11_with_option():
    """With the option, a TLS 1.1 client gets in (OpenSSL 3 needs security
    level 0 for TLS 1.0/1.1, on both sides); startup warns naming the vhost;
    a vhost without the option still refuses TLS 1.1."""
    srv = fresh_server(ftps=["FTPSProtocol TLSv1.1 TLSv1.2 TLSv1.3",
                             "FTPSOptions AllowLegacyProtocols"])
    rc, text = s_client(srv, "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0")
    check(tls11_ok(text), "no TLS 1.1 handshake: %s" % text[-800:])
    log = srv.system_log() + srv.read_log(srv.stderr_path)
    check(re.search(r"server 'ftps-test' .*accepts TLSv1\.1 TLSv1\.2 TLSv1\.3.*deprecated", log),
          "no startup warning naming the vhost: %s" % log[-600:])
    # ftplib over TLS 1.1 logs in and transfers.
    ctx = srv.pki.client_context(minv=ssl.TLSVersion.TLSv1_1, maxv=ssl.TLSVersion.TLSv1_1)
    ctx.set_ciphers("DEFAULT@SECLEVEL=0")
    ftp = ftp_login(srv, context=ctx)
    try:
        check(ftp.sock.version() == "TLSv1.1", "control is %s" % ftp.sock.version())
        data = retr_bytes(ftp, "small.bin")
        check(sha256(data) == srv.files["small.bin"], "TLS 1.1 transfer corrupted")
    finally:
        quit_quietly(ftp)

    plain = fresh_server()
    rc, text = s_client(plain, "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0")
    check(not tls11_ok(text), "default server accepted TLS 1.1: %s" % text[-600:])


# --- FTPSSessionTickets -------------------------------------------------------

def tls12_session(srv):
    """Log in over TLS 1.2, fetch a file on a data connection that must
    resume the control session; returns the control session."""
    ctx = srv.pki.client_context(maxv=ssl.TLSVersion.TLSv1_2)
    ftp = ftp_login(srv, context=ctx)
    try:
        sess = ftp.sock.session
        data = retr_bytes(ftp, "small.bin")
        check(sha256(data) == srv.files["small.bin"], "TLS 1.2 transfer corrupted")
        return sess
    finally:
        quit_quietly(ftp)


def test_session_tickets_off_no_ticket_resumption_by_id():
    srv = fresh_server(ftps=["FTPSSessionTickets off"])
    sess = tls12_session(srv)      # the data connection resumed: by session ID
    check(not sess.has_ticket, "FTPSSessionTickets off: a TLS 1.2 client got a ticket")
    rc, out = s_client(srv, "-tls1_2")
    text = out if isinstance(out, str) else out.decode("utf-8", "replace")
    check("Protocol  : TLSv1.2" in text or "Protocol: TLSv1.2" in text or "TLSv1.2" in text,
          "no TLS 1.2 handshake: %s" % text[-600:])
    check("TLS session ticket:" not in text, "s_client saw a session ticket: %s" % text[-600:])
    # TLS 1.3 still resumes with tickets.
    ftp = ftp_login(srv)
    try:
        check(ftp.sock.version() == "TLSv1.3", "control is %s" % ftp.sock.version())
        data = retr_bytes(ftp, "small.bin")
        check(sha256(data) == srv.files["small.bin"], "TLS 1.3 transfer corrupted")
    finally:
        quit_quietly(ftp)


def test_session_tickets_default_on():
    srv = fresh_server()
    sess = tls12_session(srv)
    check(sess.has_ticket, "default: a TLS 1.2 client got no ticket")
    rc, out = s_client(srv, "-tls1_2")
    text = out if isinstance(out, str) else out.decode("utf-8", "replace")
    check("TLS session ticket:" in text, "default: s_client saw no ticket: %s" % text[-600:])


# --- FTPSOptions on several lines --------------------------------------------

def test_options_lines_add_up():
    """Two FTPSOptions lines in one context: both apply (a stock FTP_TLS
    client, which does not resume, transfers thanks to the second line)."""
    srv = fresh_server(ftps=["FTPSOptions AllowAnyALPN", "FTPSOptions NoSessionReuseRequired"])
    import ftplib
    ftp = ftplib.FTP_TLS(context=srv.pki.client_context(), timeout=15)
    try:
        ftp.connect("127.0.0.1", srv.port)
        ftp.auth()
        ftp.login(USER, PASSWORD)
        ftp.prot_p()
        data = retr_bytes(ftp, "small.bin")
        check(sha256(data) == srv.files["small.bin"], "transfer corrupted")
    finally:
        quit_quietly(ftp)
    # The first line applies too: ALPN without "ftp" is accepted.
    ctx = srv.pki.client_context()
    ctx.set_alpn_protocols(["http/1.1"])
    raw = Raw(srv)
    try:
        raw.auth(context=ctx)
        raw.login()
    finally:
        raw.close()


# --- a mod_tls directive next to mod_ftps --------------------------------------

def test_mod_tls_directive_names_equivalent():
    refused(syntax(extra=["TLSEngine on"]), r"TLSEngine", r"mod_tls directive",
            r"FTPSEngine", r"migrating-from-mod_tls")
    refused(syntax(extra=["TLSMasqueradeAddress 10.1.2.3"]), r"TLSMasqueradeAddress",
            r"FTPSMasqueradeAddress")
    refused(syntax(extra=["TLSRSACertificateFile /etc/ssl/x.pem"]), r"TLSRSACertificateFile",
            r"FTPSCertificate cert-file key-file")
    refused(syntax(extra=["TLSStapling on"]), r"TLSStapling", r"FTPSStapling")


def test_mod_tls_directive_inside_ifmodule_is_ignored():
    rc, out = syntax(extra=["<IfModule mod_tls.c>", "  TLSEngine on", "  TLSLog /tmp/x.log",
                            "</IfModule>"])
    check(rc == 0, "<IfModule mod_tls.c> block refused: %s" % out.strip()[-400:])
