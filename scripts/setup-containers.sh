#!/bin/sh
# Container tooling for the container tests (src/containers, the `containers` tier):
# rootful podman with the runc runtime and cgroupfs (no systemd in CI machines),
# podman-compose, and debootstrap to make the tests' local Debian base image (no
# registry is reachable). scripts/setup-ci.sh runs it. Run as root. Idempotent: with
# every program there and the configuration written it changes nothing and needs no network.
set -eu
PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
missing=""
for program in podman runc podman-compose debootstrap; do
  command -v "$program" >/dev/null || missing="$missing $program"
done
conf='[containers]
# No per-container ulimits: the CI sandbox may not allow raising them.
default_ulimits = []

[engine]
cgroup_manager = "cgroupfs"
runtime = "runc"'
conf_file=/etc/containers/containers.conf
if [ -z "$missing" ] && [ "$(cat "$conf_file" 2>/dev/null)" = "$conf" ]; then
  echo "setup-containers: podman, runc, podman-compose and debootstrap are installed and $conf_file is set"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "setup-containers: run this script as root${missing:+ (missing:$missing)}${missing:-" (to write $conf_file)"}" >&2
  exit 1
fi
if [ -n "$missing" ]; then
  echo "setup-containers: installing$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=300 update -qq
  apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends podman runc podman-compose debootstrap
fi
for program in podman runc podman-compose debootstrap; do
  command -v "$program" >/dev/null || { echo "setup-containers: $program is still missing after apt-get install" >&2; exit 1; }
done
mkdir -p /etc/containers
printf '%s\n' "$conf" > "$conf_file"
echo "setup-containers: done"
