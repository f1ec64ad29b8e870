#!/usr/bin/env bash
# Starts a local Quarks network on 127.0.0.1: three validators (Alice, Bob, Charlie)
# and the mail hosts of Dave and Ferdie (authorised full nodes started with --host, at
# the endpoints the `local` chain records), with the fixed node keys the chain allows.
# Waits until finality advances on every node, prints where to connect, then keeps
# printing finalized blocks until Ctrl-C or SIGINT/SIGTERM, which stop every node cleanly.
# If a node exits on its own, says which, shows the end of its log, stops the others and
# exits non-zero.
#
#   scripts/local-network.sh                       run until stopped
#   scripts/local-network.sh --until-finalized N   exit 0 once every node finalized N
set -euo pipefail

# A background job of a non-interactive shell starts with SIGINT ignored, and bash cannot
# trap a signal ignored at entry: restart once with default handling, so a parent's
# SIGINT stops the network like Ctrl-C does.
if [ -z "${QUARKS_NETWORK_SIGNALS_RESET:-}" ]; then
  QUARKS_NETWORK_SIGNALS_RESET=1 exec env --default-signal=INT,TERM,HUP bash "$0" "$@"
fi
unset QUARKS_NETWORK_SIGNALS_RESET

source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

until_finalized=""
while [ $# -gt 0 ]; do
  case "$1" in
    --until-finalized) until_finalized="$2"; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

quarks_setup
echo "[network] building quarks-node and the quarks client"
# The whole workspace, as `cargo test --workspace` builds it: building the node alone would
# resolve other dependency features and rebuild it on every switch.
(cd "$QUARKS_ROOT" && cargo build -q --workspace --bins)

names=(alice bob charlie dave ferdie)
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for i in "${!names[@]}"; do
  for port in $((30333 + i)) $((9944 + i)) $((9615 + i)); do
    if port_in_use "$port"; then
      echo "[network] port $port is in use (another Quarks network still running?); stop it first" >&2
      exit 1
    fi
  done
done

work="$(mktemp -d -t quarks-network.XXXXXX)"
pids=()

stop() { # stop STATUS
  trap - INT TERM HUP PIPE EXIT
  echo
  echo "[network] stopping nodes"
  for pid in "${pids[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
  echo "[network] stopped"
  exit "$1"
}
trap 'stop 130' INT
trap 'stop 143' TERM
trap 'stop 129' HUP
trap 'stop 141' PIPE
trap 'stop $?' EXIT

# Fails the network if node I exited: which one, how, and the end of its log.
check_alive() { # check_alive I
  local i="$1" status=0
  kill -0 "${pids[$i]}" 2>/dev/null && return 0
  wait "${pids[$i]}" 2>/dev/null || status=$?
  echo "[network] ${names[$i]} (pid ${pids[$i]}) exited with status $status; its log ends:" >&2
  tail -20 "$work/${names[$i]}.log" >&2
  stop 1
}

rpc() { # rpc PORT METHOD [PARAMS]
  curl -sf --max-time 5 -H 'Content-Type: application/json' \
    -d "{\"id\":1,\"jsonrpc\":\"2.0\",\"method\":\"$2\",\"params\":${3:-[]}}" "http://127.0.0.1:$1"
}

finalized() { # finalized PORT -> block number, or -1 while unreachable
  local head number
  head=$(rpc "$1" chain_getFinalizedHead | sed -n 's/.*"result":"\(0x[0-9a-f]*\)".*/\1/p') || true
  [ -n "$head" ] || { echo -1; return; }
  number=$(rpc "$1" chain_getHeader "[\"$head\"]" | sed -n 's/.*"number":"0x\([0-9a-f]*\)".*/\1/p') || true
  [ -n "$number" ] && echo $((16#$number)) || echo -1
}

# Alice's peer id for the others' --bootnodes: node key 1 (see runtime genesis presets).
bootnode="/ip4/127.0.0.1/tcp/30333/p2p/12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp"
for i in "${!names[@]}"; do
  name="${names[$i]}"
  args=(--chain local --base-path "$work/$name" --name "$name"
        --node-key "$(printf '%064x' $((i + 1)))"
        --listen-addr "/ip4/127.0.0.1/tcp/$((30333 + i))"
        --rpc-port $((9944 + i)) --prometheus-port $((9615 + i)) --no-telemetry)
  case "$name" in
    # The operators' accounts (//Dave, //Ferdie) as in the chain's host records.
    dave) args+=(--host 5DAAnrj7VHTznn2AWBemMuyBwZWs6FNFjdyVXUeYum3PTXFy) ;;
    ferdie) args+=(--host 5CiPPseXPECbkjWCa6MnjNokrgYjMqmKndv2rSnekmSK2DjL) ;;
    *) args+=(--validator "--$name") ;;
  esac
  [ "$i" -eq 0 ] || args+=(--bootnodes "$bootnode")
  "$QUARKS_NODE" "${args[@]}" >"$work/$name.log" 2>&1 &
  pids+=($!)
  echo "[network] started $name (pid $!, log $work/$name.log)"
done

echo "[network] waiting for finality to advance on every node"
target=${until_finalized:-1}
deadline=$((SECONDS + 600))
for i in "${!names[@]}"; do
  until [ "$(finalized $((9944 + i)))" -ge "$target" ]; do
    check_alive "$i"
    if [ $SECONDS -ge $deadline ]; then
      echo "[network] ${names[$i]} did not finalize block $target in 10 minutes; its log ends:" >&2
      tail -20 "$work/${names[$i]}.log" >&2
      stop 1
    fi
    sleep 1
  done
done

echo
echo "Quarks local network is finalizing. Connect to:"
for i in "${!names[@]}"; do
  role=validator; [ "$i" -ge 3 ] && role="mail host"
  printf '  %-8s %-10s ws://127.0.0.1:%d  (metrics http://127.0.0.1:%d/metrics)\n' \
    "${names[$i]}" "$role" $((9944 + i)) $((9615 + i))
done
echo

if [ -n "$until_finalized" ]; then
  echo "[network] every node finalized block $until_finalized"
  stop 0
fi

echo "Finalized block per node (Ctrl-C stops the network):"
while true; do
  line=""
  for i in "${!names[@]}"; do
    check_alive "$i"
    line+="$(printf '%s=%s ' "${names[$i]}" "$(finalized $((9944 + i)))")"
  done
  echo "  $(date +%T)  $line"
  # In the background, so a signal is handled at once rather than after the sleep.
  sleep 6 & wait $! || true
done
