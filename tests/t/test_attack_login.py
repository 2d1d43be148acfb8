"""Attack tests: a refused certificate login (FTPSCertLogin, the 232 path)
must leave the session exactly as unauthenticated as before USER.

mod_auth answers a 232 login by marking the session authenticated and then
replaying a PASS; when that PASS fails (<Limit LOGIN>, no such account, root
without RootLogin, ...), mod_auth never undoes the mark. Each test drives one
failure cause with a certificate the server trusts, then tries what an
attacker would try next: commands that need a login, a transfer, another
USER/PASS pair with a wrong password. None may work (house style B26)."""

from ftpslib import PASSWORD, USER, Raw, check, pki
from pki_clients import client_pki
from test_clientcerts import BOB, CERTLOGIN, LIMIT_BOB, cc_server

_leaves = {}


def leaf(cn):
    """A client certificate CN=cn from the client PKI's intermediate."""
    if cn not in _leaves:
        _leaves[cn] = client_pki().inter.issue("atk-" + cn, "/CN=" + cn)
    return _leaves[cn]


def cert_session(srv, client):
    """Raw control connection after AUTH TLS, presenting client's certificate."""
    raw = Raw(srv)
    raw.auth(context=client.context(pki().ca))
    return raw


def _try(raw, line):
    """Reply code to line, or None when the server has closed the connection."""
    try:
        return raw.cmd(line).code
    except (EOFError, OSError):
        return None


def assert_nothing_works(raw, what):
    """After a refused login: no command that needs a login works, no other
    user logs in with a wrong password, no transfer starts. A closed
    connection is a pass (the session ended)."""
    for line in ("PWD", "PASV", "SIZE /etc/passwd", "STAT /", "CWD /tmp"):
        code = _try(raw, line)
        if code is None:
            return
        check(code == 530, "%s: %s after the refused login -> %s, want 530" % (what, line, code))
    code = _try(raw, "USER " + USER)
    if code is None:
        return
    check(code in (331, 530, 501), "%s: USER %s after refusal -> %s" % (what, USER, code))
    code = _try(raw, "PASS not-" + PASSWORD)
    if code is None:
        return
    check(code not in (230, 232), "%s: USER %s + wrong password logged in (%s)"
          % (what, USER, code))
    code = _try(raw, "RETR /etc/passwd")
    check(code in (None, 530), "%s: RETR after everything -> %s, want 530" % (what, code))


def refused_232(srv, client, user, what):
    mark = srv.log_mark()
    raw = cert_session(srv, client)
    try:
        code = _try(raw, "USER " + user)
        check(code not in (230, 232), "%s: USER %s -> %s (logged in)" % (what, user, code))
        assert_nothing_works(raw, what)
    finally:
        raw.close()
    check(srv.alive(), "%s: master died" % what)
    return mark


def still_serves(srv):
    """A legitimate certificate login on the same server still works."""
    raw = cert_session(srv, client_pki().alice)
    try:
        r = raw.cmd("USER " + USER)
        check(r.code == 232, "alice's certificate login after the attack: %r" % r)
        check(raw.cmd("PWD").code == 257, "alice: PWD after 232")
    finally:
        raw.close()


def test_certlogin_limit_login_deny_leaves_no_session():
    srv = cc_server(lines=CERTLOGIN, extra=LIMIT_BOB)
    mark = refused_232(srv, client_pki().bob, BOB, "<Limit LOGIN> DenyUser bob")
    srv.wait_log(r"certificate login of 'bob'.*(refused|failed)", mark)
    still_serves(srv)


def test_certlogin_unknown_account_leaves_no_session():
    srv = cc_server(lines=CERTLOGIN)
    refused_232(srv, leaf("ghost"), "ghost", "certificate for a name without an account")
    still_serves(srv)


def test_certlogin_root_without_rootlogin_leaves_no_session():
    srv = cc_server(lines=CERTLOGIN, users=(("root", "Root-pw-1", 0, ()),))
    refused_232(srv, leaf("root"), "root", "root without RootLogin")
    still_serves(srv)


def test_certlogin_with_allow_empty_passwords_off():
    """A certificate login is not an empty password: 232 works with
    'AllowEmptyPasswords off', and bob (denied) still gets nothing."""
    srv = cc_server(lines=CERTLOGIN, extra=["AllowEmptyPasswords off"] + LIMIT_BOB)
    raw = cert_session(srv, client_pki().alice)
    try:
        r = raw.cmd("USER " + USER)
        check(r.code == 232, "232 login with AllowEmptyPasswords off: %r" % r)
        check(raw.cmd("TYPE I").code == 200, "TYPE I after the 232 login")
        r = raw.cmd("SIZE small.bin")
        check(r.code == 213, "after the 232 login: SIZE -> %r" % r)
    finally:
        raw.close()
    refused_232(srv, client_pki().bob, BOB, "AllowEmptyPasswords off + denied bob")
    # An empty PASS from a password user is still refused by mod_auth.
    srv = cc_server(verify="optional", extra=["AllowEmptyPasswords off"])
    raw = Raw(srv)
    try:
        raw.auth()
        r = raw.cmd("USER " + BOB)
        check(r.code == 331, "bob without certificate: USER -> %r" % r)
        code = _try(raw, "PASS")
        check(code not in (230, 232), "empty password accepted: %s" % code)
        assert_nothing_works(raw, "empty password")
    finally:
        raw.close()
