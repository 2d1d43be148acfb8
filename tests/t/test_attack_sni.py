"""Attack tests around the SNI vhost switch.

After a control handshake whose SNI names another name-based vhost, mod_ftps
switches the session to it with a synthetic HOST. If that HOST is refused
(here by '<Limit HOST>'), the session used to carry on under the first
vhost's rules with a certificate chosen (and a client verified) by another
vhost. It must end instead; a client without SNI is unaffected (B26)."""

import ssl

from ftpslib import PASSWORD, USER, Raw, check, pki, server
from test_vhosts import OTHER, _other_vhost


def test_sni_switch_refused_by_limit_host_closes_session():
    srv = server(extra=["<Limit HOST>", "  DenyAll", "</Limit>"], vhosts=[_other_vhost()])
    mark = srv.log_mark()
    r = Raw(srv)
    try:
        r.cmd("AUTH TLS")
        r.starttls(server_hostname=OTHER)
        try:
            code = r.cmd("USER " + USER).code
            code2 = r.cmd("PASS " + PASSWORD).code
            code3 = r.cmd("PWD").code
            check(False, "session went on after the refused SNI switch: USER %s, PASS %s, "
                  "PWD %s" % (code, code2, code3))
        except (EOFError, OSError, ssl.SSLError):
            pass
    finally:
        r.close()
    srv.wait_log(r"cannot switch to the vhost named by SNI '%s'" % OTHER, mark)
    check(srv.alive(), "master died")
    # Without SNI the default server still serves.
    r = Raw(srv)
    try:
        r.auth()
        r.login()
        check(r.cmd("PWD").code == 257, "PWD without SNI")
    finally:
        r.close()
