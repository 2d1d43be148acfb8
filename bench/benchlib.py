"""Helpers for bench/bench.py: workspace, servers, /proc accounting, clients.

Python 3 standard library only.  Everything this module creates lives under
one temp dir (Workspace), and every server it starts is tracked (Instance:
ProFTPD here, the peers in peers.py), so stop_all() can stop them by PID and
the workspace can be removed, also after a signal.
"""

import ftplib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

PROFTPD = "/usr/sbin/proftpd"
FTPASSWD = "/usr/sbin/ftpasswd"
SYSTEM_MODULE_DIR = "/usr/lib/proftpd"
MOD_TLS = os.path.join(SYSTEM_MODULE_DIR, "mod_tls.so")

USER = "bench"
PASSWORD = "Bench-pw-4711"
UID = GID = 46046
HOST = "127.0.0.1"
CLK_TCK = os.sysconf("SC_CLK_TCK")


class BenchError(Exception):
    pass


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# Process accounting via /proc
# --------------------------------------------------------------------------

def _stat_fields(pid):
    """Fields of /proc/<pid>/stat after the comm field (index 0 = state)."""
    with open("/proc/%d/stat" % pid) as f:
        st = f.read()
    return st[st.rfind(")") + 2:].split()


def proc_cpu(pid, children=False):
    """utime+stime (+cutime+cstime) of pid, in seconds."""
    f = _stat_fields(pid)
    ticks = int(f[11]) + int(f[12])
    if children:
        ticks += int(f[13]) + int(f[14])
    return ticks / CLK_TCK


def proc_reaped_cpu(pid):
    """cutime+cstime of pid alone: CPU of the children it has reaped, in seconds."""
    f = _stat_fields(pid)
    return (int(f[13]) + int(f[14])) / CLK_TCK


def proc_runtime(pid):
    """CPU seconds of a live process with ns resolution (/proc/<pid>/schedstat),
    falling back to utime+stime."""
    try:
        with open("/proc/%d/schedstat" % pid) as f:
            return int(f.read().split()[0]) / 1e9
    except (OSError, ValueError, IndexError):
        return proc_cpu(pid)


def starttime(pid):
    try:
        return _stat_fields(pid)[19]
    except (OSError, IndexError):
        return None


def proc_table():
    """{pid: (ppid, starttime, state)} of every process, from one scan of
    /proc (zombies included: a zombie's CPU is not yet in its parent's cutime)."""
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            f = _stat_fields(int(name))
        except (OSError, IndexError):
            continue
        out[int(name)] = (int(f[1]), f[19], f[0])
    return out


def children_of(ppid, table=None):
    """[(pid, starttime)] of the processes whose parent is ppid, by pid."""
    table = proc_table() if table is None else table
    return sorted((pid, v[1]) for pid, v in table.items() if v[0] == ppid)


def descendants(root, table=None):
    """Pids of every process below root (children, grandchildren, ...)."""
    table = proc_table() if table is None else table
    kids = {}
    for pid, v in table.items():
        kids.setdefault(v[0], []).append(pid)
    out, todo = [], list(kids.get(root, ()))
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(kids.get(pid, ()))
    return out


def pss_tree_kib(pids):
    """Summed PSS of a set of processes (one connection's), in KiB; zombies
    and processes gone meanwhile count 0."""
    total = 0
    for pid in pids:
        try:
            if _stat_fields(pid)[0] == "Z":
                continue
            total += pss_kib(pid)
        except FileNotFoundError:
            continue
    return total


def pss_kib(pid):
    """Pss of a process from /proc/<pid>/smaps_rollup, in KiB."""
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    raise BenchError("no Pss line in /proc/%d/smaps_rollup" % pid)


# --------------------------------------------------------------------------
# Ports
# --------------------------------------------------------------------------

def port_in_use(port):
    """True if binding 127.0.0.1:port fails (someone listens or holds it).
    SO_REUSEADDR as proftpd sets it, so TIME_WAIT leftovers do not count."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
            s.listen(1)
        except OSError:
            return True
    return False


# --------------------------------------------------------------------------
# Workspace: temp dir, certificates, user, files
# --------------------------------------------------------------------------

def _run(cmd, input=None, timeout=120):
    cp = subprocess.run(cmd, input=input, capture_output=True, timeout=timeout,
                        stdin=None if input is not None else subprocess.DEVNULL)
    if cp.returncode != 0:
        raise BenchError("%s failed (exit %d): %s" % (" ".join(cmd[:3]), cp.returncode,
                                                     cp.stderr.decode(errors="replace").strip()[-600:]))
    return cp


def pick_tmp_base(need_bytes, requested=None):
    """Directory for the workspace: the requested one, else /dev/shm if it
    has room (keeps disk writeback out of the numbers), else $TMPDIR//tmp."""
    if requested:
        return requested
    for cand in ("/dev/shm", tempfile.gettempdir()):
        try:
            st = os.statvfs(cand)
        except OSError:
            continue
        if st.f_bavail * st.f_frsize > need_bytes + (512 << 20) and os.access(cand, os.W_OK):
            return cand
    return tempfile.gettempdir()


class Workspace:
    """<base>/mod_ftps-bench.XXXX/ with pki/, home/bench/, ftpd.passwd/.group
    and one subdir per server instance."""

    def __init__(self, base):
        self.dir = tempfile.mkdtemp(prefix="mod_ftps-bench.", dir=base)
        os.chmod(self.dir, 0o755)        # proftpd refuses logs in world-writable dirs
        self.home = os.path.join(self.dir, "home", USER)
        self.passwd = os.path.join(self.dir, "ftpd.passwd")
        self.group = os.path.join(self.dir, "ftpd.group")
        self.certs = {}

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def subdir(self, name):
        d = os.path.join(self.dir, name)
        os.makedirs(d, mode=0o755, exist_ok=True)
        os.chmod(d, 0o755)
        return d

    def make_certs(self):
        """Self-signed ECDSA P-256 and RSA-2048 certificates for 127.0.0.1."""
        d = self.subdir("pki")
        for kind, newkey in (("ec", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]),
                             ("rsa", ["-newkey", "rsa:2048"])):
            cert, key = os.path.join(d, kind + ".pem"), os.path.join(d, kind + ".key")
            _run(["openssl", "req", "-x509", "-nodes"] + newkey + [
                "-sha256", "-days", "2", "-keyout", key, "-out", cert,
                "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
            os.chmod(key, 0o600)
            os.chmod(cert, 0o644)
            self.certs[kind] = (cert, key)

    def make_user(self):
        os.makedirs(self.home)
        os.chmod(os.path.dirname(self.home), 0o755)
        os.chown(self.home, UID, GID)
        _run([FTPASSWD, "--passwd", "--file=" + self.passwd, "--name=" + USER,
              "--uid=%d" % UID, "--gid=%d" % GID, "--home=" + self.home,
              "--shell=/bin/false", "--stdin"], input=(PASSWORD + "\n").encode())
        _run([FTPASSWD, "--group", "--file=" + self.group, "--name=" + USER,
              "--gid=%d" % GID, "--member=" + USER])

    def password_hash(self):
        """The crypt(3) hash ftpasswd wrote for USER (SHA-256 crypt): the peers
        get the same one, so every server pays the same password check."""
        with open(self.passwd) as f:
            for line in f:
                fields = line.rstrip("\n").split(":")
                if fields[0] == USER:
                    return fields[1]
        raise BenchError("no %s line in %s" % (USER, self.passwd))

    def write_file(self, name, size, period=64 << 20):
        """A real (non-sparse) file of random bytes in the shared home (one
        random block of up to 64 MiB, repeated: TLS does not compress)."""
        p = os.path.join(self.home, name)
        block = os.urandom(min(period, max(size, 1)))
        with open(p, "wb") as f:
            left = size
            while left > 0:
                n = min(left, len(block))
                f.write(block if n == len(block) else block[:n])
                left -= n
        os.chown(p, UID, GID)
        return p


# --------------------------------------------------------------------------
# Servers
# --------------------------------------------------------------------------

CONF_TEMPLATE = """\
# Generated by bench/bench.py (profile {profile}); removed after the run.
ServerName "bench-{profile}"
ServerType standalone
DefaultServer on
DefaultAddress 127.0.0.1
SocketBindTight on
Port {port}
UseIPv6 off
User {runas}
Group nogroup
MaxInstances {max_instances}
PidFile {dir}/proftpd.pid
ScoreboardFile {dir}/proftpd.scoreboard
SystemLog {dir}/system.log
TransferLog NONE
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
AuthUserFile {passwd}
AuthGroupFile {group}
RequireValidShell off
DefaultRoot ~
AllowOverwrite on
{tls}
"""

FTPS_TEMPLATE = """\
ModulePath {moddir}
LoadModule mod_ftps.c
<IfModule mod_ftps.c>
  FTPSEngine on
  FTPSCertificate {cert} {key}
  FTPSRequired on
</IfModule>
"""

MODTLS_TEMPLATE = """\
ModulePath {moddir}
LoadModule mod_tls.c
<IfModule mod_tls.c>
  TLSEngine on
  TLSRequired on
  {certdir} {cert}
  {keydir} {key}
  TLSProtocol TLSv1.2 TLSv1.3
  TLSVerifyClient off
  TLSLog none
</IfModule>
"""

_running = []


def _runas():
    import pwd
    try:
        pwd.getpwnam("proftpd")
        return "proftpd"
    except KeyError:
        return "nobody"

# System calls a master blocks in while it waits for the next connection:
# {machine: {nr: needs_nfds}}.  needs_nfds: only counts with a descriptor set
# (ProFTPD 1.3.8 sleeps in a select() with nfds 0 after every SIGCHLD).
_WAIT_SYSCALLS = {
    # select, pselect6, poll, ppoll / accept, accept4, epoll_wait, epoll_pwait
    "x86_64": {23: True, 270: True, 7: True, 271: True,
               43: False, 288: False, 232: False, 281: False},
    "aarch64": {72: True, 73: True, 202: False, 242: False, 22: False},
    # pselect6, _newselect, poll, ppoll / accept4
    "i686": {308: True, 142: True, 168: True, 309: True, 364: False},
    "i386": {308: True, 142: True, 168: True, 309: True, 364: False},
}


class Instance:
    """What every server under test shares: its own directory and port, a
    master process started by us (stopped by PID), /proc accounting of the
    master and everything below it, and readiness checks.  Subclasses say how
    to start it (command()) and may add a namespace init (reaper)."""

    uses_reaper = False

    def __init__(self, ws, name, kind, cert, port):
        self.name, self.kind, self.cert, self.port = name, kind, cert, port
        self.dir = ws.subdir("srv-" + name)
        self.stderr_path = os.path.join(self.dir, "stderr.log")
        self.proc = None          # what we spawned (the master, or unshare for peers)
        self.master = None        # pid of the server's master process
        self.reaper = None        # pid of the namespace init (peers only)

    # --- subclass hooks -----------------------------------------------------
    def command(self):
        raise NotImplementedError

    def precheck(self):
        """Validate the configuration before starting (raise BenchError)."""

    def log_files(self):
        return [self.stderr_path]

    # --- lifecycle ----------------------------------------------------------
    @property
    def pid(self):
        return self.master

    def tail(self, n=1500):
        out = []
        for p in self.log_files():
            try:
                with open(p, errors="replace") as f:
                    t = f.read()[-n:].strip()
            except OSError:
                continue
            if t:
                out.append("%s: %s" % (os.path.basename(p), t))
        return "\n".join(out) or "(no log output)"

    def _locate(self):
        """Find the master (and reaper) pids; False while they are not up yet."""
        if not self.uses_reaper:
            self.master = self.proc.pid
            return True
        kids = children_of(self.proc.pid)                # unshare -> reaper
        if not kids:
            return False
        self.reaper = kids[0][0]
        kids = children_of(self.reaper)                  # reaper -> master
        if not kids:
            return False
        self.master = kids[0][0]
        return True

    def start(self, deadline=20):
        self.precheck()
        errf = open(self.stderr_path, "ab")
        try:
            self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL,
                                         stdout=errf, stderr=errf,
                                         start_new_session=True)      # = setsid
        finally:
            errf.close()
        _running.append(self)
        end = time.monotonic() + deadline
        last = None
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise BenchError("%s exited with %s during startup:\n%s"
                                 % (self.name, self.proc.returncode, self.tail()))
            try:
                if self._locate():
                    with socket.create_connection((HOST, self.port), timeout=2) as s:
                        banner = s.makefile("rb").readline()
                        if banner.startswith(b"220"):
                            s.sendall(b"QUIT\r\n")
                            s.recv(512)
                            # again: before the port answered, the reaper's
                            # child may still have been a mount(8) it ran
                            self._locate()
                            self.wait_quiet()
                            return self
                        last = "banner %r" % banner
            except OSError as e:
                last = e
            time.sleep(0.02)          # poll interval of the readiness check
        raise BenchError("%s not ready on port %d within %ss (%s):\n%s"
                         % (self.name, self.port, deadline, last, self.tail()))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def check_alive(self):
        if not self.alive():
            raise BenchError("%s is no longer running:\n%s" % (self.name, self.tail()))

    # --- accounting -----------------------------------------------------------
    def session_pids(self, table=None):
        """Every process of the instance except the master (and the reaper):
        the sessions, plus orphans the reaper has not reaped yet."""
        table = proc_table() if table is None else table
        if self.reaper is None:
            return descendants(self.master, table)
        return [p for p in descendants(self.reaper, table) if p != self.master]

    def settled_session_pids(self, timeout=10):
        """session_pids() once the set is the same on two reads 20 ms apart
        and holds no zombie (vsftpd's pre-login process exits after login)."""
        end = time.monotonic() + timeout
        prev = None
        while True:
            table = proc_table()
            pids = sorted(self.session_pids(table))
            if pids == prev and all(table[p][2] != "Z" for p in pids):
                return pids
            if time.monotonic() > end:
                raise BenchError("%s: session processes did not settle within %ss"
                                 % (self.name, timeout))
            prev = pids
            time.sleep(0.02)          # poll interval

    def session_trees(self):
        """{top pid: [pids]}: one entry per connection (a child of the master
        and everything below it)."""
        table = proc_table()
        return {pid: [pid] + descendants(pid, table) for pid, _ in children_of(self.master, table)}

    def cpu_total(self):
        """CPU seconds of the instance: the master's own, plus what it and the
        reaper reaped.  Complete only once no session process is left."""
        cpu = proc_cpu(self.master, children=True)
        if self.reaper is not None:
            cpu += proc_reaped_cpu(self.reaper)
        return cpu

    def wait_quiet(self, timeout=30):
        """Wait until every session process has been reaped; return the
        instance's total CPU seconds (see cpu_total())."""
        end = time.monotonic() + timeout
        while self.session_pids():
            self.check_alive()
            if time.monotonic() > end:
                raise BenchError("%s: session processes still running after %ss"
                                 % (self.name, timeout))
            time.sleep(0.003)         # poll interval
        return self.cpu_total()

    def _listening(self):
        """True if the master is blocked waiting for a connection (accept, or
        select/poll on a non-empty set), False if not, None if
        /proc/<pid>/syscall cannot tell."""
        nrs = _WAIT_SYSCALLS.get(os.uname().machine)
        try:
            with open("/proc/%d/syscall" % self.master) as f:
                fields = f.read().split()
        except OSError:
            return None
        if nrs is None or not fields:
            return None
        if not fields[0].isdigit() or int(fields[0]) not in nrs:
            return False
        return not nrs[int(fields[0])] or int(fields[1], 16) > 0

    def wait_ready(self, timeout=30):
        """Wait until no session process is left and the master is blocked
        waiting for the next connection (for ProFTPD: back in its accept
        select() after the post-SIGCHLD pause), so a new connection is served
        at once.  Returns the instance's total CPU seconds, like wait_quiet()."""
        end = time.monotonic() + timeout
        streak = 0
        while True:
            self.wait_quiet(timeout)
            state = self._listening()
            if state is None:                  # cannot see the syscall: sit out the pause
                if not getattr(self, "_warned", False):
                    log("%s: /proc/<pid>/syscall unusable; waiting 0.45 s instead" % self.name)
                    self._warned = True
                time.sleep(0.45)
                return self.wait_quiet(timeout)
            streak = streak + 1 if state else 0
            if streak >= 2:                    # seen twice in a row, 1 ms apart
                return self.cpu_total()
            if time.monotonic() > end:
                raise BenchError("%s: master not back in its accept loop within %ss"
                                 % (self.name, timeout))
            time.sleep(0.001)

    def wait_sessions(self, n, timeout=30):
        """Wait until the master has n connection processes; return session_trees()."""
        end = time.monotonic() + timeout
        while True:
            trees = self.session_trees()
            if len(trees) >= n:
                return trees
            self.check_alive()
            if time.monotonic() > end:
                raise BenchError("%s: want %d session processes, have %d"
                                 % (self.name, n, len(trees)))
            time.sleep(0.005)

    # --- stopping -------------------------------------------------------------
    def stop(self):
        if self.proc is None:
            return
        if self.uses_reaper:
            self._stop_namespace()
        else:
            self._stop_master()
        if self in _running:
            _running.remove(self)
        self.proc = None

    def _stop_master(self):
        """SIGTERM the master (SIGKILL after 10 s), then its leftover session
        children (pid and start time checked)."""
        pid = self.proc.pid
        kids = children_of(pid) if self.proc.poll() is None else []
        if self.proc.poll() is None:
            _kill(pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                _kill(pid, signal.SIGKILL)
                self.proc.wait(5)
        for kpid, st in kids:            # session children of *this* master only
            if starttime(kpid) == st:
                _kill(kpid, signal.SIGTERM)
        end = time.monotonic() + 5
        for kpid, st in kids:
            while starttime(kpid) == st and time.monotonic() < end:
                time.sleep(0.01)
            if starttime(kpid) == st:
                _kill(kpid, signal.SIGKILL)

    def _stop_namespace(self):
        """SIGTERM the reaper (it passes it to the master and exits with it;
        the kernel then kills the rest of the PID namespace).  SIGKILL to the
        reaper after 10 s also kills the whole namespace."""
        if self.proc.poll() is None:
            reaper = self.reaper
            if reaper is None:
                kids = children_of(self.proc.pid)
                reaper = kids[0][0] if kids else None
            if reaper is not None:
                _kill(reaper, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                if reaper is not None:
                    _kill(reaper, signal.SIGKILL)
                try:
                    self.proc.wait(5)
                except subprocess.TimeoutExpired:
                    _kill(self.proc.pid, signal.SIGKILL)   # unshare itself
                    self.proc.wait(5)


def _kill(pid, sig):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


class ProFTPD(Instance):
    """One proftpd master: kind is 'plain', 'ftps' or 'tls'; cert 'ec'/'rsa'."""

    def __init__(self, ws, name, kind, cert, port, module, max_instances):
        super().__init__(ws, name, kind, cert, port)
        self.conf = os.path.join(self.dir, "proftpd.conf")
        if kind == "plain":
            tls = ""
        elif kind == "ftps":
            c, k = ws.certs[cert]
            tls = FTPS_TEMPLATE.format(moddir=os.path.dirname(module), cert=c, key=k)
        elif kind == "tls":
            c, k = ws.certs[cert]
            pre = "TLSECCertificate" if cert == "ec" else "TLSRSACertificate"
            tls = MODTLS_TEMPLATE.format(moddir=SYSTEM_MODULE_DIR, cert=c, key=k,
                                         certdir=pre + "File", keydir=pre + "KeyFile")
        else:
            raise ValueError(kind)
        with open(self.conf, "w") as f:
            f.write(CONF_TEMPLATE.format(profile=name, port=port, runas=_runas(),
                                         max_instances=max_instances, dir=self.dir,
                                         passwd=ws.passwd, group=ws.group, tls=tls))

    def command(self):
        return [PROFTPD, "-n", "-q", "-c", self.conf]

    def log_files(self):
        return [self.stderr_path, os.path.join(self.dir, "system.log")]

    def precheck(self):
        cp = subprocess.run([PROFTPD, "-t", "-q", "-c", self.conf], capture_output=True,
                            stdin=subprocess.DEVNULL, timeout=60)
        if cp.returncode != 0:
            raise BenchError("proftpd -t rejected the %s config %s:\n%s" % (
                self.name, self.conf, (cp.stdout + cp.stderr).decode(errors="replace").strip()))


def stop_all():
    for srv in list(_running):
        try:
            srv.stop()
        except Exception as e:           # keep going: every server must be stopped
            log("stopping %s: %s" % (srv.name, e))


# --------------------------------------------------------------------------
# Client subprocesses (curl) -- tracked so a signal can stop them by PID
# --------------------------------------------------------------------------

_clients = set()


def run_client(cmd, timeout):
    """Run cmd, return (rc, stdout, stderr); the child is killed on timeout
    or interruption."""
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    _clients.add(p)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        raise BenchError("%s timed out after %ss" % (cmd[0], timeout))
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        _clients.discard(p)
    return p.returncode, out.decode(errors="replace"), err.decode(errors="replace")


def kill_clients():
    for p in list(_clients):
        if p.poll() is None:
            try:
                p.kill()
                p.wait(5)
            except Exception:
                pass
        _clients.discard(p)


# --------------------------------------------------------------------------
# ftplib clients
# --------------------------------------------------------------------------

def client_context(tls_version):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE        # self-signed bench certificates, like curl -k
    v = ssl.TLSVersion.TLSv1_3 if tls_version == "1.3" else ssl.TLSVersion.TLSv1_2
    ctx.minimum_version = ctx.maximum_version = v
    return ctx


def _nodelay(sock):
    """TCP_NODELAY, as curl and most FTP clients set it.  Without it a small
    command written right after the client's TLS Finished waits for the
    server's delayed ACK (~40 ms on Linux) when the server sends nothing
    after the handshake (Pure-FTPd issues no TLS 1.3 tickets): a client
    artifact, not server latency."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class NoDelayFTP(ftplib.FTP):
    """Plain FTP client with TCP_NODELAY on its data connections."""

    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        _nodelay(conn)
        return conn, size


class ReuseFTP_TLS(ftplib.FTP_TLS):
    """FTP_TLS that resumes the control connection's TLS session on every data
    connection (RFC 4217; mod_ftps, mod_tls and vsftpd require it).  Counts
    data connections and how many actually resumed."""

    data_conns = 0
    data_reused = 0

    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        _nodelay(conn)
        if self._prot_p:
            conn = self.context.wrap_socket(conn, server_hostname=self.host,
                                            session=self.sock.session)
            self.data_conns += 1
            self.data_reused += 1 if conn.session_reused else 0
        return conn, size


def open_session(kind, port, ctx, timeout=30):
    """Connected + logged-in client; TLS profiles also did PBSZ 0 + PROT P."""
    if kind == "plain":
        ftp = NoDelayFTP(timeout=timeout)
        ftp.connect(HOST, port)
        _nodelay(ftp.sock)
        ftp.login(USER, PASSWORD)
    else:
        ftp = ReuseFTP_TLS(context=ctx, timeout=timeout)
        ftp.connect(HOST, port)
        _nodelay(ftp.sock)
        ftp.login(USER, PASSWORD)          # AUTH TLS first, then USER/PASS
        ftp.prot_p()                       # PBSZ 0 + PROT P
    return ftp


def close_quietly(ftp):
    try:
        ftp.quit()
    except Exception:
        try:
            ftp.close()
        except Exception:
            pass
