"""Attacks on the deferred creation of protected uploads (ftps_fsio.c).

A protected upload creates or truncates its file only once the data
channel's TLS is secured; the client controls when that happens. These
tests race two clients on one name: one stalls its data handshake (the
server has sent 150 and waits for a ClientHello) while the other uploads,
then the stalled one fails or finishes. Whatever happens, the core's
guarantees hold: HiddenStores' temp file is exclusive, AllowOverwrite off
is exclusive, DeleteAbortedStores removes only this upload's file, APPE
appends, and no client gets 226 for bytes that are not on disk.
"""

import ftplib
import os
import socket
import ssl
import time

from ftpslib import (Raw, _proc_children, check, ftp_login, quit_quietly,
                     refused_transfer, server, sha256, stor_bytes)

O_CLOEXEC = 0o2000000


def _login(srv):
    r = Raw(srv)
    r.auth()
    r.login()
    check(r.cmd("PBSZ 0").code == 200, "PBSZ failed")
    check(r.cmd("PROT P").code == 200, "PROT P failed")
    r.cmd("TYPE I")
    return r


def _begin(r, verb, name):
    """Send verb, connect the data port in clear, read the 150: from then on
    the server waits in the data handshake for our ClientHello."""
    port = r.pasv()
    r.send(("%s %s" % (verb, name)).strip() + "\r\n")
    s = socket.create_connection(("127.0.0.1", port), timeout=r.timeout)
    rep = r.reply()
    check(rep.code == 150, "%s %s: want 150, got %r" % (verb, name, rep))
    return s, rep


def _secure(r, s):
    """Finish the stalled data handshake, resuming the control session."""
    return r.sock.context.wrap_socket(s, server_hostname="127.0.0.1",
                                      session=r.sock.session)


def _finish(s):
    """Proper end of an upload: close_notify, then close."""
    try:
        s = s.unwrap()
    except (OSError, ssl.SSLError):
        pass
    s.close()


def _fail_stalled(r, s):
    """The stalled client gives up: its data connection closes unsecured."""
    s.close()
    rep = r.reply()
    check(rep.code != 226 and rep.code >= 400,
          "a data connection closed before TLS: want a 4xx/5xx, got %r" % rep)
    return rep


def _wait_for(cond, what, timeout=10):
    """Poll the server's visible state (a file appearing), not a sleep."""
    end = time.monotonic() + timeout
    while not cond():
        check(time.monotonic() < end, "timed out waiting for " + what)
        time.sleep(0.02)


def _listing(srv):
    """Every file in the home directory with its sha256 (None: not a
    regular file): which files exist, and what they hold."""
    out = {}
    for name in sorted(os.listdir(srv.home)):
        p = srv.path(name)
        out[name] = sha256(open(p, "rb").read()) if os.path.isfile(p) else None
    return out


def _diff(before, after):
    return {n: (before.get(n), after.get(n)) for n in set(before) | set(after)
            if before.get(n) != after.get(n)}


def _after_refusal(r):
    """The refused client's session still works, and only as itself."""
    check(r.cmd("NOOP").code == 200, "NOOP after the refused upload failed")
    r.cmd("QUIT")
    r.close()


def _hidden(name):
    return ".in.%s." % name


def _race_hidden(srv, name, stalled_action):
    a, b = _login(srv), _login(srv)
    sa, _ = _begin(a, "STOR", name)
    sb, _ = _begin(b, "STOR", name)
    sb = _secure(b, sb)
    first = os.urandom(40000)
    sb.sendall(first)
    _wait_for(lambda: os.path.exists(srv.path(_hidden(name))) and
              os.path.getsize(srv.path(_hidden(name))) >= len(first),
              "B's HiddenStores file to hold B's first bytes")
    before = _listing(srv)
    rep_a = stalled_action(a, sa)
    check(rep_a.code != 226, "the stalled upload got 226: %r" % rep_a)
    check(os.path.exists(srv.path(_hidden(name))),
          "A's failure removed B's HiddenStores file %s" % _hidden(name))
    check(_listing(srv) == before, "A's failure changed the directory: %r"
          % _diff(before, _listing(srv)))
    rest = os.urandom(60000)
    sb.sendall(rest)
    _finish(sb)
    rep_b = b.reply()
    check(rep_b.code == 226, "B's upload: want 226, got %r" % rep_b)
    check(srv.file_sha(name) == sha256(first + rest),
          "%s does not hold B's bytes" % name)
    check(not os.path.exists(srv.path(_hidden(name))), "a HiddenStores file is left")
    _after_refusal(a)
    b.cmd("QUIT")
    b.close()


def test_hidden_stores_stalled_failure_keeps_other_upload():
    srv = server(extra=["HiddenStores on"])
    _race_hidden(srv, "hs-fail.bin", _fail_stalled)


def _late_handshake(r, s):
    """The stalled client finishes its handshake while the other upload is
    in progress and sends its own bytes."""
    try:
        s = _secure(r, s)
        s.sendall(b"A" * 30000)
        _finish(s)
    except (OSError, ssl.SSLError):
        pass
    return r.reply()


def test_hidden_stores_late_handshake_keeps_other_upload():
    srv = server(extra=["HiddenStores on"])
    _race_hidden(srv, "hs-late.bin", _late_handshake)


NO_OVERWRITE = ["<Directory />", "  AllowOverwrite off", "</Directory>"]


def test_allow_overwrite_off_concurrent_stor_only_one_226():
    srv = server(extra=NO_OVERWRITE)
    name = "no-overwrite.bin"
    a, b = _login(srv), _login(srv)
    sa, _ = _begin(a, "STOR", name)
    check(not os.path.exists(srv.path(name)), "the stalled STOR created the file early")
    data_b = os.urandom(70000)
    sb, _ = _begin(b, "STOR", name)
    sb = _secure(b, sb)
    sb.sendall(data_b)
    _finish(sb)
    check(b.reply().code == 226, "B's upload failed")
    check(srv.file_sha(name) == sha256(data_b), "B's file differs")
    before = _listing(srv)
    rep_a = _late_handshake(a, sa)
    check(rep_a.code != 226, "AllowOverwrite off: both uploads got 226 (%r)" % rep_a)
    check(srv.file_sha(name) == sha256(data_b), "A's refused upload changed B's file")
    check(_listing(srv) == before, "A's refused upload changed files: %r"
          % _diff(before, _listing(srv)))
    # What A tries next: the upload again, plainly refused before any 150.
    a.pasv()
    rep = a.cmd("STOR " + name)
    check(rep.code == 550, "STOR over an existing file: want 550, got %r" % rep)
    check(srv.file_sha(name) == sha256(data_b), "A's retry changed B's file")
    _after_refusal(a)
    b.cmd("QUIT")
    b.close()


def test_delete_aborted_stores_stalled_failure_keeps_other_file():
    srv = server(extra=["DeleteAbortedStores on"])
    name = "dont-delete.bin"
    a, b = _login(srv), _login(srv)
    sa, _ = _begin(a, "STOR", name)
    data_b = os.urandom(50000)
    sb, _ = _begin(b, "STOR", name)
    sb = _secure(b, sb)
    sb.sendall(data_b)
    _finish(sb)
    check(b.reply().code == 226, "B's upload failed")
    before = _listing(srv)
    _fail_stalled(a, sa)
    check(_listing(srv) == before, "A's failure changed files: %r"
          % _diff(before, _listing(srv)))
    check(os.path.exists(srv.path(name)),
          "DeleteAbortedStores: A's unsecured upload deleted B's file")
    check(srv.file_sha(name) == sha256(data_b), "B's file differs")
    _after_refusal(a)
    b.cmd("QUIT")
    b.close()


def test_delete_aborted_stores_stalled_failure_keeps_existing_file():
    srv = server(extra=["DeleteAbortedStores on"])
    keep = os.urandom(9000)
    srv.put_file("da-existing.bin", keep)
    a = _login(srv)
    before = _listing(srv)
    sa, _ = _begin(a, "STOR", "da-existing.bin")
    _fail_stalled(a, sa)
    check(_listing(srv) == before, "an unsecured upload changed files: %r"
          % _diff(before, _listing(srv)))
    check(srv.file_sha("da-existing.bin") == sha256(keep),
          "an unsecured upload deleted or changed the existing file")
    # The guard ends with the upload: the owner may still delete the file.
    rep = a.cmd("DELE da-existing.bin")
    check(rep.code == 250, "DELE after the refused upload: want 250, got %r" % rep)
    check(not os.path.exists(srv.path("da-existing.bin")), "DELE left the file")
    _after_refusal(a)


def _abort_own_upload(srv, name):
    """Secure the data channel, send some bytes, then vanish without
    close_notify: a failed upload of this client's own file."""
    a = _login(srv)
    sa, _ = _begin(a, "STOR", name)
    sa = _secure(a, sa)
    sa.sendall(os.urandom(30000))
    _wait_for(lambda: any(n.endswith(name) or n.endswith(name + ".")
                          for n in os.listdir(srv.home)), "the upload's file")
    sa.close()                       # no close_notify: truncated upload
    rep = a.reply()
    check(rep.code != 226, "a truncated upload got 226: %r" % rep)
    return a


def test_delete_aborted_stores_still_removes_own_aborted_upload():
    srv = server(extra=["DeleteAbortedStores on"])
    a = _abort_own_upload(srv, "own-aborted.bin")
    check(not os.path.exists(srv.path("own-aborted.bin")),
          "DeleteAbortedStores no longer removes this client's aborted upload")
    _after_refusal(a)


def test_hidden_stores_still_removes_own_aborted_temp():
    srv = server(extra=["HiddenStores on"])
    before = _listing(srv)
    a = _abort_own_upload(srv, "own-hidden.bin")
    check(_listing(srv) == before, "an aborted HiddenStores upload changed files: %r"
          % _diff(before, _listing(srv)))
    _after_refusal(a)


def test_appe_deferred_creation_appends():
    srv = server()
    name = "appended.bin"
    a, b = _login(srv), _login(srv)
    sa, _ = _begin(a, "APPE", name)
    data_b = os.urandom(40000)
    sb, _ = _begin(b, "STOR", name)
    sb = _secure(b, sb)
    sb.sendall(data_b)
    _finish(sb)
    check(b.reply().code == 226, "B's upload failed")
    data_a = os.urandom(10000)
    sa = _secure(a, sa)
    sa.sendall(data_a)
    _finish(sa)
    rep_a = a.reply()
    on_disk = open(srv.path(name), "rb").read()
    if rep_a.code == 226:
        check(on_disk == data_b + data_a,
              "APPE got 226 but its bytes were not appended (len %d, B's prefix kept: %s)"
              % (len(on_disk), on_disk.startswith(data_b)))
    else:
        check(on_disk == data_b, "a refused APPE changed the file")
    _after_refusal(a)
    b.cmd("QUIT")
    b.close()


def test_stou_refused_creates_nothing():
    srv = server()
    before = _listing(srv)
    ftp = ftp_login(srv, cls=ftplib.FTP_TLS)          # no session reuse: 425
    text = refused_transfer(ftp, "STOU", payload=b"U" * 20000)
    check(str(text)[:3] == "425", "STOU without reuse: want 425, got %r" % text)
    check(_listing(srv) == before, "a refused STOU changed files: %r"
          % _diff(before, _listing(srv)))
    check(ftp.voidcmd("NOOP").startswith("200"), "NOOP after the refused STOU")
    quit_quietly(ftp)


def test_stou_stalled_failure_creates_nothing():
    srv = server()
    before = _listing(srv)
    a = _login(srv)
    sa, rep = _begin(a, "STOU", "")
    check("FILE:" in rep.text, "STOU 150 names no file: %r" % rep)
    _fail_stalled(a, sa)
    check(_listing(srv) == before, "an unsecured STOU changed files: %r"
          % _diff(before, _listing(srv)))
    _after_refusal(a)


def _upload_fds(srv, path):
    """(pid, fd, flags) of session processes holding path open."""
    out = []
    for pid, _ in _proc_children(srv.proc.pid):
        try:
            fds = os.listdir("/proc/%d/fd" % pid)
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink("/proc/%d/fd/%s" % (pid, fd)) != path:
                    continue
                with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                    info = dict(l.split(":", 1) for l in f.read().splitlines() if ":" in l)
                out.append((pid, int(fd), int(info["flags"].strip(), 8)))
            except (OSError, KeyError, ValueError):
                continue
    return out


def _check_cloexec_during_upload(srv, name):
    a = _login(srv)
    sa, _ = _begin(a, "STOR", name)
    sa = _secure(a, sa)
    sa.sendall(os.urandom(20000))
    path = srv.path(name)
    _wait_for(lambda: _upload_fds(srv, path), "the session to hold %s open" % name)
    for pid, fd, flags in _upload_fds(srv, path):
        check(flags & O_CLOEXEC, "session %d: upload fd %d of %s lacks FD_CLOEXEC "
              "(flags %o)" % (pid, fd, name, flags))
    _finish(sa)
    check(a.reply().code == 226, "upload failed")
    a.cmd("QUIT")
    a.close()


def test_deferred_creation_keeps_cloexec():
    _check_cloexec_during_upload(server(), "cloexec-new.bin")


def test_deferred_truncation_keeps_cloexec():
    srv = server()
    srv.put_file("cloexec-old.bin", os.urandom(3000))
    _check_cloexec_during_upload(srv, "cloexec-old.bin")


def test_replaced_target_is_not_truncated_nor_lost():
    # A STOR of an existing file stalls; meanwhile the name is replaced by
    # another file (rename over it). The late upload must not write into the
    # orphaned old file and report 226, nor truncate the new one.
    srv = server()
    srv.put_file("replaced.bin", os.urandom(5000))
    a = _login(srv)
    sa, _ = _begin(a, "STOR", "replaced.bin")
    newer = os.urandom(8000)
    tmp = srv.put_file("replacement.tmp", newer)
    os.rename(tmp, srv.path("replaced.bin"))
    data_a = os.urandom(12000)
    rep = _late_handshake_with(a, sa, data_a)
    on_disk = open(srv.path("replaced.bin"), "rb").read()
    if rep.code == 226:
        check(on_disk == data_a, "226 but replaced.bin does not hold the upload")
    else:
        check(on_disk == newer, "a refused upload changed the replacement file")
    _after_refusal(a)


def _late_handshake_with(r, s, data):
    try:
        s = _secure(r, s)
        s.sendall(data)
        _finish(s)
    except (OSError, ssl.SSLError):
        pass
    return r.reply()
