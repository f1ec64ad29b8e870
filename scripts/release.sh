#!/usr/bin/env bash
# Builds the release binaries — quarks-node (with its WASM runtime) and the quarks
# client — into $CARGO_TARGET_DIR/release. Benchmarks run these (docs/performance.md);
# docs/build.md records how long this takes.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$QUARKS_ROOT"

quarks_setup
echo "[release] cargo build --release"
cargo build --release --workspace --bins
echo "[release] $CARGO_TARGET_DIR/release/quarks-node"
echo "[release] $CARGO_TARGET_DIR/release/quarks"
