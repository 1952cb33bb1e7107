/**
 * End to end: the `keel` client commands, shell and bench, and the client library,
 * against a real 3-node cluster of `keel start` processes.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KeelClient } from '../client/keel-client.js';
import { KeelClientError } from '../client/errors.js';
import { Cluster } from '../harness/cluster-harness.js';
import { runKeel } from './testing/run-keel.js';

describe('keel against a real 3-node cluster', { timeout: 180_000 }, () => {
  let cluster: Cluster;
  let endpoints: string[];
  let env: Record<string, string>;
  before(async () => {
    cluster = await Cluster.start({ size: 3 });
    endpoints = cluster.nodes.map((node) => node.url);
    env = { KEEL_ENDPOINTS: endpoints.join(',') };
  });
  after(async () => {
    await cluster?.destroy();
  });

  it('put, get, del and scan through the command line', async () => {
    const put = await runKeel(['put', 'e2e/greeting', 'hello world'], { env });
    assert.equal(put.code, 0, put.stderr);
    assert.match(put.stdout, /^OK \(revision \d+\)\n$/);
    const get = await runKeel(['get', 'e2e/greeting'], { env });
    assert.equal(get.code, 0, get.stderr);
    assert.equal(get.stdout, 'hello world\n');
    const json = JSON.parse((await runKeel(['get', 'e2e/greeting', '--json', '--consistency', 'serializable'], { env })).stdout);
    assert.equal(json.value, 'hello world');
    assert.equal(json.version, 1);
    await runKeel(['put', 'e2e/other', '2'], { env });
    const scan = await runKeel(['scan', 'e2e/'], { env });
    assert.equal(scan.stdout, 'e2e/greeting\thello world\ne2e/other\t2\n');
    const limited = await runKeel(['scan', 'e2e/', '--limit', '1', '--json'], { env });
    const page = JSON.parse(limited.stdout);
    assert.equal(page.kvs.length, 1);
    assert.equal(page.more, true);
    const del = await runKeel(['del', 'e2e/greeting'], { env });
    assert.match(del.stdout, /^deleted 1/);
    const missing = await runKeel(['get', 'e2e/greeting'], { env });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /key not found/);
  });

  it('reads an older revision with get --rev', async () => {
    const first = JSON.parse((await runKeel(['put', 'e2e/rev', 'one', '--json'], { env })).stdout).revision as number;
    await runKeel(['put', 'e2e/rev', 'two'], { env });
    const old = await runKeel(['get', 'e2e/rev', '--rev', String(first)], { env });
    assert.equal(old.stdout, 'one\n', old.stderr);
  });

  it('status shows three nodes, one leader, all healthy; members lists them', async () => {
    const status = await runKeel(['status', '--json'], { env });
    assert.equal(status.code, 0, status.stderr);
    const nodes = JSON.parse(status.stdout) as Array<{ id: number; role: string; leader: number; healthy: boolean }>;
    assert.deepEqual(nodes.map((n) => n.id).sort(), [1, 2, 3]);
    assert.equal(nodes.filter((n) => n.role === 'leader').length, 1);
    const leader = nodes.find((n) => n.role === 'leader')!.id;
    assert.ok(nodes.every((n) => n.leader === leader && n.healthy));
    const table = await runKeel(['status'], { env });
    assert.equal(table.stdout.trimEnd().split('\n').length, 4);
    const members = await runKeel(['members'], { env });
    assert.match(members.stdout, new RegExp(`^${leader}\\s+\\S+\\s+\\S+\\s+voter\\s+leader$`, 'm'));
  });

  it('finds the cluster from one endpoint', async () => {
    const put = await runKeel(['put', 'e2e/one', 'x', '--endpoints', endpoints[2]!], {});
    assert.equal(put.code, 0, put.stderr);
  });

  it('runs a shell script from standard input', async () => {
    const result = await runKeel(['shell', '--no-history'], {
      env,
      stdin: 'set e2e/sh=a b c\nget e2e/sh\nscan e2e/sh\ndel e2e/sh\nget e2e/sh\nstatus\nexit\n',
    });
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.split('\n');
    assert.match(lines[0]!, /^OK \(revision \d+\)$/);
    assert.equal(lines[1], 'a b c');
    assert.equal(lines[2], 'e2e/sh\ta b c');
    assert.equal(lines[3], '(1 key)');
    assert.equal(lines[4], 'deleted 1');
    assert.equal(lines[5], '(not found)');
    assert.match(lines[6]!, /^ID\s+ENDPOINT\s+ROLE/);
  });

  it('a shell script with a failing line exits non-zero', async () => {
    const result = await runKeel(['shell', '--no-history'], { env, stdin: 'get\nset e2e/x=1\n' });
    assert.equal(result.code, 3);
    assert.match(result.stderr, /usage: get KEY/);
    assert.match(result.stdout, /^OK/);
  });

  it('bench puts and gets', async () => {
    const put = await runKeel(['bench', '--clients', '8', '--requests', '200', '--keys', '50', '--value-size', '64', '--json'], { env });
    assert.equal(put.code, 0, put.stderr);
    const puts = JSON.parse(put.stdout);
    assert.equal(puts.ok, 200);
    assert.equal(puts.errors, 0);
    assert.ok(puts.latencyMs.p50 > 0 && puts.latencyMs.p99 >= puts.latencyMs.p50);
    const get = await runKeel(['bench', '--op', 'get', '--clients', '4', '--requests', '100', '--keys', '20'], { env });
    assert.equal(get.code, 0, get.stderr);
    assert.match(get.stdout, /^get \(linearizable\) over rest: 4 clients/);
    assert.match(get.stdout, /requests {4}100 ok, 0 failed/);
  });

  it('the library writes a batch atomically and reads it back', async () => {
    const client = new KeelClient({ endpoints: endpoints });
    const result = await client.batch([
      { op: 'set', key: 'e2e/b1', value: '1' },
      { op: 'set', key: 'e2e/b2', value: '2' },
      { op: 'get', key: 'e2e/b1' },
    ]);
    const third = result.results[2];
    assert.equal(third?.op === 'get' ? third.kv?.value : undefined, '1');
    assert.equal((await client.get('e2e/b2'))?.modRevision, result.revision);
  });

  // Last: it kills the leader.
  it('member list, add --learner, update, promote refused for a voter, remove, and ID removed afterwards', async () => {
    const list = await runKeel(['member', 'list'], { env });
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^ID\s+NAME\s+KIND/);
    assert.equal(list.stdout.trim().split('\n').length, 4, list.stdout);
    const added = await runKeel(['member', 'add', '--peer-urls', 'http://127.0.0.1:1', '--learner', '--json'], { env });
    assert.equal(added.code, 0, added.stderr);
    const id = (JSON.parse(added.stdout) as { member: { id: number; isLearner: boolean } }).member.id;
    assert.equal(id, 4);
    const unstarted = await runKeel(['member', 'list'], { env });
    assert.match(unstarted.stdout, /\n4\s+\(unstarted\)\s+learner\s+http:\/\/127\.0\.0\.1:1/);
    const updated = await runKeel(['member', 'update', '4', '--peer-urls', 'http://127.0.0.1:2'], { env });
    assert.equal(updated.stdout, 'Member 4 now has peer URLs http://127.0.0.1:2.\n', updated.stderr);
    const notLearner = await runKeel(['member', 'promote', '1'], { env });
    assert.equal(notLearner.code, 3);
    assert.match(notLearner.stderr, /NOT_A_LEARNER/);
    const removed = await runKeel(['member', 'remove', '4'], { env });
    assert.equal(removed.stdout, 'Member 4 removed.\n', removed.stderr);
    const again = await runKeel(['member', 'remove', '4'], { env });
    assert.equal(again.code, 3);
    assert.match(again.stderr, /ID_REMOVED/);
    const json = JSON.parse((await runKeel(['member', 'list', '--json'], { env })).stdout) as { members: { id: number }[]; removed: number[] };
    assert.deepEqual(
      json.members.map((m) => m.id),
      [1, 2, 3],
    );
    assert.deepEqual(json.removed, [4]);
  });

  it('keeps writing through the loss of the leader, applying each acknowledged write once', async () => {
    const client = new KeelClient({ endpoints: endpoints, timeoutMs: 2_000, retryBudgetMs: 30_000, retries: 30 });
    const leader = await cluster.waitForLeader();
    let acknowledged = 0;
    let unknown = 0;
    let tenDone: () => void = () => {};
    const tenAcknowledged = new Promise<void>((resolve) => (tenDone = resolve));
    const writes = (async () => {
      for (let i = 0; i < 60; i++) {
        try {
          await client.put('e2e/counter', String(i));
          acknowledged += 1;
          if (acknowledged === 10) tenDone();
        } catch (error) {
          if (error instanceof KeelClientError && error.outcome === 'unknown') unknown += 1;
          else throw error;
        }
      }
      tenDone();
    })();
    // Kill the leader once some writes have gone through.
    await tenAcknowledged;
    await cluster.kill(leader.id);
    await writes;
    const newLeader = await cluster.waitForLeader();
    assert.notEqual(newLeader.id, leader.id);
    const record = await client.get('e2e/counter');
    assert.ok(record, 'the key exists');
    // Every write bumps the version once: retries inside the client did not apply twice.
    assert.ok(
      record.version >= acknowledged && record.version <= acknowledged + unknown,
      `version ${record.version}, acknowledged ${acknowledged}, unknown ${unknown}`,
    );
    assert.equal(acknowledged + unknown, 60);
    const status = await runKeel(['status', '--json'], { env });
    const nodes = JSON.parse(status.stdout) as Array<{ id: number; reachable: boolean }>;
    assert.equal(nodes.find((n) => n.id === leader.id)?.reachable, false);
  });
});
