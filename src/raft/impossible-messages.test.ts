/**
 * Messages no correct member could send are refused by step() with a reason, leave
 * the node exactly as it was (state and output), and never throw: one faulty or
 * hostile peer must not stop a healthy node.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RaftNode } from './node.js';
import { TestCluster } from './testing/test-cluster.js';
import { defaultRaftConfig } from './types.js';
import type { Entry, Message, SnapshotMeta } from './types.js';
import { encodeConfigChange } from './config.js';
import { Prng } from '../lib/prng.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const entry = (index: number, term: number, data = `e${index}`): Entry => ({ index, term, kind: 'normal', data: bytes(data) });

/** Node 2, a follower of node 1 in term 2, holding entries 1..4 with 1..3 committed. */
function follower(snapshotStartProblem?: (meta: SnapshotMeta, firstBytes: Uint8Array) => string | undefined): RaftNode {
  const node = new RaftNode({
    ...(snapshotStartProblem !== undefined ? { snapshotStartProblem } : {}),
    config: { ...defaultRaftConfig, id: 2 },
    persisted: { hardState: { term: 2, vote: 1, commit: 3 }, entries: [entry(1, 1), entry(2, 1), entry(3, 2), entry(4, 2)], snapshot: undefined },
    bootstrap: { voters: [1, 2, 3], learners: [] },
    random: new Prng(2),
  });
  // Hear from the leader, so node 1 is the known leader of term 2.
  assert.equal(node.step({ type: 'heartbeat', from: 1, to: 2, term: 2, commit: 3, seq: 1 }), undefined);
  node.advance(node.ready());
  return node;
}

/** Everything observable about a node: its status, its log, and whether it has output. */
function snapshotOf(node: RaftNode): unknown {
  return { status: node.status(), log: node.entriesFrom(1), hasReady: node.hasReady() };
}

function assertRefused(node: RaftNode, message: Message, reason: RegExp): void {
  const before = snapshotOf(node);
  const verdict = node.step(message);
  assert.equal(verdict?.code, 'IMPOSSIBLE_MESSAGE', `${message.type} must be refused`);
  assert.match(verdict.reason, reason);
  assert.deepEqual(snapshotOf(node), before, 'the node is unchanged');
  node.checkInvariants();
}

test("a heartbeat that commits past the follower's log is refused, not fatal; in this term or a higher one", () => {
  const node = follower();
  assertRefused(node, { type: 'heartbeat', from: 1, to: 2, term: 2, commit: 9, seq: 2 }, /commits up to index 9, but this node's log ends at index 4/);
  assertRefused(node, { type: 'heartbeat', from: 3, to: 2, term: 5, commit: 5, seq: 1 }, /commits up to index 5/);
  // The node serves on: the real leader's next heartbeat is taken.
  assert.equal(node.step({ type: 'heartbeat', from: 1, to: 2, term: 2, commit: 4, seq: 3 }), undefined);
  assert.equal(node.status().commit, 4);
});

test('an append that contradicts committed entries is refused; one that only rewrites uncommitted ones is taken', () => {
  const node = follower();
  assertRefused(
    node,
    { type: 'append', from: 1, to: 2, term: 2, prevIndex: 1, prevTerm: 1, commit: 3, entries: [entry(2, 2, 'forged'), entry(3, 2)] },
    /overwrites committed entry 2 \(term 1\) with one of term 2/,
  );
  assertRefused(
    node,
    { type: 'append', from: 1, to: 2, term: 2, prevIndex: 2, prevTerm: 2, commit: 3, entries: [] },
    /says entry 2 has term 2, but this node committed it with term 1/,
  );
  // Entry 4 is not committed: a leader may replace it.
  assert.equal(node.step({ type: 'append', from: 1, to: 2, term: 2, prevIndex: 3, prevTerm: 2, commit: 3, entries: [entry(4, 2, 'new')] }), undefined);
  node.checkInvariants();
});

test('an append carrying a configuration change no leader would make is refused', () => {
  const node = follower();
  // Removing node 7, which is no member of {1, 2, 3}.
  const bogus: Entry = { index: 5, term: 2, kind: 'config', data: encodeConfigChange({ type: 'removeNode', nodeId: 7 }, { voters: [1, 2, 3], learners: [] }) };
  assertRefused(
    node,
    { type: 'append', from: 1, to: 2, term: 2, prevIndex: 4, prevTerm: 2, commit: 3, entries: [bogus] },
    /configuration change no leader would make/,
  );
  // One that does not match the configuration it claims to produce.
  const liar: Entry = { index: 5, term: 2, kind: 'config', data: encodeConfigChange({ type: 'addLearner', nodeId: 4 }, { voters: [1, 2], learners: [4] }) };
  assertRefused(
    node,
    { type: 'append', from: 1, to: 2, term: 2, prevIndex: 4, prevTerm: 2, commit: 3, entries: [liar] },
    /disagrees with the configuration before it/,
  );
});

test('an append, heartbeat or snapshot from a second leader of the term this node follows is refused', () => {
  const node = follower();
  assertRefused(
    node,
    { type: 'append', from: 3, to: 2, term: 2, prevIndex: 4, prevTerm: 2, commit: 3, entries: [entry(5, 2)] },
    /node 3 sends a append as leader of term 2, but node 1 leads that term/,
  );
  assertRefused(node, { type: 'heartbeat', from: 3, to: 2, term: 2, commit: 0, seq: 9 }, /but node 1 leads that term/);
  assertRefused(
    node,
    {
      type: 'snapshot',
      from: 3,
      to: 2,
      term: 2,
      meta: { index: 10, term: 2, config: { voters: [1, 2, 3], learners: [] } },
      offset: 0,
      data: new Uint8Array(1),
      done: true,
    },
    /but node 1 leads that term/,
  );
});

test('a leader refuses another leader of its term, acknowledgements past its log, and answers to heartbeats it never sent', () => {
  const c = new TestCluster({ ids: [1, 2, 3] });
  c.elect(1);
  c.stabilize();
  const leader = c.node(1);
  const { term, lastIndex } = leader.status();
  assertRefused(leader, { type: 'heartbeat', from: 2, to: 1, term, commit: 0, seq: 1 }, /but this node leads that term/);
  assertRefused(
    leader,
    { type: 'appendResponse', from: 2, to: 1, term, success: true, index: lastIndex + 5, hintIndex: 0, hintTerm: 0 },
    /acknowledges entries up to index/,
  );
  assertRefused(leader, { type: 'heartbeatResponse', from: 2, to: 1, term, seq: 1_000_000, lastIndex }, /answers heartbeat round 1000000/);
  // The cluster carries on.
  assert.equal(c.proposeAt(1, 'after').ok, true);
  c.stabilize();
  assert.deepEqual(c.applied.get(3)?.at(-1), 'after');
});

test('late messages of older terms are not impossible: they are ignored as before', () => {
  const node = follower();
  assert.equal(node.step({ type: 'heartbeat', from: 3, to: 2, term: 1, commit: 50, seq: 1 }), undefined);
  assert.equal(node.step({ type: 'append', from: 3, to: 2, term: 1, prevIndex: 1, prevTerm: 1, commit: 3, entries: [entry(2, 1, 'x')] }), undefined);
  assert.equal(node.status().lastIndex, 4);
  node.checkInvariants();
});

test('a snapshot whose first bytes the state machine could not install is refused at its first chunk, its term not taken', () => {
  const node = follower((meta, firstBytes) => (new TextDecoder().decode(firstBytes).startsWith('snap') ? undefined : `no header at ${meta.index}`));
  const meta: SnapshotMeta = { index: 10, term: 3, config: { voters: [1, 2, 3], learners: [] } };
  const chunk = (offset: number, text: string): Message => ({ type: 'snapshot', from: 1, to: 2, term: 3, meta, offset, data: bytes(text), done: false });
  assertRefused(node, chunk(0, 'junk'), /a snapshot at index 10 that this node could not install: no header at 10/);
  assert.equal(node.status().term, 2);
  // A good start is taken (and the leader's term with it); later chunks are checked with the whole.
  assert.equal(node.step(chunk(0, 'snap')), undefined);
  assert.equal(node.step(chunk(4, 'junk')), undefined);
  assert.equal(node.status().term, 3);
});

test('a snapshot the runtime finds it cannot install changes nothing: the follower asks for it again from its first byte', () => {
  const node = follower();
  const meta: SnapshotMeta = { index: 10, term: 3, config: { voters: [1, 2, 3], learners: [] } };
  const chunk = (offset: number, text: string, done: boolean, at = meta): Message => ({
    type: 'snapshot',
    from: 1,
    to: 2,
    term: 3,
    meta: at,
    offset,
    data: bytes(text),
    done,
  });
  const answers = (messages: readonly Message[]): unknown[] =>
    messages.flatMap((m) => (m.type === 'snapshotResponse' ? [{ index: m.snapshotIndex, nextOffset: m.nextOffset, done: m.done }] : []));
  const stored = (ready: ReturnType<RaftNode['ready']>): unknown[] => ready.snapshotChunks.map((c) => [c.offset, new TextDecoder().decode(c.data), c.done]);
  // Each chunk goes to the runtime to store; all but the last are answered once stored.
  assert.equal(node.step(chunk(0, 'ju', false)), undefined);
  let ready = node.ready();
  assert.deepEqual(stored(ready), [[0, 'ju', false]]);
  assert.deepEqual(answers(ready.messages), [{ index: 10, nextOffset: 2, done: false }]);
  node.advance(ready);
  assert.equal(node.step(chunk(2, 'nk', true)), undefined);
  ready = node.ready();
  assert.deepEqual(stored(ready), [[2, 'nk', true]]);
  assert.deepEqual(answers(ready.messages), [], 'the last chunk is answered once the runtime has checked the whole');
  node.advance(ready);
  // The leader's resend of the last chunk while the runtime checks is not answered either.
  assert.equal(node.step(chunk(2, 'nk', true)), undefined);
  assert.deepEqual(answers(node.ready().messages), []);

  const before = node.status();
  node.snapshotReceived(meta, { ok: false, problem: '4 bytes of junk' });
  assert.deepEqual(node.status(), before, 'nothing installed, nothing committed');
  ready = node.ready();
  assert.equal(ready.snapshot, undefined);
  assert.deepEqual(answers(ready.messages), [{ index: 10, nextOffset: 0, done: false }], 'asked for again from its first byte');
  node.advance(ready);
  node.checkInvariants();

  // A good one (a newer snapshot, so it starts afresh at offset 0) installs with the bytes as the runtime stored them.
  const good = { ...meta, index: 11 };
  assert.equal(node.step(chunk(0, 'good', true, good)), undefined);
  node.advance(node.ready());
  const data = bytes('good');
  node.snapshotReceived(meta, { ok: true, data }); // not the snapshot being received: ignored
  assert.equal(node.status().commit, 3);
  node.snapshotReceived(good, { ok: true, data });
  assert.equal(node.status().commit, 11);
  ready = node.ready();
  assert.equal(ready.snapshot?.data, data);
  assert.deepEqual(answers(ready.messages), [{ index: 11, nextOffset: 4, done: true }]);
});
