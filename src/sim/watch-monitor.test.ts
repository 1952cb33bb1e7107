import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KvEvent } from '../kv/index.js';
import type { StreamOutput } from '../replica/index.js';
import { Prng } from '../lib/index.js';
import { LeaseClients, type LeaseNode } from './lease-clients.js';
import { Trace } from './trace.js';
import { WatchMonitor } from './watch-monitor.js';

// Each check is shown to fire on hand-made watch streams that break it, and to stay
// quiet on the same streams done right.

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

function put(key: string, value: string, revision: number): KvEvent {
  return { type: 'put', kv: { key: bytes(key), value: bytes(value), createRevision: revision, modRevision: revision, version: 1, lease: 0 } };
}

function del(key: string, revision: number): KvEvent {
  return { type: 'delete', kv: { key: bytes(key), value: new Uint8Array(), createRevision: 0, modRevision: revision, version: 0, lease: 0 } };
}

function world(): { monitor: WatchMonitor; reports: string[]; deleted: string[]; watcher: (node: number) => (events: KvEvent[], through: number) => void } {
  const reports: string[] = [];
  const deleted: string[] = [];
  const monitor = new WatchMonitor({
    report: (kind, message) => reports.push(`${kind}: ${message}`),
    now: () => 50,
    leaseKeyDeleted: (key) => deleted.push(key),
  });
  const watcher = (node: number): ((events: KvEvent[], through: number) => void) => {
    const output: StreamOutput = monitor.output(node, 1);
    output.send({ type: 'created', watchId: 0, revision: 1 });
    return (events, through) => output.send({ type: 'events', watchId: 0, events, revision: through });
  };
  return { monitor, reports, deleted, watcher };
}

test('watchers that deliver the same revisions alike, in order, pass; a lease key deleted is reported once', () => {
  const { monitor, reports, deleted, watcher } = world();
  const a = watcher(1);
  const b = watcher(2);
  a([put('k', '1', 2), put('lease/9', 'held', 3)], 3);
  b([put('k', '1', 2)], 2);
  b([put('lease/9', 'held', 3), del('lease/9', 4)], 4);
  a([del('lease/9', 4)], 4);
  monitor.checkComplete();
  assert.deepEqual(reports, []);
  assert.deepEqual(deleted, ['lease/9']);
  assert.equal(monitor.revisionsCount, 3);
});

test('two nodes that deliver one revision differently are reported', () => {
  const { reports, watcher } = world();
  watcher(1)([put('k', '1', 2)], 2);
  watcher(2)([put('k', '2', 2)], 2);
  assert.equal(reports.length, 1);
  assert.match(reports[0] as string, /^watch: node 2 sent revision 2 as \[put k=2\], another node as \[put k=1\]/);
});

test('a watcher that skips a revision another delivered, within the span it covered, is reported at the end', () => {
  const { monitor, reports, watcher } = world();
  watcher(1)([put('k', '1', 2), put('k', '2', 3), put('k', '3', 4)], 4);
  watcher(2)([put('k', '1', 2), put('k', '3', 4)], 4);
  assert.equal(reports.length, 0, 'a gap shows only against what other watchers delivered');
  monitor.checkComplete();
  assert.equal(reports.length, 1);
  assert.match(reports[0] as string, /node 2 .* sent events through revision 4 but none of revision 3: put k=2/);
});

test('a watcher that repeats a revision, or is canceled though nothing was compacted, is reported', () => {
  const { monitor, reports, watcher } = world();
  const a = watcher(1);
  a([put('k', '1', 2)], 2);
  a([put('k', '1', 2)], 2);
  assert.match(reports[0] as string, /node 1 sent an event of revision 2 after its events through 2/);
  monitor.output(3, 1).send({ type: 'canceled', watchId: 0, code: 'COMPACTED', reason: 'compacted', revision: 5 });
  assert.match(reports[1] as string, /node 3's watcher was canceled \(COMPACTED/);
});

/** A node whose lease answers the test releases by hand. */
class ManualNode implements LeaseNode {
  readonly leads = true;
  readonly answers: { what: string; resolve: (ok: boolean) => void }[] = [];
  readonly leases = {
    grant: (ttl: number, id = 0) => this.ask(`grant ${id}`, { ok: true, revision: 1, response: { type: 'leaseGrant', id, ttl } }),
    keepAlive: (id: number) => this.ask(`keepAlive ${id}`, { ok: true, revision: 1, response: { type: 'leaseKeepAlive', id, ttl: 1 } }),
  } as LeaseNode['leases'];
  constructor(readonly id: number) {}
  write(): never {
    throw new Error('refused');
  }
  private ask<T>(what: string, ok: T): Promise<T> {
    return new Promise((resolve) => this.answers.push({ what, resolve: () => resolve(ok) }));
  }
}

function leaseClients(keptAliveChance: number, reports: string[]): LeaseClients {
  return new LeaseClients({
    random: new Prng(1),
    trace: new Trace(false, 1),
    report: (kind, message) => reports.push(`${kind}: ${message}`),
    ttlSeconds: 1,
    liveLeasesMax: 1,
    grantRate: 1,
    keptAliveChance,
  });
}

const settled = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('a lease whose expiry comes sooner than its TTL after the sending of a renewal that was acknowledged is reported, whichever is seen first', async () => {
  const reports: string[] = [];
  const node = new ManualNode(1);

  // Granted at step 0 and let go; its key deleted at step 999, one step short of its TTL.
  const early = leaseClients(0, reports);
  early.step(0, [node]);
  const grant = node.answers.shift();
  const leaseId = Number(grant?.what.split(' ')[1]);
  grant?.resolve(true);
  await settled();
  early.keyDeleted(`lease/${leaseId}`, 999);
  assert.equal(reports.length, 1);
  assert.match(
    reports[0] as string,
    /^lease: lease \d+ \(TTL 1000 steps\) expired at step 999, though a renewal sent at step 0 was acknowledged: 1 steps early/,
  );

  // Kept alive: a renewal sent at step 300, its key deleted at step 1,000 (on time for
  // the grant), then the renewal acknowledged: that expiry came 300 steps early.
  const late = leaseClients(1, reports);
  late.step(0, [node]);
  const secondGrant = node.answers.shift();
  const secondId = Number(secondGrant?.what.split(' ')[1]);
  secondGrant?.resolve(true);
  await settled();
  late.step(300, [node]);
  const renewal = node.answers.shift();
  assert.equal(renewal?.what, `keepAlive ${secondId}`);
  late.keyDeleted(`lease/${secondId}`, 1000);
  assert.equal(reports.length, 1, 'an expiry a whole TTL after the grant was sent is on time');
  renewal?.resolve(true);
  await settled();
  assert.equal(reports.length, 2);
  assert.match(reports[1] as string, /expired at step 1000, though a renewal sent at step 300 was acknowledged: 300 steps early/);
});
