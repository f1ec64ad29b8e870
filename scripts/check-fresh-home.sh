#!/usr/bin/env bash
# Catches what only a fresh machine's first run shows: runs every script that builds
# (the README's commands, the benchmarks and the release build) in a fresh, empty HOME —
# keeping this machine's rustup and cargo homes and the target directory, so nothing
# rebuilds — with a `cargo` first on PATH that stops each script at its first cargo
# command and checks, there, that the build has everything it needs. A script that reads
# its environment before setup has written it fails here in seconds, instead of after
# thirteen minutes of compiling on a new machine.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

# Each with the arguments it is checked with.
scripts=(local-network.sh demo.sh test.sh benchmark.sh release.sh mutants.sh "bench.sh delivery" "bench.sh web" "bench.sh mls" "try-runtime.sh ws://127.0.0.1:9944")
stub="$(mktemp -d -t quarks-fresh-home.XXXXXX)"
trap 'rm -rf "$stub"' EXIT

# The stub checks the environment the script hands to cargo, as it is: it must not
# source env.sh, which would set what the script forgot.
declare -f quarks_check_build_env >"$stub/check.sh"
cat >"$stub/cargo" <<'STUB'
#!/usr/bin/env bash
source "$(dirname "$0")/check.sh"
if quarks_check_build_env && [ "${OPENSSL_NO_VENDOR:-}" = 1 ]; then
  echo "[fresh-home] first cargo command (cargo $*): the build has what it needs" >&2
  exit 97
fi
echo "[fresh-home] first cargo command (cargo $*): the build would fail (OPENSSL_NO_VENDOR=${OPENSSL_NO_VENDOR:-unset})" >&2
exit 98
STUB
chmod +x "$stub/cargo"

failed=0
for command in "${scripts[@]}"; do
  read -r -a words <<<"$command"
  script="${words[0]}"
  home="$stub/home-${command// /-}"
  mkdir -p "$home"
  status=0
  env -i HOME="$home" PATH="$stub:$PATH" USER="${USER:-$(id -un)}" \
    RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}" CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}" \
    CARGO_TARGET_DIR="$CARGO_TARGET_DIR" QUARKS_FRESH_HOME_CHECK=1 \
    bash "$QUARKS_ROOT/scripts/$script" "${words[@]:1}" >"$home.log" 2>&1 || status=$?
  if [ "$status" -eq 97 ]; then
    echo "[fresh-home] $command: ok"
  else
    echo "[fresh-home] $command: FAILED (exit $status) in a fresh HOME; its output:" >&2
    sed 's/^/    /' "$home.log" >&2
    failed=1
  fi
done
exit "$failed"
