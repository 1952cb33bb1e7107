#!/bin/sh
# Container tooling for the container tests (src/containers, the `containers` tier):
# rootful podman with the runc runtime and cgroupfs (no systemd in CI machines),
# podman-compose, debootstrap to make the tests' local Debian base image (no
# registry is reachable), and the CNI dnsname plugin, without which the compose
# cluster's members cannot resolve each other by name (podman installs it only as a
# recommendation, which --no-install-recommends leaves out). scripts/setup-ci.sh runs it. Run as root. Idempotent: with
# every program there and the configuration written it changes nothing and needs no network.
set -eu
PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
missing=""
dnsname=/usr/lib/cni/dnsname
for program in podman runc podman-compose debootstrap; do
  command -v "$program" >/dev/null || missing="$missing $program"
done
[ -x "$dnsname" ] || missing="$missing dnsname"
conf='[containers]
# No per-container ulimits: the CI sandbox may not allow raising them.
default_ulimits = []

[engine]
cgroup_manager = "cgroupfs"
runtime = "runc"'
conf_file=/etc/containers/containers.conf
if [ -z "$missing" ] && [ "$(cat "$conf_file" 2>/dev/null)" = "$conf" ]; then
  echo "setup-containers: podman, runc, podman-compose, debootstrap and the dnsname plugin are installed and $conf_file is set"
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
  apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends podman runc podman-compose debootstrap golang-github-containernetworking-plugin-dnsname
fi
for program in podman runc podman-compose debootstrap; do
  command -v "$program" >/dev/null || { echo "setup-containers: $program is still missing after apt-get install" >&2; exit 1; }
done
[ -x "$dnsname" ] || { echo "setup-containers: $dnsname is still missing after apt-get install" >&2; exit 1; }
mkdir -p /etc/containers
printf '%s\n' "$conf" > "$conf_file"
echo "setup-containers: done"
