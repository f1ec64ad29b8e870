# Sourced by every Quarks script: one place for the build environment.
#
# Static settings are exported at once. What scripts/setup.sh decides on a machine (the
# toolchain that builds the WASM runtime) can only be read after setup has run, so every
# script calls `quarks_setup` before its first cargo command: it runs setup, then loads
# and checks what setup wrote.
# shellcheck shell=bash

QUARKS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export QUARKS_ROOT

# Where setup records its decisions, per user.
QUARKS_STATE_DIR="$HOME/.cache/quarks"

# A fixed target directory outside the clone, so a machine that already built
# (a developer's, or CI's on the same machine) does not rebuild from zero.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$QUARKS_STATE_DIR/target}"

# Link OpenSSL (litep2p's WebRTC stack) against the system library instead of
# building it from source.
export OPENSSL_NO_VENDOR=1

# The runtime's WASM build looks for Cargo.lock above its output directory, which lives
# outside the clone; point it at the workspace so the blob uses the locked versions.
export WASM_BUILD_WORKSPACE_HINT="$QUARKS_ROOT"

# Binaries of the debug build the tests and the local network use.
export QUARKS_NODE="$CARGO_TARGET_DIR/debug/quarks-node"
export QUARKS_CLI="$CARGO_TARGET_DIR/debug/quarks"

# Runs scripts/setup.sh, then loads the WASM toolchain it chose and checks that a cargo
# build now has everything it needs. Call before the first cargo command.
quarks_setup() {
  bash "$QUARKS_ROOT/scripts/setup.sh"
  if [ -z "${WASM_BUILD_TOOLCHAIN:-}" ] && [ -f "$QUARKS_STATE_DIR/wasm-toolchain" ]; then
    WASM_BUILD_TOOLCHAIN="$(cat "$QUARKS_STATE_DIR/wasm-toolchain")"
    export WASM_BUILD_TOOLCHAIN
  fi
  quarks_check_build_env
}

# Fails, saying what is missing, unless a cargo build of Quarks can succeed here: a
# toolchain with the wasm32v1-none target for the runtime, protoc for litep2p, and the
# system OpenSSL that OPENSSL_NO_VENDOR asks for.
quarks_check_build_env() {
  local missing=() wasm_toolchain="${WASM_BUILD_TOOLCHAIN:-}" sysroot
  # Where rustc looks for a target's core library; rustup-managed and linked toolchains alike.
  sysroot="$(rustc ${wasm_toolchain:+"+$wasm_toolchain"} --print sysroot 2>/dev/null)" || sysroot=""
  if ! ls "$sysroot"/lib/rustlib/wasm32v1-none/lib/libcore-*.rlib >/dev/null 2>&1; then
    missing+=("the wasm32v1-none target (toolchain ${wasm_toolchain:-default}; WASM_BUILD_TOOLCHAIN=${wasm_toolchain:-unset})")
  fi
  command -v protoc >/dev/null || missing+=("protoc")
  pkg-config --exists openssl 2>/dev/null || missing+=("OpenSSL headers (pkg-config openssl)")
  if [ ${#missing[@]} -gt 0 ]; then
    printf '[env] a cargo build would fail here; missing: %s\n' "${missing[@]}" >&2
    return 1
  fi
}
