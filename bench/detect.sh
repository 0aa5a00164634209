#!/usr/bin/env bash
# Streaming Sigma detection throughput: the built-in packs plus generated
# rules (200 Sigma rules in all) over freshly ingested CloudTrail Parquet
# files, as `palisade logs ingest --detect` runs them.
#
#   bash bench/detect.sh                 # 1,000,000 events, 200 rules, both cores
#   bash bench/detect.sh 2000000 400     # EVENTS RULES
#   THREADS=1 bash bench/detect.sh       # one core
#
# Prints one line: events, rules, matches, compile time, scan time, events/s.
# The lake benchmark (bench/lake.sh) can call this script for its detection figure.
set -euo pipefail
cd "$(dirname "$0")/.."
events="${1:-1000000}"
rules="${2:-200}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/palisade/target}"
cargo build --release --locked -q -p palisade-detect --example detect_bench
if [[ -n "${THREADS:-}" ]]; then
  export RAYON_NUM_THREADS="$THREADS"
fi
"$CARGO_TARGET_DIR/release/examples/detect_bench" "$events" "$rules"
