# Sourced by every Quarks script: one place for the build environment.
# shellcheck shell=bash

QUARKS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export QUARKS_ROOT

# A fixed target directory outside the clone, so a machine that already built
# (a developer's, or CI's on the same machine) does not rebuild from zero.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/quarks/target}"

# Link OpenSSL (litep2p's WebRTC stack) against the system library instead of
# building it from source.
export OPENSSL_NO_VENDOR=1

# Use the rustup toolchain linked by scripts/setup.sh for the WASM runtime when
# the default toolchain has no wasm target (see docs/build.md).
if [ -z "${WASM_BUILD_TOOLCHAIN:-}" ] && [ -f "$HOME/.cache/quarks/wasm-toolchain" ]; then
  WASM_BUILD_TOOLCHAIN="$(cat "$HOME/.cache/quarks/wasm-toolchain")"
  export WASM_BUILD_TOOLCHAIN
fi

QUARKS_NODE="$CARGO_TARGET_DIR/debug/quarks-node"
export QUARKS_NODE

# The runtime's WASM build looks for Cargo.lock above its output directory, which lives
# outside the clone; point it at the workspace so the blob uses the locked versions.
export WASM_BUILD_WORKSPACE_HINT="$QUARKS_ROOT"
