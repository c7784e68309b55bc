#!/usr/bin/env bash
# Installs what is needed, builds, and runs the whole test suite.
#   scripts/test.sh              release build (build/)
#   scripts/test.sh --sanitize   ASan + UBSan build (build-asan/)
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=build
# The project's own test builds: warnings are errors, planted bugs compiled
# in for the simulator's checker tests.
cmake_args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DRINGCHAIN_WERROR=ON -DRINGCHAIN_PLANTED_BUGS=ON)
if [ "${1:-}" = "--sanitize" ]; then
  build_dir=build-asan
  cmake_args=(-DCMAKE_BUILD_TYPE=Debug -DRINGCHAIN_SANITIZE=ON -DRINGCHAIN_WERROR=ON
    -DRINGCHAIN_PLANTED_BUGS=ON)
fi

scripts/install-deps.sh
# Configured every time: cmake is quick when nothing changed, and an old
# build directory then picks up new options.
cmake -S . -B "$build_dir" -G Ninja "${cmake_args[@]}" >/dev/null
if ! cmake --build "$build_dir"; then
  # A compiler that printed nothing was killed (memory, say): show the
  # machine's state, then build once more one unit at a time, so that a real
  # error fails again, alone and printed in full.
  echo "test.sh: the build failed; memory and disk now:" >&2
  free -m >&2 || true
  df -h "$build_dir" >&2 || true
  cmake --build "$build_dir" -j1
fi
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir "$build_dir" --output-on-failure -j"$(nproc)"
