#!/usr/bin/env bash
# Sets up a fresh machine and runs every Quarks test: pallet and runtime unit tests,
# multi-node tests with real node processes on 127.0.0.1, and a smoke run of
# scripts/local-network.sh. `.ci/run` runs exactly this.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$QUARKS_ROOT"

bash scripts/setup.sh

echo "[test] cargo test --workspace"
cargo test --workspace

echo "[test] the local network script brings up 5 nodes that finalize"
bash scripts/local-network.sh --until-finalized 3
