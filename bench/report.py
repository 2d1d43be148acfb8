"""Summary and markdown table for bench/bench.py: medians over rounds,
per-round ratios, issue 13's targets.  Python 3 standard library only.

A round's data is {column: {metric_key: value}}; columns are COLUMNS.  Every
ratio is formed inside one round (so machine drift hits both sides alike) and
the median of those per-round ratios is reported.
"""

import statistics

COLUMNS = ("plain", "mod_ftps", "mod_tls", "pure-ftpd", "vsftpd")
LABELS = {"plain": "plain", "mod_ftps": "mod_ftps", "mod_tls": "mod_tls",
          "pure-ftpd": "Pure-FTPd", "vsftpd": "vsftpd"}
# the FTPS servers mod_ftps must match or beat on RETR throughput
PEER_COLUMNS = ("mod_tls", "pure-ftpd", "vsftpd")
# what mod_ftps's per-round value is divided by ("peers_max": the best of
# PEER_COLUMNS present in that round)
RATIO_BASES = ("mod_tls", "plain", "pure-ftpd", "vsftpd", "peers_max")


def _t(vs, op, x, unit="×"):
    """A target: mod_ftps's value ÷ column vs (or, with vs None, the value
    itself in `unit`) must be op x."""
    return dict(vs=vs, op=op, x=x, unit=unit)


# (key, label, decimals, target or None, show ratio columns)
ROWS = [
    ("retr_mbps_total", "RETR MB/s (whole command)", 0, None, True),
    ("retr_mbps_xfer", "RETR MB/s (transfer phase)", 0, _t("peers_max", ">=", 1.0), True),
    ("retr_srv_cpu_per_gib", "RETR server CPU s/GiB", 3, _t("mod_tls", "<=", 0.4), True),
    ("retr_cli_cpu_per_gib", "RETR client (curl) CPU s/GiB", 3, None, True),
    ("stor_mbps_total", "STOR MB/s (whole command)", 0, None, True),
    ("stor_mbps_xfer", "STOR MB/s (transfer phase)", 0, _t("mod_tls", ">=", 2.0), True),
    ("stor_srv_cpu_per_gib", "STOR server CPU s/GiB", 3, None, True),
    ("stor_cli_cpu_per_gib", "STOR client (curl) CPU s/GiB", 3, None, True),
]
for _c, _cn in (("ec", "ECDSA P-256"), ("rsa", "RSA-2048")):
    ROWS += [
        ("sess_%s_seq_per_s" % _c, "Sessions/s sequential, %s ¹" % _cn, 1, None, True),
        ("sess_%s_par_per_s" % _c, "Sessions/s 2 parallel, %s ²" % _cn, 1, None, True),
        ("sess_%s_cpu_ms" % _c, "Server CPU ms/session, %s ³" % _cn, 2, None, True),
        ("sess_%s_cpu_above_plain_ms" % _c, "TLS CPU above plain ms/session, %s ³" % _cn, 2,
         _t(None, "<=", 2.0, " ms") if _c == "ec" else None, False),
        ("sess_%s_p50_ms" % _c, "p50 session latency ms, %s ¹" % _cn, 2, None, True),
    ]
ROWS += [
    ("small_dc_per_s", "Small RETRs: data connections/s", 0, None, True),
    ("small_cpu_ms_per_dc", "Small RETRs: server CPU ms/data conn ⁴", 3, _t("mod_tls", "<=", 0.5), True),
    ("small_resumed_pct", "Small RETRs: data conns resuming TLS, %", 0, None, False),
    ("pss_idle_kib", "PSS KiB per idle session after one LIST ⁵", 0, _t("mod_tls", "<=", 0.45), True),
]
LIMIT_ROWS = [("aes_gcm_mbps", "openssl speed AES-256-GCM 16 KiB, 1 core, MB/s"),
              ("tcp_loopback_mbps", "Loopback TCP copy (Python), MB/s"),
              ("x25519_us", "openssl speed X25519 (one of the 2 per TLS 1.3 handshake), µs"),
              ("ecdsa_sign_us", "openssl speed ECDSA P-256 sign (1 per full handshake), µs"),
              ("tls_dc_floor_us", "TLS work alone of one protected 4 KiB download "
               "(bench/handshake_cost: resumed TLS 1.3, in process), server µs"),
              ("tls_ctrl_floor_us", "TLS work alone of one control connection "
               "(bench/handshake_cost: full TLS 1.3 handshake, one reply, close_notify, "
               "in process), server µs"),
              ("tls_forked_session_us", "TLS work alone of one control + one data connection "
               "in a freshly forked server process (bench/handshake_cost, socketpairs), "
               "server µs")]


def median_or_none(vals):
    vals = [v for v in vals if v is not None and v == v]
    return statistics.median(vals) if vals else None


def derive(rd):
    """Add per-round derived values to a round: each TLS column's server CPU
    per session minus plain's, for both certificates."""
    plain = rd["data"].get("plain", {})
    for col, vals in rd["data"].items():
        if col == "plain":
            continue
        for c in ("ec", "rsa"):
            a, b = vals.get("sess_%s_cpu_ms" % c), plain.get("sess_%s_cpu_ms" % c)
            if a is not None and b is not None:
                vals["sess_%s_cpu_above_plain_ms" % c] = a - b


def _base(rd, vs, key):
    """The value mod_ftps is divided by in one round (None if missing)."""
    if vs == "peers_max":
        vals = [rd["data"].get(c, {}).get(key) for c in PEER_COLUMNS]
        vals = [v for v in vals if v is not None]
        return max(vals) if vals else None
    return rd["data"].get(vs, {}).get(key)


def summarize(rounds):
    """Medians per column, per-round ratios of mod_ftps to every base, and
    the machine limits."""
    keys = [r[0] for r in ROWS]
    med = {c: {} for c in COLUMNS}
    ratios = {vs: {} for vs in RATIO_BASES}
    for k in keys:
        for c in COLUMNS:
            med[c][k] = median_or_none([rd["data"].get(c, {}).get(k) for rd in rounds])
        for vs in RATIO_BASES:
            per = []
            for rd in rounds:
                a = rd["data"].get("mod_ftps", {}).get(k)
                b = _base(rd, vs, k)
                if a is not None and b:
                    per.append(a / b)
            ratios[vs][k] = {"median": median_or_none(per), "per_round": per}
    lim = {k: median_or_none([rd.get("limits", {}).get(k) for rd in rounds]) for k, _ in LIMIT_ROWS}
    return med, ratios, lim


def fmt(v, dec):
    if v is None:
        return "—"
    return "{:,.{d}f}".format(v, d=dec)


def target_label(target, peers_present):
    sym = "≥" if target["op"] == ">=" else "≤"
    if target["vs"] is None:
        return "%s %g%s" % (sym, target["x"], target["unit"])
    if target["vs"] == "peers_max":
        names = ", ".join(LABELS[c] for c in PEER_COLUMNS if c in peers_present)
        return "%s %g× max(%s)" % (sym, target["x"], names)
    return "%s %g× %s" % (sym, target["x"], LABELS[target["vs"]])


def target_value(key, target, med, ratios):
    """(measured value, its per-round values) the target is judged on."""
    if target["vs"] is None:
        return med["mod_ftps"][key], None
    r = ratios[target["vs"]][key]
    return r["median"], r["per_round"]


def verdict(value, target):
    if value is None:
        return "n/a"
    ok = value >= target["x"] if target["op"] == ">=" else value <= target["x"]
    return "pass" if ok else "miss"


def render(med, ratios, lim, rows_present, columns_present):
    """The markdown table and the list of target results (for the JSON)."""
    out, targets = [], []
    if rows_present:
        out += ["| Metric | " + " | ".join(LABELS[c] for c in COLUMNS)
                + " | mod_ftps ÷ mod_tls | mod_ftps ÷ plain | Target (mod_ftps) | measured | |",
                "|---|" + "---:|" * len(COLUMNS) + "---:|---:|---|---:|---|"]
    for key, label, dec, target, show_ratios in ROWS:
        if key not in rows_present:
            continue
        cells = [fmt(med[c][key], dec) for c in COLUMNS]
        rt = ratios["mod_tls"][key]["median"] if show_ratios else None
        rp = ratios["plain"][key]["median"] if show_ratios else None
        tl = meas = res = ""
        if target:
            value, per_round = target_value(key, target, med, ratios)
            tl = target_label(target, columns_present)
            res = verdict(value, target)
            meas = fmt(value, 2) + (target["unit"] if value is not None else "")
            targets.append(dict(metric=key, target=tl, value=value, per_round=per_round,
                                result=res))
        out.append("| %s | %s | %s | %s | %s | %s | %s |" % (
            label, " | ".join(cells),
            fmt(rt, 2) + ("×" if rt is not None else ""),
            fmt(rp, 2) + ("×" if rp is not None else ""), tl, meas, res))
    if any(v is not None for v in lim.values()):
        out += ["" if out else None, "| Machine limit (same run) | median |", "|---|---:|"]
        for k, label in LIMIT_ROWS:
            out.append("| %s | %s |" % (label, fmt(lim[k], 0 if (lim[k] or 0) >= 100 else 1)))
    return "\n".join(l for l in out if l is not None), targets


def floors(rounds, lim):
    """Where the two CPU targets stand against what the TLS work alone
    costs in the same run: a server that added nothing to plain FTP but the
    in-process TLS work (bench/handshake_cost) would measure this.  Lines of
    text (empty if the run lacks the metrics)."""
    out = []
    dc, ctrl = lim.get("tls_dc_floor_us"), lim.get("tls_ctrl_floor_us")
    if dc is not None:
        per = []
        for rd in rounds:
            plain = rd["data"].get("plain", {}).get("small_cpu_ms_per_dc")
            tls = rd["data"].get("mod_tls", {}).get("small_cpu_ms_per_dc")
            if plain is not None and tls:
                per.append((plain + dc / 1000.0) / tls)
        if per:
            out.append("Floor of the small-RETR target: plain FTP's CPU per data connection "
                       "+ the TLS work alone (%.0f µs) = %s× mod_tls (per round: %s); the "
                       "target is ≤ 0.5×." % (dc, fmt(median_or_none(per), 2),
                                              " ".join(fmt(x, 2) for x in per)))
    forked = lim.get("tls_forked_session_us")
    if dc is not None and ctrl is not None:
        line = ("Floor of \"TLS CPU above plain\": the TLS work alone of one control and "
                "one data connection = %s ms per session, hot and in process"
                % fmt((dc + ctrl) / 1000.0, 2))
        if forked is not None:
            line += ("; %s ms in a freshly forked process (its page faults and cold caches), "
                     "before the extra commands (AUTH, PBSZ, PROT) and TCP round trips"
                     % fmt(forked / 1000.0, 2))
        out.append(line + "; the target is ≤ 2 ms.")
    return out


def accounting_check(rounds, sessions_n, clk_tck):
    """Per round and instance: the CPU the bench counts for a session (reaped
    by the master/reaper, after the session ended) must not be below what the
    session's processes had used while still alive before QUIT.  Returns a
    list of problems (empty: every instance's accounting is complete)."""
    problems = []
    tick_ms = 1000.0 / clk_tck
    for rd in rounds:
        for name, (acct, live) in sorted(rd.get("accounting", {}).items()):
            # tolerance: 2 clock ticks over the round's sessions, or 5 %
            slack = max(0.05 * live, 2 * tick_ms / max(sessions_n, 1))
            if live - acct > slack:
                problems.append("round %d, %s: %.2f ms/session counted, but its processes "
                                "had used %.2f ms/session before QUIT"
                                % (rd["round"], name, acct, live))
    return problems
