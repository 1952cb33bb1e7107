import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestCluster } from './testing/test-cluster.js';
import { RaftNode } from './node.js';
import { defaultRaftConfig } from './types.js';
import type { AppendResponse, Entry, Message, Ready } from './types.js';
import { Prng } from '../lib/prng.js';
import { SnapshotsInMemory } from './testing/snapshots-in-memory.js';

// The pipelined Ready contract (types.ts, Ready): ready() hands work out at once, and
// the runtime reports writes (persisted) and applies (applied) separately, so the
// next Ready can be taken while a write is in flight (thesis §10.2.1).

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const entry = (index: number, term: number, data = `e${index}`): Entry => ({ index, term, kind: 'normal', data: bytes(data) });
const indexes = (entries: readonly Entry[]): number[] => entries.map((e) => e.index);

/** Node `to`'s acknowledgement of the append `leaderReady` sends it, the follower's write done. */
function acknowledge(c: TestCluster, leaderReady: Ready, to: number): AppendResponse {
  const append = leaderReady.messages.find((m) => m.type === 'append' && m.to === to);
  assert.ok(append, `the leader sends node ${to} an append`);
  const follower = c.node(to);
  assert.equal(follower.step(append), undefined);
  const ready = follower.ready();
  follower.advance(ready);
  const ack = ready.messages.find((m): m is AppendResponse => m.type === 'appendResponse');
  assert.ok(ack?.success);
  return ack;
}

test('an entry committed while the next batch is being written is handed out to apply without waiting for that write', () => {
  const c = new TestCluster({ ids: [1, 2, 3], pipelined: true });
  c.elect(1);
  const leader = c.node(1);
  const first = leader.status().lastIndex + 1;
  assert.ok(c.proposeAt(1, 'a').ok);
  const writeA = leader.ready();
  assert.deepEqual(indexes(writeA.entries), [first]);
  leader.persisted(writeA);
  // The next batch is handed out: its write is in flight from here on.
  assert.ok(c.proposeAt(1, 'b').ok);
  const writeB = leader.ready();
  assert.deepEqual(indexes(writeB.entries), [first + 1]);
  assert.deepEqual(indexes(writeB.committedEntries), [], 'a is not committed yet');
  // A follower acknowledges a: with the leader's durable copy, a majority.
  assert.equal(leader.step(acknowledge(c, writeA, 2)), undefined);
  assert.equal(leader.status().commit, first);
  assert.ok(leader.hasReady(), 'a is ready to apply while b is being written');
  const applyA = leader.ready();
  assert.deepEqual(indexes(applyA.committedEntries), [first]);
  assert.deepEqual(indexes(applyA.entries), [], 'b is not handed out twice');
  leader.applied(applyA);
  assert.equal(leader.status().applied, first);
  assert.equal(leader.status().persisted, first, "b's write has not completed");
  leader.persisted(writeB);
  assert.equal(leader.status().persisted, first + 1);
  leader.checkInvariants();
});

test("a leader counts its own copy of an entry only once that entry's write completes, not an earlier one's", () => {
  const c = new TestCluster({ ids: [1, 2, 3], pipelined: true });
  c.elect(1);
  const leader = c.node(1);
  const first = leader.status().lastIndex + 1;
  assert.ok(c.proposeAt(1, 'a').ok);
  const writeA = leader.ready();
  assert.ok(c.proposeAt(1, 'b').ok);
  const writeB = leader.ready();
  // Node 2 acknowledges both; node 3 hears nothing. The leader's copy decides.
  assert.equal(leader.step(acknowledge(c, writeA, 2)), undefined);
  assert.equal(leader.step(acknowledge(c, writeB, 2)), undefined);
  assert.equal(leader.status().commit, first - 1, 'neither write of the leader is durable yet');
  leader.persisted(writeA);
  assert.equal(leader.status().commit, first, "a's write completed; b's is still in flight");
  leader.persisted(writeB);
  assert.equal(leader.status().commit, first + 1);
  leader.checkInvariants();
});

function follower(pipelined = true): RaftNode {
  return new RaftNode({
    config: { ...defaultRaftConfig, id: 2 },
    persisted: { hardState: { term: 1, vote: 0, commit: 1 }, entries: [entry(1, 1)], snapshot: undefined },
    bootstrap: { voters: [1, 2, 3], learners: [] },
    random: new Prng(2),
    applied: 1,
    pipelined,
  });
}

test('a follower acknowledges entries in the Ready that writes them, and applies them only once they are durable here', () => {
  const node = follower();
  // The leader has committed 2..3 with the others' copies; this node has yet to write them.
  node.step({ type: 'append', from: 1, to: 2, term: 1, prevIndex: 1, prevTerm: 1, entries: [entry(2, 1), entry(3, 1)], commit: 3 });
  const write = node.ready();
  assert.deepEqual(indexes(write.entries), [2, 3]);
  assert.ok(
    write.messages.some((m: Message) => m.type === 'appendResponse' && m.success && m.index === 3),
    'the acknowledgement waits for this write',
  );
  assert.deepEqual(indexes(write.committedEntries), [], 'committed, but not durable here');
  node.applied(write);
  assert.equal(node.hasReady(), false, 'nothing to do until the write completes');
  node.persisted(write);
  const apply = node.ready();
  assert.deepEqual(indexes(apply.committedEntries), [2, 3]);
  node.advance(apply);
  node.checkInvariants();
});

test('without the pipeline, a Ready hands out committed entries its own write carries (the runtime writes before it applies)', () => {
  const node = follower(false);
  node.step({ type: 'append', from: 1, to: 2, term: 1, prevIndex: 1, prevTerm: 1, entries: [entry(2, 1), entry(3, 1)], commit: 3 });
  const ready = node.ready();
  assert.deepEqual(indexes(ready.entries), [2, 3]);
  assert.deepEqual(indexes(ready.committedEntries), [2, 3]);
  node.advance(ready);
  node.checkInvariants();
});

test("an entry replaced while its write is in flight is not counted durable by that write's completion", () => {
  const node = follower();
  node.step({ type: 'append', from: 1, to: 2, term: 1, prevIndex: 1, prevTerm: 1, entries: [entry(2, 1), entry(3, 1)], commit: 1 });
  const oldWrite = node.ready();
  // A new leader of term 2 overwrites 2..3 before the write completes.
  node.step({ type: 'append', from: 3, to: 2, term: 2, prevIndex: 1, prevTerm: 1, entries: [entry(2, 2, 'new2')], commit: 1 });
  const newWrite = node.ready();
  assert.deepEqual(indexes(newWrite.entries), [2], 'the replacement is handed out to be written');
  node.persisted(oldWrite);
  assert.equal(node.status().persisted, 1, 'the old write held other entries');
  node.persisted(newWrite);
  assert.equal(node.status().persisted, 2);
  node.checkInvariants();
});

test('a snapshot from the leader is handed out once, and entries after it apply only after it is installed', () => {
  const c = new TestCluster({ ids: [1, 2, 3], pipelined: true });
  c.elect(1);
  for (let i = 0; i < 5; i++) c.proposeAt(1, `w${i}`);
  c.stabilize();
  c.crash(3);
  for (let i = 0; i < 5; i++) c.proposeAt(1, `x${i}`);
  c.stabilize();
  c.compact(1);
  c.compact(2);
  const restarted = c.start(3);
  // Deliver by hand from here on: node 3 gets the snapshot, then the entries after it.
  const received = new SnapshotsInMemory();
  let sawSnapshot: Ready | undefined;
  for (let round = 0; round < 200 && restarted.status().applied < c.node(1).status().commit; round++) {
    c.tick(1);
    for (const id of [1, 2]) {
      const node = c.node(id);
      while (node.hasReady()) {
        const ready = node.ready();
        node.advance(ready);
        c.queue.push(...ready.messages);
      }
    }
    for (const m of c.queue.splice(0)) if (c.nodes.has(m.to)) c.node(m.to).step(m);
    while (restarted.hasReady()) {
      const ready = restarted.ready();
      if (ready.snapshot) {
        assert.equal(sawSnapshot, undefined, 'the snapshot is handed out once');
        sawSnapshot = ready;
        assert.deepEqual(indexes(ready.committedEntries), []);
        // Its write is in flight: nothing after it is handed out to apply meanwhile.
        const meanwhile = restarted.hasReady() ? restarted.ready() : undefined;
        assert.deepEqual(indexes(meanwhile?.committedEntries ?? []), []);
        restarted.advance(ready);
        if (meanwhile) restarted.advance(meanwhile);
      } else {
        restarted.advance(ready);
      }
      for (const snapshot of received.store(ready.snapshotChunks)) restarted.snapshotReceived(snapshot.meta, { ok: true, data: snapshot.data });
      c.queue.push(...ready.messages);
      restarted.checkInvariants();
    }
  }
  assert.ok(sawSnapshot, 'node 3 caught up through a snapshot');
  assert.equal(restarted.status().applied, c.node(1).status().commit);
});
