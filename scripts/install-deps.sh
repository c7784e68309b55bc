#!/usr/bin/env bash
# Installs every Debian 12 package ringchain needs to build, test and run,
# and any more packages named as arguments (scripts/fuzz.sh adds clang).
# Idempotent: when everything is present it only checks and returns.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config clang-format
  liburing-dev libboost1.81-dev
  libprotobuf-dev protobuf-compiler
  libssl-dev openssl
  libgtest-dev libgmock-dev libbenchmark-dev
  prometheus-cpp-dev libtomlplusplus-dev libcli11-dev libspdlog-dev nlohmann-json3-dev
  gnuplot-nox
  "$@"
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo_cmd=(sudo -n)
  else
    echo "install-deps: these Debian packages are missing and installing them needs root:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
else
  sudo_cmd=()
fi

export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
