#!/usr/bin/env bash
# Benchmarks of issue 6: installs what they need (python3-alembic, psycopg2, h2load), builds
# schemad and the bench tools, then runs tests/bench/bench.py, which starts its own PostgreSQL,
# prints a table of medians and ratios and writes tests/bench/RESULTS.md.
# SCHEMAD_BENCH_QUICK=1 runs fewer repetitions (a smoke test of the harness).
set -euo pipefail
cd "$(dirname "$0")/../.."
./deploy/install-deps.sh --bench
cmake --preset default >/dev/null
cmake --build --preset default --target schemad schemactl bench_client bench_bare_server
exec /usr/bin/python3 tests/bench/bench.py "$@"
