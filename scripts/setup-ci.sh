#!/usr/bin/env bash
# Installs, once, the Debian packages the tests and tools drive, so that no test ever
# installs anything: a test whose program is missing fails at once and names this
# script. Run as root on Debian (CI does, from .ci/run); on a machine that already has
# every program it changes nothing and needs no network.
#
#   program        package       used by
#   etcdctl        etcd-client   src/e2e/etcd*.test.ts, membership-etcdctl, watch (etcd's own CLI against Keel)
#   etcd           etcd-server   src/e2e/bench-etcd-grpc.test.ts, npm run bench:vs-etcd
#   chromium       chromium      src/e2e/dashboard.test.ts (playwright-core drives it)
#   iptables       iptables      src/chaos: partitions inside network namespaces (as root)
#   ip             iproute2      src/chaos: network namespaces, veth pairs, the bridge (as root)
#   libfaketime    faketime      src/chaos: the clock-skew nemesis
#   ps             procps        npm run bench (each node's memory)
#   openssl        openssl       src/chaos/three-machines.test.ts (the TLS guide's certificates)
#   systemd-analyze systemd      src/cli/systemd-unit.test.ts (deploy/keel.service is a valid unit)
#   etcd3 (Python) python3-etcd3    src/e2e/python-etcd3.test.ts (Debian's /usr/bin/python3 imports it)
#   etcd3gw        python3-etcd3gw  src/e2e/etcd3gw-client.test.ts (a Python client of the JSON gateway)
#   podman, runc, podman-compose, debootstrap   src/containers (the image and compose
#                  cluster): scripts/setup-containers.sh, run at the end, installs them and
#                  configures podman for these machines
set -euo pipefail

packages=(etcd-client etcd-server chromium iptables iproute2 faketime procps curl openssl systemd python3-etcd3 python3-etcd3gw)
# The program that shows each package is installed, in the order of `packages`
# (python3:NAME: a Python module Debian's /usr/bin/python3 must import).
programs=(etcdctl etcd chromium iptables ip faketime ps curl openssl systemd-analyze python3:etcd3 python3:etcd3gw)

installed() {
  case "$1" in
    python3:*) /usr/bin/python3 -c "import ${1#python3:}" 2>/dev/null ;;
    *) command -v "$1" >/dev/null ;;
  esac
}

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ] || ! command -v npm >/dev/null; then
  echo "setup-ci: Keel needs Node.js 20 or newer with npm (found: $(node --version 2>/dev/null || echo none)); install them first" >&2
  exit 1
fi

PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
missing=()
for i in "${!packages[@]}"; do
  installed "${programs[$i]}" || missing+=("${packages[$i]}")
done
containers_setup="$(dirname "$0")/setup-containers.sh"
if [ "${#missing[@]}" -eq 0 ]; then
  echo "setup-ci: every tool is installed (${programs[*]})"
  sh "$containers_setup"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "setup-ci: missing ${missing[*]}; run this script as root to install them" >&2
  exit 1
fi
echo "setup-ci: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=300 update -qq
apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}"
for program in "${programs[@]}"; do
  installed "$program" || { echo "setup-ci: $program is still missing after apt-get install" >&2; exit 1; }
done
sh "$containers_setup"
echo "setup-ci: done"
