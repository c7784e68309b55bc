#!/usr/bin/env bash
# Makes this Debian 12 machine ready for ringchain's container cluster
# (docker-compose.yml, scripts/compose-test.sh). Idempotent; run as root or
# with passwordless sudo.
#
#   1. installs Debian's docker.io and docker-compose when no Docker engine or
#      Compose is present (apt-get update at most once);
#   2. starts dockerd in the background when no daemon answers (systemd when
#      it runs the machine, otherwise dockerd itself: overlay2, falling back to
#      vfs, logging to $RINGCHAIN_DOCKERD_LOG);
#   3. builds a local debian:bookworm base image with debootstrap + docker
#      import when there is none (no image registry needs to be reachable);
#   4. runs a container as a smoke test.
#
# Exit codes: 0 ready; 77 Docker cannot run here (no permission, the daemon
# does not start, containers do not run), with the reason on stderr; 1 any
# other failure (apt, debootstrap).
#
# Environment:
#   DEBIAN_MIRROR           base image mirror (default http://deb.debian.org/debian)
#   DEBIAN_SECURITY_MIRROR  (default http://deb.debian.org/debian-security)
#   DOCKER_STORAGE_DRIVER   force one storage driver instead of overlay2, then vfs
#   RINGCHAIN_DOCKERD_LOG   dockerd's log when this script starts it
#                           (default /var/log/ringchain-dockerd.log)
#   RINGCHAIN_BASE_IMAGE    the base image's name (default debian:bookworm)
set -euo pipefail

mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
security_mirror=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
dockerd_log=${RINGCHAIN_DOCKERD_LOG:-/var/log/ringchain-dockerd.log}
base_image=${RINGCHAIN_BASE_IMAGE:-debian:bookworm}

say() { echo "docker-setup: $*"; }
cannot_run() {
  echo "docker-setup: Docker cannot run here: $*" >&2
  exit 77
}
fail() {
  echo "docker-setup: failed: $*" >&2
  exit 1
}
now() { date +%s; }
t_start=$(now)

# Root, passwordless sudo, or neither (then only an already running daemon
# that this user may use will do).
if [ "$(id -u)" -eq 0 ]; then
  as_root=()
  have_root=1
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
  have_root=1
else
  as_root=()
  have_root=0
fi

# docker runs as this user when it can reach the daemon, else through sudo.
docker_cmd=(docker)
docker_ok() { timeout 20 "${docker_cmd[@]}" info >/dev/null 2>&1; }
pick_docker_cmd() {
  docker_cmd=(docker)
  if ! docker_ok && [ "$have_root" -eq 1 ] && [ ${#as_root[@]} -gt 0 ]; then
    docker_cmd=("${as_root[@]}" docker)
  fi
}

apt_updated=0
apt_install() {
  [ "$have_root" -eq 1 ] || cannot_run "installing $* needs root or passwordless sudo; run: sudo apt-get update && sudo apt-get install -y $*"
  export DEBIAN_FRONTEND=noninteractive
  if [ "$apt_updated" -eq 0 ]; then
    say "apt-get update"
    "${as_root[@]}" apt-get update -qq || fail "apt-get update"
    apt_updated=1
  fi
  say "installing $*"
  "${as_root[@]}" apt-get install -y -qq --no-install-recommends "$@" >/dev/null ||
    fail "apt-get install $*"
}

# --- 1. packages ---------------------------------------------------------
pick_docker_cmd
packages=()
# Any engine will do (docker-ce, docker.io); installing docker.io next to
# docker-ce would replace it, so only when there is no engine at all.
if ! docker_ok && ! command -v dockerd >/dev/null 2>&1; then
  packages+=(docker.io)
fi
if ! command -v docker >/dev/null 2>&1 && [[ " ${packages[*]} " != *" docker.io "* ]]; then
  packages+=(docker.io)
fi
if ! docker-compose version >/dev/null 2>&1 && ! docker compose version >/dev/null 2>&1; then
  packages+=(docker-compose)
fi
if [ ${#packages[@]} -gt 0 ]; then
  apt_install "${packages[@]}"
else
  say "Docker engine and Compose already installed"
fi

# --- 2. the daemon ---------------------------------------------------------
pick_docker_cmd
if docker_ok; then
  say "a Docker daemon answers"
else
  sock=/var/run/docker.sock
  if [ "$have_root" -eq 0 ]; then
    if [ -S "$sock" ]; then
      cannot_run "the daemon's socket $sock is not usable by $(id -un) (add the user to the docker group, or run as root)"
    fi
    cannot_run "no Docker daemon runs and starting one needs root or passwordless sudo"
  fi
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    say "starting docker.service with systemd"
    "${as_root[@]}" systemctl start docker || true
    for _ in $(seq 60); do
      docker_ok && break
      sleep 1
    done
  fi
  if ! docker_ok; then
    command -v dockerd >/dev/null 2>&1 || cannot_run "dockerd is not installed"
    if [ -n "${DOCKER_STORAGE_DRIVER:-}" ]; then
      drivers=("$DOCKER_STORAGE_DRIVER")
    else
      drivers=(overlay2 vfs)
    fi
    for driver in "${drivers[@]}"; do
      say "starting dockerd --storage-driver=$driver in the background (log: $dockerd_log)"
      "${as_root[@]}" mkdir -p "$(dirname "$dockerd_log")"
      # setsid: the daemon outlives this script and its process group.
      "${as_root[@]}" setsid dockerd --storage-driver="$driver" </dev/null >>"$dockerd_log" 2>&1 &
      dockerd_pid=$!
      for _ in $(seq 60); do
        docker_ok && break
        kill -0 "$dockerd_pid" 2>/dev/null || break
        sleep 1
      done
      if docker_ok; then
        break
      fi
      if kill -0 "$dockerd_pid" 2>/dev/null; then
        say "dockerd with $driver did not answer within 60 s; last lines of its log:"
      else
        say "dockerd with $driver exited; last lines of its log:"
      fi
      tail -n 5 "$dockerd_log" 2>/dev/null | sed 's/^/    /' || true
      "${as_root[@]}" kill "$dockerd_pid" 2>/dev/null || true
      for _ in $(seq 20); do
        kill -0 "$dockerd_pid" 2>/dev/null || break
        sleep 1
      done
    done
  fi
  pick_docker_cmd
  docker_ok || cannot_run "the Docker daemon does not start (tried ${drivers[*]:-systemd}; see $dockerd_log)"
fi
server=$("${docker_cmd[@]}" version --format '{{.Server.Version}}' 2>/dev/null || echo '?')
driver=$("${docker_cmd[@]}" info --format '{{.Driver}}' 2>/dev/null || echo '?')
say "daemon: Docker $server, storage driver $driver"

# --- 3. the base image ---------------------------------------------------
if "${docker_cmd[@]}" image inspect "$base_image" >/dev/null 2>&1; then
  say "base image $base_image present"
else
  [ "$have_root" -eq 1 ] || cannot_run "building $base_image with debootstrap needs root or passwordless sudo"
  command -v debootstrap >/dev/null 2>&1 || apt_install debootstrap
  t0=$(now)
  rootfs=$("${as_root[@]}" mktemp -d /var/tmp/ringchain-rootfs.XXXXXX)
  cleanup_rootfs() { "${as_root[@]}" rm -rf --one-file-system "$rootfs"; }
  trap cleanup_rootfs EXIT
  say "building $base_image with debootstrap (minbase, $mirror) in $rootfs"
  "${as_root[@]}" debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1 || {
    tail -n 20 "$rootfs.log" >&2
    fail "debootstrap (full log: $rootfs.log)"
  }
  rm -f "$rootfs.log"
  # Make it look like the registry's image: the same apt sources (with
  # updates and security), no services started by package scripts, no
  # host files, no apt caches.
  put() { "${as_root[@]}" tee "$rootfs/$1" >/dev/null; }
  "${as_root[@]}" rm -f "$rootfs/etc/apt/sources.list"
  put etc/apt/sources.list.d/debian.sources <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security_mirror
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  put usr/sbin/policy-rc.d <<'EOF'
#!/bin/sh
# Package scripts start no services in a container image.
exit 101
EOF
  "${as_root[@]}" chmod 755 "$rootfs/usr/sbin/policy-rc.d"
  put etc/apt/apt.conf.d/docker-clean <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  put etc/apt/apt.conf.d/docker-no-languages <<'EOF'
Acquire::Languages "none";
EOF
  : | put etc/resolv.conf
  : | put etc/hostname
  "${as_root[@]}" sh -c "cd '$rootfs' && rm -rf var/lib/apt/lists/* var/cache/apt/*.bin var/cache/apt/archives/*.deb var/log/*.log"
  "${as_root[@]}" tar --numeric-owner -C "$rootfs" -c . |
    "${docker_cmd[@]}" import --change 'CMD ["bash"]' \
      --message "debootstrap --variant=minbase bookworm $mirror (scripts/docker-setup.sh)" \
      - "$base_image" >/dev/null || fail "docker import"
  cleanup_rootfs
  trap - EXIT
  say "built $base_image in $(($(now) - t0)) s"
fi

# --- 4. smoke test ---------------------------------------------------------
if ! out=$(timeout 120 "${docker_cmd[@]}" run --rm --network none "$base_image" true 2>&1); then
  cannot_run "a container does not start: $out"
fi

if docker compose version >/dev/null 2>&1; then
  compose="docker compose ($(docker compose version --short 2>/dev/null))"
else
  compose="docker-compose ($(docker-compose version --short 2>/dev/null))"
fi
say "ready in $(($(now) - t_start)) s: Docker $server ($driver), $compose, base image $base_image"
