#!/usr/bin/env bash
# Browser end-to-end tests: `palisade serve` on a temporary home with the
# example Terraform scanned into it, the test OpenID provider, and
# crates/web/tests/browser/e2e.mjs in headless Chromium (playwright-core,
# axe-core). Screenshots go to $CARGO_TARGET_DIR/browser-artefacts.
#
# Needs: the palisade binary (built here if absent), node, /usr/bin/chromium,
# and `npm ci` in crates/web/tests/{oidc,browser} (done by .ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/palisade-target}"
BIN="${PALISADE_BIN:-$CARGO_TARGET_DIR/debug/palisade}"
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
ARTEFACTS="$CARGO_TARGET_DIR/browser-artefacts"

for need in crates/web/tests/oidc/node_modules/oidc-provider crates/web/tests/browser/node_modules/playwright-core; do
  [ -d "$need" ] || { echo "missing $need: run npm ci --prefix ${need%/node_modules/*}" >&2; exit 1; }
done
[ -x "$CHROMIUM" ] || { echo "missing $CHROMIUM: apt-get install chromium" >&2; exit 1; }
[ -x "$BIN" ] || cargo build --locked -p palisade --bin palisade

WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# Waits up to 20 s for a line matching $2 in file $1 and prints it.
wait_for_line() {
  for _ in $(seq 200); do
    if line="$(grep -m1 -E "$2" "$1")"; then echo "$line"; return 0; fi
    sleep 0.1
  done
  echo "timed out waiting for '$2' in $1:" >&2; cat "$1" >&2; return 1
}

export PALISADE_HOME="$WORK/home"
"$BIN" scan iac examples/terraform >/dev/null || true   # exit 1 = findings, expected

PORT="$(free_port)"
BASE="http://127.0.0.1:$PORT"
REDIRECT_URI="$BASE/sso/callback" node crates/web/tests/oidc/provider.mjs >"$WORK/provider.out" 2>/dev/null &
PIDS+=($!)
ISSUER="$(wait_for_line "$WORK/provider.out" '^issuer ' | cut -d' ' -f2)"

export PALISADE_TEST_OIDC_SECRET=palisade-test-secret
"$BIN" serve --bind "127.0.0.1:$PORT" \
  --oidc-issuer "$ISSUER" --oidc-client-id palisade \
  --oidc-client-secret-env PALISADE_TEST_OIDC_SECRET \
  --oidc-role-map 'sec-team=admin,eng=analyst,audit=auditor' >"$WORK/serve.out" 2>&1 &
PIDS+=($!)
SETUP_URL="$(wait_for_line "$WORK/serve.out" 'enrol\?token=' | tr -d ' ')"
wait_for_line "$WORK/serve.out" '^Palisade console on' >/dev/null

rm -rf "$ARTEFACTS"
PALISADE_URL="$BASE" SETUP_URL="$SETUP_URL" ARTEFACTS="$ARTEFACTS" CHROMIUM="$CHROMIUM" \
  node crates/web/tests/browser/e2e.mjs
