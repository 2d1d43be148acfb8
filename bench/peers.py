"""Peer FTPS servers for bench/bench.py: Pure-FTPd and vsftpd from Debian.

bench/get-peers unpacks the Debian packages under bench/peers/<package>/
(never installed, so the system proftpd is not displaced).  Each peer runs
in private namespaces made by `unshare --mount --pid --fork --kill-child`
with bench/reaper.py as their init (see there why), on its own port, with the
bench's certificate, user, password hash and home directory, so it serves the
same files as the ProFTPD profiles.  Nothing on the host is written: what a
peer insists on finding at a fixed system path (vsftpd: /etc/passwd, shadow,
group and its PAM service; Pure-FTPd: its /run/pure-ftpd scoreboard) is a file
from the bench workspace bind-mounted over that path inside the namespace.

Python 3 standard library only.
"""

import os
import pwd
import grp
import shutil
import subprocess
import sys

import benchlib as B
from benchlib import BenchError

HERE = os.path.dirname(os.path.abspath(__file__))
PEER_DIR = os.path.join(HERE, "peers")
REAPER = os.path.join(HERE, "reaper.py")

PEERS = ("pure-ftpd", "vsftpd")
LABELS = {"pure-ftpd": "Pure-FTPd", "vsftpd": "vsftpd"}
# files each peer needs from its unpacked package
BINARIES = {"pure-ftpd": ("usr/sbin/pure-ftpd", "usr/bin/pure-pw"),
            "vsftpd": ("usr/sbin/vsftpd",)}

PAM_SERVICE = "mftpsbench"       # only exists inside vsftpd's mount namespace


def _pkg_path(peer, rel):
    return os.path.join(PEER_DIR, peer, rel)


def version(peer):
    """The Debian package version get-peers recorded, or 'unknown'."""
    try:
        with open(_pkg_path(peer, "VERSION")) as f:
            return f.read().strip() or "unknown"
    except OSError:
        return "unknown"


def _namespaces_work():
    """None if unshare can make mount + PID namespaces here, else why not."""
    if not shutil.which("unshare") or not shutil.which("mount"):
        return "unshare(1) or mount(8) not found (util-linux, mount)"
    cp = subprocess.run(["unshare", "--mount", "--pid", "--fork", "--kill-child", "true"],
                        capture_output=True, stdin=subprocess.DEVNULL, timeout=30)
    if cp.returncode != 0:
        return "cannot create mount/PID namespaces: %s" % (
            cp.stderr.decode(errors="replace").strip() or "exit %d" % cp.returncode)
    return None


def availability(peer):
    """(True, '') if the peer can run, else (False, reason)."""
    for rel in BINARIES[peer]:
        p = _pkg_path(peer, rel)
        if not os.access(p, os.X_OK):
            return False, "%s not found; run bench/get-peers" % os.path.relpath(p, os.path.dirname(HERE))
    cp = subprocess.run(["ldd", _pkg_path(peer, BINARIES[peer][0])], capture_output=True,
                        stdin=subprocess.DEVNULL, timeout=30)
    missing = [l.split()[0] for l in cp.stdout.decode(errors="replace").splitlines()
               if "not found" in l]
    if missing:
        return False, "shared libraries missing: %s (bench/get-peers installs them)" % ", ".join(missing)
    why = _namespaces_work()
    if why:
        return False, why
    return True, ""


def _write(path, text, mode=0o644):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


class Peer(B.Instance):
    """A peer server started as: unshare -> reaper.py (PID 1) -> master."""

    uses_reaper = True
    binds = ()                   # [(workspace path, system path)]

    def server_command(self):
        raise NotImplementedError

    def command(self):
        cmd = ["unshare", "--mount", "--pid", "--fork", "--kill-child", "--",
               sys.executable, REAPER]
        for src, dst in self.binds:
            cmd += ["--bind", src, dst]
        return cmd + ["--"] + self.server_command()


class PureFTPd(Peer):
    """Pure-FTPd standalone, TLS required on control and data (-Y 3),
    virtual user from a PureDB with the bench's uid/gid/home, chrooted."""

    def __init__(self, ws, name, cert, port, max_clients):
        super().__init__(ws, name, "pure-ftpd", cert, port)
        self.max_clients = max_clients
        # Pure-FTPd wants key and certificate in one PEM file
        c, k = ws.certs[cert]
        self.pem = os.path.join(self.dir, "cert+key.pem")
        with open(k) as fk, open(c) as fc:
            _write(self.pem, fk.read() + fc.read(), 0o600)
        # PureDB: the same SHA-256 crypt hash ftpasswd made (pure-pw would make
        # an argon2id one, far costlier per login); "/./" = chroot at home
        passwd = os.path.join(self.dir, "pureftpd.passwd")
        _write(passwd, "%s:%s:%d:%d::%s/./::::::::::::\n" % (
            B.USER, ws.password_hash(), B.UID, B.GID, ws.home), 0o600)
        self.pdb = os.path.join(self.dir, "pureftpd.pdb")
        B._run([_pkg_path("pure-ftpd", "usr/bin/pure-pw"), "mkdb", self.pdb, "-f", passwd])
        # its scoreboard directory is compiled in (/var/run/pure-ftpd): give it
        # a private /run inside the namespace
        run = os.path.join(self.dir, "run")
        os.makedirs(run, mode=0o755, exist_ok=True)
        self.binds = [(run, os.path.realpath("/var/run"))]

    def server_command(self):
        return [_pkg_path("pure-ftpd", "usr/sbin/pure-ftpd"),
                "--bind=%s,%d" % (B.HOST, self.port),
                "--login=puredb:" + self.pdb,
                "--tls=3",                    # TLS required for login and data
                "--certfile=" + self.pem,
                "--chrooteveryone", "--noanonymous", "--dontresolve",
                "--maxclientsnumber=%d" % self.max_clients,
                "--maxclientsperip=%d" % self.max_clients,
                "--pidfile=" + os.path.join(self.dir, "pure-ftpd.pid"),
                "--syslogfacility=none"]      # nothing to the system log


VSFTPD_CONF = """\
# Generated by bench/bench.py (profile {name}); removed after the run.
listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port={port}
background=NO
anonymous_enable=NO
local_enable=YES
write_enable=YES
chroot_local_user=YES
allow_writeable_chroot=YES
secure_chroot_dir={empty}
pam_service_name={pam}
max_clients={max_clients}
max_per_ip={max_clients}
ssl_enable=YES
force_local_logins_ssl=YES
force_local_data_ssl=YES
require_ssl_reuse=YES
ssl_request_cert=NO
ssl_ciphers=HIGH
rsa_cert_file={cert}
rsa_private_key_file={key}
xferlog_enable=NO
syslog_enable=NO
vsftpd_log_file={dir}/vsftpd.log
"""


class Vsftpd(Peer):
    """vsftpd standalone (listen=YES, background=NO), TLS forced for login
    and data, data connections must resume the control session
    (require_ssl_reuse=YES, like mod_ftps and mod_tls), local user chrooted
    to the bench home.  vsftpd authenticates local users through PAM and
    /etc/passwd; it sees private copies holding only root, nobody and the
    bench user, and a PAM service using pam_unix."""

    def __init__(self, ws, name, cert, port, max_clients):
        super().__init__(ws, name, "vsftpd", cert, port)
        etc = os.path.join(self.dir, "etc")
        pamd = os.path.join(etc, "pam.d")
        os.makedirs(pamd, mode=0o755, exist_ok=True)
        nobody = pwd.getpwnam("nobody")
        nogroup = grp.getgrgid(nobody.pw_gid).gr_name
        _write(os.path.join(etc, "passwd"),
               "root:x:0:0:root:/root:/bin/sh\n"
               "nobody:x:%d:%d:nobody:/nonexistent:/usr/sbin/nologin\n"
               "%s:x:%d:%d::%s:/bin/false\n"
               % (nobody.pw_uid, nobody.pw_gid, B.USER, B.UID, B.GID, ws.home))
        _write(os.path.join(etc, "group"), "root:x:0:\n%s:x:%d:\n%s:x:%d:\n"
               % (nogroup, nobody.pw_gid, B.USER, B.GID))
        _write(os.path.join(etc, "shadow"), "root:*:19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\n"
               "%s:%s:19000:0:99999:7:::\n" % (B.USER, ws.password_hash()), 0o600)
        _write(os.path.join(pamd, PAM_SERVICE),
               "# bench: the bench user's password from the private /etc/shadow\n"
               "auth     required pam_unix.so\naccount  required pam_unix.so\n"
               "session  required pam_unix.so\n")
        # secure_chroot_dir: must exist, be owned by root and not writable
        empty = os.path.join(self.dir, "empty")
        os.makedirs(empty, exist_ok=True)
        os.chmod(empty, 0o555)
        c, k = ws.certs[cert]
        self.conf = os.path.join(self.dir, "vsftpd.conf")
        _write(self.conf, VSFTPD_CONF.format(name=name, port=port, empty=empty, pam=PAM_SERVICE,
                                             max_clients=max_clients, cert=c, key=k,
                                             dir=self.dir), 0o600)
        self.binds = [(os.path.join(etc, f), "/etc/" + f) for f in ("passwd", "group", "shadow")]
        self.binds.append((pamd, "/etc/pam.d"))
        if os.path.exists("/dev/log"):            # keep pam_unix's messages off the host log
            devlog = os.path.join(self.dir, "devlog")
            _write(devlog, "")
            self.binds.append((devlog, "/dev/log"))

    def server_command(self):
        return [_pkg_path("vsftpd", "usr/sbin/vsftpd"), self.conf]

    def log_files(self):
        return [self.stderr_path, os.path.join(self.dir, "vsftpd.log")]


CLASSES = {"pure-ftpd": PureFTPd, "vsftpd": Vsftpd}


def make(peer, ws, name, cert, port, max_clients):
    """A configured (not yet started) instance of the peer."""
    try:
        return CLASSES[peer](ws, name, cert, port, max_clients)
    except (OSError, KeyError) as e:
        raise BenchError("%s: cannot prepare its configuration: %s" % (name, e))
