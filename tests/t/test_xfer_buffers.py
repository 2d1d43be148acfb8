"""Transfer buffers sized per command (issue 13): bulk transfers get large
buffers, small ones and idle sessions do not, and no size loses a byte.

ftps_xfer.c raises mod_xfer's buffer only for uploads and for downloads
larger than the default, sized to what remains after REST; the data
connection's TLS buffers follow. These tests check what a user sees: the
bytes of every size around those boundaries, and the memory an idle
protected session keeps after a listing."""

import ftplib
import io
import os
import re
import ssl
import time

from ftpslib import (USER, PASSWORD, Raw, Server, _proc_children, check, ftp_login,
                     mkdtemp, proc_kib, quit_quietly, retr_bytes, server, sha256, stor_bytes)

# Around one record (16 KiB), the default buffer and the bulk size (256 KiB).
SIZES = (0, 1, 4096, 16383, 16384, 16385, 65543, 262143, 262144, 262145,
         (1 << 20) + 3)


def _sizes_round_trip(maxv):
    srv = server(extra=["AllowStoreRestart on"])
    ftp = ftp_login(srv, context=srv.pki.client_context(maxv=maxv))
    tag = "tls13" if maxv is None else "tls12"
    try:
        for size in SIZES:
            name = "size-%s-%d.bin" % (tag, size)
            data = os.urandom(size)
            resp = stor_bytes(ftp, name, data)
            check(resp.startswith("226"), "STOR %d bytes: %r" % (size, resp))
            check(srv.file_sha(name) == sha256(data), "STOR %d bytes: server file differs" % size)
            back = retr_bytes(ftp, name)
            check(len(back) == size and sha256(back) == sha256(data),
                  "RETR %d bytes: got %d bytes, checksum %s" % (size, len(back),
                                                              "ok" if sha256(back) == sha256(data) else "differs"))
            for rest in (1, size // 2, size - 1):
                if 0 < rest < size:
                    tail = retr_bytes(ftp, name, rest=rest)
                    check(tail == data[rest:], "RETR %d bytes from REST %d: got %d bytes"
                          % (size, rest, len(tail)))
        # APPE grows a file across the bulk boundary.
        name = "size-%s-appe.bin" % tag
        first, more = os.urandom(200000), os.urandom(100000)
        stor_bytes(ftp, name, first)
        resp = ftp.storbinary("APPE " + name, io.BytesIO(more))
        check(resp.startswith("226"), "APPE: %r" % resp)
        check(srv.file_sha(name) == sha256(first + more), "APPE: server file differs")
    finally:
        quit_quietly(ftp)


def test_every_size_keeps_its_bytes_tls13():
    _sizes_round_trip(None)


def test_every_size_keeps_its_bytes_tls12():
    _sizes_round_trip(ssl.TLSVersion.TLSv1_2)


def test_retr_that_cannot_be_sized_fails_alone():
    """A RETR whose path cannot be examined (missing, a directory) gets the
    core's 550, and the session goes on transferring."""
    srv = server()
    ftp = ftp_login(srv)
    try:
        for bad in ("no-such-file.bin", ".", "no/such/dir/x.bin"):
            try:
                retr_bytes(ftp, bad)
                check(False, "RETR %r succeeded" % bad)
            except ftplib.error_perm as e:
                check(str(e).startswith("550"), "RETR %r: %s" % (bad, e))
        data = retr_bytes(ftp, "big.bin")
        check(sha256(data) == srv.files["big.bin"], "RETR after the refusals: wrong bytes")
    finally:
        quit_quietly(ftp)


def _new_session(srv, before, login):
    ftp = login()
    kids = [pid for pid, _ in _proc_children(srv.proc.pid) if pid not in before]
    check(len(kids) == 1, "want one new session process, got %r" % kids)
    return ftp, kids[0]


def _trace_sizes(path, what):
    """Sizes of the buffers ProFTPD logged allocating ("list" or "data
    transfer"), in order (trace channel data, level 8)."""
    with open(path, errors="replace") as f:
        text = f.read()
    return [int(n) for n in re.findall(r"allocated %s buffer of (\d+) bytes" % what, text)]


def _wait_trace(path, what, count, timeout=5):
    end = time.monotonic() + timeout
    while True:
        sizes = _trace_sizes(path, what)
        if len(sizes) >= count or time.monotonic() > end:
            return sizes
        time.sleep(0.02)       # the session writes its trace lines asynchronously to us


def test_buffers_follow_the_transfer():
    """What ProFTPD allocates, from its own trace: a listing and a small
    download keep the default buffer (0.2.0: 256 KiB for everything, zeroed),
    a large download and an upload get the bulk buffer, and the next small
    transfer is back to the default."""
    trace = os.path.join(mkdtemp("ftps-trace-"), "trace.log")
    srv = Server(extra=["Trace data:8", "TraceLog " + trace]).start()
    srv.private = True
    ftp = ftp_login(srv)
    bulk = 256 * 1024
    try:
        ftp.retrlines("LIST", lambda l: None)
        small = retr_bytes(ftp, "small.bin")
        big = retr_bytes(ftp, "big.bin")
        stor_bytes(ftp, "follow-up.bin", os.urandom(300000))
        again = retr_bytes(ftp, "small.bin")
        check(sha256(small) == sha256(again) == srv.files["small.bin"], "RETR small.bin: wrong bytes")
        check(sha256(big) == srv.files["big.bin"], "RETR big.bin: wrong bytes")
    finally:
        quit_quietly(ftp)
    lists = _wait_trace(trace, "list", 1)
    xfers = _wait_trace(trace, "data transfer", 5)
    check(len(lists) == 1 and lists[0] < bulk,
          "mod_ls's listing buffer (kept for the session): %r bytes" % lists)
    check(len(xfers) == 5, "want 5 transfer buffers in the trace, got %r" % xfers)
    listing, small_retr, big_retr, upload, small_again = xfers
    check(listing < bulk and small_retr < bulk and small_again < bulk,
          "listing/small downloads got %r bytes (want the default, < %d)" % (xfers, bulk))
    check(big_retr == bulk and upload == bulk,
          "3 MiB download / upload got %d / %d bytes (want %d)" % (big_retr, upload, bulk))


def test_idle_protected_session_keeps_no_bulk_buffers():
    """After one LIST over PROT P, an idle protected session holds about
    what a clear session of a server without FTPS holds, plus the TLS
    state; the bulk buffers (256 KiB each for the control stream, the
    listing and the transfer, all zeroed) once cost it ~0.8 MB more."""
    plain = server(defaults=False)
    srv = server()

    def clear_login():
        ftp = ftplib.FTP(timeout=15)
        ftp.connect("127.0.0.1", plain.port)
        ftp.login(USER, PASSWORD)
        return ftp

    clear, clear_pid = _new_session(plain, set(p for p, _ in _proc_children(plain.proc.pid)),
                                    clear_login)
    prot, prot_pid = _new_session(srv, set(p for p, _ in _proc_children(srv.proc.pid)),
                                  lambda: ftp_login(srv))
    try:
        for ftp in (clear, prot):
            lines = []
            ftp.retrlines("LIST", lines.append)
            check(any("big.bin" in l for l in lines), "LIST: %r" % lines[:3])
        clear_kib, prot_kib = (proc_kib(clear_pid, "smaps_rollup", "Private_Dirty"),
                               proc_kib(prot_pid, "smaps_rollup", "Private_Dirty"))
        # Measured: ~200 KiB more with the fix, ~820 KiB more before it. In
        # the sanitizer build ASan's allocator decides (quarantine, redzones:
        # 2 MB apart), so there test_buffers_follow_the_transfer is the check.
        if not os.environ.get("FTPS_PROFTPD"):
            check(prot_kib - clear_kib <= 450,
                  "idle protected session holds %d KiB of private memory, a clear one %d KiB "
                  "(more than 450 KiB apart)" % (prot_kib, clear_kib))
        # And it still works after being measured.
        check(sha256(retr_bytes(prot, "big.bin")) == srv.files["big.bin"],
              "RETR after idling: wrong bytes")
    finally:
        quit_quietly(prot)
        quit_quietly(clear)


def _fresh_session_kib(srv, tls):
    """Private memory of a new session that has answered its first commands
    (the control connection's read buffer is allocated by then)."""
    before = set(p for p, _ in _proc_children(srv.proc.pid))
    r = Raw(srv)
    if tls:
        r.auth()
    check(r.cmd("NOOP").code == 200, "NOOP refused")
    kids = [pid for pid, _ in _proc_children(srv.proc.pid) if pid not in before]
    check(len(kids) == 1, "want one new session process, got %r" % kids)
    return r, proc_kib(kids[0], "smaps_rollup", "Private_Dirty")


def test_fresh_session_keeps_no_bulk_control_buffer():
    """The core sizes the control connection's read buffer like a transfer
    buffer (the socket's receive buffer, 128 KiB here) and zeroes it, but
    never reads more than one command line into it. mod_ftps gives it the
    size of a command line: its trace (ftps.xfer) says so, and a
    fresh session of an FTPS server after AUTH TLS holds about what a clear
    one of a server without FTPS holds, plus the TLS state (measured: 24 KiB
    more; with the core's buffer 145 KiB)."""
    trace = os.path.join(mkdtemp("ftps-trace-"), "trace.log")
    traced = Server(extra=["Trace ftps.xfer:9", "TraceLog " + trace]).start()
    traced.private = True
    r, _ = _fresh_session_kib(traced, tls=True)
    r.close()
    end = time.monotonic() + 5
    while True:
        with open(trace, errors="replace") as f:
            sizes = [int(n) for n in re.findall(r"control read buffer: (\d+) bytes", f.read())]
        if sizes or time.monotonic() > end:
            break
        time.sleep(0.02)       # the session writes its trace asynchronously to us
    # One line per session (the server's readiness probe is one too).
    check(sizes and all(512 <= n <= 8192 for n in sizes),
          "control read buffer sizes in the trace: %r (want a command line each)" % sizes)
    if os.environ.get("FTPS_PROFTPD"):
        return      # the sanitizer build: ASan's allocator decides the memory (2 MB apart)
    plain = server(defaults=False)
    srv = server()
    clear, clear_kib = _fresh_session_kib(plain, tls=False)
    prot, prot_kib = _fresh_session_kib(srv, tls=True)
    try:
        check(prot_kib - clear_kib <= 64,
              "fresh session after AUTH TLS holds %d KiB of private memory, a clear one of a "
              "server without FTPS %d KiB (more than 64 KiB apart)" % (prot_kib, clear_kib))
        check(prot.cmd("USER " + USER).code == 331 and prot.cmd("PASS " + PASSWORD).code == 230,
              "login after measuring failed")
    finally:
        prot.close()
        clear.close()


def test_command_lines_across_the_control_buffer():
    """Over TLS, a command line of almost CommandBufferSize bytes, and a burst
    of commands several times the buffer's size sent in one go, are read
    whole and answered in order."""
    srv = server()
    r = Raw(srv)
    try:
        r.auth()
        r.login()
        check(r.cmd("MKD cbuf-dir").code in (257, 550), "MKD cbuf-dir")
        # 4 + 2 * 2040 + 8 = 4092 bytes: just under the default (PATH_MAX + 7).
        long_cwd = "CWD " + "./" * 2040 + "cbuf-dir"
        check(r.cmd(long_cwd).code == 250, "CWD of %d bytes refused" % len(long_cwd))
        pwd = r.cmd("PWD")
        check(pwd.code == 257 and 'cbuf-dir"' in pwd.text, "PWD after the long CWD: %r" % pwd)
        check(r.cmd("CWD ..").code == 250, "CWD ..")
        r.send("NOOP\r\n" * 700 + long_cwd + "\r\nPWD\r\n")
        codes = [r.reply().code for _ in range(700)]
        check(codes == [200] * 700, "burst of NOOPs: %r" % sorted(set(codes)))
        check(r.reply().code == 250, "long CWD inside the burst refused")
        pwd = r.reply()
        check(pwd.code == 257 and 'cbuf-dir"' in pwd.text, "PWD after the burst: %r" % pwd)
        check(r.cmd("QUIT").code == 221, "QUIT")
    finally:
        r.close()
