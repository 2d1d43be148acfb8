"""Client-certificate PKI for test_clientcerts.py, made once per run with the
openssl CLI (`openssl ca`, so CRLs and odd validity dates are possible).

    root  (self-signed)  -- issues the intermediate and a sub-intermediate
      inter              -- issues alice, bob, expired, notyet, revoked, bigsubj
        inter2           -- issues deep (a chain one level longer)
    ca2   (self-signed)  -- a second, independent CA: carol2, revoked2
    selfsigned           -- a self-signed client certificate

Every client has .cert (leaf), .key and .chain (leaf + the CAs below the
root), .fp (SHA-256 of the DER, lower-case hex) and .serial (upper-case hex).
CRLs: crl_inter (lists revoked), crl_inter_empty (made before the
revocation), crl_inter_expired (nextUpdate in 2020), crl_root, crl_ca2
(lists revoked2).
"""

import hashlib
import os
import ssl

from ftpslib import mkdtemp, run

CA_CONF = """\
[ ca ]
default_ca = CA_default

[ CA_default ]
dir = {dir}
database = {dir}/index.txt
new_certs_dir = {dir}/newcerts
certificate = {cert}
private_key = {key}
serial = {dir}/serial
crlnumber = {dir}/crlnumber
default_md = sha256
default_days = 3
default_crl_days = 3
policy = policy_any
unique_subject = no
copy_extensions = copy
email_in_dn = yes

[ policy_any ]
commonName = optional

[ ext_client ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth

[ ext_ca ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
"""

EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]


def _ossl(*args):
    return run(["openssl"] + list(args), check_rc=0)


class Client:
    def __init__(self, name, cert, key, chain):
        self.name, self.cert, self.key, self.chain = name, cert, key, chain
        der = ssl.PEM_cert_to_DER_cert(open(cert).read())
        self.fp = hashlib.sha256(der).hexdigest()
        out = _ossl("x509", "-in", cert, "-noout", "-serial").out
        self.serial = out.strip().split("=", 1)[1].upper()

    def pem(self):
        return open(self.cert).read()

    def context(self, server_ca):
        """Client SSLContext trusting the server's CA, presenting this cert."""
        ctx = ssl.create_default_context(cafile=server_ca)
        ctx.load_cert_chain(self.chain, self.key)
        return ctx

    def __repr__(self):
        return "Client(%s)" % self.name


class CA:
    """A CA directory usable by `openssl ca`."""

    def __init__(self, top, name, subj, parent=None):
        self.name = name
        self.dir = os.path.join(top, name)
        os.makedirs(os.path.join(self.dir, "newcerts"))
        self.cert = os.path.join(self.dir, "ca.pem")
        self.key = os.path.join(self.dir, "ca.key")
        open(os.path.join(self.dir, "index.txt"), "w").close()
        with open(os.path.join(self.dir, "serial"), "w") as f:
            f.write("%016X\n" % int.from_bytes(os.urandom(7), "big"))
        with open(os.path.join(self.dir, "crlnumber"), "w") as f:
            f.write("01\n")
        self.conf = os.path.join(self.dir, "ca.cnf")
        with open(self.conf, "w") as f:
            f.write(CA_CONF.format(dir=self.dir, cert=self.cert, key=self.key))
        if parent is None:
            _ossl("req", "-x509", "-nodes", *EC, "-keyout", self.key, "-out", self.cert,
                  "-days", "3", "-subj", subj,
                  "-addext", "basicConstraints=critical,CA:TRUE",
                  "-addext", "keyUsage=critical,keyCertSign,cRLSign")
            self.chain_below_root = []
        else:
            csr = self.cert + ".csr"
            _ossl("req", "-new", "-nodes", *EC, "-keyout", self.key, "-out", csr, "-subj", subj)
            parent.sign(csr, self.cert, "ext_ca")
            self.chain_below_root = [self.cert] + parent.chain_below_root
        os.chmod(self.key, 0o600)

    def sign(self, csr, out, ext, startdate=None, enddate=None):
        cmd = ["ca", "-batch", "-notext", "-preserveDN", "-config", self.conf, "-extensions", ext,
               "-in", csr, "-out", out]
        if startdate:
            cmd += ["-startdate", startdate]
        if enddate:
            cmd += ["-enddate", enddate]
        _ossl(*cmd)

    def issue(self, name, subj, addext=(), startdate=None, enddate=None):
        d = self.dir
        cert, key = os.path.join(d, name + ".pem"), os.path.join(d, name + ".key")
        csr = cert + ".csr"
        cmd = ["req", "-new", "-nodes", *EC, "-keyout", key, "-out", csr, "-subj", subj]
        for e in addext:
            cmd += ["-addext", e]
        _ossl(*cmd)
        self.sign(csr, cert, "ext_client", startdate, enddate)
        os.chmod(key, 0o600)
        chain = os.path.join(d, name + "-chain.pem")
        with open(chain, "w") as f:
            for p in [cert] + self.chain_below_root:
                f.write(open(p).read())
        return Client(name, cert, key, chain)

    def revoke(self, client):
        _ossl("ca", "-config", self.conf, "-revoke", client.cert, "-crl_reason", "keyCompromise")

    def crl(self, name, *args):
        out = os.path.join(self.dir, name + ".crl.pem")
        _ossl("ca", "-batch", "-config", self.conf, "-gencrl", "-out", out, *args)
        return out


class ClientPKI:
    def __init__(self):
        top = self.dir = mkdtemp("ftps-cpki-")
        self.root = CA(top, "root", "/O=ftps-test/CN=Client Root CA")
        self.inter = CA(top, "inter", "/O=ftps-test/CN=Client Intermediate CA", self.root)
        self.inter2 = CA(top, "inter2", "/O=ftps-test/CN=Client Sub-Intermediate CA", self.inter)
        self.ca2 = CA(top, "ca2", "/O=ftps-test/CN=Second Client CA")

        i = self.inter
        self.alice = i.issue("alice", "/CN=alice", addext=[
            "subjectAltName=email:alice@example.com,"
            "otherName:1.3.6.1.4.1.311.20.2.3;UTF8:alice@corp.example"])
        self.bob = i.issue("bob", "/CN=bob", addext=[
            "subjectAltName=email:bob@example.com,"
            "otherName:1.3.6.1.4.1.311.20.2.3;UTF8:bob@corp.example"])
        # No SAN: EmailAddress must fall back to the subject's emailAddress.
        self.dnmail = i.issue("dnmail", "/CN=somebody/emailAddress=alice@example.com")
        self.expired = i.issue("expired", "/CN=expired",
                               startdate="20190101000000Z", enddate="20200101000000Z")
        self.notyet = i.issue("notyet", "/CN=notyet",
                              startdate="20991231000000Z", enddate="21000101000000Z")
        self.revoked = i.issue("revoked", "/CN=revoked")
        ous = "".join("/OU=unit-%03d-%s" % (n, "x" * 50) for n in range(80))
        self.bigsubj = i.issue("bigsubj", ous + "/CN=alice")
        self.deep = self.inter2.issue("deep", "/CN=deep")
        self.carol2 = self.ca2.issue("carol2", "/CN=carol2")
        self.revoked2 = self.ca2.issue("revoked2", "/CN=revoked2")

        ss = os.path.join(top, "selfsigned")
        _ossl("req", "-x509", "-nodes", *EC, "-keyout", ss + ".key", "-out", ss + ".pem",
              "-days", "3", "-subj", "/CN=alice",
              "-addext", "extendedKeyUsage=clientAuth")
        os.chmod(ss + ".key", 0o600)
        self.selfsigned = Client("selfsigned", ss + ".pem", ss + ".key", ss + ".pem")

        self.crl_inter_empty = i.crl("empty")
        i.revoke(self.revoked)
        self.crl_inter = i.crl("current")
        self.crl_inter_expired = i.crl("expired", "-crl_lastupdate", "20200101000000Z",
                                       "-crl_nextupdate", "20200102000000Z")
        self.crl_root = self.root.crl("current")
        self.ca2.revoke(self.revoked2)
        self.crl_ca2 = self.ca2.crl("current")

    def bundle(self, name, *paths):
        """One PEM file concatenating paths (CA bundles, CRL bundles)."""
        out = os.path.join(self.dir, name)
        with open(out, "w") as f:
            for p in paths:
                f.write(open(p).read())
        return out

    def directory(self, name, *paths):
        """A directory holding copies of paths (for the *Path directives)."""
        d = os.path.join(self.dir, name)
        os.makedirs(d)
        for n, p in enumerate(paths):
            with open(os.path.join(d, "%02d-%s" % (n, os.path.basename(p))), "w") as f:
                f.write(open(p).read())
        return d


_cpki = None


def client_pki():
    global _cpki
    if _cpki is None:
        _cpki = ClientPKI()
    return _cpki
