#!/usr/bin/env python3
"""Init process of a peer server's private namespaces (used by bench/peers.py).

    unshare --mount --pid --fork --kill-child -- \
        python3 bench/reaper.py [--bind SRC DST]... -- SERVER ARGS...

Why it exists: Pure-FTPd and vsftpd run each session as several processes,
and the parent of some of them exits first (Pure-FTPd's privileged helper,
vsftpd's logged-in child).  Such orphans are normally re-parented to the
system's init, so their CPU time never reaches the server master's
cutime/cstime and a per-session CPU figure read from the master would be too
low.  This process is PID 1 of a fresh PID namespace, so every orphan of the
server is re-parented to it; it reaps them, and the kernel adds their CPU time
to *its* cutime/cstime, which the bench reads from /proc.

It also gives the peer a private mount namespace: each --bind mounts a file or
directory from the bench workspace over a system path (vsftpd's PAM and user
database, Pure-FTPd's compiled-in /run/pure-ftpd scoreboard), visible only to
this process tree.  Nothing on the host changes, and the mounts vanish with
the namespace.

When the server exits (the bench sends this process SIGTERM, which is passed
on to the server), this process exits with the server's status; the kernel
then kills whatever is left in the PID namespace.  Standard library only.
"""

import os
import signal
import subprocess
import sys


def parse(argv):
    """Split argv into [(src, dst)] bind mounts and the server command."""
    binds = []
    i = 0
    while i < len(argv) and argv[i] != "--":
        if argv[i] != "--bind" or i + 2 >= len(argv):
            sys.exit("usage: reaper.py [--bind SRC DST]... -- COMMAND ARGS...")
        binds.append((argv[i + 1], argv[i + 2]))
        i += 3
    cmd = argv[i + 1:]
    if not cmd:
        sys.exit("reaper.py: no command given")
    return binds, cmd


def main(argv):
    binds, cmd = parse(argv)
    if os.getpid() != 1:
        sys.exit("reaper.py: must be PID 1 of a new PID namespace (unshare --pid --fork)")
    for src, dst in binds:
        # unshare --mount made every mount private, so this stays in our namespace
        subprocess.run(["mount", "--bind", src, dst], check=True)

    server = os.fork()
    if server == 0:
        try:
            os.execvp(cmd[0], cmd)
        finally:
            os._exit(127)

    def forward(signum, frame):
        # PID 1 ignores signals it has no handler for: pass them on to the server
        try:
            os.kill(server, signal.SIGTERM)
        except ProcessLookupError:
            pass

    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, forward)

    status = 0
    while True:
        try:
            pid, wstatus = os.waitpid(-1, 0)     # reaps the server's orphans too
        except ChildProcessError:
            break
        if pid == server:
            status = os.waitstatus_to_exitcode(wstatus)
            break
    # exiting as PID 1 makes the kernel kill the rest of the namespace
    return status if status >= 0 else 128 - status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
