#!/usr/bin/env bash
# Checks that scripts/local-network.sh stops when it should, as a non-interactive parent
# (CI, another script) runs it in the background:
#   1. SIGINT from the parent stops it and every node, with status 130;
#   2. a node that dies makes it name that node, stop the others and exit 1.
# Expects the binaries built (scripts/test.sh runs it after `cargo test`).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

work="$(mktemp -d -t quarks-network-check.XXXXXX)"
network_pid=""
cleanup() {
  [ -z "$network_pid" ] || kill -KILL "$network_pid" 2>/dev/null || true
  pkill -KILL -f "$QUARKS_NODE --chain local" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "[network-check] FAILED: $*; the script's output:" >&2; cat "$work/network.log" >&2; exit 1; }

start_network() {
  bash "$QUARKS_ROOT/scripts/local-network.sh" >"$work/network.log" 2>&1 &
  network_pid=$!
  local deadline=$((SECONDS + 600))
  until grep -q "Finalized block per node" "$work/network.log"; do
    kill -0 "$network_pid" 2>/dev/null || fail "the network did not start"
    [ $SECONDS -lt $deadline ] || fail "the network did not start in 10 minutes"
    sleep 1
  done
}

# Waits up to 30 s for the network script to exit; sets `status` to its exit status.
# (Not in a subshell: only this shell can wait for its child.)
wait_network() {
  local deadline=$((SECONDS + 30))
  while kill -0 "$network_pid" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || fail "the network script did not exit"
    sleep 0.5
  done
  status=0
  wait "$network_pid" || status=$?
  network_pid=""
}

nodes_left() { pgrep -f "$QUARKS_NODE --chain local" >/dev/null; }

echo "[network-check] SIGINT from a non-interactive parent stops the network"
start_network
kill -INT "$network_pid"
wait_network
[ "$status" -eq 130 ] || fail "exit status $status after SIGINT, expected 130"
! nodes_left || fail "nodes still running after SIGINT"

echo "[network-check] a node that dies stops the network loudly"
start_network
pkill -KILL -f "$QUARKS_NODE --chain local .*--name bob"
wait_network
[ "$status" -eq 1 ] || fail "exit status $status after a node died, expected 1"
grep -q "bob (pid [0-9]*) exited with status 137; its log ends:" "$work/network.log" \
  || fail "the script did not say which node exited"
! nodes_left || fail "nodes still running after one died"
echo "[network-check] ok"
