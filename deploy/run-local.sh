#!/usr/bin/env bash
# Installs the dependencies, builds, and runs schemad on the zero-config default: a private
# PostgreSQL in ./.schemad, target `dev`, the bundled nabavkidata catalog, 127.0.0.1:50051.
# Shows the status, applies the catalog (skip with --no-apply), then keeps serving in the
# foreground: Ctrl-C stops schemad and its PostgreSQL cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."
apply=1
[[ "${1:-}" == "--no-apply" ]] && apply=0

./deploy/install-deps.sh
cmake --preset default >/dev/null
cmake --build --preset default --target schemad schemactl

state="${SCHEMAD_STATE_DIR:-$PWD/.schemad}"
if [[ $(id -u) -eq 0 ]] && ! runuser -u postgres -- test -x "$(dirname "$state")"; then
  # PostgreSQL runs as the postgres user, which cannot reach this checkout (e.g. under /root).
  state=/var/tmp/schemad-local
  echo "run-local: the postgres user cannot reach $PWD; using state folder $state" >&2
fi
mkdir -p "$state"
rm -f "$state/ready"
schemactl=build/client/schemactl
build/server/schemad --state-dir "$state" --ready-file "$state/ready" &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null; wait "$pid"; exit 0' INT TERM
for _ in $(seq 1 600); do
  [[ -f "$state/ready" ]] && break
  kill -0 "$pid" 2>/dev/null || { echo "run-local: schemad exited, see the log above" >&2; exit 1; }
  sleep 0.1
done
server=$(cat "$state/ready")
echo
"$schemactl" --server "$server" status --target dev
if ((apply)); then
  echo
  "$schemactl" --server "$server" apply --target dev
  echo
  "$schemactl" --server "$server" version --target dev
fi
cat <<MSG

schemad is serving on $server (pid $pid), PostgreSQL data in $state.
Try: $schemactl plan --target dev --sql, $schemactl validate --target dev, $schemactl history --target dev
Ctrl-C (or kill $pid) stops schemad and its PostgreSQL.
MSG
wait "$pid"
