#!/usr/bin/env bash
# Runs one of Quarks' benchmarks with release binaries, set up as every script is, so a
# fresh machine's first run installs what the build needs before compiling.
#
#   scripts/bench.sh delivery latency load   node/benches/delivery.rs, those scenarios
#   scripts/bench.sh finality                node/benches/finality.rs
#   scripts/bench.sh web                     the web app, page to page (builds `quarks` too)
#   scripts/bench.sh chat                    `quarks chat` against the library (builds `quarks`)
#   scripts/bench.sh mls                     client/benches/mls.rs (database alike)
#
# What each measures and its latest figures: docs/performance.md.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$QUARKS_ROOT"

if [ $# -lt 1 ]; then
  sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
bench="$1"
shift
case "$bench" in
  finality | delivery | web | chat) package=quarks-node ;;
  mls | database) package=quarks-client ;;
  *)
    echo "[bench] no bench named $bench: finality, delivery, web, chat, mls, database" >&2
    exit 2
    ;;
esac

quarks_setup
# The client's benches need no runtime blob.
[ "$package" = quarks-client ] && export SKIP_WASM_BUILD=1
# The web and chat benches drive the release `quarks` binary, which `cargo bench` does not
# build.
if [ "$bench" = web ] || [ "$bench" = chat ]; then
  cargo build --release -p quarks-cli
fi
cargo bench -p "$package" --bench "$bench" -- "$@"
