#!/usr/bin/env bash
# Sets up a fresh machine and runs every Quarks test: the fresh-home check of every
# script (scripts/check-fresh-home.sh), pallet and runtime unit tests, multi-node tests
# with real node processes on 127.0.0.1, the local network's stopping behaviour
# (scripts/check-local-network.sh), and the demo (scripts/demo.sh), which starts
# scripts/local-network.sh and checks a scripted conversation with the client end to end,
# then runs the try-runtime check (scripts/try-runtime.sh) against the state it left.
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
  -p pallet-quarks-messaging -p pallet-quarks-bounties -p pallet-validator-set \
  --features runtime-benchmarks benchmarking

# The migrations' pre- and post-upgrade checks exist only with `try-runtime`.
echo "[test] the Quarks pallets' migrations, with the checks try-runtime runs"
cargo test -p pallet-quarks-keys -p pallet-quarks-hosts --features try-runtime migrations

echo "[test] the local network stops on SIGINT and when a node dies"
bash scripts/check-local-network.sh

# Then the runtime's migrations against the state the demo left, as before an upgrade:
# keys and hosts set back to storage version 0, so their migration to 1 runs on genesis
# devices and choices (unpaid) and the demo's own (paid).
# (The tool is built first, so the demo's nodes do not idle through its build.)
echo "[test] the demo: the local network and a scripted conversation with the client"
echo "[test] then the try-runtime check of the runtime's migrations against its state"
cargo build -p quarks-try-runtime --features try-runtime
bash scripts/demo.sh --then bash scripts/try-runtime.sh ws://127.0.0.1:9944 \
  --from Keys=0 --from Hosts=0
