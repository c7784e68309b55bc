#!/usr/bin/env bash
# ThreadSanitizer over the code that runs threads: the block log's segment
# preparation (std::async; the storage tests), the verifier's worker thread
# and its socketpair hand-over (the verifier tests, and real ringchain-node
# processes in the cluster tests), and the simulator's seed threads
# (ringchain-sim dst --jobs 2). Builds build-tsan/ (GCC, RINGCHAIN_TSAN).
#
# Every process, the node processes the cluster tests start included,
# writes any report to build-tsan/tsan-reports/ (TSAN_OPTIONS log_path)
# and stops at the first (halt_on_error); a report there fails the script,
# which prints it, whatever the tests made of the stopped process.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)

scripts/install-deps.sh
build_dir=build-tsan
# A project test build, as scripts/test.sh makes them: warnings are errors,
# planted bugs compiled in.
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRINGCHAIN_TSAN=ON \
  -DRINGCHAIN_WERROR=ON -DRINGCHAIN_PLANTED_BUGS=ON >/dev/null
cmake --build "$build_dir" --target storage_tests runtime_tests cluster_tests ringchain-node \
  ringchain-sim

reports="$PWD/$build_dir/tsan-reports"
rm -rf "$reports"
mkdir -p "$reports"
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 log_path=$reports/report suppressions=$PWD/scripts/tsan.supp"

failed=()
run() {
  echo "== $*"
  local t0=$(date +%s)
  if ! "$@"; then failed+=("$1"); fi
  echo "   $(( $(date +%s) - t0 )) s"
}
run "$build_dir/tests/storage/storage_tests" --gtest_brief=1
run "$build_dir/tests/runtime/runtime_tests" --gtest_brief=1
# The hostile tests push hundreds of MiB at a node to show its bounds hold;
# under ThreadSanitizer's slowdown they time out rather than test threads
# (the other cluster tests run the verifier threads under load).
run "$build_dir/tests/cluster/cluster_tests" --gtest_brief=1 --gtest_filter='-io/hostile.*'
run "$build_dir/sim/ringchain-sim" dst --seeds 1..40 --jobs 2 --quiet

if compgen -G "$reports/report*" >/dev/null; then
  echo "tsan.sh: ThreadSanitizer reports:" >&2
  for f in "$reports"/report*; do
    echo "--- $f" >&2
    cat "$f" >&2
  done
  failed+=("ThreadSanitizer reports")
fi
echo "tsan.sh: $(( $(date +%s) - start )) s"
if [ ${#failed[@]} -gt 0 ]; then
  echo "tsan.sh: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "tsan.sh: no data race reported"
