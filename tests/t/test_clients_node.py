"""Node.js: basic-ftp (npm, pinned in tests/t/node/package-lock.json and
installed there by scripts/install-deps with `npm ci`), explicit and
implicit FTPS, TLS 1.2 and 1.3, under the default policy. The driver
(tests/t/node/ftps-node.js) records, for every data connection, whether it
resumed and which ticket it used."""

import json
import os
import re

from ftpslib import PASSWORD, USER, check, mkdtemp, needs, run, server

HERE = os.path.dirname(os.path.abspath(__file__))
NODE_DIR = os.path.join(HERE, "node")
OPS = ["LIST", "RETR:big.bin", "STOR:%s-up.bin:1048577", "RETR:small.bin", "STOR:%s-one.bin:1",
       "LIST"]


def node(srv, tls, ops):
    check(os.path.isdir(os.path.join(NODE_DIR, "node_modules", "basic-ftp")),
          "basic-ftp is not installed in %s: run scripts/install-deps" % NODE_DIR)
    cfg = dict(host="127.0.0.1", port=srv.port, user=USER, ca=srv.pki.ca,
               implicit=srv.implicit, tls=tls, ops=ops, dir=mkdtemp("ftps-node-"))
    cfg["pass"] = PASSWORD
    cp = run(["node", os.path.join(NODE_DIR, "ftps-node.js"), json.dumps(cfg)], timeout=90)
    check(cp.returncode == 0, "node exited %d: %s" % (cp.returncode, cp.err[-1500:]))
    out = json.loads(cp.out.strip().splitlines()[-1])
    check("fatal" not in out, "basic-ftp failed: %s" % out.get("fatal"))
    return out


def transfers(implicit, tls):
    srv = server(implicit=implicit)
    tag = "n%s%s" % ("i" if implicit else "e", tls[-1])
    ops = [o % tag if "%s" in o else o for o in OPS]
    mark = srv.log_mark()
    out = node(srv, tls, ops)
    check(out["protocol"] == tls, "control protocol %r" % out["protocol"])
    for res, op in zip(out["results"], ops):
        check("error" not in res, "%s failed: %s" % (op, res.get("error")))
        verb, _, name = op.partition(":")
        name = name.split(":")[0]
        if verb == "RETR":
            check(res["sha256"] == srv.files[name], "RETR %s: wrong checksum" % name)
        elif verb == "STOR":
            check(srv.file_sha(name) == res["sha256"], "STOR %s: server file differs" % name)
    conns = out["dataConns"]
    check(len(conns) == len(ops), "want %d data connections, got %r" % (len(ops), conns))
    check(all(c.get("reused") for c in conns), "a data connection did not resume: %r" % conns)
    tickets = [c["ticket"] for c in conns]
    if tls == "TLSv1.3":
        # A fresh ticket before every data connection: none is used twice.
        check(len(set(tickets)) == len(tickets), "a TLS 1.3 ticket was reused: %r" % conns)
        # One after the control handshake, then one before each.
        check(out["ctrlTickets"] >= 1 + len(ops), "control received %d tickets for %d data "
              "connections" % (out["ctrlTickets"], len(ops)))
    text = srv.ftps_log_since(mark)
    n = len(re.findall(r"data handshake ok: %s.*resumed=yes" % re.escape(tls), text))
    check(n == len(ops), "FTPSLog: %d resumed data connections, want %d:\n%s" % (n, len(ops), text))
    check("refused" not in text and "exempted" not in text, "FTPSLog:\n%s" % text)


@needs("node")
def test_node_basic_ftp_explicit_tls13():
    transfers(False, "TLSv1.3")


@needs("node")
def test_node_basic_ftp_explicit_tls12():
    transfers(False, "TLSv1.2")


@needs("node")
def test_node_basic_ftp_implicit_tls13():
    transfers(True, "TLSv1.3")


@needs("node")
def test_node_basic_ftp_implicit_tls12():
    transfers(True, "TLSv1.2")
