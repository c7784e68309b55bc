#!/usr/bin/env bash
# Fails when a C++ file of the project is not clang-format clean.
# Run scripts/check-format.sh --fix to reformat in place.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files 'node/*.cc' 'node/*.h' 'sim/*.cc' 'sim/*.h' 'tests/*.cc' 'tests/*.h' 2>/dev/null ||
                     find node sim tests -name '*.cc' -o -name '*.h')
if [ "${1:-}" = "--fix" ]; then
  clang-format -i "${files[@]}"
else
  clang-format --dry-run -Werror "${files[@]}"
fi
