#!/usr/bin/env bash
# Installs what a fresh Debian machine needs to build Quarks. Idempotent: every
# step checks first and does nothing when its result is already there.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

log() { printf '[setup] %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=false
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! $apt_updated; then
    log "apt-get update"
    as_root apt-get update -q >/dev/null
    apt_updated=true
  fi
  log "installing ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

# protoc for litep2p's build script; OpenSSL headers for its WebRTC stack.
apt_install protobuf-compiler pkg-config libssl-dev

# Node.js runs the example bot that `quarks serve`'s test drives (docs/examples); this
# machine kind has Node.js 20, whose WebSocket client the bot uses. Debian's is older.
if ! command -v node >/dev/null; then
  apt_install nodejs
fi

# The web app's browser test: Debian's Chromium, driven by Playwright from npm at the
# version its lockfile pins (no browser download: playwright-core only).
[ -x /usr/bin/chromium ] || apt_install chromium
web_test="$QUARKS_ROOT/client/cli/web/test"
# The lockfile npm last installed from, kept beside what it installed.
if ! cmp -s "$web_test/package-lock.json" "$web_test/node_modules/.installed-lock.json"; then
  log "npm ci in client/cli/web/test (Playwright)"
  (cd "$web_test" && npm ci --no-audit --no-fund --loglevel=error >/dev/null &&
    cp package-lock.json node_modules/.installed-lock.json)
fi

has_wasm_target() {
  rustup target list --installed ${1:+--toolchain "$1"} 2>/dev/null | grep -qx 'wasm32v1-none'
}

state_dir="$HOME/.cache/quarks"
mkdir -p "$state_dir"

if has_wasm_target; then
  log "default toolchain has wasm32v1-none"
  rm -f "$state_dir/wasm-toolchain"
else
  # No wasm target and no way to download one: use Debian's rustc-web and its
  # standard-library sources, and build core/alloc for wasm32v1-none once.
  apt_install rustc-web cargo-web rust-web-src rust-web-llvm lld-22
  toolchain=quarks-wasm
  if ! rustup toolchain list | grep -q "^$toolchain"; then
    log "linking Debian's rustc-web as rustup toolchain '$toolchain'"
    rustup toolchain link "$toolchain" /usr
  fi
  sysroot_lib="$(rustc "+$toolchain" --print sysroot)/lib/rustlib/wasm32v1-none/lib"
  if ! ls "$sysroot_lib"/libcore-*.rlib >/dev/null 2>&1; then
    log "building core and alloc for wasm32v1-none (about a minute)"
    work="$(mktemp -d)"
    mkdir -p "$work/src"
    cat >"$work/Cargo.toml" <<'TOML'
[package]
name = "wasm-std-bootstrap"
version = "0.0.0"
edition = "2021"
[lib]
crate-type = ["cdylib"]
[profile.release]
panic = "abort"
TOML
    cat >"$work/src/lib.rs" <<'RS'
#![no_std]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! { loop {} }
RS
    # Bitcode must be embedded: the runtime blob is linked with LTO.
    (cd "$work" && RUSTFLAGS="-C embed-bitcode=yes" RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$work/target" \
      cargo "+$toolchain" build -q --release --target wasm32v1-none -Zbuild-std=core,alloc)
    as_root mkdir -p "$sysroot_lib"
    as_root cp "$work"/target/wasm32v1-none/release/deps/lib*.rlib "$sysroot_lib/"
    rm -rf "$work"
    # A runtime built against older core/alloc would fail with "can't find crate".
    rm -rf "$CARGO_TARGET_DIR"/*/wbuild/quarks-runtime/target
  fi
  echo "$toolchain" >"$state_dir/wasm-toolchain"
  log "WASM runtime builds with toolchain '$toolchain'"
fi

log "ready"
