#!/usr/bin/env bash
# Web console under load: 100,000 findings in the store, the real
# `palisade serve` on loopback, 16 concurrent clients for 30 s per page
# (dashboard, findings page 1, page 500 by keyset cursor, two filtered lists),
# p50/p99 per page; then the cost of one sign-in next to one Argon2id hash.
#
#   bash bench/web.sh                      # 100000 findings, 16 clients, 30 s
#   bash bench/web.sh 100000 16 10         # FINDINGS CLIENTS SECONDS
#   PROFILE=release bash bench/web.sh      # default: bench-fast (release without LTO)
#
# Seeding goes through Store::record_scan (one transaction per engine and
# run), not 100,000 scans. Everything listens on 127.0.0.1 and stops at exit.
set -euo pipefail
cd "$(dirname "$0")/.."
findings="${1:-100000}"
clients="${2:-16}"
seconds="${3:-30}"
profile="${PROFILE:-bench-fast}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/palisade/target}"
cargo build --profile "$profile" --locked -q -p palisade --bin palisade
cargo build --profile "$profile" --locked -q -p palisade-web --example web_bench
bin="$CARGO_TARGET_DIR/$profile"

home="$(mktemp -d)"
server=""
cleanup() {
  if [[ -n "$server" ]]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$home"
}
trap cleanup EXIT

"$bin/examples/web_bench" seed "$home/palisade.db" "$findings"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
PALISADE_HOME="$home" "$bin/palisade" --database-url "$home/palisade.db" \
  serve --bind "127.0.0.1:$port" >"$home/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
  if grep -q "Palisade console on" "$home/serve.log"; then break; fi
  sleep 0.1
done
grep -q "Palisade console on" "$home/serve.log" || { cat "$home/serve.log"; exit 1; }

echo "profile $profile, $findings findings, $clients clients, ${seconds}s per page, $(nproc) cores"
"$bin/examples/web_bench" load "http://127.0.0.1:$port" "benchmark passphrase" "$clients" "$seconds"
