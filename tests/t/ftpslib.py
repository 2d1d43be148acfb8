"""Shared harness for the mod_ftps integration tests (house-style B22).

Owns: the test PKI (generated with the openssl CLI), the Server class (config,
users, start/stop by PID, log scanning) and the client helpers (subprocess
clients, ftplib subclasses, a raw-socket FTP client).  Test files hold only
assertions; run.py holds the registry and the reporting.

Python 3 standard library only.
"""

import hashlib
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import ftplib

# FTPS_PROFTPD: a wrapper (e.g. scripts/asan-proftpd for `make check-asan`).
PROFTPD = os.environ.get("FTPS_PROFTPD") or "/usr/sbin/proftpd"
FTPASSWD = "/usr/sbin/ftpasswd"
SYSTEM_MODULE_DIR = "/usr/lib/proftpd"

USER = "alice"
PASSWORD = "Alice-pw-123"
UID = GID = 2001

# Lines that must never appear in SystemLog, FTPSLog or the daemon's stderr.
BAD_LOG = re.compile(r"segfault|signal 11|SIGSEGV|SIGABRT|signal 6\b|AddressSanitizer|"
                     r"LeakSanitizer|runtime error:|double free|stack trace",
                     re.IGNORECASE)

CONFIG = {"module": None, "verbose": False, "keep": False}
_cleanup_dirs = []


def configure(module, verbose=False, keep=False):
    CONFIG.update(module=os.path.abspath(module), verbose=verbose, keep=keep)


def log(msg):
    if CONFIG["verbose"]:
        print("    " + msg, flush=True)


class TestFailure(AssertionError):
    pass


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


def needs(*clients):
    """Declare the external clients a test drives; run.py fails (never skips)
    the test when one is missing."""
    def deco(fn):
        fn.needs = tuple(clients)
        return fn
    return deco


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def sha256_file(path):
    with open(path, "rb") as f:
        return sha256(f.read())


def free_port():
    """A port on 127.0.0.1 that nothing is bound to right now."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise TestFailure("no free port found")


def mkdtemp(prefix):
    d = tempfile.mkdtemp(prefix=prefix)
    os.chmod(d, 0o755)          # proftpd refuses logs in world-writable dirs
    _cleanup_dirs.append(d)
    return d


def run(cmd, timeout=60, input=None, check_rc=None):
    """Run a client; return CompletedProcess with text stdout/stderr."""
    log("run: " + " ".join(cmd))
    try:
        cp = subprocess.run(cmd, input=input, capture_output=True, timeout=timeout,
                            stdin=None if input is not None else subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        raise TestFailure("%s timed out after %ss; stderr: %s"
                          % (cmd[0], timeout, (e.stderr or b"")[-500:]))
    cp.stdout_b = cp.stdout
    cp.out = cp.stdout.decode("utf-8", "replace")
    cp.err = cp.stderr.decode("utf-8", "replace")
    if check_rc is not None and cp.returncode != check_rc:
        raise TestFailure("%s exited %d (want %d): %s"
                          % (" ".join(cmd[:2]), cp.returncode, check_rc, cp.err.strip()[-800:]))
    return cp


# --------------------------------------------------------------------------
# PKI
# --------------------------------------------------------------------------

class PKI:
    """Test CA, server certs for 127.0.0.1/localhost (ECDSA P-256 and
    RSA-2048, both CA-signed), a self-signed spare and broken key material."""

    def __init__(self):
        self.dir = mkdtemp("ftps-pki-")
        d = self.dir
        self.ca, self.ca_key = os.path.join(d, "ca.pem"), os.path.join(d, "ca.key")
        self.ec, self.ec_key = os.path.join(d, "ec.pem"), os.path.join(d, "ec.key")
        self.rsa, self.rsa_key = os.path.join(d, "rsa.pem"), os.path.join(d, "rsa.key")
        self.spare, self.spare_key = os.path.join(d, "spare.pem"), os.path.join(d, "spare.key")
        self.garbage_key = os.path.join(d, "garbage.key")
        ossl = ["openssl"]
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
        run(ossl + ["req", "-x509", "-nodes"] + ec + [
            "-keyout", self.ca_key, "-out", self.ca, "-days", "3", "-subj", "/CN=ftps-test CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign"], check_rc=0)
        ext = os.path.join(d, "server.ext")
        with open(ext, "w") as f:
            f.write("basicConstraints=CA:FALSE\n"
                    "keyUsage=critical,digitalSignature,keyEncipherment\n"
                    "extendedKeyUsage=serverAuth\n"
                    "subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        for cert, key, newkey in ((self.ec, self.ec_key, ec),
                                  (self.rsa, self.rsa_key, ["-newkey", "rsa:2048"])):
            csr = cert + ".csr"
            run(ossl + ["req", "-new", "-nodes"] + newkey + [
                "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1"], check_rc=0)
            run(ossl + ["x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey", self.ca_key,
                        "-set_serial", str(int.from_bytes(os.urandom(8), "big")),
                        "-days", "3", "-extfile", ext, "-out", cert], check_rc=0)
        run(ossl + ["req", "-x509", "-nodes"] + ec + [
            "-keyout", self.spare_key, "-out", self.spare, "-days", "3", "-subj", "/CN=spare",
            "-addext", "subjectAltName=IP:127.0.0.1"], check_rc=0)
        with open(self.garbage_key, "w") as f:
            f.write("-----BEGIN PRIVATE KEY-----\nnot a key at all\n-----END PRIVATE KEY-----\n")
        for k in (self.ca_key, self.ec_key, self.rsa_key, self.spare_key, self.garbage_key):
            os.chmod(k, 0o600)

    def leaf(self, cn, dns=(), ip=()):
        """(cert, key) of an ECDSA leaf signed by the test CA with subject
        CN=cn and the given SANs; made once per CN."""
        cache = self.__dict__.setdefault("_leaves", {})
        if cn in cache:
            return cache[cn]
        d = self.dir
        tag = re.sub(r"[^A-Za-z0-9.-]", "_", cn)
        cert, key = os.path.join(d, "leaf-%s.pem" % tag), os.path.join(d, "leaf-%s.key" % tag)
        ext = os.path.join(d, "leaf-%s.ext" % tag)
        sans = ["DNS:" + n for n in dns] + ["IP:" + a for a in ip]
        with open(ext, "w") as f:
            f.write("basicConstraints=CA:FALSE\n"
                    "keyUsage=critical,digitalSignature,keyEncipherment\n"
                    "extendedKeyUsage=serverAuth\n" +
                    ("subjectAltName=%s\n" % ",".join(sans) if sans else ""))
        run(["openssl", "req", "-new", "-nodes", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:P-256", "-keyout", key, "-out", cert + ".csr",
             "-subj", "/CN=" + cn], check_rc=0)
        run(["openssl", "x509", "-req", "-in", cert + ".csr", "-CA", self.ca, "-CAkey", self.ca_key,
             "-set_serial", str(int.from_bytes(os.urandom(8), "big")), "-days", "3",
             "-extfile", ext, "-out", cert], check_rc=0)
        os.chmod(key, 0o600)
        cache[cn] = (cert, key)
        return cache[cn]

    def client_context(self, minv=None, maxv=None):
        ctx = ssl.create_default_context(cafile=self.ca)
        if minv:
            ctx.minimum_version = minv
        if maxv:
            ctx.maximum_version = maxv
        return ctx


_pki = None


def pki():
    global _pki
    if _pki is None:
        _pki = PKI()
    return _pki


# --------------------------------------------------------------------------
# Server
# --------------------------------------------------------------------------

# Every test server's settings besides its modules and TLS (str.format
# fields: host, port, user, dir); test_migrate_tool.py's sites use it too.
SERVER_BODY = """\
ServerType standalone
DefaultServer on
DefaultAddress {host}
SocketBindTight on
Port {port}
UseIPv6 off
User {user}
Group nogroup
MaxInstances 30
PidFile {dir}/proftpd.pid
ScoreboardFile {dir}/proftpd.scoreboard
SystemLog {dir}/system.log
TransferLog {dir}/xfer.log
WtmpLog off
UseReverseDNS off
<IfModule mod_ident.c>
  IdentLookups off
</IfModule>
<IfModule mod_ctrls.c>
  ControlsEngine off
</IfModule>
<IfModule mod_delay.c>
  DelayEngine off
</IfModule>
AuthOrder mod_auth_file.c
AuthUserFile {dir}/ftpd.passwd
AuthGroupFile {dir}/ftpd.group
RequireValidShell off
DefaultRoot ~
AllowOverwrite on
"""

CONF_TEMPLATE = """\
{head}
ModulePath {moddir}
LoadModule mod_ftps.c
{preload}
ServerName "ftps-test"
""" + SERVER_BODY + """\
{extra}
<IfModule mod_ftps.c>
{ftps}
</IfModule>
{globalblock}
{vhostblocks}
"""

# What a <VirtualHost> needs of the server config: nothing flows into it.
VHOST_TEMPLATE = """\
<VirtualHost {host}>
  ServerName "{name}"
  Port {port}
  AuthOrder mod_auth_file.c
  AuthUserFile {dir}/ftpd.passwd
  AuthGroupFile {dir}/ftpd.group
  RequireValidShell off
  DefaultRoot ~
  AllowOverwrite on
  WtmpLog off
  <IfModule mod_delay.c>
    DelayEngine off
  </IfModule>
{lines}
</VirtualHost>
"""

_running = []       # every started, not yet stopped Server
_shared = {}        # config key -> shared Server


def _proc_children(ppid):
    """(pid, starttime) of the live children of ppid, from /proc."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rfind(")") + 2:].split()
        if int(fields[1]) == ppid:
            out.append((int(name), fields[19]))
    return out


def _starttime(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
        return st[st.rfind(")") + 2:].split()[19]
    except OSError:
        return None


class ServerError(TestFailure):
    pass


class Server:
    """One proftpd master in a fresh temp dir, configured with mod_ftps.

    ftps:      lines added inside <IfModule mod_ftps.c> after the defaults
    extra:     server-level lines (e.g. "UseSendfile on")
    defaults:  include FTPSEngine on + both certificates + FTPSLog
    implicit:  add "FTPSImplicit on" (readiness probe then speaks TLS first)
    preload:   lines right after our LoadModule (e.g. loading mod_tls)
    head:      lines before our ModulePath/LoadModule
    files:     create the test files (0 B, 1 KiB, 3 MiB) in alice's home
    glob:      lines inside a <Global> block
    vhosts:    <VirtualHost 127.0.0.1> blocks, each a dict(name=ServerName,
               own_port=True: a port of its own in self.vport[name], else the
               main port (name-based, with a ServerAlias among its lines),
               lines=[...]); "{ftpslog}" in glob/vhost lines is FTPSLog's path
    users:     more users beside alice, each (name, password, uid, ((group, gid), ...))
    host:      the address it binds (DefaultAddress, <VirtualHost>), e.g.
               127.0.0.2 for a second farm node
    """

    def __init__(self, ftps=(), extra=(), defaults=True, implicit=False, preload=(),
                 head=(), files=True, glob=(), vhosts=(), users=(), host="127.0.0.1"):
        if not CONFIG["module"]:
            raise ServerError("ftpslib.configure(module=...) was not called")
        self.pki = pki()
        self.dir = mkdtemp("ftps-srv-")
        self.home = os.path.join(self.dir, "home", USER)
        self.implicit = implicit
        self.host = host          # the address it binds (DefaultAddress)
        self.port = free_port()
        self.proc = None
        self._scan_pos = {}
        lines = []
        if defaults:
            lines += ["FTPSEngine on",
                      "FTPSCertificate %s %s" % (self.pki.ec, self.pki.ec_key),
                      "FTPSCertificate %s %s" % (self.pki.rsa, self.pki.rsa_key),
                      "FTPSLog %s" % self.ftps_log_path]
        if implicit:
            lines.append("FTPSImplicit on")
        lines += list(ftps)
        self.vport = {}
        blocks = []
        for vh in vhosts:
            port = free_port() if vh.get("own_port") else self.port
            self.vport[vh["name"]] = port
            blocks.append(VHOST_TEMPLATE.format(
                name=vh["name"], port=port, dir=self.dir, host=host,
                lines="\n".join("  " + l.replace("{ftpslog}", self.ftps_log_path)
                                for l in vh.get("lines", ()))))
        globalblock = ""
        if glob:
            globalblock = "<Global>\n%s\n</Global>" % "\n".join(
                "  " + l.replace("{ftpslog}", self.ftps_log_path) for l in glob)
        self.conf_path = os.path.join(self.dir, "proftpd.conf")
        try:
            import pwd
            pwd.getpwnam("proftpd")
            runas = "proftpd"
        except KeyError:
            runas = "nobody"
        with open(self.conf_path, "w") as f:
            f.write(CONF_TEMPLATE.format(
                moddir=os.path.dirname(CONFIG["module"]), port=self.port, dir=self.dir,
                host=host,
                user=runas, extra="\n".join(extra), preload="\n".join(preload),
                head="\n".join(head), globalblock=globalblock,
                vhostblocks="\n".join(blocks),
                ftps="\n".join("  " + l for l in lines)))
        self._make_home(files)
        self._make_users()
        for u in users:
            self.add_user(*u)

    # --- paths -----------------------------------------------------------
    @property
    def ftps_log_path(self):
        return os.path.join(self.dir, "ftps.log")

    @property
    def system_log_path(self):
        return os.path.join(self.dir, "system.log")

    @property
    def stderr_path(self):
        return os.path.join(self.dir, "stderr.log")

    def path(self, name):
        return os.path.join(self.home, name)

    def url(self, name="", scheme="ftp"):
        return "%s://127.0.0.1:%d/%s" % (scheme, self.port, name)

    # --- setup -----------------------------------------------------------
    def _make_users(self):
        pw = os.path.join(self.dir, "ftpd.passwd")
        grp = os.path.join(self.dir, "ftpd.group")
        run([FTPASSWD, "--passwd", "--file=" + pw, "--name=" + USER, "--uid=%d" % UID,
             "--gid=%d" % GID, "--home=" + self.home, "--shell=/bin/false", "--stdin"],
            input=(PASSWORD + "\n").encode(), check_rc=0)
        run([FTPASSWD, "--group", "--file=" + grp, "--name=alicegrp", "--gid=%d" % GID,
             "--member=" + USER], check_rc=0)

    def add_user(self, name, password, uid, groups=()):
        """Another user (own primary group uid, home dir/home/name); groups:
        (name, gid) groups whose only member it becomes."""
        home = os.path.join(self.dir, "home", name)
        os.makedirs(home, exist_ok=True)
        os.chown(home, uid, uid)
        run([FTPASSWD, "--passwd", "--file=" + os.path.join(self.dir, "ftpd.passwd"),
             "--name=" + name, "--uid=%d" % uid, "--gid=%d" % uid, "--home=" + home,
             "--shell=/bin/false", "--stdin"], input=(password + "\n").encode(), check_rc=0)
        for gname, gid in groups:
            run([FTPASSWD, "--group", "--file=" + os.path.join(self.dir, "ftpd.group"),
                 "--name=" + gname, "--gid=%d" % gid, "--member=" + name], check_rc=0)
        return home

    def _make_home(self, files):
        os.makedirs(self.home)
        os.chmod(os.path.dirname(self.home), 0o755)
        self.files = {}
        for name, size in (("empty.bin", 0), ("small.bin", 1024), ("big.bin", 3 << 20)):
            if files:
                self.put_file(name, os.urandom(size))
        os.chown(self.home, UID, GID)

    def put_file(self, name, data):
        p = self.path(name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
        os.chown(p, UID, GID)
        self.files[name] = sha256(data)
        return p

    def sparse_file(self, name, size):
        p = self.path(name)
        with open(p, "wb") as f:
            f.truncate(size)
        os.chown(p, UID, GID)
        return p

    def make_tree(self, top="tree", nfiles=30, large=3 << 20):
        """top/ with nfiles small files (incl. a 0-byte one) in two levels and
        one large file; returns {relpath: sha256}."""
        sums = {}
        for i in range(nfiles):
            rel = "%s/%s/f%02d.dat" % (top, "a" if i % 2 else "b/c", i)
            data = os.urandom(0 if i == 0 else 1 + (i * 977) % 5000)
            self.put_file(rel, data)
            sums[rel] = sha256(data)
        rel = "%s/large.bin" % top
        data = os.urandom(large)
        self.put_file(rel, data)
        sums[rel] = sha256(data)
        for root, dirs, _ in os.walk(self.path(top)):
            for d in dirs + ["."]:
                os.chown(os.path.join(root, d), UID, GID)
        return sums

    def file_sha(self, name):
        return sha256_file(self.path(name))

    # --- lifecycle -------------------------------------------------------
    def syntax_check(self):
        """proftpd -t: (returncode, combined output)."""
        cp = run([PROFTPD, "-t", "-c", self.conf_path], timeout=30)
        return cp.returncode, cp.out + cp.err

    def start(self, deadline=15):
        errf = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen([PROFTPD, "-n", "-q", "-c", self.conf_path],
                                     stdin=subprocess.DEVNULL, stdout=errf, stderr=errf,
                                     start_new_session=True)     # = setsid
        errf.close()
        _running.append(self)
        end = time.monotonic() + deadline
        last = None
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise ServerError("proftpd exited with %s before serving:\n%s"
                                  % (self.proc.returncode, self.diagnostics()))
            try:
                self._probe()
                log("server up on port %d (%s)" % (self.port, self.dir))
                return self
            except (OSError, ssl.SSLError, TestFailure) as e:
                last = e
                time.sleep(0.05)     # retry interval for the readiness poll
        raise ServerError("server not ready within %ss (%s):\n%s"
                          % (deadline, last, self.diagnostics()))

    def _probe(self):
        with socket.create_connection((self.host, self.port), timeout=3) as s:
            if self.implicit:
                s = self.pki.client_context().wrap_socket(s, server_hostname="127.0.0.1")
            f = s.makefile("rb")
            line = f.readline()
            if not line.startswith(b"220"):
                raise TestFailure("unexpected banner %r" % line)
            s.sendall(b"QUIT\r\n")
            f.readline()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is None:
            return
        kids = _proc_children(self.proc.pid)
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        for pid, st in kids:           # session children of *this* master only
            if _starttime(pid) == st:
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        if self in _running:
            _running.remove(self)
        self.proc = None

    # --- logs ------------------------------------------------------------
    def read_log(self, path):
        try:
            with open(path, "r", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def ftps_log(self):
        return self.read_log(self.ftps_log_path)

    def system_log(self):
        return self.read_log(self.system_log_path)

    def log_mark(self):
        return len(self.ftps_log())

    def ftps_log_since(self, mark):
        return self.ftps_log()[mark:]

    def wait_log(self, pattern, mark=0, timeout=5):
        """Poll FTPSLog (from mark) until pattern matches; return the text."""
        rx = re.compile(pattern, re.IGNORECASE)
        end = time.monotonic() + timeout
        while True:
            text = self.ftps_log_since(mark)
            if rx.search(text):
                return text
            if time.monotonic() > end:
                raise TestFailure("FTPSLog has no line matching %r; new lines:\n%s"
                                  % (pattern, text[-1500:] or "(none)"))
            time.sleep(0.05)         # poll interval, not synchronisation

    def scan_logs(self):
        """New bad lines (crash/sanitizer) since the last scan."""
        bad = []
        for p in (self.system_log_path, self.ftps_log_path, self.stderr_path):
            text = self.read_log(p)
            start = self._scan_pos.get(p, 0)
            self._scan_pos[p] = len(text)
            for line in text[start:].splitlines():
                if BAD_LOG.search(line):
                    bad.append("%s: %s" % (os.path.basename(p), line.strip()))
        return bad

    def diagnostics(self):
        out = []
        for p in (self.stderr_path, self.system_log_path, self.ftps_log_path):
            t = self.read_log(p)
            if t:
                out.append("--- %s (tail)\n%s" % (os.path.basename(p), t[-1500:]))
        return "\n".join(out) or "(no logs)"


def server(**kw):
    """A running Server shared by every test asking for the same config.
    Tests must use their own file names when they write."""
    key = repr(sorted((k, tuple(v) if isinstance(v, (list, tuple)) else v)
                      for k, v in kw.items()))
    srv = _shared.get(key)
    if srv is not None and not srv.alive():
        srv.stop()
        srv = None
    if srv is None:
        srv = Server(**kw).start()
        _shared[key] = srv
    return srv


def fresh_server(**kw):
    """A running Server for this test alone; stopped by after_test()."""
    srv = Server(**kw).start()
    srv.private = True
    return srv


def after_test():
    """Stop private servers and scan every running server's logs; returns bad lines."""
    bad = []
    for srv in list(_running):
        if getattr(srv, "private", False):
            srv.stop()
        bad += srv.scan_logs()
    return bad


def shutdown_all():
    bad = []
    for srv in list(_running):
        srv.stop()
        bad += srv.scan_logs()
    _shared.clear()
    if not CONFIG["keep"]:
        for d in _cleanup_dirs:
            shutil.rmtree(d, ignore_errors=True)
    return bad


# --------------------------------------------------------------------------
# ftplib clients
# --------------------------------------------------------------------------

class ReuseFTP_TLS(ftplib.FTP_TLS):
    """FTP_TLS that resumes the control connection's TLS session on every
    data connection (RFC 4217 §10.2), as curl and lftp do."""

    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(conn, server_hostname=self.host,
                                            session=self.sock.session)
        return conn, size


class ImplicitFTP_TLS(ReuseFTP_TLS):
    """Implicit FTPS: TLS from the first byte, banner read inside TLS; the
    server's default data protection is P, so no PBSZ/PROT is sent."""

    def connect(self, host="", port=0, timeout=-999, source_address=None):
        if host:
            self.host = host
        if port:
            self.port = port
        if timeout != -999:
            self.timeout = timeout
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.af = sock.family
        self.sock = self.context.wrap_socket(sock, server_hostname=self.host)
        self.file = self.sock.makefile("r", encoding=self.encoding)
        self._prot_p = True
        self.welcome = self.getresp()
        return self.welcome


def ftp_login(srv, cls=ReuseFTP_TLS, prot_p=True, context=None, timeout=15):
    """Connected, TLS-protected, logged-in ftplib client."""
    ctx = context or srv.pki.client_context()
    ftp = cls(context=ctx, timeout=timeout)
    ftp.connect("127.0.0.1", srv.port)
    ftp.login(USER, PASSWORD)
    if prot_p and cls is not ImplicitFTP_TLS:
        ftp.prot_p()
    return ftp


def retr_bytes(ftp, name, rest=None):
    chunks = []
    ftp.retrbinary("RETR " + name, chunks.append, rest=rest)
    return b"".join(chunks)


def stor_bytes(ftp, name, data):
    import io
    return ftp.storbinary("STOR " + name, io.BytesIO(data))


def refused_transfer(ftp, cmd, payload=None):
    """Start a transfer that the server is expected to refuse after 150 (or
    before it); return the final reply text (e.g. '425-...')."""
    try:
        conn = ftp.transfercmd(cmd)
    except ftplib.all_errors as e:
        return str(e)              # refused before/at the 150 or in the handshake
    try:
        if payload:
            conn.sendall(payload)
        else:
            conn.recv(65536)
    except (OSError, ssl.SSLError):
        pass
    finally:
        try:
            conn.close()
        except OSError:
            pass
    try:
        return ftp.getmultiline()
    except ftplib.all_errors as e:
        return str(e)


def quit_quietly(ftp):
    try:
        ftp.quit()
    except Exception:
        try:
            ftp.close()
        except Exception:
            pass


# --------------------------------------------------------------------------
# Raw socket client
# --------------------------------------------------------------------------

class Reply:
    def __init__(self, lines):
        self.lines = lines
        self.code = int(lines[-1][:3])
        self.text = "\n".join(lines)

    def __repr__(self):
        return "Reply(%r)" % self.text


class Raw:
    """Exact-bytes FTP client. In clear text it never reads past the end of a
    reply (MSG_PEEK), so a TLS handshake can start on the same socket."""

    def __init__(self, srv, timeout=10, implicit=False, connect=True, port=None):
        self.srv = srv
        self.port = port or srv.port
        self.timeout = timeout
        self.tls = False
        self.buf = b""
        self.banner = None
        if connect:
            self.sock = socket.create_connection((getattr(srv, "host", "127.0.0.1"), self.port),
                                                 timeout=timeout)
            if implicit:
                self.starttls()
            self.banner = self.reply()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.reply()

    def _readline(self):
        if self.tls:
            while b"\n" not in self.buf:
                d = self.sock.recv(65536)
                if not d:
                    raise EOFError("connection closed (partial %r)" % self.buf[:200])
                self.buf += d
            line, _, self.buf = self.buf.partition(b"\n")
            return line + b"\n"
        line = b""
        while True:
            peek = self.sock.recv(65536, socket.MSG_PEEK)
            if not peek:
                raise EOFError("connection closed (partial %r)" % line[:200])
            i = peek.find(b"\n")
            n = i + 1 if i >= 0 else len(peek)
            line += self.sock.recv(n)
            if i >= 0:
                return line

    def reply(self):
        lines = []
        while True:
            raw = self._readline().decode("utf-8", "replace").rstrip("\r\n")
            lines.append(raw)
            if len(lines) == 1:
                if not re.match(r"^\d{3}[ -]", raw + " "):
                    raise TestFailure("malformed reply line %r" % raw)
                if raw[3:4] != "-":
                    return Reply(lines)
            elif re.match(r"^%s " % re.escape(lines[0][:3]), raw):
                return Reply(lines)

    def starttls(self, context=None, session=None, server_hostname="127.0.0.1"):
        """server_hostname: an IP literal sends no SNI; a name sends it."""
        check(not self.buf, "unread bytes before TLS: %r" % self.buf)
        ctx = context or self.srv.pki.client_context()
        self.sock = ctx.wrap_socket(self.sock, server_hostname=server_hostname, session=session)
        self.tls = True
        return self.sock

    def auth(self, mech="TLS", context=None, server_hostname="127.0.0.1"):
        r = self.cmd("AUTH " + mech)
        check(r.code == 234, "AUTH %s: want 234, got %r" % (mech, r))
        self.starttls(context, server_hostname=server_hostname)
        return r

    def login(self):
        r = self.cmd("USER " + USER)
        check(r.code == 331, "USER: want 331, got %r" % r)
        r = self.cmd("PASS " + PASSWORD)
        check(r.code == 230, "PASS: want 230, got %r" % r)
        return r

    def unwrap(self):
        """Client side of CCC: bidirectional close_notify, back to clear."""
        check(not self.buf, "unread bytes before CCC shutdown: %r" % self.buf)
        self.sock = self.sock.unwrap()
        self.tls = False

    def pasv(self):
        r = self.cmd("PASV")
        check(r.code == 227, "PASV: want 227, got %r" % r)
        m = re.search(r"(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)", r.text)
        return int(m.group(5)) * 256 + int(m.group(6))

    def data_connect(self, port, tls=False, session="control", context=None):
        s = socket.create_connection((getattr(self.srv, "host", "127.0.0.1"), port),
                                     timeout=self.timeout)
        if tls:
            if session == "control":
                session, context = self.sock.session, self.sock.context
            s = (context or self.srv.pki.client_context()).wrap_socket(
                s, server_hostname="127.0.0.1", session=session)
        return s

    def expect_closed(self, within):
        """Wait until the server closes the connection; return seconds taken."""
        t0 = time.monotonic()
        self.sock.settimeout(within)
        try:
            while True:
                d = self.sock.recv(65536)
                if not d:
                    break
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
            pass
        except socket.timeout:
            raise TestFailure("server did not close the connection within %ss" % within)
        return time.monotonic() - t0

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def recv_all(sock, limit=None):
    chunks, n = [], 0
    while True:
        d = sock.recv(65536)
        if not d:
            break
        chunks.append(d)
        n += len(d)
        if limit is not None and n >= limit:
            break
    return b"".join(chunks)


def clear_transfer(r, line, payload=None):
    """line (RETR, STOR, LIST...) over a clear passive data connection of the
    Raw client r; payload: bytes to upload. (final reply, bytes received or
    None when refused before 150)."""
    port = r.pasv()
    r.send(line + "\r\n")
    try:
        d = r.data_connect(port)
    except (ConnectionRefusedError, ConnectionResetError):
        d = None          # refused before 150: the server closed the port
    rep = r.reply()
    if rep.code != 150:
        if d is not None:
            d.close()
        return rep, None
    if payload is not None:
        d.sendall(payload)
        data = b""
    else:
        data = recv_all(d)
    d.close()
    return r.reply(), data


def session_pid(srv):
    """The PID of srv's only session process."""
    kids = [pid for pid, _ in _proc_children(srv.proc.pid)]
    check(len(kids) == 1, "want one session process, got %r" % kids)
    return kids[0]


def proc_kib(pid, name, field):
    """A "Field:   N kB" line of /proc/<pid>/<name>, in KiB."""
    with open("/proc/%d/%s" % (pid, name)) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError("no %s in /proc/%d/%s" % (field, pid, name))


def rss_kb(pid):
    """Resident memory of pid, KiB."""
    return proc_kib(pid, "status", "VmRSS")


def session_works(srv):
    """The master still accepts a new session that can do AUTH TLS + NOOP."""
    r = Raw(srv)
    try:
        check(r.banner.code == 220, "banner: %r" % r.banner)
        r.auth()
        n = r.cmd("NOOP")
        check(n.code == 200, "NOOP after AUTH: %r" % n)
    finally:
        r.close()


# --------------------------------------------------------------------------
# Subprocess clients
# --------------------------------------------------------------------------

def curl(srv, *args, timeout=60):
    cmd = ["curl", "-sS", "--max-time", "40", "--cacert", srv.pki.ca,
           "--user", "%s:%s" % (USER, PASSWORD)] + list(args)
    return run(cmd, timeout=timeout)


def curl_get(srv, name, *args, scheme="ftp"):
    """Download name; return bytes (fails the test on a curl error)."""
    extra = ["--ssl-reqd"] if scheme == "ftp" else []
    cp = curl(srv, *(extra + list(args) + [srv.url(name, scheme)]))
    check(cp.returncode == 0, "curl GET %s exit %d: %s" % (name, cp.returncode, cp.err.strip()))
    return cp.stdout_b


def curl_put(srv, name, data, *args, scheme="ftp"):
    src = os.path.join(mkdtemp("ftps-up-"), "upload")
    with open(src, "wb") as f:
        f.write(data)
    extra = ["--ssl-reqd"] if scheme == "ftp" else []
    cp = curl(srv, *(extra + list(args) + ["-T", src, srv.url(name, scheme)]))
    check(cp.returncode == 0, "curl PUT %s exit %d: %s" % (name, cp.returncode, cp.err.strip()))
    return cp


def lftp(srv, script, timeout=120):
    pre = ("set cmd:fail-exit yes; set net:max-retries 1; set net:timeout 20; "
           "set net:reconnect-interval-base 1; set ftp:ssl-force true; "
           "set ftp:ssl-protect-data true; set ftp:ssl-auth TLS; set ssl:ca-file %s; "
           "set ssl:check-hostname no; set ftp:passive-mode true; "
           "open -u %s,%s -p %d 127.0.0.1; " % (srv.pki.ca, USER, PASSWORD, srv.port))
    return run(["lftp", "-c", pre + script], timeout=timeout)


def s_client(srv, *args, input=b"QUIT\r\n", starttls=True, port=None):
    cmd = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % (port or srv.port),
           "-CAfile", srv.pki.ca, "-verify_return_error", "-ign_eof"]
    if starttls:
        cmd += ["-starttls", "ftp"]
    return run(cmd + list(args), input=input, timeout=30)
