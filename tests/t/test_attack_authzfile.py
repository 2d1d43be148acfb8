"""Attacks through the user's FTPSAuthorizedCertificates file.

The file is read as root at USER time, before login, from a path the user
controls (~/.ftps/authorized_certs). Whatever the user puts there (a FIFO,
a device, a symlink, a huge file, a symlinked directory), USER must be
answered promptly (well under TimeoutLogin), refused with an FTPSLog line
naming the file and the reason, and the refused session must get no
further than an unauthenticated client; other users keep logging in.
"""

import ftplib
import os
import stat
import time

from ftpslib import PASSWORD, UID, USER, check
from pki_clients import client_pki
from test_clientcerts import (BOB, BOB_PW, BOB_UID, REFUSED, authz_server, cc_server,
                              cert_login_232, colon_fp, connect, quit_quietly,
                              write_authz)

PROMPT = 3.0            # seconds; TimeoutLogin is 300 by default
AUTHZ_MAX = 256 * 1024  # FTPS_AUTHZ_MAX


def _authz(srv):
    return srv.path(".ftps/authorized_certs")


def _reset(srv):
    """Remove whatever the previous test left at ~/.ftps(/authorized_certs)."""
    d = srv.path(".ftps")
    if os.path.islink(d):
        os.unlink(d)
    os.makedirs(d, exist_ok=True)
    os.chown(d, UID, UID)
    f = _authz(srv)
    if os.path.lexists(f):
        os.unlink(f)


def _bob_can_log_in(srv):
    """Another user, on a new connection, still gets in (232 with his own
    certificate and authorized file)."""
    cp = client_pki()
    home = os.path.join(os.path.dirname(srv.home), BOB)
    d = os.path.join(home, ".ftps")
    os.makedirs(d, exist_ok=True)
    os.chown(d, BOB_UID, BOB_UID)
    write_authz(os.path.join(d, "authorized_certs"), cp.bob.fp + "\n", uid=BOB_UID)
    cert_login_232(srv, cp.bob, "/", user=BOB)


def _refused_promptly(srv, reason):
    """USER alice (presenting alice's certificate) is answered 530 within
    PROMPT seconds; FTPSLog names the file and reason; the session can do
    only what an unauthenticated client can."""
    cp = client_pki()
    mark = srv.log_mark()
    ftp = connect(srv, cp.alice)
    ftp.sock.settimeout(PROMPT + 2)
    t0 = time.monotonic()
    try:
        try:
            r = ftp.sendcmd("USER " + USER)
            raise AssertionError("USER -> %r, want 530 %s" % (r, REFUSED))
        except ftplib.error_perm as e:
            check(str(e).startswith("530") and REFUSED in str(e), "USER -> %r" % str(e))
        except OSError as e:
            raise AssertionError("USER not answered within %.0fs (%r): the session hangs "
                                 "on the authorized-certificates file" % (PROMPT + 2, e))
        took = time.monotonic() - t0
        check(took < PROMPT, "USER answered after %.1fs, want < %.0fs" % (took, PROMPT))
        srv.wait_log(r"login of 'alice' refused by certificate policy: .*'%s'.*%s"
                     % (_authz(srv).replace(".", r"\."), reason), mark)
        # What the refused client tries next.
        try:
            r = ftp.sendcmd("PASS " + PASSWORD)
            raise AssertionError("PASS after the refused USER -> %r" % r)
        except ftplib.error_perm as e:
            check(str(e)[:3] in ("503", "530"), "PASS after refused USER: %r" % str(e))
        for cmd in ("PWD", "PASV", "RETR small.bin", "STOR x.bin"):
            try:
                r = ftp.sendcmd(cmd)
                raise AssertionError("%s after the refused login -> %r" % (cmd, r))
            except ftplib.error_perm as e:
                check(str(e).startswith("530"), "%s after refused login: %r" % (cmd, str(e)))
        check(ftp.sendcmd("NOOP").startswith("200"), "NOOP after the refusal")
    finally:
        quit_quietly(ftp)
    _bob_can_log_in(srv)


def test_authz_fifo_refused_promptly():
    srv = authz_server()
    _reset(srv)
    os.mkfifo(_authz(srv), 0o600)
    os.chown(_authz(srv), UID, UID)
    _refused_promptly(srv, "not a regular file")


def test_authz_symlink_to_dev_zero_refused():
    srv = authz_server()
    _reset(srv)
    os.symlink("/dev/zero", _authz(srv))
    os.lchown(_authz(srv), UID, UID)
    _refused_promptly(srv, "symbolic link")


def test_authz_char_device_refused():
    srv = authz_server()
    _reset(srv)
    os.mknod(_authz(srv), stat.S_IFCHR | 0o600, os.makedev(1, 5))     # /dev/zero
    os.chown(_authz(srv), UID, UID)
    _refused_promptly(srv, "not a regular file")


def test_authz_oversized_file_refused():
    cp, srv = client_pki(), authz_server()
    _reset(srv)
    write_authz(_authz(srv), cp.alice.fp + "\n")
    with open(_authz(srv), "r+b") as f:
        f.truncate(AUTHZ_MAX + 1)            # sparse: a valid line, then zeros
    _refused_promptly(srv, "too large")


def test_authz_symlink_to_valid_file_refused():
    cp, srv = client_pki(), authz_server()
    _reset(srv)
    real = srv.path("my_certs")
    write_authz(real, cp.alice.fp + "\n")
    os.symlink(real, _authz(srv))
    os.lchown(_authz(srv), UID, UID)
    _refused_promptly(srv, "symbolic link")


def test_authz_symlinked_directory_refused():
    # ~/.ftps itself is a symlink (a component the user owns): it could
    # point the root-privileged open anywhere; it is not followed.
    cp, srv = client_pki(), authz_server()
    _reset(srv)
    os.rmdir(srv.path(".ftps"))
    elsewhere = srv.path("elsewhere")
    os.makedirs(elsewhere, exist_ok=True)
    os.chown(elsewhere, UID, UID)
    write_authz(os.path.join(elsewhere, "authorized_certs"), cp.alice.fp + "\n")
    os.symlink(elsewhere, srv.path(".ftps"))
    os.lchown(srv.path(".ftps"), UID, UID)
    try:
        _refused_promptly(srv, "symbolic link")
    finally:
        os.unlink(srv.path(".ftps"))


def test_authz_symlinked_directory_to_fifo_refused_promptly():
    srv = authz_server()
    _reset(srv)
    os.rmdir(srv.path(".ftps"))
    elsewhere = srv.path("fifo-dir")
    os.makedirs(elsewhere, exist_ok=True)
    os.chown(elsewhere, UID, UID)
    os.mkfifo(os.path.join(elsewhere, "authorized_certs"), 0o600)
    os.chown(os.path.join(elsewhere, "authorized_certs"), UID, UID)
    os.symlink(elsewhere, srv.path(".ftps"))
    try:
        _refused_promptly(srv, "symbolic link")
    finally:
        os.unlink(srv.path(".ftps"))


def test_authz_valid_file_still_232():
    cp, srv = client_pki(), authz_server()
    _reset(srv)
    write_authz(_authz(srv), "SHA256:%s\n" % colon_fp(cp.alice.fp))
    cert_login_232(srv, cp.alice, "/")


def test_authz_valid_file_constraint_password_login():
    cp = client_pki()
    srv = cc_server(lines=["FTPSAuthorizedCertificates ~/.ftps/authorized_certs"])
    _reset(srv)
    write_authz(_authz(srv), cp.alice.fp + "\n")
    ftp = connect(srv, cp.alice)
    try:
        check(ftp.sendcmd("USER " + USER).startswith("331"), "USER: want 331")
        check(ftp.sendcmd("PASS " + PASSWORD).startswith("230"), "PASS: want 230")
    finally:
        quit_quietly(ftp)


def _session_rss_kb(srv, ftp):
    """VmRSS of the session process serving ftp's control connection."""
    lport = ftp.sock.getsockname()[1]
    inode = None
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            loc, rem = fields[1], fields[2]
            if int(loc.split(":")[1], 16) == srv.port and int(rem.split(":")[1], 16) == lport:
                inode = fields[9]
    check(inode is not None, "no server socket for our control connection")
    target = "socket:[%s]" % inode
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            fds = os.listdir("/proc/%s/fd" % pid)
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink("/proc/%s/fd/%s" % (pid, fd)) == target:
                    with open("/proc/%s/status" % pid) as st:
                        for l in st:
                            if l.startswith("VmRSS:"):
                                return int(l.split()[1])
            except OSError:
                continue
    raise AssertionError("no session process found")


def test_authz_repeated_user_memory_bounded():
    # Each USER reads the file; what it allocates must not pile up in the
    # session's pool (an attacker repeats USER before login for free).
    cp = client_pki()
    srv = cc_server(lines=["FTPSAuthorizedCertificates ~/.ftps/authorized_certs",
                           "FTPSCertLogin on", "FTPSMaxPreLoginErrors 0"])
    _reset(srv)
    filler = ("# %s\n" % ("x" * 70)) * ((AUTHZ_MAX - 4096) // 73)
    write_authz(_authz(srv), filler + cp.bob.fp + "\n")      # alice not listed
    ftp = connect(srv, cp.alice)
    try:
        def refused_user():
            try:
                ftp.sendcmd("USER " + USER)
                raise AssertionError("USER accepted")
            except ftplib.error_perm as e:
                check(str(e).startswith("530"), "USER: %r" % str(e))
        for _ in range(5):
            refused_user()
        before = _session_rss_kb(srv, ftp)
        for _ in range(60):
            refused_user()
        grown = _session_rss_kb(srv, ftp) - before
        check(grown < 4096, "session grew by %d KiB over 60 refused USERs" % grown)
    finally:
        quit_quietly(ftp)
