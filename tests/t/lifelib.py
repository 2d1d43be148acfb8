"""Helpers for the issue-11 tests (FTPSReload, ftpdctl ftps ...): servers
with mod_ctrls enabled on a socket of their own, certificates made to order,
the server certificate a new session sees, and log readiness polls."""

import hashlib
import os
import re
import shutil
import socket
import ssl
import time

from ftpslib import TestFailure, check, run, Server, USER, PASSWORD

FTPDCTL = "/usr/bin/ftpdctl"


def ctrls_server(**kw):
    """A Server whose mod_ctrls listens on <dir>/ctrls.sock, root allowed
    for every action (ControlsACLs and FTPSControlsACLs), checked every
    second (ControlsInterval 1)."""
    ftps = list(kw.pop("ftps", ())) + ["FTPSControlsACLs all allow user root"]
    srv = Server(ftps=ftps, **kw)
    srv.ctrls_sock = os.path.join(srv.dir, "ctrls.sock")
    with open(srv.conf_path) as f:
        conf = f.read()
    check("  ControlsEngine off\n" in conf, "template lost ControlsEngine off")
    conf = conf.replace("  ControlsEngine off\n", "\n".join([
        "  ControlsEngine on", "  ControlsSocket %s" % srv.ctrls_sock,
        "  ControlsACLs all allow user root", "  ControlsInterval 1",
        "  ControlsLog %s" % os.path.join(srv.dir, "ctrls.log"), ""]))
    with open(srv.conf_path, "w") as f:
        f.write(conf)
    return srv


def ftpdctl(srv, *args, timeout=30):
    """Run `ftpdctl -s <socket> args...`; (rc, output without the
    "ftpdctl: " prefixes)."""
    cp = run([FTPDCTL, "-s", srv.ctrls_sock] + list(args), timeout=timeout)
    out = "\n".join(re.sub(r"^ftpdctl: ", "", l) for l in (cp.out + cp.err).splitlines())
    return cp.returncode, out


def make_cert(pki, name, days=3, kind="ec", cn="127.0.0.1", start=None):
    """(cert, key) signed by the test CA for 127.0.0.1, valid `days` days
    (negative: already expired, via a start date in the past)."""
    d = pki.dir
    tag = "%s-%s-%d-%s" % (name, kind, days, os.urandom(3).hex())
    cert, key = os.path.join(d, tag + ".pem"), os.path.join(d, tag + ".key")
    ext = os.path.join(d, tag + ".ext")
    with open(ext, "w") as f:
        f.write("basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
                "subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    newkey = (["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"] if kind == "ec"
              else ["-newkey", "rsa:2048"])
    run(["openssl", "req", "-new", "-nodes"] + newkey + ["-keyout", key, "-out", cert + ".csr",
         "-subj", "/CN=" + cn], check_rc=0)
    if days <= 0:
        return _expired(pki, cert, key)
    run(["openssl", "x509", "-req", "-in", cert + ".csr", "-CA", pki.ca, "-CAkey", pki.ca_key,
         "-set_serial", str(int.from_bytes(os.urandom(8), "big")), "-extfile", ext,
         "-days", str(days), "-out", cert], check_rc=0)
    os.chmod(key, 0o600)
    return cert, key


def _expired(pki, cert, key):
    """A CA-signed certificate that expired yesterday (OpenSSL 3.0's x509
    cannot set a past notAfter; the cryptography module can)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    import datetime
    with open(pki.ca_key, "rb") as f:
        ca_key = serialization.load_pem_private_key(f.read(), None)
    with open(pki.ca, "rb") as f:
        ca = x509.load_pem_x509_certificate(f.read())
    k = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    c = (x509.CertificateBuilder()
         .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
         .issuer_name(ca.subject).public_key(k.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(days=10))
         .not_valid_after(now - datetime.timedelta(days=1))
         .sign(ca_key, hashes.SHA256()))
    with open(cert, "wb") as f:
        f.write(c.public_bytes(serialization.Encoding.PEM))
    with open(key, "wb") as f:
        f.write(k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()))
    os.chmod(key, 0o600)
    return cert, key


def replace_file(src, dst):
    """Put src's bytes at dst the way certbot does: a new file renamed
    over the old one (a new inode)."""
    tmp = dst + ".tmp-" + os.urandom(3).hex()
    shutil.copyfile(src, tmp)
    os.chmod(tmp, 0o600)
    os.rename(tmp, dst)


def cert_fingerprint(path):
    with open(path) as f:
        pem = f.read()
    der = ssl.PEM_cert_to_DER_cert(pem[:pem.index("-----END CERTIFICATE-----") + 25])
    return hashlib.sha256(der).hexdigest()


def served_fingerprint(srv, port=None, sigalgs=None):
    """SHA-256 of the certificate a new FTPS session is shown."""
    ctx = ssl.create_default_context(cafile=srv.pki.ca)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port or srv.port), timeout=10) as s:
        f = s.makefile("rb")
        check(f.readline().startswith(b"220"), "no banner")
        s.sendall(b"AUTH TLS\r\n")
        line = f.readline()
        check(line.startswith(b"234"), "AUTH TLS: %r" % line)
        t = ctx.wrap_socket(s, server_hostname="127.0.0.1")
        der = t.getpeercert(binary_form=True)
        t.close()
    return hashlib.sha256(der).hexdigest()


def syslog_text(srv):
    """What ProFTPD logged through pr_log_pri: SystemLog, and the master's
    stderr (where messages go while SystemLog is closed: at startup and
    during a SIGHUP re-parse, i.e. core.postparse)."""
    return srv.system_log() + srv.read_log(srv.stderr_path)


def syslog_mark(srv):
    return (len(srv.system_log()), len(srv.read_log(srv.stderr_path)))


def wait_system_log(srv, pattern, start=(0, 0), timeout=10):
    """Poll SystemLog and the master's stderr (from the offsets of
    syslog_mark()) until pattern matches."""
    rx = re.compile(pattern)
    end = time.monotonic() + timeout
    if isinstance(start, int):
        start = (start, 0)
    while True:
        text = (srv.system_log()[start[0]:] + "\n" +
                srv.read_log(srv.stderr_path)[start[1]:])
        if rx.search(text):
            return text
        if time.monotonic() > end:
            raise TestFailure("SystemLog has no line matching %r; new lines:\n%s"
                              % (pattern, text[-2000:] or "(none)"))
        time.sleep(0.1)          # poll interval, not synchronisation


def make_crl(pki, path, next_update_days=7):
    """A CRL of the test CA (no revocations), next update in
    next_update_days days (negative: already past)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    import datetime
    with open(pki.ca_key, "rb") as f:
        ca_key = serialization.load_pem_private_key(f.read(), None)
    with open(pki.ca, "rb") as f:
        ca = x509.load_pem_x509_certificate(f.read())
    now = datetime.datetime.now(datetime.timezone.utc)
    crl = (x509.CertificateRevocationListBuilder().issuer_name(ca.subject)
           .last_update(now - datetime.timedelta(days=max(1, 1 - next_update_days)))
           .next_update(now + datetime.timedelta(days=next_update_days))
           .sign(ca_key, hashes.SHA256()))
    with open(path, "wb") as f:
        f.write(crl.public_bytes(serialization.Encoding.PEM))
    return path


def own_copy(srv, cert, key, name="server"):
    """Copies of cert and key in the server's directory (so a test can
    replace them); (cert path, key path)."""
    c, k = os.path.join(srv.dir, name + ".pem"), os.path.join(srv.dir, name + ".key")
    shutil.copyfile(cert, c)
    shutil.copyfile(key, k)
    os.chmod(k, 0o600)
    return c, k
