"""Measure `ftpdctl ftps reload` for N vhosts (each FTPSEngine on with an
RSA and an ECDSA certificate): the master's own timing from its log line
("N servers rebuilt in X ms"), three reloads per size.

usage: python3 bench/reload_time.py /abs/path/mod_ftps.so [N ...]"""

import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "t"))
import ftpslib  # noqa: E402
from lifelib import ctrls_server, ftpdctl  # noqa: E402


def measure(n):
    p = ftpslib.pki()
    lines = ["FTPSEngine on", "FTPSCertificate %s %s" % (p.ec, p.ec_key),
             "FTPSCertificate %s %s" % (p.rsa, p.rsa_key)]
    srv = ctrls_server(vhosts=[dict(name="vh%d" % i, own_port=True, lines=lines)
                               for i in range(n - 1)])
    srv.start(deadline=60)
    times = []
    for _ in range(3):
        rc, out = ftpdctl(srv, "ftps", "reload")
        m = re.search(r"(\d+) servers rebuilt in (\d+) ms", out)
        if not m:
            raise SystemExit("reload failed: " + out)
        times.append(int(m.group(2)))
    srv.stop()
    return times


def main():
    ftpslib.configure(sys.argv[1])
    for n in [int(a) for a in sys.argv[2:]] or [1, 10, 50]:
        t = measure(n)
        print("%3d vhosts: reload %s ms (min %d)" % (n, ", ".join(map(str, t)), min(t)))
    ftpslib.shutdown_all()


if __name__ == "__main__":
    main()
