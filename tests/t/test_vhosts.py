"""Per-virtual-host policy: configuration contexts and inheritance, port-based
vhosts with their own certificates and policies, startup errors that name the
vhost, and name-based vhosts chosen by SNI (RFC 6066) or HOST (RFC 7151)."""

import os
import re
import subprocess

from ftpslib import (PASSWORD, PROFTPD, SYSTEM_MODULE_DIR, USER, Raw, ReuseFTP_TLS, Server, check, curl,
                     fresh_server, needs, pki, quit_quietly, retr_bytes, s_client, server,
                     sha256)

A_CN = "vhost-a.example"
T13_CN = "tls13.example"
OTHER = "other.example"
IFSESSION = ["ModulePath " + SYSTEM_MODULE_DIR, "LoadModule mod_ifsession.c"]


def cert(pair):
    return "FTPSCertificate %s %s" % pair


def has_feat(reply, name):
    return any(l == " " + name or l.startswith(" %s " % name) for l in reply.lines[1:-1])


def expect(r, line, code):
    rep = r.cmd(line)
    check(rep.code == code, "%s: want %d, got %r" % (line, code, rep.text))
    return rep


def no_hostname_ctx():
    """Verifies the chain against the test CA but not the name, so the
    subject of whichever certificate the server picked can be read."""
    ctx = pki().client_context()
    ctx.check_hostname = False
    return ctx


def peer_cn(r):
    subject = dict(x[0] for x in r.sock.getpeercert()["subject"])
    return subject.get("commonName")


def sc_subject(out):
    m = re.search(r"^subject=.*?CN\s*=\s*([^,\n]+)", out, re.M)
    return m.group(1).strip() if m else None


# --------------------------------------------------------------------------
# Port-based vhosts
# --------------------------------------------------------------------------

def port_vhosts():
    """Default server (FTPS on, optional, CN 127.0.0.1) plus four vhosts on
    ports of their own: vh-a (own cert, FTPSRequired on), vh-off (FTPSEngine
    off), vh-bare (no FTPS lines at all) and vh-13 (TLSv1.3 only).  <Global>
    sets FTPSMaxPreLoginErrors 4 for every server."""
    p = pki()
    return server(glob=["FTPSMaxPreLoginErrors 4"], vhosts=[
        dict(name="vh-a", own_port=True,
             lines=["FTPSEngine on", cert(p.leaf(A_CN, dns=[A_CN], ip=["127.0.0.1"])),
                    "FTPSRequired on", "FTPSLog {ftpslog}"]),
        dict(name="vh-off", own_port=True, lines=["FTPSEngine off"]),
        dict(name="vh-bare", own_port=True, lines=[]),
        dict(name="vh-13", own_port=True,
             lines=["FTPSEngine on", cert(p.leaf(T13_CN, dns=[T13_CN])),
                    "FTPSProtocol TLSv1.3", "FTPSLog {ftpslog}"]),
    ])


def test_port_vhost_own_certificate_and_required_on():
    srv = port_vhosts()
    port = srv.vport["vh-a"]
    mark = srv.log_mark()
    r = Raw(srv, port=port)
    check("vh-a" in r.banner.text, "not vh-a's banner: %r" % r.banner.text)
    expect(r, "USER alice", 530)
    f = expect(r, "FEAT", 211)
    check(has_feat(f, "AUTH TLS"), "FEAT of the FTPS vhost lacks AUTH TLS: %r" % f.text)
    r.auth(context=no_hostname_ctx())
    check(peer_cn(r) == A_CN, "vh-a served CN=%r, want %r" % (peer_cn(r), A_CN))
    r.login()
    r.close()
    srv.wait_log(r"refused USER", mark)
    ftp = ReuseFTP_TLS(context=pki().client_context(), timeout=15)
    ftp.connect("127.0.0.1", port)
    ftp.login(USER, PASSWORD)
    ftp.prot_p()
    data = retr_bytes(ftp, "small.bin")
    check(sha256(data) == srv.files["small.bin"], "RETR on vh-a: wrong bytes (%d)" % len(data))
    quit_quietly(ftp)


def test_port_vhost_policy_does_not_leak_to_default_server():
    srv = port_vhosts()
    r = Raw(srv)
    expect(r, "USER alice", 331)        # vh-a's FTPSRequired on is vh-a's alone
    r2 = Raw(srv)
    r2.auth(context=no_hostname_ctx())
    check(peer_cn(r2) == "127.0.0.1", "default server served CN=%r" % peer_cn(r2))
    r.close()
    r2.close()


def test_port_vhost_engine_off_502_and_plain_login():
    srv = port_vhosts()
    r = Raw(srv, port=srv.vport["vh-off"])
    f = expect(r, "FEAT", 211)
    for feat in ("AUTH TLS", "PBSZ", "PROT"):
        check(not has_feat(f, feat), "FEAT of the FTPSEngine-off vhost lists %r: %r" % (feat, f.text))
    expect(r, "AUTH TLS", 502)
    r.login()
    expect(r, "PWD", 257)
    r.close()


def test_server_config_does_not_flow_into_vhost():
    srv = port_vhosts()      # server config has FTPSEngine on; vh-bare has no FTPS line
    r = Raw(srv, port=srv.vport["vh-bare"])
    f = expect(r, "FEAT", 211)
    check(not has_feat(f, "AUTH TLS"), "vh-bare inherited FTPS from server config: %r" % f.text)
    expect(r, "AUTH TLS", 502)
    r.login()
    r.close()


def _closed_after_budget(srv, port, limit):
    """limit-1 failing commands are answered; the limit-th brings 421 and
    the close (its own 5xx may or may not precede the 421)."""
    r = Raw(srv, port=port)
    for i in range(limit - 1):
        rep = r.cmd("XYZZY%d" % i)
        check(rep.code in (500, 534), "bad command %d: want 500/534, got %r" % (i + 1, rep.text))
    rep = r.cmd("XYZZY-last")
    if rep.code != 421:
        rep = r.reply()
    check(rep.code == 421, "after %d failed commands: want 421, got %r" % (limit, rep.text))
    r.expect_closed(within=5)
    r.close()


def test_global_flows_into_default_server_and_vhosts():
    srv = port_vhosts()
    mark = srv.log_mark()
    _closed_after_budget(srv, srv.port, 4)            # <Global> FTPSMaxPreLoginErrors 4
    _closed_after_budget(srv, srv.vport["vh-a"], 4)
    srv.wait_log(r"4 failed commands before login", mark)


def test_global_ftps_engine_serves_every_vhost():
    p = pki()
    srv = fresh_server(defaults=False, glob=["FTPSEngine on", cert((p.ec, p.ec_key)),
                                             "FTPSLog {ftpslog}"],
                       vhosts=[dict(name="vh-plain", own_port=True, lines=[])])
    for port in (srv.port, srv.vport["vh-plain"]):
        r = Raw(srv, port=port)
        r.auth()
        r.login()
        expect(r, "PWD", 257)
        r.close()


@needs("openssl")
def test_tls13_vhost_refuses_tls12_neighbour_serves_it():
    srv = port_vhosts()
    cp = s_client(srv, "-tls1_2", port=srv.vport["vh-13"])
    out = cp.out + cp.err
    check(cp.returncode != 0 and "alert protocol version" in out,
          "TLS 1.2 client on the TLSv1.3-only vhost: rc %d, %s" % (cp.returncode, out[-500:]))
    cp = s_client(srv, "-tls1_3", port=srv.vport["vh-13"])
    out = cp.out + cp.err
    check(cp.returncode == 0 and sc_subject(out) == T13_CN,
          "TLS 1.3 on vh-13: rc %d subject %r: %s" % (cp.returncode, sc_subject(out), out[-400:]))
    cp = s_client(srv, "-tls1_2")
    out = cp.out + cp.err
    check(cp.returncode == 0 and re.search(r"Protocol\s*:\s*TLSv1\.2", out),
          "neighbour (default server) refused TLS 1.2: %s" % out[-500:])


# --------------------------------------------------------------------------
# Contexts and startup errors (proftpd -t)
# --------------------------------------------------------------------------

def _trust_material():
    """CA file, CA dir, CRL file and CRL dir for the client-certificate
    directives (the CRL comes from `openssl ca -gencrl`)."""
    p = pki()
    d = p.dir
    crl = os.path.join(d, "ca.crl")
    cadir, crldir = os.path.join(d, "cadir"), os.path.join(d, "crldir")
    if not os.path.exists(crl):
        cnf = os.path.join(d, "ca.cnf")
        open(os.path.join(d, "index.txt"), "w").close()
        with open(cnf, "w") as f:
            f.write("[ca]\ndefault_ca=c\n[c]\ndatabase=%s/index.txt\ndefault_md=sha256\n"
                    "default_crl_days=3\n" % d)
        cp = subprocess.run(["openssl", "ca", "-gencrl", "-config", cnf, "-keyfile", p.ca_key,
                             "-cert", p.ca, "-out", crl], capture_output=True)
        check(cp.returncode == 0, "openssl ca -gencrl: %s" % cp.stderr[-300:])
        for sub, src, name in ((cadir, p.ca, "ca.pem"), (crldir, crl, "ca.crl")):
            os.makedirs(sub, exist_ok=True)
            with open(src, "rb") as i, open(os.path.join(sub, name), "wb") as o:
                o.write(i.read())
    return p.ca, cadir, crl, crldir


def every_directive():
    p = pki()
    ca, cadir, crl, crldir = _trust_material()
    return ["FTPSEngine on", cert((p.ec, p.ec_key)), cert((p.rsa, p.rsa_key)),
            "FTPSImplicit off", "FTPSProtocol TLSv1.2 TLSv1.3", "FTPSCipherSuite HIGH",
            "FTPSRequired on", "FTPSMaxPreLoginErrors 5", "FTPSOptions NoSessionReuseRequired",
            "FTPSTimeoutHandshake 10", "FTPSLog {ftpslog}", "FTPSVerifyClient optional",
            "FTPSVerifyDepth 3", "FTPSCACertificateFile " + ca, "FTPSCACertificatePath " + cadir,
            "FTPSCARevocationFile " + crl, "FTPSCARevocationPath " + crldir,
            "FTPSUserName CommonName", "FTPSCertLogin on",
            "FTPSAuthorizedCertificates ~/.ftps/authorized"]


def syntax(**kw):
    srv = Server(files=False, **kw)
    rc, out = srv.syntax_check()
    return srv, rc, out


def refused(kw, vhost, directive, reason):
    """proftpd -t must fail; the message names `server '<name>' (addr:port)`
    (vhost = (name, port) or None), the directive and the reason."""
    srv, rc, out = syntax(**kw)
    tail = out.strip()[-600:]
    check(rc != 0, "proftpd -t accepted the config (rc 0): %s" % tail)
    if vhost is not None:
        name = vhost[0]
        port = srv.vport.get(name, srv.port) if vhost[1] is None else vhost[1]
        want = r"server '%s' \(127\.0\.0\.1:%d\)" % (re.escape(name), port)
        check(re.search(want, out), "message does not name %s: %s" % (want, tail))
    check(re.search(directive, out, re.I), "message does not name %s: %s" % (directive, tail))
    check(re.search(reason, out, re.I), "message gives no reason (%s): %s" % (reason, tail))
    return srv, out


def test_every_directive_in_server_config_vhost_and_global():
    lines = every_directive()
    for where, kw in (("server config", dict(ftps=[l.replace("{ftpslog}", "/dev/null")
                                                   for l in lines])),
                      ("<Global>", dict(glob=lines)),
                      ("<VirtualHost>", dict(vhosts=[dict(name="vh-all", own_port=True,
                                                          lines=lines)]))):
        _, rc, out = syntax(defaults=False, **kw)
        check(rc == 0, "every directive in %s: rc %d: %s" % (where, rc, out.strip()[-500:]))


def test_global_directive_also_set_in_server_config_is_not_a_duplicate():
    p = pki()
    base = dict(defaults=False, ftps=["FTPSEngine on", cert((p.ec, p.ec_key))])
    _, rc, out = syntax(glob=["ServerIdent off", "FTPSEngine on", cert((p.rsa, p.rsa_key))], **base)
    check(rc == 0, "<Global> FTPSEngine after another directive: rc %d: %s" % (rc, out[-400:]))
    # Same block, but an FTPS directive opens it: must be just as valid.
    _, rc, out = syntax(glob=["FTPSEngine on", cert((p.rsa, p.rsa_key))], **base)
    check(rc == 0, "<Global> opening with FTPSEngine (also set in server config) refused: "
          "rc %d: %s" % (rc, out.strip()[-400:]))


def test_directive_outside_its_contexts_refused():
    p = pki()
    refused(dict(ftps=["<Directory /tmp>", "  FTPSEngine on", "</Directory>"]), None,
            "FTPSEngine", r"not allowed|context")


def test_startup_implicit_with_engine_off_names_vhost():
    refused(dict(vhosts=[dict(name="vh-impl", own_port=True,
                              lines=["FTPSEngine off", "FTPSImplicit on"])]),
            ("vh-impl", None), "FTPSImplicit", r"needs 'FTPSEngine on'")


def test_startup_required_with_engine_off_names_vhost():
    refused(dict(vhosts=[dict(name="vh-req", own_port=True,
                              lines=["FTPSEngine off", "FTPSRequired on"])]),
            ("vh-req", None), "FTPSRequired", r"needs 'FTPSEngine on'")


def test_startup_vhost_engine_on_without_own_certificate():
    # Server config has certificates (defaults); they must not be inherited.
    refused(dict(vhosts=[dict(name="vh-nocert", own_port=True, lines=["FTPSEngine on"])]),
            ("vh-nocert", None), "FTPSCertificate", r"needs an 'FTPSCertificate'")


def test_startup_vhost_bad_certificate_path():
    kw = dict(vhosts=[dict(name="vh-badcert", own_port=True,
                           lines=["FTPSEngine on",
                                  cert(("/nonexistent/vh/cert.pem", pki().ec_key))])])
    srv, _ = refused(kw, ("vh-badcert", None), "FTPSCertificate",
                     r"/nonexistent/vh/cert\.pem")
    try:
        cp = subprocess.run([PROFTPD, "-n", "-q", "-c", srv.conf_path], capture_output=True,
                            timeout=20, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise AssertionError("proftpd kept running with a vhost whose certificate is missing")
    check(cp.returncode != 0, "proftpd started (exit 0) with a vhost whose certificate is missing")


def test_startup_required_control_in_directory_refused():
    for value in ("control", "auth", "auth+data"):
        refused(dict(extra=["<Directory /tmp>", "  FTPSRequired %s" % value, "</Directory>"]),
                None, "FTPSRequired", r"only off, data or on")
    for value in ("off", "data", "on"):
        _, rc, out = syntax(extra=["<Directory /tmp>", "  FTPSRequired %s" % value,
                                   "</Directory>"])
        check(rc == 0, "FTPSRequired %s in <Directory> refused: %s" % (value, out.strip()[-400:]))


def test_startup_required_auth_in_ifgroup_needs_allow_per_user():
    block = ["<IfGroup grp>", "  FTPSRequired auth", "</IfGroup>"]
    refused(dict(preload=IFSESSION, ftps=block), ("ftps-test", None), "FTPSRequired",
            r"AllowPerUser")
    _, rc, out = syntax(preload=IFSESSION, ftps=["FTPSOptions AllowPerUser"] + block)
    check(rc == 0, "with FTPSOptions AllowPerUser still refused: %s" % out.strip()[-400:])


# --------------------------------------------------------------------------
# SNI with name-based vhosts
# --------------------------------------------------------------------------

def _other_vhost():
    return dict(name="vh-other", lines=[
        "ServerAlias " + OTHER, "FTPSEngine on", cert(pki().leaf(OTHER, dns=[OTHER])),
        "FTPSProtocol TLSv1.3", "FTPSLog {ftpslog}"])


def sni_server():
    """Default server (CN 127.0.0.1, TLS 1.2+1.3) and, on the same port,
    vh-other (ServerAlias other.example, CN other.example, TLS 1.3 only)."""
    return server(vhosts=[_other_vhost()])


def sni_fallback_server():
    """As sni_server, with AllowUnknownSNI and AllowAnyALPN on the default
    vhost only."""
    return server(ftps=["FTPSOptions AllowUnknownSNI AllowAnyALPN"], vhosts=[_other_vhost()])


def _sc(srv, *args, starttls=True):
    cp = s_client(srv, *args, starttls=starttls)
    return cp, cp.out + cp.err


@needs("openssl")
def test_sni_selects_name_based_vhost_certificate():
    srv = sni_server()
    for name in (OTHER, OTHER.upper()):
        cp, out = _sc(srv, "-servername", name)
        check(cp.returncode == 0 and "Verify return code: 0 (ok)" in out,
              "SNI %s: handshake failed: %s" % (name, out[-500:]))
        check(sc_subject(out) == OTHER, "SNI %s: got CN=%r" % (name, sc_subject(out)))
    cp, out = _sc(srv)
    check(sc_subject(out) == "127.0.0.1", "no SNI: got CN=%r" % sc_subject(out))
    # Python: full hostname verification of other.example, then a command.
    r = Raw(srv)
    r.auth(server_hostname=OTHER)
    expect(r, "NOOP", 200)
    r.login()
    expect(r, "PWD", 257)
    r.close()


@needs("openssl")
def test_sni_unknown_name_unrecognized_name_alert():
    srv = sni_server()
    mark = srv.log_mark()
    cp, out = _sc(srv, "-servername", "nope.example")
    check(cp.returncode != 0 and "unrecognized name" in out,
          "unknown SNI: want alert unrecognized_name, rc %d: %s" % (cp.returncode, out[-500:]))
    srv.wait_log(r"server name 'nope\.example'", mark)


@needs("openssl")
def test_sni_unknown_name_falls_back_with_allow_unknown_sni():
    srv = sni_fallback_server()
    cp, out = _sc(srv, "-servername", "nope.example")
    check(cp.returncode == 0 and sc_subject(out) == "127.0.0.1",
          "AllowUnknownSNI: rc %d CN=%r: %s" % (cp.returncode, sc_subject(out), out[-400:]))
    cp, out = _sc(srv, "-servername", OTHER)
    check(sc_subject(out) == OTHER, "known SNI with AllowUnknownSNI: CN=%r" % sc_subject(out))


@needs("openssl")
def test_sni_ip_literal_ignored():
    srv = sni_server()
    cp, out = _sc(srv, "-servername", "127.0.0.1", "-trace")
    check(re.search(r"extension_type=server_name.*\n.*127\.0\.0\.1", out),
          "s_client did not send the IP literal as SNI: %s" % out[:600])
    check(cp.returncode == 0 and sc_subject(out) == "127.0.0.1",
          "SNI 127.0.0.1: rc %d CN=%r: %s" % (cp.returncode, sc_subject(out), out[-400:]))


@needs("curl")
def test_sni_curl_download_after_switch():
    srv = sni_server()
    mark = srv.log_mark()
    cp = curl(srv, "--ssl-reqd", "--resolve", "%s:%d:127.0.0.1" % (OTHER, srv.port),
              "ftp://%s:%d/small.bin" % (OTHER, srv.port))
    check(cp.returncode == 0, "curl via SNI %s: exit %d: %s" % (OTHER, cp.returncode, cp.err))
    check(sha256(cp.stdout_b) == srv.files["small.bin"], "curl via SNI: wrong bytes (%d)"
          % len(cp.stdout_b))
    srv.wait_log(r"control handshake ok: TLSv1\.3.*sni=other\.example", mark)
    srv.wait_log(r"data handshake ok: .*resumed=yes", mark)


@needs("openssl")
def test_sni_tls12_refused_by_tls13_vhost():
    srv = sni_server()
    cp, out = _sc(srv, "-tls1_2", "-servername", OTHER)
    check(cp.returncode != 0 and "alert protocol version" in out,
          "TLS 1.2 with SNI of the 1.3-only vhost: rc %d: %s" % (cp.returncode, out[-500:]))
    cp, out = _sc(srv, "-tls1_2")
    check(cp.returncode == 0 and re.search(r"Protocol\s*:\s*TLSv1\.2", out)
          and sc_subject(out) == "127.0.0.1", "TLS 1.2 without SNI: %s" % out[-500:])


@needs("openssl")
def test_sni_alpn_policy_follows_vhost():
    srv = sni_fallback_server()       # AllowAnyALPN on the default vhost only
    cp, out = _sc(srv, "-alpn", "http/1.1")
    check(cp.returncode == 0 and "No ALPN negotiated" in out,
          "default vhost with AllowAnyALPN refused http/1.1: %s" % out[-400:])
    cp, out = _sc(srv, "-servername", OTHER, "-alpn", "http/1.1")
    check(cp.returncode != 0 and "no application protocol" in out,
          "vh-other (no AllowAnyALPN) accepted ALPN http/1.1: %s" % out[-400:])


# --------------------------------------------------------------------------
# HOST (RFC 7151)
# --------------------------------------------------------------------------

def test_host_before_auth_selects_certificate():
    srv = sni_server()
    r = Raw(srv)
    rep = expect(r, "HOST " + OTHER, 220)
    check("vh-other" in rep.text, "HOST did not switch to vh-other: %r" % rep.text)
    r.auth(context=no_hostname_ctx())            # no SNI
    check(peer_cn(r) == OTHER, "after HOST %s the handshake served CN=%r" % (OTHER, peer_cn(r)))
    check(r.sock.version() == "TLSv1.3", "vh-other is TLS 1.3 only, got %s" % r.sock.version())
    r.login()
    r.close()


def test_host_after_auth_must_match_sni():
    srv = sni_server()
    mark = srv.log_mark()
    r = Raw(srv)
    r.auth(server_hostname=OTHER)
    expect(r, "HOST " + OTHER, 220)
    expect(r, "HOST localhost", 504)
    expect(r, "HOST nope.example", 504)
    r.login()
    r.close()
    srv.wait_log(r"HOST refused \(504\); after AUTH, HOST must name the SNI vhost",
                 mark)


def test_host_after_auth_without_sni_503():
    r = Raw(sni_server())
    r.auth()
    expect(r, "HOST " + OTHER, 503)
    expect(r, "NOOP", 200)
    r.close()


def test_host_after_login_503():
    r = Raw(sni_server())
    r.auth()
    r.login()
    expect(r, "HOST " + OTHER, 503)
    r.close()


def test_host_unknown_before_auth_504():
    srv = sni_server()
    mark = srv.log_mark()
    r = Raw(srv)
    expect(r, "HOST nope.example", 504)
    srv.wait_log(r"HOST refused \(504\)", mark)
    r.auth(context=no_hostname_ctx())
    check(peer_cn(r) == "127.0.0.1", "after a refused HOST: CN=%r" % peer_cn(r))
    r.close()


@needs("openssl")
def test_implicit_sni_selects_vhost_before_banner():
    # Implicit FTPS: the handshake, and with it the SNI choice, happens
    # before the 220 banner, so the banner already comes from the vhost
    # SNI named, with its certificate.
    other = _other_vhost()
    other["lines"] = other["lines"] + ["FTPSImplicit on"]
    srv = server(implicit=True, vhosts=[other])
    cp, out = _sc(srv, "-servername", OTHER, starttls=False)
    check(cp.returncode == 0 and "Verify return code: 0 (ok)" in out,
          "implicit SNI handshake failed: %s" % out[-500:])
    check(sc_subject(out) == OTHER, "implicit SNI: got CN=%r" % sc_subject(out))
    check(re.search(r"^220 .*\(vh-other\)", out, re.M),
          "banner is not vh-other's: %s" % out[-400:])
    cp, out = _sc(srv, starttls=False)
    check(sc_subject(out) == "127.0.0.1", "implicit without SNI: CN=%r" % sc_subject(out))
