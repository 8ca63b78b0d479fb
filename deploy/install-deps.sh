#!/usr/bin/env bash
# Installs, from Debian's archive, everything schemad needs to build, test and run locally.
# Idempotent and fast when everything is present: apt is only called for missing packages.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git ca-certificates
  libgrpc++-dev libgrpc-dev libre2-dev libc-ares-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libpqxx-dev libpq-dev libabsl-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libpg-query-dev libyaml-cpp-dev libcli11-dev libssl-dev
  clang libfuzzer-14-dev
  postgresql-15 postgresql-client-15
  python3 python3-grpcio python3-protobuf openssl
  python3-alembic python3-psycopg2 sql-migrate sqitch libdbd-pg-perl
)
if [[ "${1:-}" == "--bench" ]]; then
  packages+=(hyperfine nghttp2-client)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
sudo_cmd=()
[[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
