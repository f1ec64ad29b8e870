#!/usr/bin/env bash
# Sets up a fresh machine and runs every Quarks test: pallet and runtime unit tests,
# multi-node tests with real node processes on 127.0.0.1, and the demo (scripts/demo.sh),
# which starts scripts/local-network.sh and checks a scripted conversation with the
# client end to end. `.ci/run` runs exactly this.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$QUARKS_ROOT"

bash scripts/setup.sh

echo "[test] cargo test --workspace"
cargo test --workspace

echo "[test] the demo: the local network and a scripted conversation with the client"
bash scripts/demo.sh
