#!/usr/bin/env bash
# Installs the dependencies, builds, and runs the whole suite with ctest (unit, pg, e2e).
# Each test binary starts its own throwaway PostgreSQL (or uses SCHEMAD_TEST_PG_DSN).
# Extra arguments go to ctest, e.g. ./tests/run.sh -L unit
set -euo pipefail
cd "$(dirname "$0")/.."
./deploy/install-deps.sh
cmake --preset default >/dev/null
cmake --build --preset default
ctest --preset default "$@"
