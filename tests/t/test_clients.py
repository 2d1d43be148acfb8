"""Real clients against mod_ftps: curl (explicit/implicit, PASV/EPSV, TLS 1.2/1.3,
ranges), ftplib and lftp in active mode (PORT/EPRT), lftp mirror, openssl s_client."""

import os
import re

from ftpslib import (ImplicitFTP_TLS, ReuseFTP_TLS, check, curl, curl_get, curl_put, ftp_login, lftp, mkdtemp,
                     needs, quit_quietly, retr_bytes, s_client, server, sha256, sha256_file,
                     stor_bytes)


def _roundtrip(srv, tag, *args, scheme="ftp"):
    data = curl_get(srv, "big.bin", *args, scheme=scheme)
    check(sha256(data) == srv.files["big.bin"], "%s download: wrong bytes (%d)" % (tag, len(data)))
    up = os.urandom((1 << 20) + 123)
    name = "curl-%s.bin" % tag
    curl_put(srv, name, up, *args, scheme=scheme)
    check(srv.file_sha(name) == sha256(up), "%s upload: server file differs" % tag)


@needs("curl")
def test_curl_explicit_download_upload():
    _roundtrip(server(), "explicit")


@needs("curl")
def test_curl_tls12():
    srv = server()
    _roundtrip(srv, "tls12", "--tlsv1.2", "--tls-max", "1.2")
    cp = curl(srv, "-v", "--ssl-reqd", "--tlsv1.2", "--tls-max", "1.2", srv.url("small.bin"))
    check(cp.returncode == 0 and "TLSv1.2" in cp.err, "curl -v does not show TLSv1.2: %s"
          % cp.err[-600:])


@needs("curl")
def test_curl_tls13():
    srv = server()
    _roundtrip(srv, "tls13", "--tlsv1.3")
    cp = curl(srv, "-v", "--ssl-reqd", "--tlsv1.3", srv.url("small.bin"))
    check(cp.returncode == 0 and "TLSv1.3" in cp.err, "curl -v does not show TLSv1.3: %s"
          % cp.err[-600:])


@needs("curl")
def test_curl_implicit_ftps():
    _roundtrip(server(implicit=True), "implicit", scheme="ftps")


@needs("curl")
def test_curl_pasv():
    srv = server()
    _roundtrip(srv, "pasv", "--disable-epsv")
    cp = curl(srv, "-v", "--ssl-reqd", "--disable-epsv", srv.url("small.bin"))
    check("> PASV" in cp.err and cp.returncode == 0, "PASV not used: %s" % cp.err[-600:])


@needs("curl")
def test_curl_epsv():
    srv = server()
    cp = curl(srv, "-v", "--ssl-reqd", srv.url("small.bin"))
    check(cp.returncode == 0 and "> EPSV" in cp.err, "EPSV not used: %s" % cp.err[-600:])
    check(sha256(cp.stdout_b) == srv.files["small.bin"], "EPSV download: wrong bytes")


class EprtFTP_TLS(ReuseFTP_TLS):
    """Active mode with EPRT even over IPv4 (ftplib only uses it for IPv6)."""

    def sendport(self, host, port):
        self.sent_eprt = True
        return self.sendeprt(host, port)


def _active_roundtrip(cls, tag):
    # curl 7.88 cannot do active FTPS (curl issue #10666, fixed in 8.0), so
    # ftplib drives PORT/EPRT; the server connects, the client is TLS client.
    srv = server()
    ftp = ftp_login(srv, cls=cls)
    ftp.set_pasv(False)
    data = retr_bytes(ftp, "big.bin")
    check(sha256(data) == srv.files["big.bin"], "%s RETR: wrong bytes (%d)" % (tag, len(data)))
    up = os.urandom(300000)
    stor_bytes(ftp, "active-%s.bin" % tag, up)
    check(srv.file_sha("active-%s.bin" % tag) == sha256(up), "%s STOR: server file differs" % tag)
    check("small.bin" in ftp.nlst(), "%s NLST" % tag)
    quit_quietly(ftp)
    return ftp


def test_active_port():
    _active_roundtrip(ReuseFTP_TLS, "port")


def test_active_eprt():
    ftp = _active_roundtrip(EprtFTP_TLS, "eprt")
    check(getattr(ftp, "sent_eprt", False), "EPRT was not used")


@needs("lftp")
def test_lftp_active_get():
    srv = server()
    dest = os.path.join(mkdtemp("ftps-lftp-act-"), "big.bin")
    cp = lftp(srv, "set ftp:passive-mode false; get big.bin -o %s" % dest)
    check(cp.returncode == 0, "lftp active get exit %d: %s" % (cp.returncode, (cp.err + cp.out)[-800:]))
    check(sha256_file(dest) == srv.files["big.bin"], "lftp active get: wrong bytes")


@needs("curl")
def test_curl_range_uses_rest():
    srv = server()
    data = curl_get(srv, "big.bin", "--range", "1000-")
    with open(srv.path("big.bin"), "rb") as f:
        want = f.read()[1000:]
    check(sha256(data) == sha256(want), "range 1000-: wrong bytes (%d)" % len(data))


@needs("curl")
def test_curl_empty_file():
    srv = server()
    data = curl_get(srv, "empty.bin")
    check(data == b"", "empty.bin download returned %d bytes" % len(data))
    curl_put(srv, "curl-empty.bin", b"")
    check(os.path.getsize(srv.path("curl-empty.bin")) == 0, "empty upload not 0 bytes")


@needs("curl")
def test_curl_list():
    srv = server()
    cp = curl(srv, "--ssl-reqd", "--list-only", srv.url(""))
    check(cp.returncode == 0, "curl list: %s" % cp.err)
    names = cp.out.split()
    check("small.bin" in names and "big.bin" in names, "listing: %r" % names)


@needs("curl")
def test_curl_ssl_reqd_refused_without_engine():
    p = server().pki
    srv = server(defaults=False, ftps=["FTPSEngine off", "FTPSCertificate %s %s" % (p.ec, p.ec_key)])
    cp = curl(srv, "--ssl-reqd", srv.url("small.bin"))
    check(cp.returncode != 0 and cp.stdout_b == b"", "curl --ssl-reqd succeeded without FTPS")


@needs("lftp")
def test_lftp_mirror_download():
    srv = server()
    sums = srv.make_tree("lftp-tree", nfiles=30, large=3 << 20)
    dest = mkdtemp("ftps-lftp-")
    cp = lftp(srv, "mirror lftp-tree %s/lftp-tree" % dest)
    check(cp.returncode == 0, "lftp mirror exit %d: %s" % (cp.returncode, (cp.err + cp.out)[-800:]))
    for rel, want in sums.items():
        p = os.path.join(dest, rel)
        check(os.path.isfile(p), "lftp mirror missed %s" % rel)
        check(sha256_file(p) == want, "lftp mirror: %s differs" % rel)


@needs("lftp")
def test_lftp_mirror_upload():
    srv = server()
    src = mkdtemp("ftps-lftp-src-")
    sums = {}
    for i in range(12):
        data = os.urandom(i * 1111)
        rel = "up/%s/g%02d.dat" % ("x" if i % 3 else "y", i)
        os.makedirs(os.path.dirname(os.path.join(src, rel)), exist_ok=True)
        with open(os.path.join(src, rel), "wb") as f:
            f.write(data)
        sums[rel] = sha256(data)
    cp = lftp(srv, "mirror -R %s/up lftp-up" % src)
    check(cp.returncode == 0, "lftp mirror -R exit %d: %s" % (cp.returncode, (cp.err + cp.out)[-800:]))
    for rel, want in sums.items():
        p = srv.path("lftp-" + rel)
        check(os.path.isfile(p) and sha256_file(p) == want, "lftp upload: %s missing/differs" % rel)


def _s_client_ok(cp, what):
    out = cp.out + cp.err
    check("Verify return code: 0 (ok)" in out, "%s: handshake/verify failed: %s" % (what, out[-800:]))
    return out


@needs("openssl")
def test_s_client_starttls_ftp():
    out = _s_client_ok(s_client(server()), "s_client -starttls ftp")
    check(re.search(r"Protocol\s*:\s*TLSv1\.[23]|New, TLSv1\.[23]", out), "no protocol line: %s"
          % out[-600:])


@needs("openssl")
def test_s_client_rsa_certificate():
    out = _s_client_ok(s_client(server(), "-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"),
                       "RSA suite")
    check("Server public key is 2048 bit" in out, "RSA suite did not get the RSA cert: %s" % out[-600:])


@needs("openssl")
def test_s_client_ecdsa_certificate():
    out = _s_client_ok(s_client(server(), "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"),
                       "ECDSA suite")
    check("Server public key is 256 bit" in out, "ECDSA suite did not get the EC cert: %s" % out[-600:])


@needs("openssl")
def test_s_client_implicit():
    out = _s_client_ok(s_client(server(implicit=True), starttls=False), "implicit s_client")
    check("220" in out, "no banner inside TLS: %s" % out[-600:])


@needs("openssl", "curl")
def test_protocol_tls12_only():
    srv = server(ftps=["FTPSProtocol TLSv1.2"])
    _s_client_ok(s_client(srv, "-tls1_2"), "TLSv1.2 on a TLSv1.2-only server")
    cp = s_client(srv, "-tls1_3")
    check(cp.returncode != 0, "TLSv1.3 accepted although FTPSProtocol TLSv1.2: %s" % cp.out[-400:])
    cp = curl(srv, "--ssl-reqd", "--tlsv1.3", srv.url("small.bin"))
    check(cp.returncode != 0, "curl --tlsv1.3 succeeded on a TLSv1.2-only server")


@needs("openssl")
def test_protocol_tls13_only():
    srv = server(ftps=["FTPSProtocol TLSv1.3"])
    _s_client_ok(s_client(srv, "-tls1_3"), "TLSv1.3 on a TLSv1.3-only server")
    cp = s_client(srv, "-tls1_2")
    check(cp.returncode != 0, "TLSv1.2 accepted although FTPSProtocol TLSv1.3: %s" % cp.out[-400:])


@needs("openssl")
def test_cipher_suite_tls12_restricted():
    srv = server(ftps=["FTPSProtocol TLSv1.2", "FTPSCipherSuite ECDHE-RSA-AES128-GCM-SHA256"])
    out = _s_client_ok(s_client(srv, "-tls1_2"), "allowed suite")
    check("ECDHE-RSA-AES128-GCM-SHA256" in out, "cipher not the configured one: %s" % out[-600:])
    cp = s_client(srv, "-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-GCM-SHA384")
    check(cp.returncode != 0, "a cipher outside FTPSCipherSuite was accepted")


@needs("openssl")
def test_cipher_suite_tls13_suites():
    srv = server(ftps=["FTPSProtocol TLSv1.3", "FTPSCipherSuite HIGH TLS_CHACHA20_POLY1305_SHA256"])
    out = _s_client_ok(s_client(srv, "-tls1_3"), "TLS 1.3 suite")
    check("TLS_CHACHA20_POLY1305_SHA256" in out, "TLS 1.3 suite not honoured: %s" % out[-600:])


def test_python_implicit_client():
    srv = server(implicit=True)
    ftp = ftp_login(srv, cls=ImplicitFTP_TLS)
    check("small.bin" in ftp.nlst(), "implicit NLST")
    data = retr_bytes(ftp, "big.bin")
    check(sha256(data) == srv.files["big.bin"], "implicit RETR: wrong bytes")
    up = os.urandom(200000)
    stor_bytes(ftp, "implicit-up.bin", up)
    check(srv.file_sha("implicit-up.bin") == sha256(up), "implicit STOR: server file differs")
    quit_quietly(ftp)


def test_python_empty_file_roundtrip():
    srv = server()
    ftp = ftp_login(srv)
    check(retr_bytes(ftp, "empty.bin") == b"", "empty RETR not empty")
    stor_bytes(ftp, "py-empty.bin", b"")
    check(os.path.getsize(srv.path("py-empty.bin")) == 0, "empty STOR not 0 bytes")
    quit_quietly(ftp)
