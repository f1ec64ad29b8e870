#!/usr/bin/env bash
# The Quarks demo: starts the local network (scripts/local-network.sh) and runs a scripted
# conversation with the `quarks` client, printing each step and checking each outcome:
#   1. Alice and Bob chat 1:1: Bob's live `watch` shows the message as soon as it arrives
#      (pending), then anchored, then final, and acknowledges it;
#   2. the chain's audit shows the anchor, the key versions and Bob's receipt;
#   3. Bob exports a proof of Alice's message that anyone can verify without keys;
#   4. Alice creates a group with Bob and Charlie (its key goes to both, committed on chain);
#   5. Alice removes Charlie (the key rotates), writes again: Bob reads it, Charlie cannot.
# Uses the development identities, whose keys the local chain registered at genesis.
# Exits non-zero if any step does not behave as described.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

quarks_setup
echo "[demo] building quarks-node and the quarks client"
(cd "$QUARKS_ROOT" && cargo build -q --workspace --bins)

work="$(mktemp -d -t quarks-demo.XXXXXX)"
network_pid=""
cleanup() {
  if [ -n "$network_pid" ]; then
    kill -INT "$network_pid" 2>/dev/null || true
    wait "$network_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

echo "[demo] starting the local network (log: $work/network.log)"
bash "$QUARKS_ROOT/scripts/local-network.sh" >"$work/network.log" 2>&1 &
network_pid=$!
until grep -q "Quarks local network is finalizing" "$work/network.log"; do
  if ! kill -0 "$network_pid" 2>/dev/null; then
    cat "$work/network.log" >&2
    echo "[demo] the local network did not start" >&2
    exit 1
  fi
  sleep 2
done

export QUARKS_PASSPHRASE="demo passphrase"  # keystores of this throwaway demo only
quarks() { "$QUARKS_CLI" "$@"; }
step() { echo; echo "== $*"; }
inbox_until() { # inbox_until NAME PATTERN: read NAME's inbox (into `out`) until PATTERN shows
  : >out
  for _ in $(seq 30); do
    quarks --keystore "$1.json" inbox | tee -a out
    grep -q -- "$2" out && return 0
    sleep 2
  done
}
expect() { # expect FILE PATTERN: the step's output must contain PATTERN
  if ! grep -q -- "$2" "$1"; then
    echo "[demo] FAILED: expected '$2' in:" >&2
    cat "$1" >&2
    exit 1
  fi
}

cd "$work"
for name in Alice Bob Charlie; do
  quarks --keystore "$name.json" init --dev "$name" >"$name.init"
done
account() { sed -n 's/^account //p' "$1.init"; }
alice=$(account Alice) bob=$(account Bob) charlie=$(account Charlie)
echo "[demo] Alice $alice"
echo "[demo] Bob $bob"
echo "[demo] Charlie $charlie"

step "Bob's mail hosts (chosen on chain; * marks his)"
quarks --keystore Bob.json hosts list | tee out
expect out "^\* "

step "Alice → Bob, 1:1, while Bob watches his mailboxes live"
quarks --keystore Bob.json watch --count 1 --timeout 120 >watch.out 2>&1 &
watcher=$!
sleep 3
quarks --keystore Alice.json send --to "$bob" --finalized "Hi Bob! Lunch at noon?" | tee out
expect out "anchored in block"
hash=$(sed -n 's/^sent \(0x[0-9a-f]*\) .*/\1/p' out)
wait "$watcher"
cat watch.out
expect watch.out "pending\] .*Hi Bob! Lunch at noon?"
expect watch.out "$hash final, anchored in block"
expect watch.out "acknowledged 1 message"

step "Bob → Alice, 1:1; Alice reads her inbox"
quarks --keystore Bob.json send --to "$alice" "Noon works." >/dev/null
inbox_until Alice "Noon works."
expect out "Noon works."

step "Audit of Alice's message: anchor, sender, key versions, Bob's receipt (once final)"
for _ in $(seq 30); do
  quarks --keystore Alice.json audit "$hash" >out
  grep -q "delivered, receipt in block" out && break
  sleep 2
done
cat out
expect out "by $alice (sender key v1)"
expect out "sealed to recipient key v1"
expect out "$bob key v1: delivered, receipt in block"

step "Bob proves Alice sent it; anyone verifies the proof without keys"
quarks --keystore Bob.json prove "$hash" -o proof.json
quarks verify-proof proof.json | tee out
expect out "sender   $alice (signature verified)"
expect out "Hi Bob! Lunch at noon?"

step "Alice creates a group with Bob and Charlie"
quarks --keystore Alice.json group create "$bob" "$charlie" | tee out
group=$(sed -n 's/^created group \([0-9]*\) .*/\1/p' out)
quarks --keystore Alice.json send --group "$group" "Welcome to the group, both of you." >/dev/null
for name in Bob Charlie; do
  echo "-- $name's inbox"
  inbox_until "$name" "Welcome to the group"
  expect out "sent the key of group $group epoch 1 (committed on chain)"
  expect out "Welcome to the group, both of you."
done

step "Alice removes Charlie: the group key rotates to a new epoch"
quarks --keystore Alice.json group remove "$group" "$charlie" | tee out
expect out "key rotated to epoch 2"
quarks --keystore Alice.json send --group "$group" --save-envelope next.envelope \
  "Bob only: planning Charlie's surprise party." >/dev/null
echo "-- Bob's inbox"
inbox_until Bob "surprise party"
expect out "Bob only: planning Charlie's surprise party."
echo "-- Charlie's inbox (hosts keep nothing of the new epoch for him)"
quarks --keystore Charlie.json inbox | tee out
if grep -q "surprise party" out; then
  echo "[demo] FAILED: Charlie read a message sent after his removal" >&2
  exit 1
fi
echo "-- Charlie tries to open the new message's envelope itself"
if quarks --keystore Charlie.json open next.envelope >out 2>&1; then
  cat out
  echo "[demo] FAILED: Charlie opened a message sent after his removal" >&2
  exit 1
fi
cat out
expect out "no key for group $group epoch 2"

echo
echo "[demo] every step behaved as described"
