"""OCSP stapling (FTPSStapling, FTPSStaplingResponse): a fresh response for
the served certificate is stapled (`openssl s_client -status` sees it, on
TLS 1.2 and 1.3); an expired one, or one that expires while the server
runs, is never stapled; a response for another certificate, or bytes that
are not an OCSP response, stop startup with a clear message; without
FTPSStapling on nothing is stapled."""

import datetime
import os
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from ftpslib import Server, ServerError, check, mkdtemp, pki, run, s_client

_dir = None


def workdir():
    global _dir
    if _dir is None:
        _dir = mkdtemp("ftps-ocsp-")
    return _dir


def load(path):
    with open(path, "rb") as f:
        return f.read()


def response(cert_path, name, this_delta, next_delta):
    """A DER response signed by the test CA for cert_path, valid from
    now+this_delta to now+next_delta (seconds; next_delta None: none)."""
    p = pki()
    cert = x509.load_pem_x509_certificate(load(cert_path))
    ca = x509.load_pem_x509_certificate(load(p.ca))
    key = serialization.load_pem_private_key(load(p.ca_key), None)
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    b = ocsp.OCSPResponseBuilder().add_response(
        cert=cert, issuer=ca, algorithm=hashes.SHA1(),
        cert_status=ocsp.OCSPCertStatus.GOOD,
        this_update=now + datetime.timedelta(seconds=this_delta),
        next_update=(now + datetime.timedelta(seconds=next_delta)
                     if next_delta is not None else None),
        revocation_time=None, revocation_reason=None,
    ).responder_id(ocsp.OCSPResponderEncoding.HASH, ca)
    der = b.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
    path = os.path.join(workdir(), name)
    with open(path, "wb") as f:
        f.write(der)
    return path


def openssl_ocsp_response(name):
    """The same as an external job would make it with `openssl ocsp`."""
    p = pki()
    serial = run(["openssl", "x509", "-in", p.ec, "-noout", "-serial"],
                 check_rc=0).out.strip().split("=")[1]
    subject = run(["openssl", "x509", "-in", p.ec, "-noout", "-subject",
                   "-nameopt", "compat"], check_rc=0).out.strip()[len("subject="):]
    idx = os.path.join(workdir(), "index.txt")
    with open(idx, "w") as f:
        f.write("V\t301231235959Z\t\t%s\tunknown\t%s\n" % (serial, subject))
    path = os.path.join(workdir(), name)
    run(["openssl", "ocsp", "-index", idx, "-rsigner", p.ca, "-rkey", p.ca_key,
         "-CA", p.ca, "-issuer", p.ca, "-cert", p.ec, "-respout", path,
         "-ndays", "1"], check_rc=0)
    return path


def start(*lines):
    srv = Server(defaults=False, files=False, ftps=[
        "FTPSEngine on", "FTPSCertificate %s %s" % (pki().ec, pki().ec_key),
        "FTPSLog /dev/null"] + list(lines))
    srv.private = True
    return srv.start()


def stapled(srv, *args):
    out = s_client(srv, "-status", *args)
    text = out.out + out.err
    if "OCSP Response Status: successful" in text:
        return True
    check("no response sent" in text, "s_client -status said neither: %s"
          % text[-800:])
    return False


def test_stapling_fresh_response_is_stapled():
    resp = openssl_ocsp_response("good.der")
    srv = start("FTPSStapling on", "FTPSStaplingResponse %s" % resp)
    check(stapled(srv, "-tls1_3"), "TLS 1.3: fresh response not stapled")
    check(stapled(srv, "-tls1_2"), "TLS 1.2: fresh response not stapled")


def test_stapling_off_staples_nothing():
    resp = openssl_ocsp_response("good-off.der")
    srv = start("FTPSStapling off", "FTPSStaplingResponse %s" % resp)
    check(not stapled(srv), "stapled with FTPSStapling off")


def test_stapling_expired_response_not_stapled():
    resp = response(pki().ec, "expired.der", -7200, -3600)
    srv = start("FTPSStapling on", "FTPSStaplingResponse %s" % resp)
    check(not stapled(srv), "an expired response was stapled")


def test_stapling_response_expiring_while_running():
    resp = response(pki().ec, "short.der", -60, 4)
    srv = start("FTPSStapling on", "FTPSStaplingResponse %s" % resp)
    check(stapled(srv), "fresh short-lived response not stapled")
    time.sleep(5)
    check(not stapled(srv), "a response stapled after its nextUpdate")


def test_stapling_response_without_next_update_not_stapled():
    resp = response(pki().ec, "no-next.der", -60, None)
    srv = start("FTPSStapling on", "FTPSStaplingResponse %s" % resp)
    check(not stapled(srv), "a response without nextUpdate was stapled")


def refused(resp, *want):
    try:
        srv = start("FTPSStapling on", "FTPSStaplingResponse %s" % resp)
    except ServerError as e:
        for w in want:
            check(w in str(e), "startup message lacks %r: %s" % (w, str(e)[-800:]))
        return
    srv.stop()
    raise AssertionError("started with %s" % resp)


def test_stapling_response_for_another_certificate_refused():
    resp = response(pki().rsa, "other.der", -60, 3600)
    refused(resp, "FTPSStaplingResponse", "not a response for this server")


def test_stapling_garbage_refused():
    path = os.path.join(workdir(), "garbage.der")
    with open(path, "wb") as f:
        f.write(b"not an OCSP response")
    refused(path, "FTPSStaplingResponse", "not a DER OCSP response")


def aia_leaf(port):
    """An ECDSA leaf of the test CA naming http://127.0.0.1:port as its
    OCSP responder; the certificate file holds the leaf, then the CA."""
    p = pki()
    d = workdir()
    key, csr = os.path.join(d, "aia.key"), os.path.join(d, "aia.csr")
    leaf, chain = os.path.join(d, "aia.pem"), os.path.join(d, "aia-chain.pem")
    ext = os.path.join(d, "aia.ext")
    with open(ext, "w") as f:
        f.write("basicConstraints=CA:FALSE\n"
                "keyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth\n"
                "subjectAltName=IP:127.0.0.1\n"
                "authorityInfoAccess=OCSP;URI:http://127.0.0.1:%d/\n" % port)
    run(["openssl", "req", "-new", "-nodes", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:P-256", "-keyout", key, "-out", csr, "-subj",
         "/CN=127.0.0.1"], check_rc=0)
    run(["openssl", "x509", "-req", "-in", csr, "-CA", p.ca, "-CAkey",
         p.ca_key, "-set_serial", "4242", "-days", "3", "-extfile", ext,
         "-out", leaf], check_rc=0)
    with open(chain, "w") as f:
        f.write(load(leaf).decode() + load(p.ca).decode())
    os.chmod(key, 0o600)
    return leaf, chain, key


def test_stapling_fetched_from_responder():
    """FTPSStapling on alone: the master asks the certificate's responder
    (openssl ocsp on 127.0.0.1) at startup; the response is stapled."""
    import subprocess
    from ftpslib import free_port
    p = pki()
    port = free_port()
    leaf, chain, key = aia_leaf(port)
    subject = run(["openssl", "x509", "-in", leaf, "-noout", "-subject",
                   "-nameopt", "compat"], check_rc=0).out.strip()[len("subject="):]
    idx = os.path.join(workdir(), "aia-index.txt")
    with open(idx, "w") as f:
        f.write("V\t301231235959Z\t\t1092\tunknown\t%s\n" % subject)
    responder = subprocess.Popen(
        ["openssl", "ocsp", "-index", idx, "-port", str(port),
         "-rsigner", p.ca, "-rkey", p.ca_key, "-CA", p.ca, "-ndays", "1",
         "-nrequest", "5"], stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        srv = Server(defaults=False, files=False, ftps=[
            "FTPSEngine on", "FTPSCertificate %s %s" % (chain, key),
            "FTPSLog /dev/null", "FTPSStapling on"])
        srv.private = True
        srv.start()
        check(stapled(srv), "the fetched response was not stapled: %s" % srv.diagnostics())
    finally:
        responder.kill()
        responder.wait()


def test_stapling_on_without_responder_refused():
    """FTPSStapling on, no file, and a certificate naming no responder."""
    srv = Server(defaults=False, files=False, ftps=[
        "FTPSEngine on", "FTPSCertificate %s %s" % (pki().ec, pki().ec_key),
        "FTPSLog /dev/null", "FTPSStapling on"])
    srv.private = True
    try:
        srv.start()
    except ServerError as e:
        check("names an OCSP responder" in str(e), str(e)[-600:])
        return
    srv.stop()
    raise AssertionError("started without any OCSP source")
