#!/usr/bin/env bash
# Benchmarks the Quarks pallets and writes each one's weights.rs.
#
#   scripts/benchmark.sh                 every Quarks pallet
#   scripts/benchmark.sh pallet_quarks_keys ...
#
# Builds quarks-node with the `runtime-benchmarks` feature (a separate build: about 160
# more crates and a second runtime blob), then runs `benchmark pallet` on the dev chain.
# STEPS and REPEAT override the sampling (defaults 50 and 20).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$QUARKS_ROOT"

declare -A dirs=(
  [pallet_validator_set]=pallets/validator-set
  [pallet_quarks_keys]=pallets/keys
  [pallet_quarks_hosts]=pallets/hosts
  [pallet_quarks_groups]=pallets/groups
  [pallet_quarks_messaging]=pallets/messaging
  [pallet_quarks_bounties]=pallets/bounties
)
pallets=("$@")
[ ${#pallets[@]} -gt 0 ] || pallets=(pallet_validator_set pallet_quarks_keys pallet_quarks_hosts pallet_quarks_groups pallet_quarks_messaging pallet_quarks_bounties)

quarks_setup
# frame-benchmarking-cli's storage-access test runtime serves `benchmark storage`, which
# Quarks does not wire; its WASM build cannot find itself in this workspace's metadata.
export SKIP_FRAME_STORAGE_ACCESS_TEST_RUNTIME_WASM_BUILD=1
profile="${BENCH_PROFILE:-release}"
cargo build -q -p quarks-node --features runtime-benchmarks --profile "$profile"
dir="$profile"; [ "$profile" = dev ] && dir=debug
node="$CARGO_TARGET_DIR/$dir/quarks-node"

for pallet in "${pallets[@]}"; do
  out="${dirs[$pallet]:?unknown pallet $pallet}/src/weights.rs"
  echo "[bench] $pallet -> $out"
  "$node" benchmark pallet --chain dev --pallet "$pallet" --extrinsic '*' \
    --steps "${STEPS:-50}" --repeat "${REPEAT:-20}" --wasm-execution compiled \
    --template scripts/weight-template.hbs --output "$out"
done
