"""Issue 12: a farm of FTPS nodes sharing TLS sessions and ticket keys
through a real Redis (started here on a free loopback port, with a
password). Two proftpd masters, "node A" on 127.0.0.1 and "node B" on
127.0.0.2 (ports of their own), share that Redis and FTPSSharedKeyFile.

What must hold: a TLS 1.2 session (by ID) and TLS 1.2 and 1.3 tickets from
node A resume node B's control connection; B's data connections still need
B's own control session; a session never resumes under other verification
settings; ticket keys rotated by one node are used by the other; and with
Redis stopped, frozen (SIGSTOP), behind a wrong password, or full of
garbage, every client still logs in and transfers (checksums), and the
logs say why. A node with another shared key reads nothing of ours."""

import ftplib
import os
import re
import ssl
import time

from ftpslib import (PASSWORD, USER, ReuseFTP_TLS, check, log, quit_quietly,
                     recv_all, retr_bytes, sha256)
from farmlib import (Redis, client_ctx, control, enable_ctrls, key_file, node,
                     session_of, sessions_stats)

TLS12 = ssl.TLSVersion.TLSv1_2
TLS13 = ssl.TLSVersion.TLSv1_3
NO_TICKETS = ["FTPSSessionTickets off"]   # TLS 1.2 then resumes by session ID


def farm(ftps_a=(), ftps_b=(), tickets="", ctrls=False):
    redis = Redis().start()
    key = key_file()
    a = node(redis, key, "127.0.0.1", ftps=ftps_a, tickets=tickets, start=False)
    b = node(redis, key, "127.0.0.2", ftps=ftps_b, tickets=tickets, start=False)
    if ctrls:
        enable_ctrls(a)
        enable_ctrls(b)
    try:
        a.start()
        b.start()
    except Exception:
        stop_all(redis, a, b)     # never leave a redis-server behind
        raise
    return redis, key, a, b


def transfer(srv, ctx=None, name="small.bin"):
    """Log in on srv, fetch name over a protected data connection; checksum."""
    ftp = ReuseFTP_TLS(context=ctx or client_ctx(srv), timeout=15)
    ftp.connect(srv.host, srv.port)
    ftp.login(USER, PASSWORD)
    ftp.prot_p()
    data = retr_bytes(ftp, name)
    quit_quietly(ftp)
    check(sha256(data) == srv.files[name], "%s: checksum differs on %s" % (name, srv.host))


def log_text(srv):
    text = ""
    for p in (srv.ftps_log_path, srv.system_log_path, srv.stderr_path):
        try:
            with open(p, errors="replace") as f:
                text += f.read()
        except OSError:
            pass
    return text


def wait_for(cond, within, what):
    end = time.monotonic() + within
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.2)
    check(False, "timed out waiting for " + what)


def data_on(r, session):
    """PROT P, PASV, RETR small.bin on a data connection offering session;
    (reply, bytes or None)."""
    check(r.cmd("PBSZ 0").code == 200, "PBSZ")
    check(r.cmd("PROT P").code == 200, "PROT P")
    check(r.cmd("TYPE I").code == 200, "TYPE I")
    port = r.pasv()
    r.send("RETR small.bin\r\n")
    try:
        s = r.data_connect(port, tls=True, session=session, context=r.sock.context)
        data = recv_all(s)
        s.close()
    except (OSError, ssl.SSLError):
        data = None
    reply = r.reply()
    while reply.code < 200:
        reply = r.reply()
    return reply, data


def stop_all(redis, *nodes):
    for n in nodes:
        n.stop()
    redis.stop()


def test_farm_tls12_session_id_resumes_on_other_node_data_stays_bound():
    redis, _, a, b = farm(NO_TICKETS, NO_TICKETS, ctrls=True)
    try:
        ctx = client_ctx(a, maxv=TLS12)
        resumed, sess = session_of(a, ctx)
        check(not resumed, "first connection resumed")
        check(sess.has_ticket is False, "a TLS 1.2 ticket despite FTPSSessionTickets off")
        check(any(".s." in k for k in redis.keys()), "no session entry in Redis: %r"
              % redis.keys())
        # Node B resumes node A's session on its control connection ...
        r, resumed = control(b, ctx, sess)
        check(resumed, "node B did not resume node A's TLS 1.2 session (by ID)")
        r.login()
        # ... and its data connections resume B's control session (rebound).
        reply, data = data_on(r, "control")
        check(reply.code == 226 and data is not None and sha256(data) == b.files["small.bin"],
              "data connection on B with B's control session: %r" % reply)
        # A session of another FTP session never opens B's data connection.
        _, other = session_of(a, ctx)
        reply, data = data_on(r, other)
        check(reply.code != 226, "a data connection with another FTP session's TLS "
              "session was accepted: %r" % reply)
        r.cmd("QUIT")
        r.close()
        st = sessions_stats(b)
        log("node B: %r" % st)
        check(int(st.get("shared cache hits (Redis)", "0")) >= 1,
              "ftpdctl ftps sessions shows no shared hit: %r" % st)
        transfer(a, ctx)
        transfer(b, ctx)
    finally:
        stop_all(redis, a, b)


def test_farm_tls12_and_tls13_tickets_resume_on_other_node():
    redis, _, a, b = farm()
    try:
        for v in (TLS12, TLS13):
            ctx = client_ctx(a, minv=v, maxv=v)
            resumed, sess = session_of(a, ctx)
            check(not resumed and sess.has_ticket, "%s: no ticket from node A" % v)
            resumed, _ = session_of(b, ctx, sess)
            check(resumed, "%s: node A's ticket did not resume on node B" % v)
            transfer(b, ctx)
    finally:
        stop_all(redis, a, b)


def test_farm_other_verification_settings_do_not_resume():
    """Node B's vhost verifies client certificates (same ServerName): a
    session or ticket made under A's settings makes a full handshake on B."""
    redis = Redis().start()
    key = key_file()
    a = node(redis, key, "127.0.0.1", ftps=NO_TICKETS)
    ca = a.pki.ca
    b = node(redis, key, "127.0.0.2", ftps=NO_TICKETS + [
        "FTPSVerifyClient optional", "FTPSCACertificateFile %s" % ca])
    try:
        for v in (TLS12, TLS13):
            ctx = client_ctx(a, minv=v, maxv=v)
            resumed, sess = session_of(a, ctx)
            resumed, _ = session_of(b, ctx, sess)
            check(not resumed, "%s: a session from node A resumed under node B's client "
                  "certificate settings" % v)
            transfer(b, ctx)
    finally:
        stop_all(redis, a, b)


def test_farm_ticket_keys_rotated_by_one_node_used_by_other():
    redis, _, a, b = farm(tickets="age 3 count 3")
    try:
        ctx = client_ctx(a, minv=TLS13, maxv=TLS13)
        name = [k for k in redis.keys() if k.endswith("ticketkeys")]
        check(len(name) == 1, "no shared ticket ring in Redis: %r" % redis.keys())
        first = redis.cli("GET", name[0])
        # After a rotation (by whichever node held the lock), both use it.
        wait_for(lambda: redis.cli("GET", name[0]) != first, 15, "a rotated ring")

        # The other node adopts the rotated ring at its next tick (<= age):
        # poll for that instead of sleeping, with fresh tickets each time.
        def resumes(x, y):
            _, sess = session_of(x, ctx)
            return session_of(y, ctx, sess)[0]

        for x, y in ((a, b), (b, a)):
            wait_for(lambda: resumes(x, y), 15,
                     "a ticket from %s (new key) resuming on %s" % (x.host, y.host))
    finally:
        stop_all(redis, a, b)


def test_farm_redis_stopped_then_back():
    redis, _, a, b = farm(NO_TICKETS, NO_TICKETS)
    try:
        ctx = client_ctx(a, maxv=TLS12)
        transfer(a, ctx)
        redis.stop()
        t0 = time.monotonic()
        for n in (a, b, a, b):
            transfer(n, ctx)
        log("4 logins+transfers with Redis down: %.2fs" % (time.monotonic() - t0))
        check("Redis unavailable" in log_text(a), "node A did not log the outage")
        check(log_text(a).count("farm: Redis unavailable") <= 2,
              "the outage was logged more than once per log")
        redis.start()
        time.sleep(1.2)          # FARM_RETRY_SECS
        transfer(a, ctx)
        transfer(a, ctx)
        wait_for(lambda: "Redis is back" in log_text(a), 10, "'Redis is back'")
    finally:
        stop_all(redis, a, b)


def test_farm_redis_frozen_sigstop():
    redis, _, a, b = farm(NO_TICKETS, NO_TICKETS)
    try:
        ctx = client_ctx(a, maxv=TLS12)
        redis.pause()
        try:
            t0 = time.monotonic()
            transfer(a, ctx)
            transfer(b, ctx)
            took = time.monotonic() - t0
            log("2 logins+transfers with Redis frozen: %.2fs" % took)
            check(took < 8, "a frozen Redis held clients for %.1fs" % took)
        finally:
            redis.resume()
        check("Redis unavailable" in log_text(a) + log_text(b), "no outage logged")
    finally:
        stop_all(redis, a, b)


def test_farm_wrong_redis_password():
    redis = Redis().start()
    key = key_file()
    a = node(redis, key, "127.0.0.1", password="not-the-password", ftps=NO_TICKETS)
    try:
        ctx = client_ctx(a, maxv=TLS12)
        transfer(a, ctx)
        transfer(a, ctx)
        check(redis.keys() == [], "entries written despite a wrong password")
        check("Redis unavailable" in log_text(a), "node did not log why Redis is unused")
    finally:
        stop_all(redis, a)


def test_farm_garbage_entries_and_other_key():
    redis, key, a, b = farm(NO_TICKETS, NO_TICKETS, ctrls=True)
    c = None
    try:
        ctx = client_ctx(a, maxv=TLS12)
        _, sess = session_of(a, ctx)
        for k in redis.keys():
            redis.cli("SET", k, "garbage written by hand")
        r, resumed = control(b, ctx, sess)
        r.close()
        check(not resumed, "node B resumed from a garbage entry")
        st = sessions_stats(b)
        check(int(st.get("shared entries refused (cannot authenticate)", "0")) >= 1,
              "garbage not counted: %r" % st)
        transfer(b, ctx)
        # A node with another shared key reads nothing of this farm.
        _, sess = session_of(a, ctx)
        c = node(redis, key_file(), "127.0.0.2", ftps=NO_TICKETS)
        r, resumed = control(c, ctx, sess)
        r.close()
        check(not resumed, "a node with another FTPSSharedKeyFile resumed our session")
        transfer(c, ctx)
    finally:
        stop_all(redis, a, b, *([c] if c else []))


def test_farm_config_needs_a_proper_key_file():
    """FTPSSessionCache redis without FTPSSharedKeyFile, or with a key file
    that is group-readable or not 32 bytes: the server refuses to start and
    says why."""
    redis = Redis()        # never started: the checks come first
    bad = []
    k644 = key_file()
    os.chmod(k644, 0o644)
    kshort = key_file(os.urandom(16))
    for key, want in ((k644, "mode 0600"), (kshort, "exactly 32 bytes")):
        srv = node(redis, key, start=False)
        try:
            srv.start(deadline=5)
            bad.append("started with a bad key file (%s)" % want)
        except Exception as e:
            if want not in str(e) and want not in log_text(srv):
                bad.append("no reason (%s) given: %s" % (want, e))
        finally:
            srv.stop()
    srv = node(redis, k644, start=False)
    with open(srv.conf_path) as f:
        conf = f.read()
    with open(srv.conf_path, "w") as f:
        f.write(re.sub(r"\n *FTPSSharedKeyFile [^\n]*", "", conf))
    try:
        srv.start(deadline=5)
        bad.append("started without FTPSSharedKeyFile")
    except Exception as e:
        if "FTPSSharedKeyFile" not in str(e) + log_text(srv):
            bad.append("no reason given without FTPSSharedKeyFile: %s" % e)
    finally:
        srv.stop()
    check(not bad, "; ".join(bad))
