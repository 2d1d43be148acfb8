"""Farm helpers (issue 12): a real redis-server started on a free loopback
port with a password, stopped by its PID; the shared key file; and two
proftpd "nodes" (127.0.0.1 and 127.0.0.2, ports of their own) sharing them.
"""

import os
import signal
import ssl
import subprocess
import time

from ftpslib import Raw, Server, check, free_port, log, mkdtemp, run

REDIS_SERVER = "/usr/bin/redis-server"
REDIS_CLI = "/usr/bin/redis-cli"


class Redis:
    def __init__(self, password="farm-test-secret"):
        self.dir = mkdtemp("ftps-redis-")
        self.port = free_port()
        self.password = password
        self.proc = None

    def start(self, deadline=10):
        logf = open(os.path.join(self.dir, "redis.log"), "ab")
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--bind", "127.0.0.1", "--port", str(self.port),
             "--requirepass", self.password, "--save", "", "--appendonly", "no",
             "--dir", self.dir, "--daemonize", "no", "--protected-mode", "yes"],
            stdin=subprocess.DEVNULL, stdout=logf, stderr=logf, start_new_session=True)
        logf.close()
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise AssertionError("redis-server exited: %s" % self.proc.returncode)
            if self.cli("PING").strip() == "PONG":
                log("redis up on port %d (pid %d)" % (self.port, self.proc.pid))
                return self
            time.sleep(0.05)
        raise AssertionError("redis-server not ready")

    def cli(self, *args, input=None):
        cp = subprocess.run([REDIS_CLI, "-h", "127.0.0.1", "-p", str(self.port), "-a",
                             self.password, "--no-auth-warning"] + list(args),
                            capture_output=True, timeout=10, input=input)
        return cp.stdout.decode(errors="replace")

    def keys(self, pattern="mod_ftps.*"):
        return [k for k in self.cli("--scan", "--pattern", pattern).split("\n") if k]

    def pause(self):
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self):
        os.kill(self.proc.pid, signal.SIGCONT)

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.proc = None


def key_file(data=None):
    d = mkdtemp("ftps-farmkey-")
    path = os.path.join(d, "ftps-farm.key")
    with open(path, "wb") as f:
        f.write(data if data is not None else os.urandom(32))
    os.chmod(path, 0o600)
    return path


def node(redis, keyfile, host="127.0.0.1", password=None, ftps=(), vhosts=(), engine="off",
         cache=True, tickets="", start=True):
    """A farm node: mod_redis pointed at redis, FTPSSessionCache redis and
    FTPSSessionTicketKeys ... shared redis with keyfile."""
    lines = ["FTPSSharedKeyFile %s" % keyfile]
    if cache:
        lines.append("FTPSSessionCache redis timeout 300")
    lines.append("FTPSSessionTicketKeys %s shared redis" % tickets)
    srv = Server(
        host=host,
        preload=["ModulePath /usr/lib/proftpd", "LoadModule mod_redis.c"],
        extra=["<IfModule mod_redis.c>", "  RedisEngine %s" % engine,
               "  RedisServer 127.0.0.1:%d default %s" % (redis.port, password or redis.password),
               "  RedisTimeouts 100 100", "</IfModule>"],
        ftps=lines + list(ftps), vhosts=vhosts)
    srv.private = True
    if start:
        srv.start()
    return srv


def client_ctx(srv, minv=None, maxv=None, cert=None):
    ctx = srv.pki.client_context(minv, maxv)
    ctx.check_hostname = False     # the test certificate names 127.0.0.1 only
    if cert:
        ctx.load_cert_chain(*cert)
    return ctx


def control(srv, ctx, session=None, port=None, login=False):
    """A control connection over TLS offering session: (Raw, resumed)."""
    r = Raw(srv, port=port)
    check(r.cmd("AUTH TLS").code == 234, "AUTH TLS refused")
    r.starttls(context=ctx, session=session)
    check(r.cmd("NOOP").code == 200, "NOOP over TLS")
    return r, r.sock.session_reused


def session_of(srv, ctx, session=None, port=None):
    """Connect, read one reply over TLS (TLS 1.3 tickets arrive after the
    handshake), quit; (resumed, the session to offer next time)."""
    r, resumed = control(srv, ctx, session, port)
    got = r.sock.session
    r.cmd("QUIT")
    r.close()
    return resumed, got


def enable_ctrls(srv):
    """mod_ctrls on <dir>/ctrls.sock for root (as lifelib.ctrls_server), for
    `ftpdctl ftps sessions`; call before start()."""
    srv.ctrls_sock = os.path.join(srv.dir, "ctrls.sock")
    with open(srv.conf_path) as f:
        conf = f.read()
    conf = conf.replace("  ControlsEngine off\n", "\n".join([
        "  ControlsEngine on", "  ControlsSocket %s" % srv.ctrls_sock,
        "  ControlsACLs all allow user root", "  ControlsInterval 1",
        "  ControlsLog %s" % os.path.join(srv.dir, "ctrls.log"), ""]))
    conf = conf.replace("<IfModule mod_ftps.c>\n",
                        "<IfModule mod_ftps.c>\n  FTPSControlsACLs all allow user root\n", 1)
    with open(srv.conf_path, "w") as f:
        f.write(conf)


def sessions_stats(srv):
    """`ftpdctl ftps sessions` as {name: value}."""
    import re
    cp = run(["/usr/bin/ftpdctl", "-s", srv.ctrls_sock, "ftps", "sessions"], timeout=30)
    out = {}
    for line in (cp.out + cp.err).splitlines():
        line = re.sub(r"^ftpdctl: ", "", line)
        if ": " in line:
            k, v = line.rsplit(": ", 1)
            out[k.strip()] = v.strip()
    return out
