#!/bin/sh
# ringchain-load: submits $RINGCHAIN_LOAD_RATE transactions a second to the
# cluster, one `ringchain-client submit` a second (a stand-in until the
# simulator has a load subcommand). 0 pauses the load.
#
#   RINGCHAIN_LOAD_RATE   transactions per second (default 50)
#   RINGCHAIN_LOAD_SIZE   value bytes per transaction (default 32)
#   RINGCHAIN_LOAD_NODES  the nodes' client addresses, space separated
#                         (default node1:8001 ... nodeN:8001, N = $RINGCHAIN_NODES)
#
# It resolves names itself and finds the leader by trying each node in turn,
# so it works with clients that take only IP addresses.
set -u
rate=${RINGCHAIN_LOAD_RATE:-50}
size=${RINGCHAIN_LOAD_SIZE:-32}
nodes=${RINGCHAIN_NODES:-3}
if [ -z "${RINGCHAIN_LOAD_NODES:-}" ]; then
  RINGCHAIN_LOAD_NODES=$(i=1; while [ "$i" -le "$nodes" ]; do printf 'node%d:8001 ' "$i"; i=$((i + 1)); done)
fi
trap 'exit 0' TERM INT
seed="load-$(hostname)"
resolve() {  # host:port -> ip:port
  host=${1%:*}
  port=${1##*:}
  ip=$(getent ahostsv4 "$host" 2>/dev/null | awk 'NR == 1 {print $1}')
  [ -n "$ip" ] && echo "$ip:$port"
}
pause() { sleep "$1" & wait $!; }
echo "ringchain-load: $rate transactions/s of $size bytes to $RINGCHAIN_LOAD_NODES"
leader=""
sent=0
while :; do
  if [ "$rate" -le 0 ]; then pause 5; continue; fi
  start=$(date +%s%N)
  ok=0
  for target in $leader $RINGCHAIN_LOAD_NODES; do
    addr=$(resolve "$target") || continue
    if ringchain-client --node "$addr" submit --count "$rate" --size "$size" --seed "$seed" >/dev/null 2>&1; then
      leader=$target
      ok=1
      break
    fi
  done
  if [ "$ok" -eq 1 ]; then
    sent=$((sent + rate))
    [ $((sent % (rate * 60))) -eq 0 ] && echo "ringchain-load: $sent transactions committed through $leader"
  else
    leader=""
    echo "ringchain-load: no node committed the last $rate transactions; retrying"
  fi
  left=$((1000000000 - ($(date +%s%N) - start)))
  if [ "$left" -gt 0 ]; then pause "$(printf '0.%09d' "$left")"; fi
done
