#!/bin/sh
# usage: tests/fuzz/run-fuzz.sh          (FUZZ_SECONDS=20 by default)
#
# Builds tests/fuzz/fuzz_cert_name with libFuzzer + ASan, seeds it with a
# corpus generated at run time (tests/fuzz/make-corpus.sh) in a temporary
# directory, and fuzzes for FUZZ_SECONDS. Prints one summary line; exits
# non-zero on a build failure or when the fuzzer finds a crash, leak,
# timeout or invariant violation (the input is kept in tests/fuzz/artifacts/).
set -u

cd "$(dirname "$0")/../.." || exit 1
bin=tests/fuzz/fuzz_cert_name
seconds=${FUZZ_SECONDS:-20}
artifacts=tests/fuzz/artifacts

# shellcheck disable=SC2046 # pkg-config output is meant to be split
if ! clang -g -O1 -fsanitize=fuzzer,address -Iinclude \
    $(pkg-config --cflags openssl) tests/fuzz/fuzz_cert_name.c \
    mod_ftps/ftps_cert.c $(pkg-config --libs openssl) -o "$bin"; then
  echo "fuzz_cert_name: FAILED to build"
  exit 1
fi

work=$(mktemp -d) || exit 1
trap 'rm -rf "$work"' EXIT INT TERM
mkdir -p "$work/corpus" "$artifacts"
if ! sh tests/fuzz/make-corpus.sh "$work/seeds"; then
  echo "fuzz_cert_name: FAILED to generate the seed corpus"
  exit 1
fi

"./$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="$artifacts/" \
  "$work/corpus" "$work/seeds" > "$work/log" 2>&1
rc=$?

runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
cov=$(grep -o 'cov: [0-9]*' "$work/log" | tail -n 1)
units=$(ls "$work/corpus" | wc -l)
if [ $rc -ne 0 ]; then
  tail -n 40 "$work/log"
  echo "fuzz_cert_name: FAILED (exit $rc) after ${runs:-?} runs; input in $artifacts/"
  exit 1
fi
rmdir "$artifacts" 2>/dev/null
echo "fuzz_cert_name: ok, ${runs:-?} runs in ${seconds}s, ${cov:-cov: ?}, $units new corpus units"
