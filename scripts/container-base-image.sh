#!/bin/sh
# Makes a local stand-in for node:20-bookworm-slim when no registry is reachable: a
# Debian bookworm minbase root file system (debootstrap, from Debian's packages) plus
# this machine's Node.js 20 and npm, imported into podman as IMAGE. The root file
# system is cached under /var/cache/keel-test-base, keyed by the month and the Node
# version, so later runs only import it. Prints the image name. Run as root.
set -eu
node_version=$(node --version)
key="bookworm-$(date -u +%Y-%m)-node-${node_version}"
image="localhost/keel-test-base:${key}"
cache=/var/cache/keel-test-base
rootfs="${cache}/${key}"
if podman image exists "$image"; then echo "$image"; exit 0; fi
mkdir -p "$cache"
if [ ! -f "${rootfs}/.complete" ]; then
  rm -rf "${rootfs}.tmp"
  debootstrap --variant=minbase bookworm "${rootfs}.tmp" >&2
  rm -rf "${rootfs}.tmp/var/cache/apt/archives/"*.deb "${rootfs}.tmp/var/lib/apt/lists/"*
  cp "$(readlink -f "$(command -v node)")" "${rootfs}.tmp/usr/local/bin/node"
  npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
  mkdir -p "${rootfs}.tmp/usr/local/lib/node_modules"
  cp -a "$npm_dir" "${rootfs}.tmp/usr/local/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "${rootfs}.tmp/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "${rootfs}.tmp/usr/local/bin/npx"
  touch "${rootfs}.tmp/.complete"
  rm -rf "$rootfs"
  mv "${rootfs}.tmp" "$rootfs"
fi
# This machine's trusted certificates, so that the build's `npm ci` trusts what this
# machine's npm trusts (an intercepting proxy's authority, if any).
ca=/etc/ssl/certs/ca-certificates.crt
if [ -f "$ca" ]; then mkdir -p "${rootfs}/etc/ssl/certs" && cp "$ca" "${rootfs}/etc/ssl/certs/ca-certificates.crt"; fi
tar -C "$rootfs" -c . | podman import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV NODE_EXTRA_CA_CERTS=$ca" \
  --change 'CMD ["node"]' - "$image" >&2
echo "$image"
