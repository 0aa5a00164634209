#!/usr/bin/env bash
# Web console under load: 100,000 findings in the store, 16 concurrent
# clients for 30 s per page (dashboard, findings page 1, page 500 by keyset
# cursor, two filtered lists, two text searches), p50/p99 per page; then the
# cost of one sign-in next to one Argon2id hash. Run against the real
# `palisade serve` and against the benchmark example (the same router and
# server::serve without the rest of the CLI), one after the other, both over
# loopback HTTP.
#
#   bash bench/web.sh                      # 100000 findings, 16 clients, 30 s, both servers
#   bash bench/web.sh 100000 16 10         # FINDINGS CLIENTS SECONDS
#   SERVER=palisade bash bench/web.sh      # only `palisade serve` (SERVER=example: only the example)
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
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/palisade-target}"
case "${SERVER:-both}" in
  both) servers=(palisade example) ;;
  palisade | example) servers=("$SERVER") ;;
  *) echo "SERVER must be both, palisade or example" >&2; exit 2 ;;
esac
packages=(-p palisade-web --example web_bench)
if [[ " ${servers[*]} " == *" palisade "* ]]; then
  packages+=(-p palisade --bin palisade)
fi
cargo build --profile "$profile" --locked -q "${packages[@]}"
bin="$CARGO_TARGET_DIR/$profile"

home="$(mktemp -d)"
server=""
stop_server() {
  if [[ -n "$server" ]]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  server=""
}
cleanup() {
  stop_server
  rm -rf "$home"
}
trap cleanup EXIT

"$bin/examples/web_bench" seed "$home/palisade.db" "$findings"
for kind in "${servers[@]}"; do
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  if [[ "$kind" == palisade ]]; then
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

  echo
  echo "server $kind, profile $profile, $findings findings, $clients clients, ${seconds}s per page," \
    "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  "$bin/examples/web_bench" load "http://127.0.0.1:$port" "benchmark passphrase" "$clients" "$seconds"
  stop_server
done
