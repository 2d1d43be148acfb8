"""Attack/robustness: SIGHUP reloads with other modules loaded before
mod_ftps. On SIGHUP mod_dso unloads every DSO and loads it again, possibly
at another address (other modules, or a new file on disk); nothing mod_ftps
registered with OpenSSL may point into the unloaded copy, or the master
crashes on its next SSL_free (B26: after each reload, assert the master
still serves an FTPS login and a checksummed transfer)."""

import os
import re
import shutil
import signal
import time

from ftpslib import (CONFIG, SYSTEM_MODULE_DIR, TestFailure, check, fresh_server, ftp_login,
                     mkdtemp, pki, quit_quietly, retr_bytes, session_works, sha256, Server)

RELOADS = 20
REPARSE = "master server reparsing configuration file"


def other_modules():
    """LoadModule lines for the modules loaded before mod_ftps."""
    lines = ["ModulePath " + SYSTEM_MODULE_DIR]
    have = lambda mod: os.path.exists(os.path.join(SYSTEM_MODULE_DIR, mod + ".so"))
    # mod_sql refuses every session without a backend (Debian package
    # proftpd-mod-sqlite); mod_readme is optional.
    check(have("mod_sftp") and have("mod_sql") and have("mod_sql_sqlite"),
          "needs mod_sftp, mod_sql and mod_sql_sqlite (apt-get install proftpd-mod-sqlite)")
    for mod in ("mod_sftp", "mod_sql", "mod_sql_sqlite", "mod_readme"):
        if have(mod):
            lines.append("LoadModule %s.c" % mod)
    return lines


# mod_sql with no SQLConnectInfo refuses every session unless it is off.
OTHER_CONFIG = ["<IfModule mod_sql.c>", "  SQLEngine off", "</IfModule>"]


def wait_reloaded(srv, n, timeout=15):
    """The n-th reparse has started (SystemLog) and the master, which serves
    nothing until the reparse is over, accepts an FTPS session again."""
    end = time.monotonic() + timeout
    while srv.system_log().count(REPARSE) < n:
        check(srv.alive(), "master died during reload %d:\n%s" % (n, srv.diagnostics()))
        if time.monotonic() > end:
            raise TestFailure("reload %d not logged within %ss" % (n, timeout))
        time.sleep(0.05)         # poll interval, not synchronisation
    try:
        session_works(srv)
    except (OSError, EOFError) as e:
        raise TestFailure("no FTPS session after reload %d (%r); master alive: %s\n%s"
                          % (n, e, srv.alive(), srv.diagnostics()))


def transfer_works(srv):
    ftp = ftp_login(srv)
    try:
        data = retr_bytes(ftp, "big.bin")
        check(sha256(data) == srv.files["big.bin"], "RETR big.bin: wrong bytes")
    finally:
        quit_quietly(ftp)


def reload_many(srv, between=None, first=1):
    pid = srv.proc.pid
    transfer_works(srv)
    for n in range(first, first + RELOADS):
        if between is not None:
            between(n)
        os.kill(pid, signal.SIGHUP)
        wait_reloaded(srv, n)
        check(srv.alive() and srv.proc.pid == pid, "master gone after reload %d:\n%s"
              % (n, srv.diagnostics()))
    transfer_works(srv)
    check(srv.alive(), "master died")
    bad = [l for l in srv.system_log().splitlines() + srv.read_log(srv.stderr_path).splitlines()
           if re.search(r"stack smashing|signal 11|SIGSEGV|segfault", l, re.I)]
    check(not bad, "crash lines: %s" % bad[:5])


def toggle_module(srv, mod, off):
    with open(srv.conf_path) as f:
        conf = f.read()
    on_line, off_line = "LoadModule %s.c\n" % mod, "# LoadModule %s.c\n" % mod
    conf = conf.replace(off_line, on_line)
    if off:
        conf = conf.replace(on_line, off_line)
    with open(srv.conf_path, "w") as f:
        f.write(conf)


def test_attack_reload_with_modules_loaded_before():
    srv = Server(head=other_modules(), extra=OTHER_CONFIG)
    rc, out = srv.syntax_check()
    check(rc == 0, "proftpd -t: %s" % out[-800:])
    srv.start()
    srv.private = True
    reload_many(srv)
    # Then with the module set changing between reloads.
    reload_many(srv, between=lambda n: toggle_module(srv, "mod_sftp", n % 2 == 1),
                first=RELOADS + 1)


def test_attack_reload_module_file_replaced():
    """The .so is replaced by a fresh copy (a new inode) before each reload."""
    moddir = mkdtemp("ftps-moddir-")
    so = os.path.join(moddir, "mod_ftps.so")
    shutil.copy2(CONFIG["module"], so)
    srv = Server(head=other_modules(), extra=OTHER_CONFIG)
    with open(srv.conf_path) as f:
        conf = f.read()
    old = "ModulePath %s\n" % os.path.dirname(CONFIG["module"])
    check(old in conf, "template has no %r line" % old)
    with open(srv.conf_path, "w") as f:
        f.write(conf.replace(old, "ModulePath %s\n" % moddir))
    srv.start()
    srv.private = True

    def replace(n):
        # Every other reload, mod_sftp (loaded before us) is left out, so
        # the new copy is mapped at another address: pointers kept from
        # the old copy then point at garbage.
        toggle_module(srv, "mod_sftp", n % 2 == 1)
        tmp = so + ".new"
        shutil.copy2(CONFIG["module"], tmp)
        old_ino = os.stat(so).st_ino
        os.rename(tmp, so)
        check(os.stat(so).st_ino != old_ino, "replacement kept the inode")

    reload_many(srv, between=replace)


def test_attack_reload_with_lifecycle_features():
    """The same reload storm with every feature that keeps OpenSSL state per
    context (an OCSP staple, the ticket key ring, client verification and
    the reload watch): nothing any of them registers may outlive the module
    (an ex_data index with a free callback did, for stapling)."""
    from test_stapling import openssl_ocsp_response
    resp = openssl_ocsp_response("reload-staple.der")
    srv = Server(head=other_modules(), extra=OTHER_CONFIG, ftps=[
        "FTPSStapling on", "FTPSStaplingResponse %s" % resp,
        "FTPSSessionTicketKeys age 3600 count 2", "FTPSReload auto 5",
        "FTPSVerifyClient optional", "FTPSCACertificateFile %s" % pki().ca])
    rc, out = srv.syntax_check()
    check(rc == 0, "proftpd -t: %s" % out[-800:])
    srv.start()
    srv.private = True
    reload_many(srv, between=lambda n: toggle_module(srv, "mod_sftp", n % 2 == 1))
