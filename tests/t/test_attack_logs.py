"""Log injection: a client's text must not forge FTPSLog records or reach
the admin's terminal as escape sequences (B26: what the attacker does next
is read the log). Every attack sends peer-chosen bytes that mod_ftps logs:
USER names, command names, HOST and SNI names, client-certificate names.
Then the whole FTPSLog must still be one well-formed record per line, with
no raw control, DEL or high byte, and the escaped form (ftps_text.h:
\\\\ \\n \\r \\t \\xNN) where the bytes were.
"""

import datetime
import os
import re
import ssl

from ftpslib import (PASSWORD, USER, Raw, Server, TestFailure, check, ftp_login, mkdtemp,
                     quit_quietly, stor_bytes)

# A record as pr_log_writefile() writes it: date, time, ident[pid]: text.
RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} mod_ftps/\S+\[\d+\]: \S")
# What each attack tries to start a line of its own with.
FORGED = "FORGED"
FAKE_RECORD = "2026-01-01 00:00:00,000 mod_ftps/0.1.0[1]: " + FORGED
# Bytes that must never reach the file raw (LF only as the record end).
UNSAFE = re.compile(rb"[\x00-\x09\x0b-\x1f\x7f-\xff]")


class EvilPKI:
    """A CA and a client certificate whose CN carries C1 controls (UTF-8
    U+0085 NEL, U+009B CSI; allowed in a name, so FTPSUserName reads it) and
    whose O carries LF, CR and ESC with a fake record after the LF."""

    CN = "evil\u0085\u009b[31m" + FORGED
    O = "org\n" + FAKE_RECORD + "\r\x1b[2J"

    def __init__(self):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        self.dir = mkdtemp("ftps-evil-pki-")
        now = datetime.datetime.now(datetime.timezone.utc)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "evil-log CA")])
        ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
              .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - datetime.timedelta(hours=1))
              .not_valid_after(now + datetime.timedelta(days=2))
              .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
              .add_extension(x509.KeyUsage(False, False, False, False, False, True, True,
                                           False, False), critical=True)
              .sign(ca_key, hashes.SHA256()))
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, self.O),
                             x509.NameAttribute(NameOID.COMMON_NAME, self.CN)])
        leaf = (x509.CertificateBuilder().subject_name(subject).issuer_name(ca_name)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(hours=1))
                .not_valid_after(now + datetime.timedelta(days=2))
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]),
                               critical=False)
                .sign(ca_key, hashes.SHA256()))
        self.ca = os.path.join(self.dir, "ca.pem")
        self.cert = os.path.join(self.dir, "evil.pem")
        self.key = os.path.join(self.dir, "evil.key")
        with open(self.ca, "wb") as f:
            f.write(ca.public_bytes(serialization.Encoding.PEM))
        with open(self.cert, "wb") as f:
            f.write(leaf.public_bytes(serialization.Encoding.PEM))
        with open(self.key, "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
        os.chmod(self.key, 0o600)


_state = {}


def evil_pki():
    if "pki" not in _state:
        _state["pki"] = EvilPKI()
    return _state["pki"]


def log_server():
    """FTPSRequired on (commands before AUTH are refused and logged),
    optional client certificates from the evil CA, FTPSUserName CN (USER
    is checked against the certificate, and a refusal logs both)."""
    srv = _state.get("srv")
    if srv is None or not srv.alive():
        ext_log = os.path.join(mkdtemp("ftps-ext-"), "notes.log")
        srv = Server(ftps=["FTPSRequired on", "FTPSVerifyClient optional",
                           "FTPSCACertificateFile " + evil_pki().ca,
                           "FTPSUserName CommonName"],
                     extra=['LogFormat dnnotes "%{note:FTPS_CLIENT_S_DN}|%{note:TLS_CLIENT_I_DN}"',
                            "ExtendedLog %s ALL dnnotes" % ext_log]).start()
        srv.ext_log = ext_log
        _state["srv"] = srv
    return srv


def read_log_bytes(srv):
    try:
        with open(srv.ftps_log_path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return b""


def check_log_clean(srv, mark=0):
    """Every FTPSLog record since mark is one line of the documented shape,
    holds no unsafe byte, and no line (by any line-break rule a reader may
    use: Python's splitlines() also breaks at CR, VT, FF, FS-RS and NEL)
    starts with a forged record. Returns the text since mark."""
    data = read_log_bytes(srv)[mark:]
    bad = UNSAFE.search(data)
    check(bad is None, "FTPSLog holds raw byte 0x%02x at %d: %r"
          % (bad.group()[0], bad.start(), data[max(0, bad.start() - 60):bad.start() + 20])
          if bad else "")
    text = data.decode("latin-1")
    for line in text.split("\n")[:-1]:
        check(RECORD.match(line), "FTPSLog line is not a record: %r" % line[:200])
    for line in text.splitlines():
        check(not line.lstrip().startswith(FORGED) and not line.startswith(FAKE_RECORD[:20]),
              "FTPSLog has a forged line: %r" % line[:200])
    return text


def wait_text(srv, mark, needle, timeout=5):
    """Wait until the FTPSLog text since mark holds needle (escaped form)."""
    import time
    end = time.monotonic() + timeout
    while True:
        text = read_log_bytes(srv)[mark:].decode("latin-1")
        if needle in text:
            return text
        if time.monotonic() > end:
            raise TestFailure("FTPSLog lacks %r; new lines:\n%s" % (needle, text[-1500:]))
        time.sleep(0.05)        # poll interval, not synchronisation


def test_attack_logs_user_escape_and_cr():
    """USER with ESC[2J and a bare CR followed by a fake record: refused by
    FTPSUserName (no certificate), logged escaped on one line."""
    srv = log_server()
    mark = len(read_log_bytes(srv))
    raw = Raw(srv)
    try:
        raw.auth()
        r = raw.cmd("USER " + USER + "\x1b[2J\r" + FAKE_RECORD)
        check(r.code == 530, "evil USER: want 530, got %r" % r)
        # B26: the refusal holds; the next login attempt without a
        # certificate is refused as well.
        r = raw.cmd("USER " + USER)
        check(r.code == 530, "USER after refusal: want 530, got %r" % r)
        r = raw.cmd("PASS " + PASSWORD)
        check(r.code != 230, "PASS after refused USER logged in: %r" % r)
    finally:
        raw.close()
    text = wait_text(srv, mark, "\\x1b[2J\\r" + FAKE_RECORD)
    check_log_clean(srv, mark)
    check("\\x1b[2J" in text, "escaped ESC missing")


def test_attack_logs_command_name_before_auth():
    """A command name with ESC, C1 and DEL, refused before AUTH
    (FTPSRequired on), is logged escaped."""
    srv = log_server()
    mark = len(read_log_bytes(srv))
    raw = Raw(srv)
    try:
        # Raw bytes, not UTF-8: single C1 bytes (NEL, CSI) and DEL.
        raw.send(b"X\x1b]0;pwned\x07\x9b\x85\x7fY\r\n")
        r = raw.reply()
        check(r.code >= 500, "evil command: want a 5xx refusal, got %r" % r)
        r = raw.cmd("USER " + USER)
        check(r.code == 530, "USER before AUTH: want 530, got %r" % r)
    finally:
        raw.close()
    # proftpd upper-cases command names (bytes >= 0x80 are left alone).
    wait_text(srv, mark, "refused X\\x1b]0;PWNED\\x07\\x9b\\x85\\x7fY")
    check_log_clean(srv, mark)


def test_attack_logs_host_name():
    """HOST with control bytes before AUTH: whatever mod_core answers, the
    FTPSLog stays clean."""
    srv = log_server()
    mark = len(read_log_bytes(srv))
    raw = Raw(srv)
    try:
        r = raw.cmd("HOST evil\x1b[2J\x85\r" + FAKE_RECORD)
        check(r.code >= 400, "evil HOST: want a refusal, got %r" % r)
        r = raw.cmd("FEAT")
        check(r.code == 211, "session unusable after HOST: %r" % r)
    finally:
        raw.close()
    check_log_clean(srv, mark)


def test_attack_logs_sni_name():
    """An SNI name with ESC: ftps_sni_parse() admits only letters, digits,
    '-', '_' and '.', so the handshake is refused and the name is never
    logged; the log stays clean and says why."""
    srv = log_server()
    mark = len(read_log_bytes(srv))
    raw = Raw(srv)
    try:
        r = raw.cmd("AUTH TLS")
        check(r.code == 234, "AUTH TLS: want 234, got %r" % r)
        try:
            raw.starttls(server_hostname="evil\x1b[2J.example")
        except (ssl.SSLError, OSError):
            pass
        else:
            raise TestFailure("handshake with an SNI name holding ESC succeeded")
    finally:
        raw.close()
    text = wait_text(srv, mark, "malformed server name")
    check("evil" not in text, "the refused SNI name reached FTPSLog: %r" % text)
    check_log_clean(srv, mark)


def test_attack_logs_client_certificate_names():
    """A verified client certificate whose O holds LF, CR, ESC and a fake
    record and whose CN holds C1 controls: the handshake line (subject) and
    the FTPSUserName refusal (CN value) are logged escaped."""
    srv = log_server()
    pki = evil_pki()
    mark = len(read_log_bytes(srv))
    ctx = srv.pki.client_context()
    ctx.load_cert_chain(pki.cert, pki.key)
    raw = Raw(srv)
    try:
        raw.auth(context=ctx)
        r = raw.cmd("USER " + USER)
        check(r.code == 530, "USER with a certificate naming someone else: want 530, got %r" % r)
        r = raw.cmd("PASS " + PASSWORD)
        check(r.code != 230, "PASS after refused USER logged in: %r" % r)
    finally:
        raw.close()
    # The CN's UTF-8 NEL and CSI (C2 85, C2 9B) as FTPSUserName read it.
    text = wait_text(srv, mark, "certificate names 'evil\\xc2\\x85\\xc2\\x9b[31m" + FORGED)
    check("handshake ok" in text and FORGED in text, "no handshake line with the subject")
    check_log_clean(srv, mark)
    # The session notes (ExtendedLog %{note:...}) carry the subject too:
    # ftps_cert_subject() gives RFC 2253 form, printable ASCII only.
    with open(srv.ext_log, "rb") as f:
        notes = f.read()
    check(b"CN=evil\\C2\\85\\C2\\9B[31m" + FORGED.encode() in notes,
          "ExtendedLog lacks the subject note: %r" % notes[-400:])
    bad = UNSAFE.search(notes)
    check(bad is None, "ExtendedLog holds raw byte 0x%02x: %r"
          % (bad.group()[0], notes[max(0, bad.start() - 60):bad.start() + 20]) if bad else "")


def test_attack_logs_trace_upload_path():
    """The trace log too: an upload's path (ftps.fsio, level 9) with ESC
    and a C1 byte, and FTPSLog records (channel ftps), are escaped."""
    trace = os.path.join(mkdtemp("ftps-trace-"), "trace.log")
    srv = Server(extra=["Trace ftps:5 ftps.fsio:9", "TraceLog " + trace]).start()
    srv.private = True
    ftp = ftp_login(srv)
    try:
        stor_bytes(ftp, "evil\x1b[2J\x9b.txt", b"x")
    finally:
        quit_quietly(ftp)
    with open(trace, "rb") as f:
        data = f.read()
    check(b"evil\\x1b[2J\\xc2\\x9b.txt" in data,
          "trace lacks the escaped upload path: %r" % data[-600:])
    bad = UNSAFE.search(data)
    check(bad is None, "trace log holds raw byte 0x%02x: %r"
          % (bad.group()[0], data[max(0, bad.start() - 60):bad.start() + 20]) if bad else "")


def test_attack_logs_whole_file_clean():
    """After every attack above: the whole FTPSLog, from its first byte."""
    srv = log_server()
    check_log_clean(srv, 0)
