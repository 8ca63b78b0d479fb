#!/usr/bin/env bash
# Installs the dependencies, builds, and runs the whole suite with ctest: unit, pg, e2e and
# fault in the default build; then unit, pg and the fuzz targets (30 s each) in the asan preset
# (clang, AddressSanitizer + UndefinedBehaviorSanitizer), where any sanitizer report fails.
# Each test binary starts its own throwaway PostgreSQL (or uses SCHEMAD_TEST_PG_DSN).
# Extra arguments go to the default build's ctest, e.g. ./tests/run.sh -L unit; with extra
# arguments, or SCHEMAD_SKIP_ASAN=1, the asan tier is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
./deploy/install-deps.sh
cmake --preset default >/dev/null
cmake --build --preset default
ctest --preset default "$@"
if (($# == 0)) && [[ "${SCHEMAD_SKIP_ASAN:-0}" != 1 ]]; then
  cmake --preset asan >/dev/null
  cmake --build --preset asan
  ctest --preset asan
fi
