"""Attack tests: a session's memory stays bounded whatever a logged-in (or
not yet logged-in) client repeats: USER commands that make the module read
an authorized-certificates file, uploads, directory listings.

Each test runs the session under 'RLimitMemory session 96M' (an address-space
limit, so growth fails instead of passing slowly; not under the sanitizer
build, whose shadow memory needs terabytes of address space) and also asserts
that the session's resident memory grew by less than a bound far below what
one allocation per command would cost. After the flood the same session must
still work (B26)."""

import io
import os

from ftpslib import (PASSWORD, UID, USER, Raw, check, fresh_server, ftp_login, quit_quietly,
                     retr_bytes, rss_kb, session_pid, sha256)
from pki_clients import client_pki
from test_clientcerts import colon_fp, write_authz

GROWTH_KB = 12 * 1024


def limits():
    return [] if os.environ.get("FTPS_PROFTPD") else ["RLimitMemory session 96M"]


def test_many_users_with_authorized_certificates_file_bounded():
    cp = client_pki()
    srv = fresh_server(extra=limits(), ftps=[
        "FTPSVerifyClient on", "FTPSCACertificateFile " + cp.root.cert,
        "FTPSAuthorizedCertificates ~/.ftps/authorized_certs"])
    d = srv.path(".ftps")
    os.makedirs(d, exist_ok=True)
    os.chown(d, UID, UID)
    filler = "".join("# %s\n" % ("x" * 100) for _ in range(1500))       # ~150 KB
    write_authz(os.path.join(d, "authorized_certs"), filler + colon_fp(cp.alice.fp) + "\n")
    r = Raw(srv)
    try:
        r.auth(context=cp.alice.context(srv.pki.ca))
        check(r.cmd("USER " + USER).code == 331, "first USER")
        pid = session_pid(srv)
        before = rss_kb(pid)
        for i in range(400):
            rep = r.cmd("USER " + USER)
            check(rep.code == 331, "USER #%d: %r" % (i, rep.text))
        grown = rss_kb(pid) - before
        check(grown < GROWTH_KB, "400 USERs grew the session by %d KiB" % grown)
        check(r.cmd("PASS " + PASSWORD).code == 230, "PASS after the USER flood")
        check(r.cmd("PWD").code == 257, "PWD after the flood")
    finally:
        r.close()


def test_many_uploads_and_listings_bounded():
    srv = fresh_server(extra=limits())
    ftp = ftp_login(srv)
    try:
        payload = os.urandom(4096)
        ftp.storbinary("STOR warm.bin", io.BytesIO(payload))
        pid = session_pid(srv)
        before = rss_kb(pid)
        for i in range(150):
            ftp.storbinary("STOR up%d.bin" % (i % 5), io.BytesIO(payload))
            ftp.nlst()
        grown = rss_kb(pid) - before
        check(grown < GROWTH_KB, "150 STOR+NLST grew the session by %d KiB" % grown)
        check(sha256(retr_bytes(ftp, "up4.bin")) == sha256(payload), "RETR after the flood")
    finally:
        quit_quietly(ftp)
