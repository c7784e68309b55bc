#!/usr/bin/env bash
# Fails when a C++ file of the project is not clang-format clean.
# Run scripts/check-format.sh --fix to reformat in place.
set -euo pipefail
cd "$(dirname "$0")/.."
# Tracked files and new ones not yet added (but not ignored ones).
mapfile -t files < <(git ls-files --cached --others --exclude-standard \
                       'node/*.cc' 'node/*.h' 'sim/*.cc' 'sim/*.h' 'tests/*.cc' 'tests/*.h' 2>/dev/null ||
                     find node sim tests -name '*.cc' -o -name '*.h')
if [ "${1:-}" = "--fix" ]; then
  clang-format -i "${files[@]}"
else
  clang-format --dry-run -Werror "${files[@]}"
fi
