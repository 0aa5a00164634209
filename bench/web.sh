#!/usr/bin/env bash
# Web console under load: 100,000 findings in the store, the real
# `palisade serve` on loopback, 16 concurrent clients for 30 s per page
# (dashboard, findings page 1, page 500 by keyset cursor, two filtered lists),
# p50/p99 per page; then the cost of one sign-in next to one Argon2id hash.
#
#   bash bench/web.sh                      # 100000 findings, 16 clients, 30 s
#   bash bench/web.sh 100000 16 10         # FINDINGS CLIENTS SECONDS
#   PROFILE=release bash bench/web.sh      # default: bench-fast (release without LTO)
#   SERVER=example bash bench/web.sh       # serve from the example (same router and
#                                          # server::serve as `palisade serve`) instead of
#                                          # building the whole CLI (datafusion, AWS SDK ...)
#
# Seeding goes through Store::record_scan (one transaction per engine and
# run), not 100,000 scans. Everything listens on 127.0.0.1 and stops at exit.
set -euo pipefail
cd "$(dirname "$0")/.."
findings="${1:-100000}"
clients="${2:-16}"
seconds="${3:-30}"
profile="${PROFILE:-bench-fast}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/palisade-target}"
server_kind="${SERVER:-palisade}"
if [[ "$server_kind" == palisade ]]; then
  cargo build --profile "$profile" --locked -q -p palisade --bin palisade
fi
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
if [[ "$server_kind" == palisade ]]; then
  PALISADE_HOME="$home" "$bin/palisade" --database-url "$home/palisade.db" \
    serve --bind "127.0.0.1:$port" >"$home/serve.log" 2>&1 &
else
  "$bin/examples/web_bench" serve "$home/palisade.db" "$port" >"$home/serve.log" 2>&1 &
fi
server=$!
for _ in $(seq 1 100); do
  if grep -q "Palisade console on" "$home/serve.log"; then break; fi
  sleep 0.1
done
grep -q "Palisade console on" "$home/serve.log" || { cat "$home/serve.log"; exit 1; }

echo "server $server_kind, profile $profile, $findings findings, $clients clients, ${seconds}s per page, $(nproc) cores"
"$bin/examples/web_bench" load "http://127.0.0.1:$port" "benchmark passphrase" "$clients" "$seconds"
