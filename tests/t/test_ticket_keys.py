"""FTPSSessionTicketKeys: the master makes the ticket keys and rotates them
every `age` seconds; the last `count` keys still decrypt. A TLS 1.3 ticket
issued on one control connection resumes a new control connection (a new
session process, forked later) while its key is in the ring, and makes a
full handshake once it was rotated out. (TLS 1.2 control connections only
resume their own FTP session's tickets, so cross-process resumption is
tested with TLS 1.3.) Data connections keep their binding: see
test_attack_tickets.py and test_attack_resumption.py."""

import re
import ssl
import time

from ftpslib import Raw, Server, check, server

AGE, COUNT = 2, 3


def ctx13(srv):
    ctx = srv.pki.client_context()
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    return ctx


def ticket(srv, ctx, session=None):
    """A control connection (offering session); returns (resumed, the
    ticket it got). TLS 1.3 tickets arrive after the handshake: one reply
    read over TLS brings them."""
    r = Raw(srv)
    check(r.cmd("AUTH TLS").code == 234, "AUTH TLS refused")
    r.starttls(context=ctx, session=session)
    check(r.cmd("NOOP").code == 200, "NOOP over TLS")
    resumed = r.sock.session_reused
    got = r.sock.session
    r.cmd("QUIT")
    r.close()
    return resumed, got


def test_ticket_keys_rotation_older_key_resumes_rotated_out_does_not():
    srv = server(ftps=["FTPSSessionTicketKeys age %d count %d" % (AGE, COUNT)])
    ctx = ctx13(srv)
    resumed, first = ticket(srv, ctx)
    check(not resumed, "first connection resumed")
    # Same key: another session process resumes it.
    resumed, _ = ticket(srv, ctx, first)
    check(resumed, "a ticket of the current key did not resume in a new "
          "session process")
    # 1 or 2 rotations later (count - 1 at most): still in the ring.
    time.sleep(AGE * 1.5)
    resumed, _ = ticket(srv, ctx, first)
    check(resumed, "a ticket of a previous key (< count rotations ago) did "
          "not resume")
    # More than count rotations after it was issued: a full handshake.
    time.sleep(AGE * COUNT + 1.5)
    resumed, fresh = ticket(srv, ctx, first)
    check(not resumed, "a ticket whose key was rotated out still resumed")
    # The newest key works: the fresh ticket resumes.
    resumed, _ = ticket(srv, ctx, fresh)
    check(resumed, "a ticket of the newest key did not resume")


def test_ticket_keys_default_keeps_tickets():
    """Default ring (age 43200, count 3): tickets resume across sessions."""
    srv = server()
    ctx = ctx13(srv)
    _, first = ticket(srv, ctx)
    resumed, _ = ticket(srv, ctx, first)
    check(resumed, "default ring: ticket did not resume in a new session")


def test_ticket_keys_new_ring_after_restart():
    """SIGHUP makes a fresh ring (the module may be reloaded; the old keys
    are wiped): an older ticket makes a full handshake, new ones resume."""
    import os
    import signal
    srv = Server(ftps=["FTPSSessionTicketKeys age 3600 count 2"]).start()
    srv.private = True
    ctx = ctx13(srv)
    _, first = ticket(srv, ctx)
    os.kill(srv.proc.pid, signal.SIGHUP)
    time.sleep(1.5)
    resumed, fresh = ticket(srv, ctx, first)
    check(not resumed, "a ticket from before the restart resumed")
    resumed, _ = ticket(srv, ctx, fresh)
    check(resumed, "a ticket of the new ring did not resume")


def _bad(lines, reason):
    srv = Server(ftps=lines, files=False)
    rc, out = srv.syntax_check()
    check(rc != 0, "proftpd -t accepted %r" % lines)
    check(re.search("FTPSSessionTicketKeys", out), "no directive name: %s" % out[-300:])
    check(re.search(reason, out), "no reason %r: %s" % (reason, out[-300:]))


def test_ticket_keys_config_errors():
    _bad(["FTPSSessionTicketKeys age 0"], "from 1 to")
    _bad(["FTPSSessionTicketKeys count 33"], "from 1 to 32")
    _bad(["FTPSSessionTicketKeys lifetime 5"], "unknown parameter")
    _bad(["FTPSSessionTicketKeys age 5 age 6"], "twice")
    _bad(["FTPSSessionTicketKeys age 5", "FTPSSessionTicketKeys age 6"],
         "duplicate")
