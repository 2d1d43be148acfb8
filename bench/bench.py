#!/usr/bin/env python3
"""Performance benchmark: plain FTP, mod_ftps, ProFTPD's mod_tls, Pure-FTPd
and vsftpd, side by side in one run (issue 13).

    make bench [BENCH_ARGS="--quick"]
    python3 bench/bench.py --module /abs/path/mod_ftps.so [--quick] [--rounds N]
                           [--only retr,stor,sessions,small,memory,limits]
                           [--peers none|all|pure-ftpd,vsftpd]

Runs as root.  Starts private proftpd instances (same binary, same config apart
from the TLS module) and the peer servers unpacked by bench/get-peers, each on
its own port on 127.0.0.1, and measures them in interleaved rounds.  Prints a
markdown table on stdout and writes bench/results/<timestamp>.json.  See
bench/README.md.

Python 3 standard library only.
"""

import argparse
import ftplib
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import benchlib as B  # noqa: E402
import peers as P  # noqa: E402
import report as R  # noqa: E402
from benchlib import BenchError, log  # noqa: E402

METRICS = ("retr", "stor", "sessions", "small", "memory", "limits")
GIB = 1 << 30
MB = 1e6

FULL = dict(rounds=5, size=1 << 30, sessions=100, small=200, idle=50, copy=1 << 30)
QUICK = dict(rounds=2, size=256 << 20, sessions=30, small=100, idle=20, copy=256 << 20)

# control port = --port-base + offset; the -rsa instances serve only "sessions"
PORT_OFFSET = {"plain": 0, "mod_ftps": 1, "mod_tls": 2, "mod_ftps-rsa": 3, "mod_tls-rsa": 4,
               "pure-ftpd": 5, "vsftpd": 6, "pure-ftpd-rsa": 7, "vsftpd-rsa": 8}
PROFTPD_KIND = {"plain": "plain", "mod_ftps": "ftps", "mod_tls": "tls"}


def _raise(e):
    raise e


class Interrupted(BaseException):
    def __init__(self, signum):
        super().__init__("signal %d" % signum)
        self.signum = signum


# --------------------------------------------------------------------------
# Measurements (each returns {metric_key: value})
# --------------------------------------------------------------------------

def live_cpu(srv):
    """CPU seconds the instance's session processes have used so far
    (schedstat, ns resolution), summed over all of them."""
    return sum(B.proc_runtime(p) for p in srv.session_pids())


class Bench:
    def __init__(self, args, cfg, ws):
        self.args, self.cfg, self.ws = args, cfg, ws
        self.ctx = B.client_context(args.tls)

    # --- curl transfers ---------------------------------------------------
    def _curl(self, srv, extra, url_name, want_field):
        cmd = ["curl", "-sS", "--max-time", "1200", "--user", "%s:%s" % (B.USER, B.PASSWORD)]
        if srv.kind != "plain":
            cmd += ["--ssl-reqd", "-k"]
            cmd += ["--tlsv1.3"] if self.args.tls == "1.3" else ["--tlsv1.2", "--tls-max", "1.2"]
        cmd += extra + ["-o", "/dev/null", "-w",
                        "%%{time_total} %%{time_pretransfer} %%{%s}" % want_field,
                        "ftp://%s:%d/%s" % (B.HOST, srv.port, url_name)]
        srv.check_alive()
        cpu0 = srv.wait_ready()
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        rc, out, err = B.run_client(cmd, timeout=1300)
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu1 = srv.wait_quiet()
        if rc != 0:
            raise BenchError("curl exit %d: %s" % (rc, err.strip()[-400:]))
        try:
            total, pre, size = (float(x) for x in out.split())
        except ValueError:
            raise BenchError("cannot parse curl -w output %r" % out)
        if int(size) != self.cfg["size"]:
            raise BenchError("curl moved %d bytes, want %d" % (size, self.cfg["size"]))
        xfer = total - pre
        cli = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
        return dict(mbps_total=size / total / MB,
                    mbps_xfer=size / xfer / MB if xfer > 0 else float("nan"),
                    srv_cpu_per_gib=(cpu1 - cpu0) / (size / GIB),
                    cli_cpu_per_gib=cli / (size / GIB),
                    time_total=total, time_pretransfer=pre)

    def retr(self, srv):
        r = self._curl(srv, [], "big.bin", "size_download")
        return {"retr_" + k: v for k, v in r.items()}

    def stor(self, srv):
        name = "up-%s.bin" % srv.name
        try:
            r = self._curl(srv, ["-T", self.big_path], name, "size_upload")
            got = os.path.getsize(os.path.join(self.ws.home, name))
            if got != self.cfg["size"]:
                raise BenchError("uploaded file has %d bytes, want %d" % (got, self.cfg["size"]))
        finally:
            try:
                os.unlink(os.path.join(self.ws.home, name))
            except FileNotFoundError:
                pass
        return {"stor_" + k: v for k, v in r.items()}

    # --- sessions ---------------------------------------------------------
    def one_session(self, srv, probe=None):
        """AUTH TLS + login + PBSZ/PROT P + PASV + LIST + QUIT (plain: no TLS).
        probe() runs between LIST and QUIT; returns the (wall, client CPU)
        seconds it took, for the caller to take out of its timings."""
        ftp = B.open_session(srv.kind, srv.port, self.ctx)
        spent = (0.0, 0.0)
        try:
            lines = []
            ftp.retrlines("LIST", lines.append)
            if not any("big.bin" in l or "small.bin" in l for l in lines):
                raise BenchError("LIST did not show the bench files: %r" % lines[:3])
            if probe:
                t, c = time.perf_counter(), time.process_time()
                probe()
                spent = (time.perf_counter() - t, time.process_time() - c)
            ftp.quit()
        finally:
            ftp.close()
        return spent

    def sessions_seq(self, servers):
        """Sequential sessions, round-robin over the servers (one session on
        each in turn, so drift hits all alike).  Each session starts only when
        its master is ready (see Instance.wait_ready), so ProFTPD's 400 ms
        post-exit accept pause is not timed.  Before each QUIT the CPU its
        processes have used so far is read ("live"), to check that the CPU
        counted after the session (reaped by the master) is complete.
        Returns ({name: result}, {name: error})."""
        n = self.cfg["sessions"]
        st = {}
        for srv in servers:
            srv.check_alive()
            st[srv.name] = dict(lat=[], cli=0.0, live=0.0, cpu0=srv.wait_ready(), err=None)
        for _ in range(n):
            for srv in servers:
                s = st[srv.name]
                if s["err"]:
                    continue

                def probe(srv=srv, s=s):
                    s["live"] += live_cpu(srv)
                try:
                    srv.wait_ready()
                    c0, t = time.process_time(), time.perf_counter()
                    wall_p, cpu_p = self.one_session(srv, probe)
                    s["lat"].append(time.perf_counter() - t - wall_p)
                    s["cli"] += time.process_time() - c0 - cpu_p
                except (BenchError,) + ftplib.all_errors as e:
                    s["err"] = e
        out, errs = {}, {}
        for srv in servers:
            s = st[srv.name]
            if s["err"]:
                errs[srv.name] = s["err"]
                continue
            try:
                cpu1 = srv.wait_quiet()
            except BenchError as e:
                errs[srv.name] = e
                continue
            out[srv.name] = dict(seq_per_s=n / sum(s["lat"]),
                                 p50_ms=statistics.median(s["lat"]) * 1000,
                                 cpu_ms=(cpu1 - s["cpu0"]) * 1000 / n,
                                 live_cpu_ms=s["live"] * 1000 / n,
                                 cli_cpu_ms=s["cli"] * 1000 / n)
        return out, errs

    def sessions_par(self, srv, parallel=2):
        """n sessions from `parallel` client threads, wall clock (includes
        ProFTPD's accept pause after each session exit)."""
        n = self.cfg["sessions"]
        lat, errs = [], []

        def worker(count):
            try:
                for _ in range(count):
                    t = time.perf_counter()
                    self.one_session(srv)
                    lat.append(time.perf_counter() - t)
            except Exception as e:      # reported by the main thread
                errs.append(e)

        srv.check_alive()
        cpu0 = srv.wait_ready()
        t0 = time.perf_counter()
        counts = [n // parallel + (1 if i < n % parallel else 0) for i in range(parallel)]
        ths = [threading.Thread(target=worker, args=(c,), daemon=True) for c in counts]
        for t in ths:
            t.start()
        for t in ths:
            t.join()
        wall = time.perf_counter() - t0
        cpu1 = srv.wait_quiet()
        if errs:
            raise BenchError("session failed: %s: %s" % (type(errs[0]).__name__, errs[0]))
        return dict(par_per_s=n / wall, par_p50_ms=statistics.median(lat) * 1000,
                    par_cpu_ms=(cpu1 - cpu0) * 1000 / n)

    # --- many small RETRs in one session ----------------------------------
    def small(self, srv):
        """One session, N x RETR of a 4 KiB file, each on its own (TLS) data
        connection; CPU summed over all the session's processes."""
        n = self.cfg["small"]
        srv.check_alive()
        srv.wait_ready()
        ftp = B.open_session(srv.kind, srv.port, self.ctx)
        try:
            ftp.voidcmd("TYPE I")
            if len(srv.wait_sessions(1)) != 1:
                raise BenchError("want 1 session, found %d" % len(srv.session_trees()))
            pids = srv.settled_session_pids()
            got = []
            cpu0 = sum(B.proc_runtime(p) for p in pids)
            t0 = time.perf_counter()
            for _ in range(n):
                buf = []
                ftp.retrbinary("RETR small.bin", buf.append)
                got.append(sum(map(len, buf)))
            wall = time.perf_counter() - t0
            cpu1 = sum(B.proc_runtime(p) for p in pids)
            after = sorted(srv.session_pids())
            if after != pids:
                raise BenchError("the session's processes changed during the RETRs (%s -> %s); "
                                 "their CPU cannot be summed" % (pids, after))
            if set(got) != {4096}:
                raise BenchError("small RETR sizes %r, want 4096" % sorted(set(got)))
            # mod_ftps and mod_tls require resumption: anything less is a bug.
            # The peers are measured as they are; the resumed share is reported.
            if srv.kind in ("ftps", "tls") and ftp.data_reused != ftp.data_conns:
                raise BenchError("only %d of %d data connections resumed the TLS session"
                                 % (ftp.data_reused, ftp.data_conns))
            ftp.quit()
        finally:
            ftp.close()
        srv.wait_quiet()
        out = dict(small_dc_per_s=n / wall, small_cpu_ms_per_dc=(cpu1 - cpu0) * 1000 / n,
                   small_processes=len(pids))
        if srv.kind != "plain":
            out["small_resumed_pct"] = 100.0 * ftp.data_reused / max(ftp.data_conns, 1)
        return out

    # --- memory of idle sessions -----------------------------------------
    def memory(self, srv):
        """N sessions, each logged in (TLS + PROT P) and after ONE LIST over
        its protected data connection, all idle; PSS per session = summed
        over the session's processes."""
        n = self.cfg["idle"]
        srv.check_alive()
        srv.wait_ready()
        conns = []
        try:
            for _ in range(n):
                ftp = B.open_session(srv.kind, srv.port, self.ctx)
                conns.append(ftp)
                ftp.retrlines("LIST", lambda line: None)
            srv.wait_sessions(n)
            srv.settled_session_pids()
            trees = srv.session_trees()
            if len(trees) != n:
                raise BenchError("want %d sessions, found %d" % (n, len(trees)))
            pss = [B.pss_tree_kib(pids) for pids in trees.values()]
            procs = [len(pids) for pids in trees.values()]
            master = B.pss_kib(srv.pid)
        finally:
            for c in conns:
                B.close_quietly(c)
        srv.wait_quiet()
        return dict(pss_idle_kib=statistics.median(pss), pss_master_kib=master,
                    pss_processes_per_session=statistics.median(procs))

    # --- machine limits ---------------------------------------------------
    def limits(self):
        rc, out, err = B.run_client(["openssl", "speed", "-evp", "aes-256-gcm", "-bytes", "16384",
                                     "-seconds", "2"], timeout=120)
        m = re.search(r"^aes-256-gcm\s+([\d.]+)k\s*$", out, re.IGNORECASE | re.MULTILINE)
        if rc != 0 or not m:
            raise BenchError("openssl speed failed (exit %d): %s" % (rc, (out + err)[-300:]))
        aes = float(m.group(1)) * 1000 / MB
        out = dict(aes_gcm_mbps=aes, tcp_loopback_mbps=tcp_copy(self.cfg["copy"]))
        out.update(self.handshake_limits())
        return out

    def handshake_limits(self):
        """What a handshake's public-key operations cost on one core
        (openssl speed), and the server's CPU for the TLS work alone of one
        protected 4 KiB download (resumed TLS 1.3 data connection) and of one
        control connection (full handshake), from bench/handshake_cost: in
        process, no sockets, no ProFTPD; and the two together in a freshly
        forked server process, as a session pays them."""
        out = {}
        rc, txt, err = B.run_client(["openssl", "speed", "-seconds", "1", "ecdhx25519",
                                     "ecdsap256"], timeout=120)
        m = re.search(r"ecdh \(X25519\)\s+[\d.]+s\s+([\d.]+)", txt)
        if rc == 0 and m:
            out["x25519_us"] = 1e6 / float(m.group(1))
        m = re.search(r"ecdsa \(nistp256\)\s+[\d.]+s\s+[\d.]+s\s+([\d.]+)", txt)
        if rc == 0 and m:
            out["ecdsa_sign_us"] = 1e6 / float(m.group(1))
        tool = os.path.join(HERE, "handshake_cost")
        if os.access(tool, os.X_OK):
            cert, key = self.ws.certs["ec"]
            rc, txt, err = B.run_client([tool, cert, key, "2000"], timeout=300)
            m = re.search(r"server_us_per_data_connection ([\d.]+)", txt)
            if rc != 0 or not m:
                raise BenchError("bench/handshake_cost failed (exit %d): %s" % (rc, (txt + err)[-300:]))
            out["tls_dc_floor_us"] = float(m.group(1))
            m = re.search(r"server_us_per_control_connection ([\d.]+)", txt)
            if m:
                out["tls_ctrl_floor_us"] = float(m.group(1))
            m = re.search(r"server_us_per_forked_session ([\d.]+)", txt)
            if m:
                out["tls_forked_session_us"] = float(m.group(1))
        return out


def tcp_copy(nbytes):
    """Loopback TCP throughput: a thread sends nbytes, this thread receives."""
    lsock = socket.socket()
    lsock.bind((B.HOST, 0))
    lsock.listen(1)
    addr = lsock.getsockname()
    err = []

    def sender():
        try:
            with socket.create_connection(addr) as c:
                c.recv(1)                       # go signal
                buf = bytes(1 << 20)
                left = nbytes
                while left > 0:
                    k = c.send(buf if left >= len(buf) else buf[:left])
                    left -= k
        except OSError as e:
            err.append(e)

    th = threading.Thread(target=sender, daemon=True)
    th.start()
    conn, _ = lsock.accept()
    lsock.close()
    buf = bytearray(1 << 20)
    total = 0
    with conn:
        t0 = time.perf_counter()
        conn.sendall(b"g")
        while True:
            k = conn.recv_into(buf)
            if not k:
                break
            total += k
        wall = time.perf_counter() - t0
    th.join()
    if err or total != nbytes:
        raise BenchError("loopback copy moved %d of %d bytes (%s)" % (total, nbytes, err))
    return total / wall / MB


# --------------------------------------------------------------------------
# Options, preflight, plan
# --------------------------------------------------------------------------

def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--module", required=True, help="absolute path of mod_ftps.so")
    ap.add_argument("--quick", action="store_true",
                    help="256 MiB files, 2 rounds, 30 sessions, 100 small RETRs, 20 idle sessions")
    ap.add_argument("--rounds", type=int, help="number of interleaved rounds")
    ap.add_argument("--only", help="comma-separated subset of: " + ",".join(METRICS))
    ap.add_argument("--peers", default="all",
                    help="peer servers to include: none, all (default: every available one) "
                    "or a comma list of " + ",".join(P.PEERS))
    ap.add_argument("--tls", choices=("1.3", "1.2"), default="1.3",
                    help="TLS version the clients insist on (default 1.3)")
    ap.add_argument("--port-base", type=int, default=24000,
                    help="first of the 9 control ports (default 24000, below the kernel's ephemeral range)")
    ap.add_argument("--tmpdir", help="where to create the workspace (default /dev/shm if "
                    "it has room, else $TMPDIR or /tmp)")
    a = ap.parse_args(argv)
    a.metrics = list(METRICS)
    if a.only:
        a.metrics = [m.strip() for m in a.only.split(",") if m.strip()]
        bad = [m for m in a.metrics if m not in METRICS]
        if bad or not a.metrics:
            ap.error("--only: unknown metric(s) %s; choose from %s" % (",".join(bad), ",".join(METRICS)))
    if a.peers == "none":
        a.peer_list = []
    elif a.peers == "all":
        a.peer_list = list(P.PEERS)
    else:
        a.peer_list = [p.strip() for p in a.peers.split(",") if p.strip()]
        bad = [p for p in a.peer_list if p not in P.PEERS]
        if bad or not a.peer_list:
            ap.error("--peers: unknown peer(s) %s; use none, all or a comma list of %s"
                     % (",".join(bad), ",".join(P.PEERS)))
    if a.rounds is not None and a.rounds < 1:
        ap.error("--rounds must be >= 1")
    if not 1024 < a.port_base < 65520:
        ap.error("--port-base out of range")
    return a


def refuse(msg):
    print("bench: %s" % msg, file=sys.stderr)
    sys.exit(2)


def preflight(args):
    if os.geteuid() != 0:
        refuse("run as root (proftpd binds, switches users and chroots)")
    for tool in (B.PROFTPD, B.FTPASSWD, "openssl", "curl"):
        if not shutil.which(tool):
            refuse("'%s' not found" % tool)
    args.module = os.path.abspath(args.module)
    if not os.path.isfile(args.module):
        refuse("module %s not found; run ./configure && make" % args.module)
    if os.path.basename(args.module) != "mod_ftps.so":
        refuse("the module file must be named mod_ftps.so (LoadModule mod_ftps.c)")
    if os.stat(os.path.dirname(args.module)).st_mode & 0o002:
        refuse("%s is world-writable; ProFTPD refuses it as ModulePath" % os.path.dirname(args.module))
    if not os.path.isfile(B.MOD_TLS) and set(args.metrics) - {"limits"}:
        refuse("%s not found; install it with: apt-get install -y proftpd-mod-crypto" % B.MOD_TLS)


def peer_status(args):
    """{peer: None if usable, else a phrase saying why not ("not available
    (reason)", "not requested (...)")}, printed as the bench starts."""
    status = {}
    for p in P.PEERS:
        if p not in args.peer_list:
            status[p] = "not requested (--peers %s)" % args.peers
        elif set(args.metrics) <= {"limits"}:
            status[p] = "not needed (--only limits)"
        else:
            ok, why = P.availability(p)
            status[p] = None if ok else "not available (%s)" % why
        if status[p] is None:
            log("%s: using %s (bench/peers/%s)" % (P.LABELS[p], P.version(p), p))
        else:
            log("%s: %s" % (P.LABELS[p], status[p]))
    return status


def server_plan(args, status):
    """[(name, column, cert)] of the instances this run needs."""
    if set(args.metrics) <= {"limits"}:
        return []
    cols = ["plain", "mod_ftps", "mod_tls"] + [p for p in P.PEERS if status[p] is None]
    plan = [(c, c, None if c == "plain" else "ec") for c in cols]
    if "sessions" in args.metrics:
        plan += [(c + "-rsa", c, "rsa") for c in cols if c != "plain"]
    return plan


def make_instance(ws, args, cfg, name, col, cert, port):
    max_clients = max(100, cfg["idle"] + 20)
    if col in PROFTPD_KIND:
        return B.ProFTPD(ws, name, PROFTPD_KIND[col], cert, port, args.module,
                         max_instances=max_clients)
    return P.make(col, ws, name, cert, port, max_clients)


def file_sha256(path):
    import hashlib
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def tool_versions():
    def first_line(cmd):
        try:
            cp = subprocess.run(cmd, capture_output=True, timeout=20, stdin=subprocess.DEVNULL)
            return (cp.stdout or cp.stderr).decode(errors="replace").splitlines()[0].strip()
        except Exception as e:
            return "unknown (%s)" % e
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"^model name\s*:\s*(.*)$", f.read(), re.MULTILINE)
            cpu = m.group(1) if m else cpu
    except OSError:
        pass
    return dict(proftpd=first_line([B.PROFTPD, "-v"]), openssl=first_line(["openssl", "version"]),
                curl=first_line(["curl", "--version"]), python=platform.python_version(),
                kernel=platform.release(), cpu=cpu, cpus=os.cpu_count(),
                **{p: P.version(p) for p in P.PEERS})


# --------------------------------------------------------------------------
# Run
# --------------------------------------------------------------------------

def drop_peer(servers, status, col, why):
    """Stop every instance of a peer column that failed to start or warm up;
    the bench goes on without it."""
    status[col] = "not available (%s)" % why.strip().replace("\n", " | ")[:600]
    log("%s: %s" % (P.LABELS[col], status[col]))
    for name in [n for n, s in servers.items() if s.col == col]:
        servers.pop(name).stop()


def start_servers(ws, args, cfg, plan, ports, status):
    servers = {}
    for name, col, cert in plan:
        if col in status and status[col] is not None:
            continue                          # this peer already failed
        srv = None
        try:
            srv = make_instance(ws, args, cfg, name, col, cert, ports[name])
            srv.col = col
            srv.start()
        except BenchError as e:
            if col in PROFTPD_KIND:
                raise
            if srv is not None:
                srv.stop()
            drop_peer(servers, status, col, "failed to start: %s" % e)
            continue
        servers[name] = srv
        log("started %s (pid %d, port %d)" % (name, srv.pid, srv.port))
    return servers


def warm_up(bench, servers, status):
    """Fault in code and fill caches; note each instance's negotiated TLS
    version and cipher.  A peer that fails here is dropped."""
    info = {}
    for name, srv in list(servers.items()):
        if name not in servers:
            continue
        try:
            for _ in range(3):
                bench.one_session(srv)
            if srv.kind != "plain":
                ftp = B.open_session(srv.kind, srv.port, bench.ctx)
                info[name] = "%s %s" % (ftp.sock.version(), ftp.sock.cipher()[0])
                B.close_quietly(ftp)
            srv.wait_quiet()
        except (BenchError,) + ftplib.all_errors as e:
            if srv.col in PROFTPD_KIND:
                raise BenchError("%s: warm-up session failed: %s" % (name, e))
            drop_peer(servers, status, srv.col, "warm-up session failed: %s" % e)
    return info


def run_rounds(args, cfg, bench, servers, errors):
    rounds = []

    def measure(rd, col, srv, metric, fn):
        try:
            rd["data"].setdefault(col, {}).update(fn())
        except (BenchError,) + ftplib.all_errors as e:
            msg = "%s: %s" % (type(e).__name__, str(e).strip().splitlines()[0] if str(e).strip() else "")
            errors.append(dict(round=rd["round"], profile=srv.name if srv else "-",
                               metric=metric, error=str(e).strip()[-1500:]))
            log("round %d %s %s FAILED: %s" % (rd["round"], srv.name if srv else "-", metric, msg))

    cols = [c for c in R.COLUMNS if c in servers]
    # (column, cert, server) in interleaving order; plain is cert-independent
    sess_plan = []
    if "sessions" in args.metrics:
        sess_plan = [("plain", None, servers["plain"])] + [
            (col, cert, servers[col if cert == "ec" else col + "-rsa"])
            for cert in ("ec", "rsa") for col in cols[1:]
            if (col if cert == "ec" else col + "-rsa") in servers]

    def sess_keys(cert, res):
        certs = ("ec", "rsa") if cert is None else (cert,)
        return {"sess_%s_%s" % (c, k): v for c in certs for k, v in res.items()}

    def run_sessions(rd):
        seq, errs = bench.sessions_seq([s for _, _, s in sess_plan])
        for col, cert, srv in sess_plan:
            if srv.name in seq:
                rd["data"].setdefault(col, {}).update(sess_keys(cert, seq[srv.name]))
                rd["accounting"][srv.name] = (seq[srv.name]["cpu_ms"], seq[srv.name]["live_cpu_ms"])
            else:
                measure(rd, col, srv, "sessions(seq)", lambda e=errs[srv.name]: _raise(e))
        for col, cert, srv in sess_plan:
            measure(rd, col, srv, "sessions(2 parallel)",
                    lambda k=cert, s=srv: sess_keys(k, bench.sessions_par(s)))

    for r in range(1, cfg["rounds"] + 1):
        rd = {"round": r, "data": {}, "limits": {}, "accounting": {}}
        rounds.append(rd)
        t_round = time.time()
        for metric in args.metrics:
            if metric == "limits":
                try:
                    rd["limits"] = bench.limits()
                except BenchError as e:
                    errors.append(dict(round=r, profile="-", metric="limits", error=str(e)))
                continue
            if metric == "sessions":
                run_sessions(rd)
                continue
            for col in cols:
                srv = servers[col]
                measure(rd, col, srv, metric, lambda s=srv, m=metric: getattr(bench, m)(s))
        R.derive(rd)
        log("round %d/%d done in %.0f s" % (r, cfg["rounds"], time.time() - t_round))
    return rounds


def print_report(args, cfg, info, status, rounds, errors, table, acct_problems, path, elapsed):
    mode = "quick" if args.quick else "full"
    print("## mod_ftps benchmark (%s: %d round%s, %d MiB files, clients insist on TLS %s)\n"
          % (mode, cfg["rounds"], "" if cfg["rounds"] == 1 else "s", cfg["size"] >> 20, args.tls))
    print(table)
    print("\nMedians over rounds; ratios are per-round mod_ftps/other pairs, then their median "
          "(\"max(...)\": the best peer of that round). Targets (issue 13) are informational. "
          "MB = 10^6 bytes.")
    neg = ["%s %s" % (R.LABELS[n], v) for n, v in info.items() if n in R.LABELS]
    if neg:
        print("\nNegotiated on the control connection (ECDSA instances): %s." % "; ".join(neg))
    resumed = ["%s %s%%" % (R.LABELS[c], R.fmt(R.median_or_none(
        [rd["data"].get(c, {}).get("small_resumed_pct") for rd in rounds]), 0))
        for c in R.COLUMNS if c != "plain" and c in info]
    if "small" in args.metrics and resumed:
        print("Data connections that resumed the control connection's TLS session (small "
              "RETRs): %s." % ", ".join(resumed))
    for p in P.PEERS:
        if status[p] is not None:
            print("%s: %s." % (P.LABELS[p], status[p]))
    if "sessions" in args.metrics:
        print("\n¹ A session = connect, AUTH TLS, USER/PASS, PBSZ/PROT P, PASV, LIST, QUIT (plain: "
              "no TLS). Each starts when its server's master is waiting in accept() again; "
              "sessions/s = 1 / mean latency.  \n² Wall clock, 2 client threads; includes the "
              "~400 ms accept pause the ProFTPD 1.3.8 master takes after every session exit "
              "(EINTR retry interval), for the three ProFTPD columns only.  \n³ Master's own "
              "CPU + what it (and, for the peers, their namespace init) reaped; \"above plain\" "
              "= this column − plain, per round, then the median.")
        print("Accounting check (CPU counted after each session ≥ CPU its processes had used "
              "before QUIT): %s." % ("passed for every instance" if not acct_problems
                                     else "FAILED: " + "; ".join(acct_problems)))
    if "small" in args.metrics:
        print("⁴ Summed over every process of the session (/proc/<pid>/schedstat).")
    if "memory" in args.metrics:
        print("⁵ Median over the sessions of each session's summed PSS (all its processes).")
    if errors:
        print("\n**%d measurement(s) failed:**" % len(errors))
        for e in errors:
            print("- round %d, %s, %s: %s" % (e["round"], e["profile"], e["metric"],
                                              e["error"].splitlines()[0][:300]))
    print("\nJSON: %s  (%.0f s)" % (path, elapsed))


def on_signal(signum, frame):
    raise Interrupted(signum)


def main(argv):
    args = parse_args(argv)
    # Installed first: a shell starts background jobs with SIGINT ignored,
    # and a signal during the checks below must not be lost either.
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)
    try:
        return run(args, argv)
    except Interrupted as e:                 # before anything was started
        log("interrupted by signal %d" % e.signum)
        return 128 + e.signum


def run(args, argv):
    cfg = dict(QUICK if args.quick else FULL)
    if args.rounds:
        cfg["rounds"] = args.rounds
    preflight(args)
    status = peer_status(args)
    plan = server_plan(args, status)
    ports = {name: args.port_base + PORT_OFFSET[name] for name, _, _ in plan}
    busy = [p for p in ports.values() if B.port_in_use(p)]
    if busy:
        refuse("port(s) %s on 127.0.0.1 already in use; stop whatever listens there or pick "
               "other ports with --port-base" % ", ".join(map(str, busy)))

    started = time.time()
    ws = None
    errors = []
    try:
        base = B.pick_tmp_base(2 * cfg["size"], args.tmpdir)
        ws = B.Workspace(base)
        log("workspace %s" % ws.dir)
        if plan:
            ws.make_certs()
            ws.make_user()
            ws.write_file("small.bin", 4096)
            if {"retr", "stor"} & set(args.metrics):
                log("writing %d MiB test file" % (cfg["size"] >> 20))
                ws.write_file("big.bin", cfg["size"])
            else:
                ws.write_file("big.bin", 4096)
        bench = Bench(args, cfg, ws)
        bench.big_path = os.path.join(ws.home, "big.bin")
        servers = start_servers(ws, args, cfg, plan, ports, status)
        info = warm_up(bench, servers, status)
        if info:
            log("negotiated: " + "; ".join("%s: %s" % kv for kv in info.items()))
        rounds = run_rounds(args, cfg, bench, servers, errors)

        med, ratios, lim = R.summarize(rounds)
        present = {k for rd in rounds for c in rd["data"].values() for k in c}
        table, targets = R.render(med, ratios, lim, present, set(servers))
        fl = R.floors(rounds, lim)
        if fl:
            table += "\n\n" + "  \n".join(fl)
        acct = R.accounting_check(rounds, cfg["sessions"], B.CLK_TCK)
        elapsed = time.time() - started
        os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
        path = os.path.join(HERE, "results", time.strftime("%Y%m%d-%H%M%S") + ".json")
        doc = dict(
            started=time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
            elapsed_s=elapsed, argv=argv, mode="quick" if args.quick else "full",
            config=dict(cfg, tls=args.tls, metrics=args.metrics, module=args.module,
                        module_sha256=file_sha256(args.module),
                        module_mtime=time.strftime("%Y-%m-%dT%H:%M:%S%z",
                                                   time.localtime(os.path.getmtime(args.module))),
                        workspace_base=base, ports=ports, peers_requested=args.peer_list,
                        commands={n: s.command() for n, s in servers.items()}),
            environment=tool_versions(), peers={p: status[p] or "used" for p in P.PEERS},
            negotiated=info, units=dict(
                MB="10^6 bytes", GiB="2^30 bytes", cpu="utime+stime from /proc (clock ticks of 1/%d s)"
                % B.CLK_TCK),
            rounds=rounds, medians=med, ratios=ratios, limits=lim, targets=targets, floors=fl,
            accounting_problems=acct, errors=errors)
        with open(path, "w") as f:
            json.dump(doc, f, indent=2, sort_keys=False)
        print_report(args, cfg, info, status, rounds, errors, table, acct, path, elapsed)
        return 1 if errors else 0
    except Interrupted as e:
        log("interrupted by signal %d; cleaning up" % e.signum)
        return 128 + e.signum
    except BenchError as e:
        log("error: %s" % e)
        return 1
    finally:
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(s, signal.SIG_IGN)        # let the cleanup finish
        B.kill_clients()
        B.stop_all()
        if ws is not None:
            ws.remove()
            log("removed %s" % ws.dir)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
