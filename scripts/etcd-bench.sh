#!/usr/bin/env bash
# Side by side on this machine, in one run: durable writes of a 3-member etcd
# cluster and of a 3-node ringchain cluster.
#
#   1. installs Debian's etcd-server and etcd-client when missing
#      (scripts/install-deps.sh: root or passwordless sudo);
#   2. starts 3 etcd members on 127.0.0.1 (free ports, data dirs under a
#      temporary directory on the same disk as ringchain's), waits until
#      every member is healthy, finds the leader;
#   3. etcd, measured two ways (etcd's `benchmark` tool is not packaged in
#      Debian 12):
#      - etcd_put_bench: a fixed number of puts (256-byte values) from K
#        keep-alive connections to the leader, one put at a time each,
#        through etcd's HTTP/JSON gateway: puts/s and put latency p50/p99;
#      - `etcdctl check perf --load=L` against the leader: etcd's Go gRPC
#        client offering a fixed rate for 60 s (s 150/s, m 1,000/s,
#        l 8,000/s, xl 15,000/s; 256-byte keys, 1 KiB values): the writes/s
#        reached, the slowest request and the standard deviation;
#   4. stops etcd, then runs ringchain's cluster_bench for io_uring and
#      per-block barriers (3 nodes, mutual TLS, 256-byte signed
#      transactions, blocks of 256);
#   5. prints both and the ratio.
#
# Always (trap): kills the etcd members it started, by their PIDs, and
# removes the temporary directory. Every step has a time limit.
#
#   scripts/etcd-bench.sh [--puts N] [--clients K] [--load s|m|l|xl|none]
#                         [--blocks N] [--build DIR]
#
# Needs a build (cluster_bench, etcd_put_bench): scripts/test.sh, or cmake.
set -uo pipefail
cd "$(dirname "$0")/.."

puts=20000
clients=16
load=l
blocks=200
build=build
while [ $# -gt 0 ]; do
  case "$1" in
    --puts) puts=$2; shift 2 ;;
    --clients) clients=$2; shift 2 ;;
    --load) load=$2; shift 2 ;;
    --blocks) blocks=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "etcd-bench: unknown argument $1" >&2; exit 2 ;;
  esac
done
case "$load" in s|m|l|xl|none) ;; *) echo "etcd-bench: --load is s, m, l, xl or none" >&2; exit 2 ;; esac

for b in cluster_bench etcd_put_bench; do
  if [ ! -x "$build/tests/bench/$b" ]; then
    echo "etcd-bench: $build/tests/bench/$b is missing; build first (scripts/test.sh)" >&2
    exit 1
  fi
done
scripts/install-deps.sh etcd-server etcd-client || exit 1

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ringchain-etcd-bench.XXXXXX")
pids=()
stop_etcd() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  pids=()
}
cleanup() {
  stop_etcd
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A port nothing listens on, not chosen before in this run.
taken=" "
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 12000))
    case "$taken" in *" $p "*) continue ;; esac
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      taken="$taken$p "
      echo "$p"
      return
    fi
  done
}

cluster=""
endpoints=""
declare -a cports pports
for i in 1 2 3; do
  cports[$i]=$(free_port)
  pports[$i]=$(free_port)
  cluster="$cluster${cluster:+,}m$i=http://127.0.0.1:${pports[$i]}"
  endpoints="$endpoints${endpoints:+,}127.0.0.1:${cports[$i]}"
done
for i in 1 2 3; do
  etcd --name "m$i" --data-dir "$tmp/m$i" \
    --listen-client-urls "http://127.0.0.1:${cports[$i]}" \
    --advertise-client-urls "http://127.0.0.1:${cports[$i]}" \
    --listen-peer-urls "http://127.0.0.1:${pports[$i]}" \
    --initial-advertise-peer-urls "http://127.0.0.1:${pports[$i]}" \
    --initial-cluster "$cluster" --initial-cluster-token ringchain-etcd-bench \
    --initial-cluster-state new --logger zap --log-level warn >"$tmp/m$i.log" 2>&1 &
  pids+=($!)
done

ctl() { etcdctl --endpoints="$endpoints" --dial-timeout=2s --command-timeout=5s "$@"; }
deadline=$((SECONDS + 60))
until ctl endpoint health >/dev/null 2>&1; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "etcd-bench: the etcd members did not become healthy within 60 s; member 1's log ends:" >&2
    tail -5 "$tmp/m1.log" >&2
    exit 1
  fi
  sleep 0.2
done
leader=$(ctl endpoint status | awk -F', ' '$5 == "true" { print $1; exit }')
if [ -z "$leader" ]; then
  echo "etcd-bench: no etcd member says it leads" >&2
  exit 1
fi
echo "etcd $(etcd --version | awk '/etcd Version/ { print $3 }'): 3 members on 127.0.0.1, data in $tmp, leader $leader"
echo "$(uptime)"

put_out=$(timeout 600 "$build/tests/bench/etcd_put_bench" --endpoint "$leader" --puts "$puts" \
  --clients "$clients" --value-bytes 256)
echo "$put_out"
etcd_puts=$(echo "$put_out" | sed -n 's/.* = \([0-9]*\) puts\/s.*/\1/p')
etcd_p50=$(echo "$put_out" | sed -n 's/.*p50 \([0-9.]*\) ms.*/\1/p')
etcd_p99=$(echo "$put_out" | sed -n 's/.*p99 \([0-9.]*\) ms.*/\1/p')

perf_writes=""
if [ "$load" != none ]; then
  echo "etcdctl check perf --load=$load (60 s):"
  timeout 180 etcdctl --endpoints="$leader" check perf --load="$load" >"$tmp/check-perf.out" 2>&1
  # Without its closing lines (an error after the load, say) show its end.
  perf_out=$(tr '\r' '\n' <"$tmp/check-perf.out" | grep -E 'PASS|FAIL|Slowest|Stddev|Throughput|Error')
  [ -n "$perf_out" ] || perf_out=$(tr '\r' '\n' <"$tmp/check-perf.out" | tail -3)
  echo "$perf_out" | sed 's/^/  /'
  perf_writes=$(echo "$perf_out" | sed -n 's/.*Throughput[^0-9]*\([0-9]*\) writes\/s.*/\1/p')
fi
echo "$(uptime)"
stop_etcd

echo
echo "ringchain: cluster_bench --io uring --policy per_block --blocks $blocks"
rc_out=$(timeout 900 "$build/tests/bench/cluster_bench" --io uring --policy per_block --blocks "$blocks")
echo "$rc_out"
read -r rc_tps rc_c50 rc_c99 rc_s50 rc_s99 < <(echo "$rc_out" |
  awk '$1 == "uring" && $2 == "per_block" && $5 ~ /^[0-9]+$/ { print $6, $7, $8, $10, $11; exit }')

echo
echo "side by side (same machine, same run, one after the other):"
printf '  etcd      %8s puts/s   put latency p50 %s ms, p99 %s ms (%s connections, one put each at a time)\n' \
  "${etcd_puts:-?}" "${etcd_p50:-?}" "${etcd_p99:-?}" "$clients"
[ -n "$perf_writes" ] && printf '  etcd      %8s writes/s (etcdctl check perf --load=%s)\n' "$perf_writes" "$load"
printf '  ringchain %8s tx/s     block commit p50 %s ms, p99 %s ms; a 256-tx batch from send to answer p50 %s ms, p99 %s ms\n' \
  "${rc_tps:-?}" "${rc_c50:-?}" "${rc_c99:-?}" "${rc_s50:-?}" "${rc_s99:-?}"
if [ -n "${rc_tps:-}" ] && [ -n "${etcd_puts:-}" ] && [ "${etcd_puts:-0}" -gt 0 ]; then
  awk -v r="$rc_tps" -v e="$etcd_puts" -v p="${perf_writes:-0}" 'BEGIN {
    printf "  ratio: ringchain tx/s / etcd puts/s = %.2f", r / e
    if (p > 0) printf "; / etcd check-perf writes/s = %.2f", r / p
    printf "\n" }'
fi
echo "  (ringchain verifies an Ed25519 signature per transaction; etcd checks none)"
