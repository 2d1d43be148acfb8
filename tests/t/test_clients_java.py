"""Java: Apache Commons Net FTPSClient on JSSE (Java 17), stock and with the
session-planting workaround, against the default policy and against the
scoped exemption FTPSOptions NoSessionReuseSameAddress.

The client is tests/t/java/FtpsJava.java, compiled once per run with javac
against Debian's libcommons-net-java. One JVM runs several sessions (op NEW)
to keep JVM start-ups few."""

import os
import re
import subprocess

from ftpslib import (PASSWORD, SYSTEM_MODULE_DIR, USER, check, mkdtemp, needs, run, server)
from pki_clients import client_pki

HERE = os.path.dirname(os.path.abspath(__file__))
COMMONS_NET = "/usr/share/java/commons-net.jar"
IFSESSION = ["ModulePath " + SYSTEM_MODULE_DIR, "LoadModule mod_ifsession.c"]
# The exemption for the class of the control connection's address; the
# core's own foreign-address check is off, so only mod_ftps's check stands.
EXEMPT = dict(preload=IFSESSION,
              extra=["AllowForeignAddress on", "<Class javabatch>", "  From 127.0.0.1/32",
                     "</Class>"],
              ftps=["<IfClass javabatch>", "  FTPSOptions NoSessionReuseSameAddress",
                    "</IfClass>"])
ORDER_A = ["LIST", "RETR:big.bin", "STOR:%s-a.bin:1048577"]
ORDER_B = ["LIST", "STOR:%s-b1.bin:70000", "STOR:%s-b2.bin:1", "RETR:small.bin"]
_classes = {}


def _compile():
    if "dir" not in _classes:
        out = mkdtemp("ftps-java-")
        run(["javac", "-cp", COMMONS_NET, "-d", out, os.path.join(HERE, "java", "FtpsJava.java")],
            timeout=120, check_rc=0)
        _classes["dir"] = out
    return _classes["dir"]


def java(srv, ops, timeout=90, **opts):
    """Run FtpsJava; returns its output lines (PROTOCOL/OK/FAIL)."""
    args = dict(host="127.0.0.1", port=srv.port, user=USER, ca=srv.pki.ca, tls="TLSv1.3")
    args.update(opts)
    args["pass"] = PASSWORD
    if srv.implicit:
        args["implicit"] = "1"
    cmd = ["java", "--add-opens", "java.base/sun.security.ssl=ALL-UNNAMED",
           "--add-opens", "java.base/sun.security.util=ALL-UNNAMED",
           "-cp", "%s:%s" % (_compile(), COMMONS_NET), "FtpsJava"]
    cmd += ["%s=%s" % kv for kv in sorted(args.items())] + list(ops)
    cp = run(cmd, timeout=timeout)
    check(cp.returncode == 0, "java exited %d: %s %s" % (cp.returncode, cp.out[-800:],
                                                         cp.err[-1500:]))
    return [l for l in cp.out.splitlines() if l.strip()]


def check_transfers(srv, lines, ops, protocol):
    """Every op succeeded with the right bytes on both sides."""
    results = [l for l in lines if l.startswith(("OK ", "FAIL "))]
    check(len(results) == len([o for o in ops if o != "NEW"]), "results %r for %r" % (lines, ops))
    check(all(l == "PROTOCOL " + protocol for l in lines if l.startswith("PROTOCOL")),
          "protocol: %r" % lines)
    for line in results:
        check(line.startswith("OK "), "Java transfer failed: %s" % line)
        parts = line.split()
        if parts[1] == "RETR":
            check(parts[3] == srv.files[parts[2]], "RETR %s: wrong checksum" % parts[2])
        elif parts[1] == "STOR":
            check(os.path.exists(srv.path(parts[2])) and srv.file_sha(parts[2]) == parts[3],
                  "STOR %s: server file differs" % parts[2])


def planting(implicit, tls):
    srv = server(implicit=implicit)
    tag = "j%s%s" % ("i" if implicit else "e", tls[-1])
    ops = [o % tag if "%s" in o else o for o in ORDER_A + ["NEW"] + ORDER_B]
    mark = srv.log_mark()
    lines = java(srv, ops, plant="1", tls=tls)
    check_transfers(srv, lines, ops, tls)
    text = srv.ftps_log_since(mark)
    resumed = len(re.findall(r"data handshake ok: %s.*resumed=yes" % re.escape(tls), text))
    check(resumed == 7, "want 7 resumed data connections, FTPSLog has %d:\n%s" % (resumed, text))
    check("refused" not in text and "exempted" not in text, "FTPSLog:\n%s" % text)


@needs("java", "javac")
def test_java_planting_tls13_explicit():
    planting(False, "TLSv1.3")


@needs("java", "javac")
def test_java_planting_tls13_implicit():
    planting(True, "TLSv1.3")


@needs("java", "javac")
def test_java_planting_tls12_explicit():
    planting(False, "TLSv1.2")


@needs("java", "javac")
def test_java_planting_tls12_implicit():
    planting(True, "TLSv1.2")


def refused_all(lines, why):
    fails = [l for l in lines if l.startswith("FAIL ")]
    check(fails and len(fails) == len([l for l in lines if l.startswith(("OK ", "FAIL "))]),
          "want every transfer refused: %r" % lines)
    for l in fails:
        check(re.search(r"425-Data channel TLS refused: %s \| 425 " % re.escape(why), l),
              "want the multi-line 425 naming %r: %s" % (why, l))


@needs("java", "javac")
def test_java_stock_refused_by_default():
    srv = server()
    mark = srv.log_mark()
    # After the refused LIST, the next things to try: a download, an upload.
    lines = java(srv, ["LIST", "RETR:small.bin", "STOR:java-stock.bin:1000"])
    refused_all(lines, "no session offered")
    check(not os.path.exists(srv.path("java-stock.bin")), "refused STOR created a file")
    srv.wait_log(r"data connection refused: no session offered", mark)


@needs("java", "javac")
def test_java_stock_exempted_same_address():
    srv = server(**EXEMPT)
    mark = srv.log_mark()
    ops = ["LIST", "RETR:big.bin", "STOR:java-ex.bin:300000", "NEW", "RETR:small.bin"]
    for tls in ("TLSv1.3", "TLSv1.2"):
        check_transfers(srv, java(srv, ops, tls=tls), ops, tls)
    text = srv.ftps_log_since(mark)
    n = len(re.findall(r"data connection exempted from session reuse \(FTPSOptions "
                       r"NoSessionReuseSameAddress\): same address 127\.0\.0\.1, client "
                       r"certificate none on control; not resumed: no session offered", text))
    check(n == 8, "want 8 exempted data connections logged, got %d:\n%s" % (n, text))


@needs("java", "javac")
def test_java_stock_exempted_other_address_refused():
    srv = server(**EXEMPT)
    mark = srv.log_mark()
    lines = java(srv, ["LIST", "RETR:small.bin", "STOR:java-foreign.bin:1000"],
                 datalocal="127.0.0.2")
    refused_all(lines, "not from the control connection's address")
    check(not os.path.exists(srv.path("java-foreign.bin")), "refused STOR created a file")
    srv.wait_log(r"data connection refused: not from the control connection's address: "
                 r"from 127\.0\.0\.2", mark)
    check("exempted" not in srv.ftps_log_since(mark), "a foreign data connection was exempted")


def _p12(client):
    path = client.cert + ".p12"
    if not os.path.exists(path):
        run(["openssl", "pkcs12", "-export", "-in", client.chain, "-inkey", client.key,
             "-out", path, "-passout", "pass:changeit", "-name", "c"], check_rc=0)
    return path


@needs("java", "javac")
def test_java_stock_exempted_other_certificate_refused():
    cp = client_pki()
    srv = server(ftps=EXEMPT["ftps"] + ["FTPSVerifyClient optional",
                                        "FTPSCACertificateFile " + cp.root.cert],
                 preload=IFSESSION, extra=EXEMPT["extra"])
    mark = srv.log_mark()
    alice, bob = _p12(cp.alice), _p12(cp.bob)
    lines = java(srv, ["LIST", "RETR:small.bin"], p12=alice, datap12=bob, p12pass="changeit")
    refused_all(lines, "client certificate differs from the control connection's")
    srv.wait_log(r"data connection refused: client certificate differs", mark)
    check("exempted" not in srv.ftps_log_since(mark), "another certificate was exempted")
    # The same certificate on both: exempted, and logged as such.
    ops = ["LIST", "RETR:small.bin"]
    check_transfers(srv, java(srv, ops, p12=alice, p12pass="changeit"), ops, "TLSv1.3")
    srv.wait_log(r"exempted .*NoSessionReuseSameAddress\): same address 127\.0\.0\.1, client "
                 r"certificate same as control's", mark)


def test_same_address_exemption_only_in_ifsession_blocks():
    """The exemption must name its clients: at server level, in <Global> or
    in <IfAuthenticated> proftpd refuses to start; in <IfUser> it starts."""
    from ftpslib import Server
    for ftps in (["FTPSOptions NoSessionReuseSameAddress"],
                 ["<IfAuthenticated>", "  FTPSOptions NoSessionReuseSameAddress",
                  "</IfAuthenticated>"]):
        rc, out = Server(ftps=ftps, preload=IFSESSION).syntax_check()
        check(rc != 0 and "NoSessionReuseSameAddress applies only inside <IfUser>" in out,
              "%r accepted (rc %d): %s" % (ftps, rc, out[-400:]))
    rc, out = Server(ftps=["<IfUser alice>", "  FTPSOptions NoSessionReuseSameAddress StdEnvVars",
                           "</IfUser>"], preload=IFSESSION).syntax_check()
    check(rc == 0, "<IfUser> exemption refused (rc %d): %s" % (rc, out[-400:]))
