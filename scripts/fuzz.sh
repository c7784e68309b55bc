#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang and runs each for a
# while over a copy of its seed corpus.
#   scripts/fuzz.sh [--seconds N] [target...]   (default: 60 s, every target)
# The working corpus of a target is build-fuzz/fuzz/<target>/corpus: seeded
# from tests/fuzz/corpus/<target> (the repository's copy is never written)
# and kept between runs, so later runs start from what earlier ones found.
# A crashing input is written under build-fuzz/fuzz/<target>/ and named at
# the end; the script then exits non-zero. Reproduce one with
#   build-fuzz/tests/fuzz/<target> <crash file>
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=60
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --seconds=*) seconds="${1#*=}"; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
all=(fuzz_frame_reader fuzz_peer_message fuzz_client_request fuzz_block fuzz_recovery)
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")

# The longest input each target takes: enough for several frames, a
# submission of a hundred transactions, a block of as many, and a block log
# of a few writes; short enough that every run stays fast.
max_len() {
  case "$1" in
    fuzz_frame_reader) echo 4096 ;;
    fuzz_peer_message) echo 65536 ;;
    fuzz_client_request) echo 16384 ;;
    fuzz_block) echo 16384 ;;
    fuzz_recovery) echo 131072 ;;
    *) echo "fuzz.sh: unknown target $1 (known: ${all[*]})" >&2; exit 2 ;;
  esac
}
for t in "${targets[@]}"; do max_len "$t" >/dev/null; done

# clang (with libFuzzer) is needed by this script only: installed when
# missing, along with the project's packages.
scripts/install-deps.sh clang

build_dir=build-fuzz
# A project test build, as scripts/test.sh makes them: warnings are errors,
# planted bugs compiled in (and the rest of the tree builds there too).
CC=clang CXX=clang++ cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DRINGCHAIN_FUZZ=ON -DRINGCHAIN_WERROR=ON -DRINGCHAIN_PLANTED_BUGS=ON >/dev/null
cmake --build "$build_dir" --target "${targets[@]}"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:symbolize=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
failed=()
for t in "${targets[@]}"; do
  work="$build_dir/fuzz/$t"
  mkdir -p "$work/corpus"
  cp -n tests/fuzz/corpus/"$t"/* "$work/corpus/" 2>/dev/null || true
  echo "== $t: ${seconds}s, max_len $(max_len "$t")"
  # -timeout: one input taking over 30 s is a hang, reported like a crash.
  if ! "$build_dir/tests/fuzz/$t" -max_total_time="$seconds" -rss_limit_mb=2048 \
      -max_len="$(max_len "$t")" -timeout=30 -print_final_stats=1 \
      -artifact_prefix="$work/" "$work/corpus" >"$work/log" 2>&1; then
    failed+=("$t")
  fi
  # libFuzzer's last status line and the final stats.
  grep -E '^#[0-9]+.*(DONE|cov:)' "$work/log" | tail -1 || true
  grep -E '^stat::(number_of_executed_units|peak_rss_mb)' "$work/log" || true
  echo "   corpus: $(ls "$work/corpus" | wc -l) inputs; log: $work/log"
done

if [ ${#failed[@]} -gt 0 ]; then
  for t in "${failed[@]}"; do
    work="$build_dir/fuzz/$t"
    echo "fuzz.sh: $t FAILED; see $work/log" >&2
    grep -E 'ERROR: libFuzzer|ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error|fuzz check failed|assertion failed' "$work/log" | head -3 >&2 || true
    sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$work/log" | while read -r f; do
      echo "  crashing input: $f (reproduce: $build_dir/tests/fuzz/$t $f)" >&2
    done
  done
  exit 1
fi
echo "fuzz.sh: ${#targets[@]} targets ran ${seconds}s each without a failure"
