#!/bin/sh
# usage: tests/fuzz/make-corpus.sh DIR
#
# Writes seed inputs for fuzz_cert_name into DIR, generated with the openssl
# CLI so no binary seed is committed: DER certificates with CN, duplicate CNs,
# rfc822Name SANs, subject emailAddress, UPN otherNames (UTF8String and the
# malformed INTEGER form), a custom OID attribute and a BMPString-heavy
# subject, plus authorized-certificates files (fingerprints and PEM).
set -eu

dir=${1:?usage: make-corpus.sh DIR}
mkdir -p "$dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# The CLI drops numeric attribute types it does not know; name ours.
cat > "$tmp/req.cnf" <<'CNF'
oid_section = new_oids
[new_oids]
ftpUser = 1.3.6.1.4.1.99999.1
[req]
distinguished_name = dn
[dn]
CNF

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
  -out "$tmp/key.pem" 2>/dev/null

# cert NAME SUBJECT [EXTENSION]: a self-signed DER certificate DIR/NAME.der
cert() {
  name=$1 subj=$2
  shift 2
  set -- ${1:+-addext "$1"}
  openssl req -config "$tmp/req.cnf" -x509 -new -key "$tmp/key.pem" -days 1 \
    -utf8 -subj "$subj" \
    "$@" -outform DER -out "$dir/$name.der" 2>/dev/null
}

UPN=1.3.6.1.4.1.311.20.2.3
cert cn '/O=Example/CN=alice'
cert cn_dup '/CN=alice/CN=alice'
cert cn_two '/CN=alice/CN=mallory'
cert email_san '/CN=alice' \
  'subjectAltName=email:alice@example.com,DNS:host.example.com'
cert email_two '/CN=alice' \
  'subjectAltName=email:alice@example.com,email:mallory@example.com'
cert email_subject '/CN=bob/emailAddress=bob@example.com'
cert upn '/CN=alice' "subjectAltName=otherName:$UPN;UTF8:alice@corp.example"
cert upn_int '/CN=alice' "subjectAltName=otherName:$UPN;INTEGER:5"
cert upn_mixed '/CN=alice' \
  "subjectAltName=otherName:1.3.6.1.4.1.99999.2;INTEGER:7,otherName:$UPN;UTF8:alice@corp.example,email:x@example.com"
cert oid '/CN=alice/ftpUser=ftpuser'
cert utf8 '/CN=Zoë/O=Société Générale/OU=Ünit'

# Authorized-certificates files: text, not DER.
openssl x509 -inform DER -in "$dir/cn.der" -out "$tmp/cn.pem"
fp=$(openssl x509 -inform DER -in "$dir/cn.der" -noout -fingerprint -sha256 |
  sed 's/.*=//')
{
  echo "# authorized certificates for alice"
  echo "SHA256:$fp"
  echo "$fp" | tr -d ':' | tr 'A-F' 'a-f'
  echo "not a fingerprint"
  cat "$tmp/cn.pem"
} > "$dir/authorized.txt"
{
  printf 'SHA256:%s\r\n' "$fp"
  sed 's/$/\r/' "$tmp/cn.pem"
} > "$dir/authorized_crlf.txt"
head -c 300 "$tmp/cn.pem" > "$dir/authorized_truncated.txt"
printf '1.3.6.1.4.1.311.20.2.3' > "$dir/field_oid.txt"
printf 'EmailAddress' > "$dir/field_name.txt"
