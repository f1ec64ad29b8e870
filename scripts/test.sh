#!/usr/bin/env bash
# Sets up a fresh machine and runs every Quarks test: the fresh-home check of every
# script (scripts/check-fresh-home.sh), pallet and runtime unit tests, multi-node tests
# with real node processes on 127.0.0.1, the local network's stopping behaviour
# (scripts/check-local-network.sh), and the demo (scripts/demo.sh), which starts
# scripts/local-network.sh and checks a scripted conversation with the client end to end.
# `.ci/run` runs exactly this.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$QUARKS_ROOT"

quarks_setup

# Under the check itself, this script only needs to reach its first cargo command.
if [ -z "${QUARKS_FRESH_HOME_CHECK:-}" ]; then
  echo "[test] every script's first cargo command, from a fresh HOME"
  bash scripts/check-fresh-home.sh
fi

# `cargo test` builds a package's binaries only for that package's own tests: the node's
# tests drive the `quarks` client binary (crate quarks-cli), so every binary comes first.
# The benches are built too (dev profile, not run), so they cannot rot unnoticed.
echo "[test] cargo build --workspace --bins --benches"
cargo build --workspace --bins --benches

echo "[test] cargo test --workspace"
cargo test --workspace

# The pallets' benchmarks run against their mocks, so they cannot rot unnoticed between
# two runs of scripts/benchmark.sh (the groups one had: a call gained an argument).
echo "[test] the Quarks pallets' benchmarks, once each against the mocks"
cargo test -p pallet-quarks-keys -p pallet-quarks-hosts -p pallet-quarks-groups \
  -p pallet-quarks-messaging -p pallet-validator-set --features runtime-benchmarks benchmarking

echo "[test] the local network stops on SIGINT and when a node dies"
bash scripts/check-local-network.sh

echo "[test] the demo: the local network and a scripted conversation with the client"
bash scripts/demo.sh
