"""Attack tests: a per-directory 'FTPSRequired data' (<Directory>, .ftpaccess)
must hold whatever spelling of the path the client uses.

The rule used to be matched on the raw argument while mod_xfer and mod_ls
resolve the real path, so './secret/x', '//secret/x', 'typo/../secret/x' or
a symlink into the directory moved the protected bytes in clear. Each test
asks for protected data in clear under many spellings and asserts that no
protected byte (nor a protected directory's listing) crossed the clear data
channel; then that the same client still gets the data with PROT P and the
unprotected files in clear (house style B26)."""

import os

from ftpslib import (GID, UID, Raw, check, clear_transfer, ftp_login, quit_quietly,
                     retr_bytes, server, sha256)

SECRET = os.urandom(2100)
ACC = os.urandom(900)
PUBLIC = os.urandom(1500)
MARKER = "only-in-secret.txt"


def paths_server():
    srv = server(extra=["AllowOverride on", "<Directory ~/secret>", "  FTPSRequired data",
                        "</Directory>"])
    files = {"secret/x": SECRET, "secret/" + MARKER: b"m", "acc/y": ACC,
             "acc/.ftpaccess": b"FTPSRequired data\n", "pub/p": PUBLIC}
    for rel, data in files.items():
        if rel not in srv.files:
            srv.put_file(rel, data)
            os.chown(os.path.dirname(srv.path(rel)), UID, GID)
    for name, target in (("link", "secret"), ("lx", "secret/x"), ("accl", "acc"),
                         ("pub/up", "../secret")):
        p = srv.path(name)
        if not os.path.lexists(p):
            os.symlink(target, p)
            os.lchown(p, UID, GID)
    return srv


def clear_cmd(r, line):
    return clear_transfer(r, line)


def logged_in(srv):
    r = Raw(srv)
    r.login()
    check(r.cmd("TYPE I").code == 200, "TYPE I")
    return r


RETR_SPELLINGS = ["secret/x", "./secret/x", "//secret/x", "secret//x", "typo/../secret/x",
                  "pub/../secret/x", "/secret/x", "~/secret/x", "~alice/secret/x", "lx",
                  "link/x", "pub/up/x", "./link/./x"]


def test_retr_protected_file_under_every_spelling():
    srv = paths_server()
    r = logged_in(srv)
    try:
        leaked = []
        for name in RETR_SPELLINGS:
            rep, data = clear_cmd(r, "RETR " + name)
            if data is not None and SECRET[:64] in data:
                leaked.append("%s (%s)" % (name, rep.code))
            elif rep.code == 226 or (rep.code != 521 and "~alice" not in name):
                leaked.append("%s answered %r, want 521" % (name, rep.text))
        for name in ("acc/y", "./acc/y", "//acc//y", "accl/y"):
            rep, data = clear_cmd(r, "RETR " + name)
            if (data is not None and ACC[:64] in data) or rep.code != 521:
                leaked.append("%s (.ftpaccess) -> %r" % (name, rep.text))
        check(not leaked, "protected bytes in clear or wrong reply: %s" % "; ".join(leaked))
        # The same client still reads what is public in clear ...
        rep, data = clear_cmd(r, "RETR pub/p")
        check(rep.code == 226 and data == PUBLIC, "clear RETR pub/p: %r" % rep.text)
    finally:
        r.close()
    # ... and the secret with PROT P.
    ftp = ftp_login(srv)
    try:
        check(sha256(retr_bytes(ftp, "./link/x")) == sha256(SECRET), "protected RETR ./link/x")
    finally:
        quit_quietly(ftp)


LIST_SPELLINGS = ["LIST secret", "LIST ./secret", "LIST -la secret", "LIST -la ./secret/",
                  "NLST //secret", "MLSD typo/../secret", "LIST link", "NLST link/",
                  "LIST ~/secret", "LIST sec*", "NLST s*t", "LIST -R", "LIST -R pub",
                  "LIST pub/up", "MLSD ./link"]


def test_list_protected_directory_under_every_spelling():
    srv = paths_server()
    r = logged_in(srv)
    try:
        leaked = []
        for line in LIST_SPELLINGS:
            rep, data = clear_cmd(r, line)
            if data is not None and MARKER.encode() in data:
                leaked.append("%s (%s)" % (line, rep.code))
            elif data is None and rep.code != 521:
                leaked.append("%s answered %r" % (line, rep.text))
        check(not leaked, "protected listing crossed in clear: %s" % "; ".join(leaked))
        rep, data = clear_cmd(r, "NLST pub")
        check(rep.code == 226 and b"p" in data, "clear NLST pub: %r %r" % (rep.text, data))
    finally:
        r.close()
    ftp = ftp_login(srv)
    try:
        names = ftp.nlst("link")
        check(any(MARKER in n for n in names), "protected NLST link: %r" % names)
    finally:
        quit_quietly(ftp)


def clear_stor(r, line, payload):
    return clear_transfer(r, line, payload)[0]


def test_stor_into_protected_directory_under_every_spelling():
    srv = paths_server()
    payload = os.urandom(1200)
    r = logged_in(srv)
    try:
        bad = []
        for i, name in enumerate(("./secret/n0", "//secret/n1", "link/n2", "pub/up/n3",
                                  "typo/../secret/n4", "~/secret/n5", "accl/n6")):
            rep = clear_stor(r, "STOR " + name, payload)
            if rep.code != 521:
                bad.append("%s -> %r" % (name, rep.text))
        for i in range(7):
            for d in ("secret", "acc"):
                if os.path.exists(srv.path("%s/n%d" % (d, i))):
                    bad.append("%s/n%d was created" % (d, i))
        check(not bad, "clear uploads into protected directories: %s" % "; ".join(bad))
        rep = clear_stor(r, "STOR pub/ok", payload)
        check(rep.code == 226, "clear STOR pub/ok: %r" % rep.text)
    finally:
        r.close()
    with open(srv.path("pub/ok"), "rb") as f:
        check(f.read() == payload, "pub/ok: wrong bytes")
