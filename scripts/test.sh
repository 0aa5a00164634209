#!/usr/bin/env bash
# The test suite: every crate's unit, integration and end-to-end CLI tests.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/palisade-target}"
cargo test --workspace --locked "$@"
