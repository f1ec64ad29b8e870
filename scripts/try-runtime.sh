#!/usr/bin/env bash
# Before a runtime upgrade is voted in: runs this commit's runtime migrations, with their
# pre- and post-upgrade checks and every pallet's invariants (try_state), against a copy
# of a live network's state (tools/try-runtime; docs/operations.md, "Upgrading the
# runtime"). Exits non-zero if any check fails, if the migrations weigh more than a block,
# or if this runtime is not newer than the network's (unless --from rehearses one).
#
#   scripts/try-runtime.sh ws://NODE:9944 [--snapshot FILE] [--from Pallet=VERSION]...
#   scripts/try-runtime.sh --offline FILE [--from Pallet=VERSION]...
#
# NODE should be an archive node (--state-pruning archive) for a large state: a pruning
# node forgets the block being copied 256 blocks later. The first run builds the tool,
# with the runtime compiled natively with `try-runtime` (no WASM blob is built).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
[ $# -gt 0 ] || { sed -n '2,13p' "$0"; exit 2; }

quarks_setup
echo "[try-runtime] building tools/try-runtime"
cargo build -q --manifest-path "$QUARKS_ROOT/Cargo.toml" -p quarks-try-runtime --features try-runtime
# The migrations' own account of what they did, and the copy's progress.
RUST_LOG="${RUST_LOG:-runtime=info,remote-ext=info}" "$CARGO_TARGET_DIR/debug/quarks-try-runtime" "$@"
