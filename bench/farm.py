#!/usr/bin/env python3
"""bench/farm.py -- `make bench-farm` (issue 12): N reconnecting FTPS clients
spread over two mod_ftps nodes (127.0.0.1 and 127.0.0.2) that share a real
Redis (started here, password-protected, on a free loopback port), versus the
same run with two independent nodes (no Redis).

Each client reconnects to the node other than its last one, offering the
session it got last time; a reconnect counts as resumed when the TLS
handshake resumed. Reported: the resumption rate (goal >= 95% with Redis)
and the nodes' CPU per reconnect (user+system of the masters and their
reaped session processes), with the Redis/no-Redis ratio, for TLS 1.3
tickets and TLS 1.2 session IDs.

    python3 bench/farm.py --module $PWD/mod_ftps.so [--clients 200]
"""

import argparse
import json
import os
import ssl
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "t"))

import ftpslib  # noqa: E402
from farmlib import Redis, client_ctx, key_file, node, session_of  # noqa: E402
from ftpslib import Server  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(srv):
    """utime+stime of the master and its waited-for children."""
    with open("/proc/%d/stat" % srv.proc.pid) as f:
        st = f.read()
    fields = st[st.rfind(")") + 2:].split()
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / TICKS


def plain_node(host, ftps):
    srv = Server(host=host, ftps=list(ftps))
    srv.private = True
    return srv.start()


def run_scenario(nodes, ctx, clients):
    sessions = [None] * clients
    last = [0] * clients
    # Warm-up: each client's first (full) handshake on node 0.
    for i in range(clients):
        _, sessions[i] = session_of(nodes[0], ctx)
    cpu0 = sum(cpu_seconds(n) for n in nodes)
    t0 = time.monotonic()
    resumed = 0
    for i in range(clients):
        last[i] = 1 - last[i]
        ok, sessions[i] = session_of(nodes[last[i]], ctx, sessions[i])
        resumed += 1 if ok else 0
    wall = time.monotonic() - t0
    time.sleep(0.5)            # let the masters reap the session processes
    cpu = sum(cpu_seconds(n) for n in nodes) - cpu0
    return {"reconnects": clients, "resumed": resumed,
            "resumption_rate": resumed / clients, "cpu_s": cpu,
            "cpu_ms_per_reconnect": 1000.0 * cpu / clients, "wall_s": wall}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--module", required=True)
    ap.add_argument("--clients", type=int, default=200)
    args = ap.parse_args()
    ftpslib.configure(args.module)
    out = {}
    modes = {"tls1.3-tickets": ([], ssl.TLSVersion.TLSv1_3),
             "tls1.2-session-ids": (["FTPSSessionTickets off"], ssl.TLSVersion.TLSv1_2)}
    try:
        for mode, (ftps, v) in modes.items():
            redis = Redis().start()
            key = key_file()
            nodes = [node(redis, key, "127.0.0.1", ftps=ftps),
                     node(redis, key, "127.0.0.2", ftps=ftps)]
            ctx = client_ctx(nodes[0], minv=v, maxv=v)
            farm = run_scenario(nodes, ctx, args.clients)
            for n in nodes:
                n.stop()
            redis.stop()
            nodes = [plain_node("127.0.0.1", ftps), plain_node("127.0.0.2", ftps)]
            alone = run_scenario(nodes, ctx, args.clients)
            for n in nodes:
                n.stop()
            out[mode] = {"redis": farm, "no_redis": alone,
                         "cpu_ratio_redis_vs_none": (farm["cpu_ms_per_reconnect"] /
                                                     alone["cpu_ms_per_reconnect"]
                                                     if alone["cpu_s"] > 0 else None)}
            print("%-20s with Redis: %3d/%d resumed (%.1f%%), %.2f ms CPU/reconnect | "
                  "without: %3d/%d resumed (%.1f%%), %.2f ms CPU/reconnect | CPU ratio %.2f"
                  % (mode, farm["resumed"], farm["reconnects"], 100 * farm["resumption_rate"],
                     farm["cpu_ms_per_reconnect"], alone["resumed"], alone["reconnects"],
                     100 * alone["resumption_rate"], alone["cpu_ms_per_reconnect"],
                     out[mode]["cpu_ratio_redis_vs_none"] or 0), flush=True)
    finally:
        ftpslib.shutdown_all()
    goal = all(m["redis"]["resumption_rate"] >= 0.95 for m in out.values())
    print("goal (>= 95%% of reconnects resumed with Redis): %s" % ("met" if goal else "MISSED"))
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    path = os.path.join(HERE, "results", "farm-%s.json" % time.strftime("%Y%m%dT%H%M%S"))
    with open(path, "w") as f:
        json.dump(out, f, indent=2)
    print(path)
    return 0 if goal else 1


if __name__ == "__main__":
    sys.exit(main())
