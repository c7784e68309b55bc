#!/usr/bin/env bash
# The main job: installs what is needed, builds, and runs the quickstart
# experiment (3-node local clusters; io_uring against epoll, one fdatasync
# per block against one per transaction). Prints the latency-budget summary
# and the path of the HTML report. Extra arguments go to `ringchain-sim run`
# (for example --out DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
if [ ! -f build/build.ninja ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
cmake --build build --target ringchain-sim ringchain-node
exec build/sim/ringchain-sim run configs/experiments/quickstart.toml "$@"
