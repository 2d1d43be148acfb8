#!/bin/sh
# Runs bench/ticket_cost with a throw-away EC P-256 PKI: without and with a
# client certificate (make bench-tickets).
set -eu
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
ec="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
openssl req -x509 $ec -keyout "$d/ca.key" -out "$d/ca.pem" -days 1 -subj /CN=bench-CA \
  -addext basicConstraints=critical,CA:TRUE 2>/dev/null
for n in server client; do
  openssl req -new $ec -keyout "$d/$n.key" -out "$d/$n.csr" -subj "/CN=$n" 2>/dev/null
  openssl x509 -req -in "$d/$n.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -days 1 \
    -set_serial "$(od -An -N6 -tu8 /dev/urandom | tr -d ' ')" -out "$d/$n.pem" 2>/dev/null
done
bench/ticket_cost "$d/server.pem" "$d/server.key"
bench/ticket_cost "$d/server.pem" "$d/server.key" "$d/ca.pem" "$d/client.pem" "$d/client.key"
