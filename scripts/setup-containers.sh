#!/bin/sh
# Container tooling for the container tests (src/e2e/container.test.ts): rootful podman
# with the runc runtime and cgroupfs (no systemd in CI machines), podman-compose, and
# debootstrap to make the tests' local Debian base image (no registry is reachable).
# Run as root. Idempotent.
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends podman runc podman-compose debootstrap
mkdir -p /etc/containers
cat > /etc/containers/containers.conf <<'CONF'
[containers]
# No per-container ulimits: the CI sandbox may not allow raising them.
default_ulimits = []

[engine]
cgroup_manager = "cgroupfs"
runtime = "runc"
CONF
