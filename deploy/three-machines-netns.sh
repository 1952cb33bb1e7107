#!/bin/sh
# The three-machine guide (docs/operating/deployment.md), run for real with network
# namespaces standing in for machines: keel-m1..m4 on a private bridge (10.213.0.0/24)
# inside a switch namespace, nothing routed to or from this machine's own network.
# Starts three members with etcd-style flags, writes through m1 and reads through m3,
# then adds m4 as a learner that joins with --initial-cluster-state existing, promotes
# it, and reads through it. Cleans up namespaces, processes and data on any exit.
# Run as root from the project directory after `npm run build`.
set -eu
keel="node $(pwd)/dist/cli/main.js"
token=netns-demo
work=$(mktemp -d /tmp/keel-netns.XXXXXX)
pids=""
cleanup() {
  for pid in $pids; do kill "$pid" 2>/dev/null || true; done
  for pid in $pids; do wait "$pid" 2>/dev/null || true; done
  for n in 1 2 3 4; do ip netns del "keel-m$n" 2>/dev/null || true; done
  ip netns del keel-sw 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

ip netns add keel-sw
ip -n keel-sw link add br0 type bridge
ip -n keel-sw link set br0 up
for n in 1 2 3 4; do
  ip netns add "keel-m$n"
  ip link add eth0 netns "keel-m$n" type veth peer name "port$n" netns keel-sw
  ip -n keel-sw link set "port$n" master br0 up
  ip -n "keel-m$n" addr add "10.213.0.$n/24" dev eth0
  ip -n "keel-m$n" link set eth0 up
  ip -n "keel-m$n" link set lo up
done

cluster="m1=http://10.213.0.1:2380,m2=http://10.213.0.2:2380,m3=http://10.213.0.3:2380"
# One cluster secret, handed to every machine (peers prove it before any Raft message).
$keel cluster secret --out "$work/cluster-secret" > /dev/null
start() { # n state cluster
  mkdir -p "$work/m$1"
  ip netns exec "keel-m$1" $keel start --name "m$1" --initial-cluster "$3" --initial-cluster-state "$2" \
    --initial-cluster-token "$token" --peer-secret-file "$work/cluster-secret" \
    --listen-peer-urls "http://10.213.0.$1:2380" --initial-advertise-peer-urls "http://10.213.0.$1:2380" \
    --listen-client-urls "http://10.213.0.$1:2379" --advertise-client-urls "http://10.213.0.$1:2379" \
    --http-port 2378 --data-dir "$work/m$1" --log-level warn > "$work/m$1.log" 2>&1 &
  pids="$pids $!"
}
# GET on machine n's HTTP API from inside machine 1 (or n itself); prints the body.
get() { ip netns exec "keel-m$1" node -e "fetch(process.argv[1]).then(async (r) => { const t = await r.text(); if (!r.ok) { console.error(r.status, t); process.exit(1); } console.log(t); })" "$2"; }
wait_healthy() { # n
  for _ in $(seq 1 150); do
    if get "$1" "http://10.213.0.$1:2378/health" > /dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  echo "m$1 not healthy in 30 s; its log:" >&2; cat "$work/m$1.log" >&2; exit 1
}

for n in 1 2 3; do start "$n" new "$cluster"; done
for n in 1 2 3; do wait_healthy "$n"; done
echo "three machines up; leader: $(get 1 http://10.213.0.1:2378/health)"

ip netns exec keel-m1 node -e "fetch('http://10.213.0.1:2378/kv/greeting', { method: 'PUT', body: 'hello' }).then((r) => { if (!r.ok) process.exit(1); })"
echo "written through m1, read through m3: $(get 3 http://10.213.0.3:2378/kv/greeting)"

# Adding a machine: announce it (as a learner), start it with state existing, promote it.
ip netns exec keel-m1 $keel member add --endpoints http://10.213.0.1:2378 --peer-urls http://10.213.0.4:2380 \
  --initial-cluster-token "$token" --learner
start 4 existing "$cluster,m4=http://10.213.0.4:2380"
wait_healthy 4
m4_id=$(node -e "import('$(pwd)/dist/cli/etcd-flags.js').then((m) => console.log(m.memberIdOf('http://10.213.0.4:2380', '$token')))")
for _ in $(seq 1 100); do
  if ip netns exec keel-m1 $keel member promote --endpoints http://10.213.0.1:2378 "$m4_id" > /dev/null 2>&1; then break; fi
  sleep 0.2
done
ip netns exec keel-m1 $keel member list --endpoints http://10.213.0.1:2378
echo "read through the new machine m4: $(get 4 'http://10.213.0.4:2378/kv/greeting')"
echo "ok"
