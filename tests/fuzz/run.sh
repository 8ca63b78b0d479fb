#!/usr/bin/env bash
# Runs every fuzz target (or those named) for longer than ctest does, e.g.
#   tests/fuzz/run.sh 600                 # 10 minutes each
#   tests/fuzz/run.sh 3600 fuzz_script    # one target for an hour
# Each run takes a random seed (ctest's is fixed at 1).
# Builds the asan preset first. What a target finds is written to build-asan/tests/fuzz/ as
# <target>-crash-* / -leak-* / -timeout-*; once fixed, move it to tests/fuzz/regressions/<target>/.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-300}"
shift || true
cmake --preset asan >/dev/null
cmake --build --preset asan
regex="^fuzz_"
if (($# > 0)); then regex="^($(IFS='|'; echo "$*"))$"; fi
cmake -DSCHEMAD_FUZZ_SECONDS="$seconds" -DSCHEMAD_FUZZ_SEED=0 build-asan >/dev/null
trap 'cmake -DSCHEMAD_FUZZ_SECONDS=30 -DSCHEMAD_FUZZ_SEED=1 build-asan >/dev/null' EXIT
ctest --preset asan -R "$regex" --timeout $((seconds + 600))
