#!/usr/bin/env python3
"""Performance benchmark: plain FTP vs mod_ftps vs ProFTPD's mod_tls.

    make bench [BENCH_ARGS="--quick"]
    python3 bench/bench.py --module /abs/path/mod_ftps.so [--quick] [--rounds N]
                           [--only retr,stor,sessions,small,memory,limits]

Runs as root.  Starts private proftpd instances (same binary, same config apart
from the TLS module) on 127.0.0.1, one per profile, and measures them in
interleaved rounds.  Prints a markdown table on stdout and writes
bench/results/<timestamp>.json.  See bench/README.md.

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
import ssl
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import benchlib as B  # noqa: E402
from benchlib import BenchError, log  # noqa: E402

METRICS = ("retr", "stor", "sessions", "small", "memory", "limits")
COLUMNS = ("plain", "mod_ftps", "mod_tls")
GIB = 1 << 30
MB = 1e6

FULL = dict(rounds=5, size=1 << 30, sessions=100, small=200, idle=50, copy=1 << 30)
QUICK = dict(rounds=2, size=256 << 20, sessions=30, small=100, idle=20, copy=256 << 20)


def _raise(e):
    raise e


class Interrupted(BaseException):
    def __init__(self, signum):
        super().__init__("signal %d" % signum)
        self.signum = signum


# --------------------------------------------------------------------------
# Measurements (each returns {metric_key: value})
# --------------------------------------------------------------------------

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
    def one_session(self, srv):
        """AUTH TLS + login + PBSZ/PROT P + PASV + LIST + QUIT (plain: no TLS)."""
        ftp = B.open_session(srv.kind, srv.port, self.ctx)
        try:
            lines = []
            ftp.retrlines("LIST", lines.append)
            if not any("big.bin" in l or "small.bin" in l for l in lines):
                raise BenchError("LIST did not show the bench files: %r" % lines[:3])
            ftp.quit()
        finally:
            ftp.close()

    def sessions_seq(self, servers):
        """Sequential sessions, round-robin over the servers (one session on
        each in turn, so drift hits all alike).  Each session starts only when
        its master is ready (see Server.wait_ready), so ProFTPD's 400 ms
        post-exit accept pause is not timed.  Returns ({name: result}, {name: error})."""
        n = self.cfg["sessions"]
        st = {}
        for srv in servers:
            srv.check_alive()
            st[srv.name] = dict(lat=[], cli=0.0, cpu0=srv.wait_ready(), err=None)
        for _ in range(n):
            for srv in servers:
                s = st[srv.name]
                if s["err"]:
                    continue
                try:
                    srv.wait_ready()
                    c0, t = time.process_time(), time.perf_counter()
                    self.one_session(srv)
                    s["lat"].append(time.perf_counter() - t)
                    s["cli"] += time.process_time() - c0
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
        n = self.cfg["small"]
        srv.check_alive()
        srv.wait_ready()
        ftp = B.open_session(srv.kind, srv.port, self.ctx)
        try:
            ftp.voidcmd("TYPE I")
            kids = srv.wait_children(1)
            if len(kids) != 1:
                raise BenchError("want 1 session process, found %d" % len(kids))
            pid = kids[0][0]
            got = []
            cpu0 = B.proc_runtime(pid)
            t0 = time.perf_counter()
            for _ in range(n):
                buf = []
                ftp.retrbinary("RETR small.bin", buf.append)
                got.append(sum(map(len, buf)))
            wall = time.perf_counter() - t0
            cpu1 = B.proc_runtime(pid)
            if set(got) != {4096}:
                raise BenchError("small RETR sizes %r, want 4096" % sorted(set(got)))
            if srv.kind != "plain" and ftp.data_reused != ftp.data_conns:
                raise BenchError("only %d of %d data connections resumed the TLS session"
                                 % (ftp.data_reused, ftp.data_conns))
            ftp.quit()
        finally:
            ftp.close()
        srv.wait_quiet()
        return dict(small_dc_per_s=n / wall, small_cpu_ms_per_dc=(cpu1 - cpu0) * 1000 / n)

    # --- memory of idle sessions -----------------------------------------
    def memory(self, srv):
        n = self.cfg["idle"]
        srv.check_alive()
        srv.wait_ready()
        conns = []
        try:
            for _ in range(n):
                conns.append(B.open_session(srv.kind, srv.port, self.ctx))
            kids = srv.wait_children(n)
            pss = [B.pss_kib(pid) for pid, _ in kids]
            master = B.pss_kib(srv.pid)
        finally:
            for c in conns:
                B.close_quietly(c)
        srv.wait_quiet()
        return dict(pss_idle_kib=statistics.median(pss), pss_master_kib=master)

    # --- machine limits ---------------------------------------------------
    def limits(self):
        rc, out, err = B.run_client(["openssl", "speed", "-evp", "aes-256-gcm", "-bytes", "16384",
                                     "-seconds", "2"], timeout=120)
        m = re.search(r"^aes-256-gcm\s+([\d.]+)k\s*$", out, re.IGNORECASE | re.MULTILINE)
        if rc != 0 or not m:
            raise BenchError("openssl speed failed (exit %d): %s" % (rc, (out + err)[-300:]))
        aes = float(m.group(1)) * 1000 / MB
        return dict(aes_gcm_mbps=aes, tcp_loopback_mbps=tcp_copy(self.cfg["copy"]))


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
# Report
# --------------------------------------------------------------------------

# (key, label, decimals, target) -- target = (vs, op, factor): vs is the
# column the mod_ftps value is divided by.
ROWS = [
    ("retr_mbps_total", "RETR MB/s (whole command)", 0, None),
    ("retr_mbps_xfer", "RETR MB/s (transfer phase)", 0, ("mod_tls", ">=", 1.6)),
    ("retr_srv_cpu_per_gib", "RETR server CPU s/GiB", 3, ("mod_tls", "<=", 0.5)),
    ("retr_cli_cpu_per_gib", "RETR client (curl) CPU s/GiB", 3, None),
    ("stor_mbps_total", "STOR MB/s (whole command)", 0, None),
    ("stor_mbps_xfer", "STOR MB/s (transfer phase)", 0, ("mod_tls", ">=", 1.5)),
    ("stor_srv_cpu_per_gib", "STOR server CPU s/GiB", 3, None),
    ("stor_cli_cpu_per_gib", "STOR client (curl) CPU s/GiB", 3, None),
]
for _c, _cn in (("ec", "ECDSA P-256"), ("rsa", "RSA-2048")):
    ROWS += [
        ("sess_%s_seq_per_s" % _c, "Sessions/s sequential, %s ¹" % _cn, 1, ("plain", ">=", 0.9)),
        ("sess_%s_par_per_s" % _c, "Sessions/s 2 parallel, %s ²" % _cn, 1, None),
        ("sess_%s_cpu_ms" % _c, "Server CPU ms/session, %s" % _cn, 2, ("mod_tls", "<=", 0.25)),
        ("sess_%s_p50_ms" % _c, "p50 session latency ms, %s ¹" % _cn, 2, ("mod_tls", "<=", 0.3)),
    ]
ROWS += [
    ("small_dc_per_s", "Small RETRs: data connections/s", 0, None),
    ("small_cpu_ms_per_dc", "Small RETRs: server CPU ms/data conn", 3, ("mod_tls", "<=", 0.5)),
    ("pss_idle_kib", "PSS KiB per idle logged-in session", 0, ("mod_tls", "<=", 0.55)),
]
LIMIT_ROWS = [("aes_gcm_mbps", "openssl speed AES-256-GCM 16 KiB, 1 core, MB/s"),
              ("tcp_loopback_mbps", "Loopback TCP copy (Python), MB/s")]


def median_or_none(vals):
    vals = [v for v in vals if v is not None and v == v]
    return statistics.median(vals) if vals else None


def summarize(rounds):
    """Medians per column and per-round ratios (mod_ftps / other column)."""
    keys = [r[0] for r in ROWS]
    med = {c: {} for c in COLUMNS}
    ratios = {"mod_tls": {}, "plain": {}}
    for k in keys:
        for c in COLUMNS:
            med[c][k] = median_or_none([rd["data"].get(c, {}).get(k) for rd in rounds])
        for vs in ratios:
            per = []
            for rd in rounds:
                a = rd["data"].get("mod_ftps", {}).get(k)
                b = rd["data"].get(vs, {}).get(k)
                if a is not None and b:
                    per.append(a / b)
            ratios[vs][k] = {"median": median_or_none(per), "per_round": per}
    lim = {k: median_or_none([rd.get("limits", {}).get(k) for rd in rounds]) for k, _ in LIMIT_ROWS}
    return med, ratios, lim


def fmt(v, dec):
    if v is None:
        return "—"
    return "{:,.{d}f}".format(v, d=dec)


def verdict(ratio, target):
    if target is None:
        return "", ""
    vs, op, factor = target
    label = "%s %s× %s" % ("≥" if op == ">=" else "≤", factor, vs)
    if ratio is None:
        return label, "n/a"
    ok = ratio >= factor if op == ">=" else ratio <= factor
    return label, "pass" if ok else "miss"


def render(med, ratios, lim, rows_present):
    out = [] if not rows_present else ["| Metric | plain | mod_ftps | mod_tls | mod_ftps ÷ mod_tls | mod_ftps ÷ plain | Target (mod_ftps) | |",
           "|---|---:|---:|---:|---:|---:|---|---|"]
    targets = []
    for key, label, dec, target in ROWS:
        if key not in rows_present:
            continue
        rt = ratios["mod_tls"][key]["median"]
        rp = ratios["plain"][key]["median"]
        tlabel, res = verdict(ratios[target[0]][key]["median"] if target else None, target)
        if target:
            targets.append(dict(metric=key, target=tlabel,
                                ratio=ratios[target[0]][key]["median"], result=res))
        out.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            label, fmt(med["plain"][key], dec), fmt(med["mod_ftps"][key], dec),
            fmt(med["mod_tls"][key], dec),
            fmt(rt, 2) + ("×" if rt is not None else ""),
            fmt(rp, 2) + ("×" if rp is not None else ""), tlabel, res))
    if any(v is not None for v in lim.values()):
        out += ["" if out else None, "| Machine limit (same run) | median |", "|---|---:|"]
        for k, label in LIMIT_ROWS:
            out.append("| %s | %s |" % (label, fmt(lim[k], 0)))
    return "\n".join(l for l in out if l is not None), targets


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--module", required=True, help="absolute path of mod_ftps.so")
    ap.add_argument("--quick", action="store_true",
                    help="256 MiB files, 2 rounds, 30 sessions, 100 small RETRs, 20 idle sessions")
    ap.add_argument("--rounds", type=int, help="number of interleaved rounds")
    ap.add_argument("--only", help="comma-separated subset of: " + ",".join(METRICS))
    ap.add_argument("--tls", choices=("1.3", "1.2"), default="1.3",
                    help="TLS version the clients insist on (default 1.3)")
    ap.add_argument("--port-base", type=int, default=46000,
                    help="first of the 5 control ports (default 46000)")
    ap.add_argument("--tmpdir", help="where to create the workspace (default /dev/shm if "
                    "it has room, else $TMPDIR or /tmp)")
    a = ap.parse_args(argv)
    a.metrics = list(METRICS)
    if a.only:
        a.metrics = [m.strip() for m in a.only.split(",") if m.strip()]
        bad = [m for m in a.metrics if m not in METRICS]
        if bad or not a.metrics:
            ap.error("--only: unknown metric(s) %s; choose from %s" % (",".join(bad), ",".join(METRICS)))
    if a.rounds is not None and a.rounds < 1:
        ap.error("--rounds must be >= 1")
    if not 1024 < a.port_base < 65530:
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


def server_plan(args):
    """[(name, column, kind, cert)] of the instances this run needs."""
    plan = [("plain", "plain", "plain", None), ("mod_ftps", "mod_ftps", "ftps", "ec"),
            ("mod_tls", "mod_tls", "tls", "ec")]
    if "sessions" in args.metrics:
        plan += [("mod_ftps-rsa", "mod_ftps", "ftps", "rsa"), ("mod_tls-rsa", "mod_tls", "tls", "rsa")]
    if set(args.metrics) <= {"limits"}:
        plan = []
    return plan


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
                kernel=platform.release(), cpu=cpu, cpus=os.cpu_count())


def main(argv):
    args = parse_args(argv)
    cfg = dict(QUICK if args.quick else FULL)
    if args.rounds:
        cfg["rounds"] = args.rounds
    preflight(args)
    plan = server_plan(args)
    ports = {name: args.port_base + i for i, (name, _, _, _) in enumerate(plan)}
    busy = [p for p in ports.values() if B.port_in_use(p)]
    if busy:
        refuse("port(s) %s on 127.0.0.1 already in use; stop whatever listens there or pick "
               "other ports with --port-base" % ", ".join(map(str, busy)))

    def on_signal(signum, frame):
        raise Interrupted(signum)

    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)

    started = time.time()
    ws = None
    rounds = []
    errors = []
    info = {}
    try:
        base = B.pick_tmp_base(2 * cfg["size"], args.tmpdir)
        ws = B.Workspace(base)
        log("workspace %s" % ws.dir)
        need_files = bool(plan)
        if need_files:
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
        servers = {}
        for name, col, kind, cert in plan:
            srv = B.Server(ws, name, kind, cert, ports[name], args.module,
                           max_instances=max(100, cfg["idle"] + 20))
            srv.start()
            servers[name] = srv
            log("started %s (pid %d, port %d)" % (name, srv.pid, srv.port))
        # warm-up: fault in code, fill caches; note negotiated TLS parameters
        for name, srv in servers.items():
            for _ in range(3):
                bench.one_session(srv)
            if srv.kind != "plain":
                ftp = B.open_session(srv.kind, srv.port, bench.ctx)
                info[name] = "%s %s" % (ftp.sock.version(), ftp.sock.cipher()[0])
                B.close_quietly(ftp)
            srv.wait_quiet()
        if info:
            log("negotiated: " + "; ".join("%s: %s" % kv for kv in info.items()))

        def measure(rd, col, srv, metric, fn):
            try:
                rd["data"].setdefault(col, {}).update(fn())
            except (BenchError,) + ftplib.all_errors as e:
                msg = "%s: %s" % (type(e).__name__, str(e).strip().splitlines()[0] if str(e).strip() else "")
                errors.append(dict(round=rd["round"], profile=srv.name if srv else "-",
                                   metric=metric, error=str(e).strip()[-1500:]))
                log("round %d %s %s FAILED: %s" % (rd["round"], srv.name if srv else "-", metric, msg))

        # (column, cert, server) in interleaving order; plain is cert-independent
        sess_plan = [("plain", None, servers["plain"])] + [
            (col, cert, servers[col if cert == "ec" else col + "-rsa"])
            for cert in ("ec", "rsa") for col in ("mod_ftps", "mod_tls")] if "sessions" in args.metrics else []

        def sess_keys(col, cert, res):
            certs = ("ec", "rsa") if cert is None else (cert,)
            return {"sess_%s_%s" % (c, k): v for c in certs for k, v in res.items()}

        def run_sessions(rd):
            seq, errs = bench.sessions_seq([s for _, _, s in sess_plan])
            for col, cert, srv in sess_plan:
                if srv.name in seq:
                    rd["data"].setdefault(col, {}).update(sess_keys(col, cert, seq[srv.name]))
                else:
                    measure(rd, col, srv, "sessions(seq)", lambda e=errs[srv.name]: _raise(e))
            for col, cert, srv in sess_plan:
                measure(rd, col, srv, "sessions(2 parallel)",
                        lambda c=col, k=cert, s=srv: sess_keys(c, k, bench.sessions_par(s)))

        for r in range(1, cfg["rounds"] + 1):
            rd = {"round": r, "data": {}, "limits": {}}
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
                for col in COLUMNS:
                    srv = servers[col]
                    measure(rd, col, srv, metric, lambda s=srv, m=metric: getattr(bench, m)(s))
            log("round %d/%d done in %.0f s" % (r, cfg["rounds"], time.time() - t_round))

        med, ratios, lim = summarize(rounds)
        present = {k for rd in rounds for c in rd["data"].values() for k in c}
        table, targets = render(med, ratios, lim, present)
        elapsed = time.time() - started
        os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = os.path.join(HERE, "results", stamp + ".json")
        doc = dict(
            started=time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
            elapsed_s=elapsed, argv=argv, mode="quick" if args.quick else "full",
            config=dict(cfg, tls=args.tls, metrics=args.metrics, module=args.module,
                        module_sha256=file_sha256(args.module),
                        module_mtime=time.strftime("%Y-%m-%dT%H:%M:%S%z",
                                                   time.localtime(os.path.getmtime(args.module))),
                        workspace_base=base, ports=ports),
            environment=tool_versions(), negotiated=info, units=dict(
                MB="10^6 bytes", GiB="2^30 bytes", cpu="utime+stime from /proc (clock ticks of 1/%d s)"
                % B.CLK_TCK),
            rounds=rounds, medians=med, ratios=ratios, limits=lim, targets=targets,
            errors=errors)
        with open(path, "w") as f:
            json.dump(doc, f, indent=2, sort_keys=False)
        mode = "quick" if args.quick else "full"
        print("## mod_ftps benchmark (%s: %d round%s, %d MiB files, TLS %s, %s)\n"
              % (mode, cfg["rounds"], "" if cfg["rounds"] == 1 else "s", cfg["size"] >> 20,
                 args.tls, ", ".join("%s: %s" % kv for kv in info.items() if "-rsa" not in kv[0])
                 or "no TLS sessions"))
        print(table)
        print("\nMedians over rounds; ratios are per-round mod_ftps/other pairs, then their median. "
              "Targets are informational. MB = 10^6 bytes.")
        if "sessions" in args.metrics:
            print("¹ A session = connect, AUTH TLS, USER/PASS, PBSZ/PROT P, PASV, LIST, QUIT (plain: "
                  "no TLS). Each starts when its master is back in accept(); sessions/s = "
                  "1 / mean latency.  \n² Wall clock, 2 client threads; includes the ~400 ms "
                  "accept pause the ProFTPD 1.3.8 master takes after every session exit "
                  "(EINTR retry interval), the same for every profile.")
        if errors:
            print("\n**%d measurement(s) failed:**" % len(errors))
            for e in errors:
                print("- round %d, %s, %s: %s" % (e["round"], e["profile"], e["metric"],
                                                  e["error"].splitlines()[0][:300]))
        print("\nJSON: %s  (%.0f s)" % (path, elapsed))
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
