#!/bin/sh
# Prints, one a line, the Debian packages that ship the shared libraries the
# given binaries load (ldd, then dpkg -S). docker/Dockerfile's runtime stage
# installs exactly these, so a new library dependency of the C++ code needs no
# change here. Fails when a library belongs to no package.
set -eu
libs=$(for bin in "$@"; do ldd "$bin"; done | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | sort -u)
out=""
for lib in $libs; do
  pkg=""
  real=$(readlink -f "$lib")
  # Debian 12 is usr-merged but packages still name some files under /lib.
  for p in "$lib" "/usr$lib" "${lib#/usr}" "$real" "/usr$real" "${real#/usr}"; do
    pkg=$(dpkg -S "$p" 2>/dev/null | head -n 1 | cut -d: -f1)
    [ -n "$pkg" ] && break
  done
  if [ -z "$pkg" ]; then
    echo "runtime-packages: no Debian package ships $lib" >&2
    exit 1
  fi
  out="$out$pkg
"
done
printf '%s' "$out" | sort -u
