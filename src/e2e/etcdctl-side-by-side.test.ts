/**
 * Debian's etcdctl 3.4 run through the same session of commands against a real etcd 3.4
 * cluster and a Keel cluster, both of three members: every command's exit code,
 * standard output and standard error must be the same, once what each server picks
 * for itself is replaced (cluster and member ids, raft terms, revisions in JSON headers,
 * lease ids, addresses, sizes and times). `etcdctl check datascale`, whose output is
 * timings, is checked on Keel alone.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster } from '../harness/cluster-harness.js';
import { startEtcdCluster, type EtcdCluster } from './etcd-cluster.js';
import { ensureEtcdctl, etcdctl } from './etcdctl.js';

let keel: Cluster;
let etcd: EtcdCluster;
let etcdDir: string;

before(async () => {
  await ensureEtcdctl();
  etcdDir = await mkdtemp(join(tmpdir(), 'keel-side-by-side-'));
  // Keel with etcd's default timing (100 ms heartbeat, 1 s election timeout), which the
  // etcd beside it runs with: both meet the same load, datascale's 50 writers included,
  // with the same margin before a follower calls an election.
  [keel, etcd] = await Promise.all([Cluster.start({ size: 3, tickMs: 100, electionTicks: 10 }), startEtcdCluster({ size: 3, dir: etcdDir })]);
});
after(async () => {
  await Promise.all([keel?.destroy(), etcd?.stop()]);
  await rm(etcdDir, { recursive: true, force: true });
});

/** The session: [arguments, standard input]. A lease's id is written `$LEASE` and filled in per server. */
const session: readonly (readonly [readonly string[], string?])[] = [
  [['put', 'app/a', 'one']],
  [['put', 'app/b', 'two', '--prev-kv']],
  [['put', 'app/a', 'three', '--prev-kv']],
  [['get', 'app/a']],
  [['get', 'app/', '--prefix']],
  [['get', 'app/', '--prefix', '--keys-only']],
  [['get', 'app/', '--prefix', '--count-only', '-w', 'json']],
  [['get', 'app/', '--prefix', '--limit=1', '-w', 'json']],
  [['get', 'app/', '--prefix', '--sort-by=VALUE', '--order=DESCEND']],
  [['get', 'app/', '--prefix', '-w', 'fields']],
  [['get', 'missing']],
  [['get', 'missing', '-w', 'json']],
  [['del', 'missing']],
  [['del', 'app/b', '--prev-kv']],
  [['txn', '-i=false'], 'value("app/a") = "three"\n\nput app/txn yes\nget app/a\n\nput app/txn no\n\n'],
  [['txn', '-i=false'], 'mod("app/a") = "0"\n\nput app/txn yes\n\nput app/txn no\n\n'],
  [['get', 'app/txn']],
  [['put', 'app/c', 'c', '--lease=$LEASE']],
  [['lease', 'timetolive', '$LEASE', '--keys']],
  [['lease', 'keep-alive', '--once', '$LEASE']],
  [['lease', 'revoke', '$LEASE']],
  [['get', 'app/c']],
  [['lease', 'timetolive', '$LEASE']],
  [['compaction', '3']],
  [['get', 'app/a', '--rev=2']],
  [['get', 'app/a', '--rev=999']],
  [['put', '', 'empty key']],
  [['lock', 'locks/one', 'echo', 'held']],
  [['endpoint', 'health']],
  [['alarm', 'list']],
];

/** Replaces what each server picks for itself, so that the rest can be compared. */
function normalise(text: string, lease: string): string {
  return text
    .replaceAll(lease, 'LEASE')
    .replace(/"(cluster_id|member_id|raft_term|revision|create_revision|mod_revision|ID)":\d+/g, '"$1":N')
    .replace(/^(cluster_id|member_id|raft_term|revision|create_revision|mod_revision) : \d+$/gm, '$1 : N')
    .replace(/"(ClusterID|MemberID|Revision|RaftTerm|CreateRevision|ModRevision)" : \d+/g, '"$1" : N')
    .replace(/"ts":"[^"]*"/g, '"ts":"TIME"')
    .replace(/client-[0-9a-f-]{36}/g, 'client-ID')
    .replace(/https?:\/\/127\.0\.0\.1:\d+/g, 'URL')
    .replace(/127\.0\.0\.1:\d+/g, 'ADDRESS')
    .replace(/\b\d+(\.\d+)?(ms|µs|s)\b/g, 'T')
    .replace(/granted with TTL\(\d+s\), remaining\(\d+s\)/g, 'granted with TTL(Ns), remaining(Ns)')
    .replace(/remaining\(\d+s\)/g, 'remaining(Ns)')
    .replace(/ttl\(\d+\)/gi, 'ttl(N)')
    .replace(/TTL\(\d+s\)/g, 'TTL(Ns)')
    .replace(/revision \d+/g, 'revision N')
    .replace(/compacted revision \d+/g, 'compacted revision N')
    .replace(/\d+ MB|\d+(\.\d+)? ?[KMG]i?B/g, 'SIZE');
}

async function leaseOn(endpoints: string): Promise<string> {
  const granted = await etcdctl(endpoints, ['lease', 'grant', '600']);
  const id = /lease ([0-9a-f]+) granted/.exec(granted.stdout)?.[1];
  assert.ok(id, `lease grant: ${granted.stdout}${granted.stderr}`);
  return id;
}

test('etcdctl 3.4 says the same to Keel as to etcd 3.4, command for command', { timeout: 300_000 }, async () => {
  const keelEndpoints = keel.grpcEndpoints();
  const etcdEndpoints = etcd.endpoints.join(',');
  const [keelLease, etcdLease] = await Promise.all([leaseOn(keelEndpoints), leaseOn(etcdEndpoints)]);
  const differences: string[] = [];
  for (const [args, stdin] of session) {
    const answers = await Promise.all(
      [
        [keelEndpoints, keelLease],
        [etcdEndpoints, etcdLease],
      ].map(async ([endpoints, lease]) => {
        const filled = args.map((arg) => arg.replace('$LEASE', lease as string));
        const result = await etcdctl(endpoints as string, filled, stdin !== undefined ? { stdin } : {});
        return `exit ${result.code}\n${normalise(result.stdout, lease as string)}\n--- stderr\n${normalise(result.stderr, lease as string)}`;
      }),
    );
    const [onKeel, onEtcd] = answers as [string, string];
    if (onKeel !== onEtcd) differences.push(`etcdctl ${args.join(' ')}\n  etcd: ${JSON.stringify(onEtcd)}\n  keel: ${JSON.stringify(onKeel)}`);
  }
  assert.deepEqual(differences, [], `etcdctl answered Keel and etcd differently:\n${differences.join('\n')}`);
});

test("etcdctl check datascale passes on Keel: it writes 10,000 keys of 1 KiB and reads the members' memory from /metrics", { timeout: 180_000 }, async () => {
  const check = await etcdctl(keel.grpcEndpoints(), ['check', 'datascale', '--load=s'], { timeoutMs: 150_000 });
  assert.equal(check.code, 0, `${check.stdout}${check.stderr}`);
  assert.match(check.stdout, /PASS: Approximate system memory used/);
});
