#!/usr/bin/env bash
# End-to-end test of the container cluster (docker-compose.yml):
#
#   1. build the node and Prometheus images, or reuse them: they are tagged
#      with a hash of their inputs (sources, docker/, configs/compose, the base
#      image's id), so an unchanged tree builds nothing;
#   2. bring the cluster up under a project name of its own, no host ports
#      taken (they go to free ports on 127.0.0.1);
#   3. wait for a leader;
#   4. commit transactions with ringchain-client from a container on the
#      cluster's network;
#   5. read ringchain_blocks_committed_total through Prometheus' HTTP API;
#   6. kill the leader's container (SIGKILL), wait for a new leader, commit
#      through it;
#   7. restart the killed node and wait until it catches up;
#   8. run configs/experiments/compose-smoke.toml (engine = "compose") with
#      the same image, when build/sim/ringchain-sim is built;
#   and always (trap) tear the project down: containers, network, volumes.
#
#   scripts/compose-test.sh [--nodes 3|5|7] [--keep]
#
# Run scripts/docker-setup.sh first. Exit codes: 0 every step passed; 1 a step
# failed (the summary names it); 77 Docker cannot run here (the reason is
# printed; test runners count it as skipped).
#
# Environment:
#   COMPOSE                        the compose command (default: "docker compose"
#                                  when Compose v2 is there, else docker-compose)
#   RINGCHAIN_COMPOSE_TEST_FILES   extra compose files after ours, colon separated
#   RINGCHAIN_COMPOSE_TEST_TIMEOUT seconds for each wait (default 90)
#   RINGCHAIN_BUILD_JOBS           compile jobs in the image build (default 2)
set -uo pipefail
cd "$(dirname "$0")/.."

nodes=3
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --nodes) nodes=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "compose-test: unknown argument $1" >&2; exit 2 ;;
  esac
done
case "$nodes" in 3|5|7) ;; *) echo "compose-test: --nodes is 3, 5 or 7" >&2; exit 2 ;; esac
wait_s=${RINGCHAIN_COMPOSE_TEST_TIMEOUT:-90}

t_start=$(date +%s)
say() { echo "compose-test [$(($(date +%s) - t_start))s]: $*"; }
skip() {
  echo "compose-test: SKIP: Docker cannot run here: $*" >&2
  exit 77
}

# --- Docker and Compose ----------------------------------------------------
command -v docker >/dev/null 2>&1 || skip "docker is not installed (scripts/docker-setup.sh installs it)"
if ! info_err=$(timeout 20 docker info 2>&1 >/dev/null); then
  case "$info_err" in
    *"permission denied"*) skip "no permission to use the Docker daemon (run as root or join the docker group)" ;;
    *) skip "no Docker daemon answers (scripts/docker-setup.sh starts one): ${info_err##*$'\n'}" ;;
  esac
fi
if [ -n "${COMPOSE:-}" ]; then
  read -r -a compose_cmd <<<"$COMPOSE"
elif timeout 30 docker compose version >/dev/null 2>&1; then
  compose_cmd=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
  compose_cmd=(docker-compose)
else
  skip "neither Compose v2 (docker compose) nor docker-compose is installed (scripts/docker-setup.sh installs docker-compose)"
fi
base_image=debian:bookworm
if ! timeout 30 docker image inspect "$base_image" >/dev/null 2>&1; then
  echo "compose-test: FAIL: no $base_image image; run scripts/docker-setup.sh first" >&2
  exit 1
fi

# --- steps and their outcomes ------------------------------------------------
declare -a results=()
failed=0
pass() { results+=("PASS  $1"); say "PASS: $1"; }
fail() {
  results+=("FAIL  $1: $2")
  say "FAIL: $1: $2"
  failed=1
}
summary() {
  echo "compose-test: summary ($nodes nodes, ${compose_cmd[*]}, $(($(date +%s) - t_start)) s):"
  for r in "${results[@]}"; do echo "  $r"; done
}

# --- 1. images -------------------------------------------------------------
# A hash of everything the images are built from.
inputs_hash() {
  {
    timeout 30 docker image inspect --format '{{.Id}}' "$base_image"
    find "$@" -type f ! -name '*.swp' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
  } | sha256sum | cut -c1-16
}
node_tag=ringchain:test-$(inputs_hash CMakeLists.txt proto node sim tests configs/compose .dockerignore \
  docker/Dockerfile docker/entrypoint.sh docker/load.sh docker/runtime-packages.sh)
prom_tag=ringchain-prometheus:test-$(inputs_hash docker/prometheus)
build_image() {  # tag dockerfile [docker build options]
  if timeout 30 docker image inspect "$1" >/dev/null 2>&1; then
    say "image $1 is up to date"
    return 0
  fi
  say "building $1 ($2)"
  local t0 log
  t0=$(date +%s)
  log=$(mktemp)
  if ! timeout 3600 docker build -f "$2" -t "$1" "${@:3}" . >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    rm -f "$log"
    return 1
  fi
  rm -f "$log"
  say "built $1 in $(($(date +%s) - t0)) s"
}
# Build arguments only when asked for: the classic builder's cache keys
# include them, so passing the defaults would rebuild a cached image.
node_args=()
[ -n "${RINGCHAIN_BUILD_JOBS:-}" ] && node_args+=(--build-arg "JOBS=$RINGCHAIN_BUILD_JOBS")
if build_image "$node_tag" docker/Dockerfile "${node_args[@]}" &&
   build_image "$prom_tag" docker/prometheus/Dockerfile; then
  pass "images ($node_tag, $prom_tag)"
else
  fail "images" "docker build failed (output above)"
  summary
  exit 1
fi

# --- 2. up -------------------------------------------------------------------
project=rctest-$(date +%s)-$$
network=${project}_ringchain
files=(-f docker-compose.yml)
[ "$nodes" -ne 3 ] && files+=(-f "docker/compose-$nodes.yml")
if [ -n "${RINGCHAIN_COMPOSE_TEST_FILES:-}" ]; then
  IFS=: read -r -a extra <<<"$RINGCHAIN_COMPOSE_TEST_FILES"
  for f in "${extra[@]}"; do files+=(-f "$f"); done
fi
export RINGCHAIN_IMAGE=$node_tag RINGCHAIN_PROMETHEUS_IMAGE=$prom_tag
export RINGCHAIN_LOAD_RATE=${RINGCHAIN_LOAD_RATE:-20}
for i in 1 2 3 4 5 6 7; do export "RINGCHAIN_PORT_NODE$i=127.0.0.1:"; done
export RINGCHAIN_PORT_PROMETHEUS=127.0.0.1:
unset COMPOSE_FILE COMPOSE_PROJECT_NAME COMPOSE_PROFILES
compose() { timeout 300 "${compose_cmd[@]}" -p "$project" "${files[@]}" "$@"; }

teardown() {
  local rc=$?
  trap - EXIT INT TERM
  if [ "$keep" -eq 1 ]; then
    say "--keep: project $project left running; remove it with: ${compose_cmd[*]} -p $project ${files[*]} down -v"
    exit "$rc"
  fi
  say "tearing down $project"
  timeout 60 docker ps -aq --filter "label=ringchain.compose-test=$project" |
    xargs -r timeout 60 docker rm -f >/dev/null 2>&1
  compose down -v --remove-orphans --timeout 5 >/dev/null 2>&1 || true
  local left
  left=$( {
    timeout 30 docker ps -aq --filter "label=com.docker.compose.project=$project"
    timeout 30 docker network ls -q --filter "label=com.docker.compose.project=$project"
    timeout 30 docker volume ls -q --filter "label=com.docker.compose.project=$project"
  } | wc -l)
  if [ "$left" -ne 0 ]; then
    echo "compose-test: FAIL: $left containers, networks or volumes of $project are left" >&2
    rc=1
  fi
  exit "$rc"
}
trap teardown EXIT
trap 'exit 130' INT TERM

say "starting $nodes nodes, Prometheus and the load as project $project (${compose_cmd[*]})"
if ! up_out=$(compose up -d --no-build 2>&1); then
  echo "$up_out" >&2
  fail "up" "${compose_cmd[*]} up failed"
  summary
  exit 1
fi
pass "up"

# A service's container, by the labels both Compose versions set.
cid() {
  timeout 30 docker ps -aq --filter "label=com.docker.compose.project=$project" \
    --filter "label=com.docker.compose.service=$1" | head -n 1
}
node_ids=$(seq "$nodes")
# Prints "LEADER_ID TERM" when every answering node agrees on one leader and
# at least a majority of $1 answer; empty otherwise. $2: a node id that is
# neither asked nor accepted as the leader (the killed one).
leader_now() {
  local i out seen="" term="" answering=0 skip_id=${2:-0}
  for i in $node_ids; do
    [ "$i" -eq "$skip_id" ] && continue
    out=$(timeout 10 docker exec "$(cid "node$i")" ringchain-client status 2>/dev/null | head -n 1) || continue
    # node 2: follower, term 3, leader 1
    [[ "$out" =~ term\ ([0-9]+),\ leader\ ([0-9]+) ]] || continue
    answering=$((answering + 1))
    local t=${BASH_REMATCH[1]} l=${BASH_REMATCH[2]}
    # No leader yet, or still the killed one.
    { [ "$l" -eq 0 ] || [ "$l" -eq "$skip_id" ]; } && return
    if [ -z "$seen" ]; then
      seen=$l
      term=$t
    elif [ "$seen" -ne "$l" ]; then
      return
    fi
  done
  [ -n "$seen" ] && [ "$answering" -ge $((nodes / 2 + 1)) ] && echo "$seen $term"
}
# Why nodes do not answer: the last log line of a node that exited or
# restarts, as one line for the summary.
node_error() {
  local i c
  for i in $node_ids; do
    c=$(cid "node$i")
    if [ "$(timeout 30 docker inspect -f '{{.RestartCount}}{{.State.Running}}' "$c" 2>/dev/null)" != "0true" ]; then
      echo "node$i $(timeout 30 docker inspect -f '{{.State.Status}}, exit code {{.State.ExitCode}}, {{.RestartCount}} restarts' "$c"): $(timeout 30 docker logs --tail 1 "$c" 2>&1)"
      return
    fi
  done
  echo "every node runs"
}
# Containers' states and log tails.
explain_nodes() {
  local i c state
  for i in $node_ids; do
    c=$(cid "node$i")
    state=$(timeout 30 docker inspect -f '{{.State.Status}} (exit code {{.State.ExitCode}}, restarts {{.RestartCount}})' "$c" 2>/dev/null)
    echo "    node$i: $state"
    timeout 30 docker logs --tail 3 "$c" 2>&1 | sed 's/^/      /'
  done
}
# True when every node but $1 has restarted 3 times: they exit at start
# (a bad configuration), so waiting longer is pointless.
crash_looping() {
  local i n
  for i in $node_ids; do
    [ "$i" -eq "${1:-0}" ] && continue
    n=$(timeout 30 docker inspect -f '{{.RestartCount}}' "$(cid "node$i")" 2>/dev/null)
    [ "${n:-0}" -ge 3 ] || return 1
  done
}
wait_leader() {  # skip_id -> prints "ID TERM"
  local deadline=$(($(date +%s) + wait_s)) l
  while [ "$(date +%s)" -lt "$deadline" ]; do
    l=$(leader_now "$nodes" "${1:-0}")
    if [ -n "$l" ]; then
      echo "$l"
      return 0
    fi
    crash_looping "${1:-0}" && return 1
    sleep 1
  done
  return 1
}
# ringchain-client in a one-off container on the cluster's network. Names are
# resolved here so that it works with clients that take only IP addresses.
client() {  # node_id args...
  local n=$1
  shift
  timeout 120 docker run --rm --network "$network" --label "ringchain.compose-test=$project" \
    --no-healthcheck --entrypoint sh "$node_tag" -c \
    'addr=$(getent ahostsv4 "$0" | awk "NR == 1 {print \$1}") && exec ringchain-client --node "$addr:8001" "$@"' \
    "node$n" "$@"
}
height_of() {
  timeout 10 docker exec "$(cid "node$1")" ringchain-client status 2>/dev/null |
    sed -n 's/^height \([0-9]*\),.*/\1/p'
}

# --- 3. leader -----------------------------------------------------------------
say "waiting up to $wait_s s for a leader"
if l=$(wait_leader); then
  read -r leader term <<<"$l"
  pass "leader: node$leader in term $term"
else
  fail "leader" "no leader ($(node_error)); the nodes:"
  explain_nodes
  summary
  exit 1
fi

# --- 4. commit -----------------------------------------------------------------
if out=$(client "$leader" submit --count 200 --seed compose-test 2>&1) &&
   [[ "$out" == *"200 of 200 transactions committed"* ]]; then
  h=$(height_of "$leader")
  pass "commit: 200 transactions through node$leader from a container on $network (height ${h:-?})"
else
  fail "commit" "ringchain-client submit through node$leader: $out"
fi

# --- 5. Prometheus -----------------------------------------------------------------
# The HTTP API's JSON, fetched from inside the Prometheus container (bash's
# /dev/tcp: the test needs no HTTP client on the host).
prom_get() {
  timeout 15 docker exec "$(cid prometheus)" bash -c \
    'exec 3<>/dev/tcp/127.0.0.1/9090 && printf "GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n" "$0" >&3 && cat <&3' \
    "$1" 2>/dev/null | sed '1,/^\r*$/d'
}
say "waiting up to $wait_s s for ringchain_blocks_committed_total in Prometheus"
deadline=$(($(date +%s) + wait_s))
prom_ok=0
while [ "$(date +%s)" -lt "$deadline" ]; do
  json=$(prom_get '/api/v1/query?query=ringchain_blocks_committed_total')
  # "value":[1700000000.123,"42"]
  best=$(grep -o '"value":\[[0-9.e+]*,"[0-9.e+]*"\]' <<<"$json" | sed 's/.*,"\(.*\)"\]/\1/' | sort -g | tail -n 1)
  if [[ "$json" == *'"status":"success"'* ]] && [ -n "$best" ] && awk "BEGIN {exit !($best > 0)}"; then
    prom_ok=1
    break
  fi
  sleep 2
done
if [ "$prom_ok" -eq 1 ]; then
  pass "prometheus: ringchain_blocks_committed_total = $best (max over nodes) via /api/v1/query"
else
  targets=$(prom_get '/api/v1/targets?state=active' |
    grep -oE '"(scrapeUrl|health|lastError)":"([^"\\]|\\.)*"' | paste -d' ' - - - | sed 's/^/      /')
  fail "prometheus" "no ringchain_blocks_committed_total > 0 within $wait_s s (last answer: ${json:-none}); scrape targets:
$targets"
fi

# --- 6. kill the leader --------------------------------------------------------
old=$leader
say "killing node$old (the leader) with SIGKILL"
timeout 30 docker kill "$(cid "node$old")" >/dev/null
if l=$(wait_leader "$old"); then
  read -r leader term <<<"$l"
  if out=$(client "$leader" submit --count 100 --seed compose-test-failover 2>&1) &&
     [[ "$out" == *"100 of 100 transactions committed"* ]]; then
    pass "failover: node$leader leads in term $term and committed 100 transactions"
  else
    fail "failover" "new leader node$leader: $out"
  fi
else
  fail "failover" "no new leader after killing node$old ($(node_error)); the nodes:"
  explain_nodes
fi

# --- 7. the killed node catches up ----------------------------------------------
timeout 60 docker start "$(cid "node$old")" >/dev/null
target=$(height_of "$leader")
deadline=$(($(date +%s) + wait_s))
caught=0
while [ "$(date +%s)" -lt "$deadline" ]; do
  h=$(height_of "$old")
  if [ -n "$h" ] && [ -n "$target" ] && [ "$h" -ge "$target" ]; then
    caught=1
    break
  fi
  sleep 1
done
if [ "$caught" -eq 1 ]; then
  pass "recovery: node$old restarted and reached height $h (leader was at ${target})"
else
  fail "recovery" "node$old at height ${h:-?} after $wait_s s, leader at ${target:-?}"
fi

# --- 8. an experiment on a container cluster ------------------------------------
# engine = "compose": the same reports as local processes, with a container
# cut from the network and an emulated delay (configs/experiments/compose-smoke.toml).
sim=${RINGCHAIN_SIM:-build/sim/ringchain-sim}
if [ -x "$sim" ]; then
  out_dir=$(mktemp -d)
  say "running configs/experiments/compose-smoke.toml on containers ($sim)"
  if RINGCHAIN_IMAGE=$node_tag timeout 600 "$sim" run configs/experiments/compose-smoke.toml \
       --out "$out_dir" >"$out_dir/run.log" 2>&1 &&
     grep -q '"error": ""' "$out_dir/report.json" && grep -q '"kind": "partition"' "$out_dir/report.json"; then
    pass "experiment: compose-smoke wrote its reports ($(grep -o '[0-9.]*% of blocks committed within' "$out_dir/report.md" | head -n 1) the deadline)"
  else
    fail "experiment" "compose-smoke: $(tail -n 5 "$out_dir/run.log" 2>/dev/null)"
  fi
  rm -rf "$out_dir"
else
  say "skipping the compose experiment: no $sim (scripts/test.sh builds it)"
fi

summary
[ "$failed" -eq 0 ]
