#!/bin/sh
# usage: tests/fuzz/run-fuzz.sh [target...]   (FUZZ_SECONDS=20 per target)
#
# Builds each libFuzzer target (clang, -fsanitize=fuzzer,address) and fuzzes
# it for FUZZ_SECONDS:
#   fuzz_cert_name  certificate -> user mapping, fingerprints, names and the
#                   authorized-certificates format (ftps_cert.c), seeded with
#                   certificates made at run time by make-corpus.sh
#   fuzz_sni        ClientHello server_name and ALPN parsers (ftps_sni.c)
#   fuzz_policy     directive-value parsers and the RFC 4217 state machine
#   fuzz_text       the log escaper every FTPSLog/trace record goes through
#                   (ftps_text.c): only printable ASCII out, bounded, cut
#                   between escapes with the marker, round-trips
#   fuzz_prot       sequences of AUTH/PBSZ/PROT/CCC with arbitrary arguments
#                   and environments through ftps_prot_step() and the gates
#                   (ftps_prot.c): reply codes and state-change invariants
# Prints one summary line per target; exits non-zero on a build failure or
# when a fuzzer finds a crash, leak, timeout or broken invariant (the input
# is kept in tests/fuzz/artifacts/).
set -u

cd "$(dirname "$0")/../.." || exit 1
seconds=${FUZZ_SECONDS:-20}
artifacts=tests/fuzz/artifacts
targets=${*:-fuzz_cert_name fuzz_sni fuzz_policy fuzz_text fuzz_prot}

sources_of() {
  case "$1" in
    fuzz_cert_name) echo "mod_ftps/ftps_cert.c" ;;
    fuzz_sni)       echo "mod_ftps/ftps_sni.c" ;;
    fuzz_policy)    echo "mod_ftps/ftps_policy.c mod_ftps/ftps_prot.c" ;;
    fuzz_text)      echo "mod_ftps/ftps_text.c" ;;
    fuzz_prot)      echo "mod_ftps/ftps_prot.c" ;;
    *)              return 1 ;;
  esac
}

work=$(mktemp -d) || exit 1
trap 'rm -rf "$work"' EXIT INT TERM
mkdir -p "$artifacts"
if ! sh tests/fuzz/make-corpus.sh "$work/seeds-fuzz_cert_name" >/dev/null; then
  echo "fuzz_cert_name: FAILED to generate the seed corpus"
  exit 1
fi

run_target() {
  name=$1
  bin=tests/fuzz/$name
  srcs=$(sources_of "$name") || { echo "$name: unknown target"; return 1; }
  # shellcheck disable=SC2046,SC2086 # word splitting is intended
  if ! clang -g -O1 -fsanitize=fuzzer,address -Iinclude \
      $(pkg-config --cflags openssl) "tests/fuzz/$name.c" $srcs \
      $(pkg-config --libs openssl) -o "$bin"; then
    echo "$name: FAILED to build"
    return 1
  fi
  mkdir -p "$work/corpus-$name" "$work/seeds-$name"
  "./$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" \
    "$work/corpus-$name" "$work/seeds-$name" > "$work/log-$name" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log-$name")
  cov=$(grep -o 'cov: [0-9]*' "$work/log-$name" | tail -n 1)
  if [ $rc -ne 0 ]; then
    tail -n 40 "$work/log-$name"
    echo "$name: FAILED (exit $rc) after ${runs:-?} runs; input in $artifacts/"
    return 1
  fi
  echo "$name: ok, ${runs:-?} runs in ${seconds}s, ${cov:-cov: ?}"
}

status=0
for t in $targets; do
  run_target "$t" || status=1
done
rmdir "$artifacts" 2>/dev/null
exit $status
