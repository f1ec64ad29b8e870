#!/usr/bin/env bash
# The Quarks demo: starts the local network (scripts/local-network.sh) and runs a scripted
# conversation with the `quarks` client, every conversation an MLS group whose commits the
# chain orders, printing each step and checking each outcome:
#   1. Alice, Bob and Charlie publish their devices' key packages; Bob names Alice from her
#      invitation link;
#   2. Alice and Bob chat 1:1: Bob's live `watch` joins the conversation from its welcome,
#      shows the message as soon as it arrives (pending), then anchored, then final, and
#      acknowledges it; `chats` and `history` show the conversation from Bob's local
#      message database;
#   3. the chain's audit shows the anchor, the signing device and Bob's receipt;
#   4. Bob exports a proof of Alice's message that anyone can verify without keys;
#   5. Alice and Bob compare safety numbers;
#   6. Bob adds a second device: both of his devices read what Alice writes next;
#   7. Alice creates a group with Bob and Charlie, then removes Charlie: Bob reads the next
#      message, Charlie cannot;
#   8. Bob removes his second device and updates his keys: the removed device reads
#      nothing new.
# Uses the development identities, whose devices the local chain bound at genesis.
# Exits non-zero if any step does not behave as described.
#
# `--web` instead: the local network with Alice and Bob each served by `quarks serve`
# (127.0.0.1:8740 and 8741); prints the two addresses to open in a browser, and runs until
# Ctrl-C.
#
# `--then COMMAND...`: once every step passed, runs COMMAND from the repository root with
# the network still up (Alice's node at ws://127.0.0.1:9944), and fails if it does.
set -euo pipefail
web=false
then=()
case "${1:-}" in
  --web) web=true ;;
  --then) shift; then=("$@"); [ $# -gt 0 ] || { echo "[demo] --then needs a command" >&2; exit 2; } ;;
esac
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
  # The served clients of --web.
  for pid in $(jobs -p); do kill "$pid" 2>/dev/null || true; done
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

step "Each device publishes the key package others add it to conversations with"
for name in Alice Bob Charlie; do
  quarks --keystore "$name.json" device register | tee out
  expect out "registered, key package valid until block"
done

if $web; then
  port=8740
  for name in Alice Bob; do
    quarks --keystore "$name.json" serve --listen "127.0.0.1:$port" >"$name.serve" 2>&1 &
    until grep -q "^serving on" "$name.serve"; do sleep 0.2; done
    echo "[demo] $name: open $(sed -n 's/^serving on //p' "$name.serve")"
    port=$((port + 1))
  done
  echo "[demo] Bob adds Alice from her invitation (Contacts) to start; Ctrl-C stops everything"
  wait
fi

step "Bob names Alice from her invitation link: checked against the chain, so verified"
link=$(quarks --keystore Alice.json invite --link)
echo "$link"
quarks --keystore Bob.json contact add alice "$link" | tee out
expect out "alice is $alice, verified"
quarks --keystore Bob.json contact list | tee out
expect out "^alice  $alice  verified"

step "Bob's mail hosts (chosen on chain; * marks his)"
quarks --keystore Bob.json hosts list | tee out
expect out "^\* "

step "Alice → Bob, 1:1 (an MLS group of two), while Bob watches his mailboxes live"
quarks --keystore Bob.json watch --count 1 --timeout 120 >watch.out 2>&1 &
watcher=$!
sleep 3
quarks --keystore Alice.json send --to "$bob" --finalized "Hi Bob! Lunch at noon?" | tee out
expect out "anchored in block"
hash=$(sed -n 's/^sent \(0x[0-9a-f]*\) .*/\1/p' out)
direct=$(sed -n 's/^sent 0x[0-9a-f]* to group \([0-9]*\) .*/\1/p' out)
wait "$watcher"
cat watch.out
expect watch.out "added you to group $direct (epoch 1)"
expect watch.out "pending\] .*Hi Bob! Lunch at noon?"
expect watch.out "$hash final, anchored in block"
expect watch.out "acknowledged"

step "Bob → Alice in the same conversation; Alice reads her inbox"
quarks --keystore Bob.json send --to "$alice" "Noon works." | tee out
expect out "to group $direct "
inbox_until Alice "Noon works."
expect out "Noon works."

step "Bob's conversations and their history, from his local message database"
quarks --keystore Bob.json chats | tee out
expect out "with alice"
expect out "you: Noon works."
quarks --keystore Bob.json history alice | tee out
expect out "alice: Hi Bob! Lunch at noon? \[final, block #"
expect out "you: Noon works. \[\(anchored in\|final,\) block #"

step "Audit of Alice's message: anchor, signing device, Bob's receipt (once final)"
for _ in $(seq 30); do
  quarks --keystore Alice.json audit "$hash" >out
  grep -q "$bob: delivered, receipt in block" out && break
  sleep 2
done
cat out
expect out "by $alice"
expect out "signed by device 0x[0-9a-f]*, bound to the sender then"
expect out "$bob: delivered, receipt in block"
# Alice's history shows it delivered: Bob's receipt, read from the chain.
quarks --keystore Alice.json history "$bob" | tee out
expect out "you: Hi Bob! Lunch at noon? \[final, block #[0-9]*, delivered\]"

step "Bob proves Alice sent it; anyone verifies the proof without keys"
quarks --keystore Bob.json prove "$hash" -o proof.json
quarks verify-proof proof.json | tee out
expect out "sender   $alice (signature of its device"
expect out "Hi Bob! Lunch at noon?"
# …with the node's finality followed from the chain spec's genesis, and with no node at
# all: the proof carries its evidence, checked from the chain spec.
"$QUARKS_NODE" build-spec --chain local --raw 2>/dev/null > spec.json
quarks verify-proof --chain-spec spec.json proof.json | tee out
expect out "Hi Bob! Lunch at noon?"
quarks verify-proof --offline --chain-spec spec.json proof.json | tee out
expect out "Hi Bob! Lunch at noon?"
expect out "no node was asked"

step "Alice and Bob compare safety numbers (from the devices the chain binds)"
quarks --keystore Alice.json contact verify "$bob" | tee alice.contact
quarks --keystore Bob.json contact verify "$alice" | tee bob.contact
# 60 digits in two lines of six groups of five; the same on both sides.
safety_number() { sed -n 2,3p "$1" | tr -d ' \n'; }
if ! safety_number alice.contact | grep -Eqx '[0-9]{60}'; then
  echo "[demo] FAILED: no safety number in Alice's output" >&2
  exit 1
fi
if [ "$(safety_number alice.contact)" != "$(safety_number bob.contact)" ]; then
  echo "[demo] FAILED: the two sides see different safety numbers" >&2
  exit 1
fi
expect alice.contact "your conversation with them holds exactly these devices"

step "Bob adds his laptop: a new device of his account, added to his conversations"
quarks --keystore Bob-laptop.json init --suri //Bob >Bob-laptop.init
laptop=$(sed -n 's/^device \(0x[0-9a-f]*\) .*/\1/p' Bob-laptop.init)
quarks --keystore Bob-laptop.json device register | tee out
quarks --keystore Bob.json group sync | tee out
expect out "group $direct: committed epoch"
quarks --keystore Alice.json send --to "$bob" "To both of your devices." >/dev/null
# The phone reads (and acknowledges) first: hosts keep the mail until the laptop has it
# too.
for device in Bob Bob-laptop; do
  echo "-- $device's inbox"
  inbox_until "$device" "To both of your devices."
  expect out "To both of your devices."
done

step "Alice creates a group with Bob and Charlie, then removes Charlie"
quarks --keystore Alice.json group create "$bob" "$charlie" | tee out
group=$(sed -n 's/^created group \([0-9]*\) .*/\1/p' out)
quarks --keystore Alice.json send --group "$group" "Welcome to the group, both of you." >/dev/null
for name in Bob Charlie; do
  echo "-- $name's inbox"
  inbox_until "$name" "Welcome to the group"
  expect out "added you to group $group"
  expect out "Welcome to the group, both of you."
done
quarks --keystore Alice.json group remove "$group" "$charlie" | tee out
expect out "its commit opened epoch 2"
quarks --keystore Alice.json send --group "$group" --save-envelope next.envelope \
  "Bob only: planning Charlie's surprise party." >/dev/null
echo "-- Bob's inbox"
inbox_until Bob "surprise party"
expect out "Bob only: planning Charlie's surprise party."
echo "-- Charlie's inbox (his removal; hosts keep nothing of the new epoch for him)"
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
expect out "this device is not in group $group"

step "Bob removes his laptop and updates his keys; the laptop reads nothing new"
quarks --keystore Bob.json device remove "$laptop" | tee out
expect out "group $direct: without it from epoch"
quarks --keystore Bob.json keys update | tee out
expect out "group $direct: keys updated"
quarks --keystore Alice.json send --to "$bob" --save-envelope after.envelope "Phone only now." >/dev/null
inbox_until Bob "Phone only now."
expect out "Phone only now."
# The laptop's inbox runs (it still reads Bob's mailbox, and must not fail), and shows
# nothing sent after its removal: the new letter is refused, or its hosts already dropped
# it as delivered.
quarks --keystore Bob-laptop.json inbox | tee out
if grep -q "Phone only now." out; then
  cat out
  echo "[demo] FAILED: the removed laptop read a later message" >&2
  exit 1
fi
if quarks --keystore Bob-laptop.json open after.envelope >out 2>&1; then
  cat out
  echo "[demo] FAILED: the removed laptop opened a later message" >&2
  exit 1
fi
cat out
expect out "this device is not in group $direct"

echo
echo "[demo] every step behaved as described"
if [ ${#then[@]} -gt 0 ]; then
  echo "[demo] with the demo's network: ${then[*]}"
  (cd "$QUARKS_ROOT" && "${then[@]}")
fi
