/**
 * Log compaction and InstallSnapshot (Raft paper §7, Figure 13).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestCluster, encodeCommands } from './testing/test-cluster.js';
import { RaftNode } from './node.js';
import { defaultRaftConfig } from './types.js';
import { Prng } from '../lib/prng.js';
import type { Entry, Message, SnapshotRequest, SnapshotResponse } from './types.js';
import { snapshotBytes } from './testing/snapshot-bytes.js';

/** Proposes each command at `id` and lets the cluster settle after each one. */
function proposeAll(c: TestCluster, id: number, commands: readonly string[]): void {
  for (const command of commands) {
    const outcome = c.proposeAt(id, command);
    assert.ok(outcome.ok, `proposal ${command} refused: ${outcome.ok ? '' : outcome.reason}`);
    c.stabilize();
  }
}

function commands(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${i}`);
}

/** Delivers every message and records the ones `keep` selects. */
function record(c: TestCluster, keep: (m: Message) => boolean): Message[] {
  const seen: Message[] = [];
  c.filter = (m) => {
    if (keep(m)) seen.push(m);
    return true;
  };
  return seen;
}

/** Snapshot bytes read on demand, as from a file: counts the reads. */
class CountedData {
  reads = 0;
  constructor(private readonly bytes: Uint8Array) {}
  get byteLength(): number {
    return this.bytes.byteLength;
  }
  subarray(begin: number, end: number): Uint8Array {
    this.reads++;
    return this.bytes.subarray(begin, end);
  }
}

test('§7: the runtime learns what to record with a snapshot before it writes it, and the core sends it a chunk at a time from where it is stored', () => {
  const c = new TestCluster({ ids: [1, 2, 3], config: { snapshotChunkBytesMax: 4 } });
  c.elect(1);
  proposeAll(c, 1, ['a', 'b']);
  c.crash(3);
  proposeAll(c, 1, ['c', 'd']);
  const node = c.node(1);
  assert.deepEqual(node.snapshotMetaAt(5), { index: 5, term: 1, config: { voters: [1, 2, 3], learners: [] } });
  assert.throws(() => node.snapshotMetaAt(6), /no snapshot can be taken at 6/, 'past the applied index');
  const bytes = encodeCommands(['a', 'b', 'c', 'd']);
  const stored = new CountedData(bytes);
  node.compact({ index: 5, data: stored });
  assert.throws(() => node.snapshotMetaAt(5), /no snapshot can be taken at 5/, 'already compacted');
  assert.equal(stored.reads, 0, 'nothing is read until a follower needs it');

  // The follower that missed the compacted entries gets them from the stored bytes, a chunk at a time.
  c.start(3);
  c.tickAll(3);
  assert.equal(stored.reads, Math.ceil(bytes.length / 4), `one read per chunk of ${bytes.length} bytes`);
  assert.equal(c.node(3).status().commit, 5);
  assert.deepEqual(c.applied.get(3), ['a', 'b', 'c', 'd']);
});

test('§7: the log keeps the last entries before a snapshot (snapshotCatchUpEntries, within snapshotCatchUpBytesMax), so a follower a little behind is caught up from it', () => {
  const c = new TestCluster({ ids: [1, 2, 3], config: { snapshotCatchUpEntries: 3, snapshotCatchUpBytesMax: 1024 } });
  c.elect(1);
  proposeAll(c, 1, ['a', 'b', 'c']);
  c.crash(3);
  proposeAll(c, 1, ['d', 'e']);
  const index = c.compact(1);
  assert.equal(index, 6);
  assert.equal(c.node(1).status().firstIndex, 4, 'entries 4..6, the last three the snapshot at 6 covers, stay');
  assert.equal(c.node(1).currentSnapshot()?.meta.index, 6);
  // Node 3 holds up to 4: it is sent entries 5.., no snapshot.
  const snapshots = record(c, (m) => m.type === 'snapshot');
  c.start(3);
  c.tickAll(3);
  assert.equal(snapshots.length, 0);
  assert.deepEqual(c.applied.get(3), ['a', 'b', 'c', 'd', 'e']);

  // One further behind than what is kept is sent the snapshot.
  c.crash(2);
  proposeAll(c, 1, ['f', 'g', 'h', 'i']);
  c.compact(1);
  assert.equal(c.node(1).status().firstIndex, 8, 'the snapshot at 10 keeps 8..10');
  c.start(2);
  c.tickAll(3);
  assert.ok(snapshots.length > 0);
  assert.deepEqual(c.applied.get(2), ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i']);

  // The bytes bound: entries of 3 bytes, at most 7 bytes kept, so two entries.
  const bounded = new TestCluster({ ids: [1, 2, 3], config: { snapshotCatchUpEntries: 100, snapshotCatchUpBytesMax: 7 } });
  bounded.elect(1);
  proposeAll(bounded, 1, ['abc', 'def', 'ghi', 'jkl']);
  assert.equal(bounded.compact(1), 5);
  assert.equal(bounded.node(1).status().firstIndex, 4);
});

test('§7: compaction replaces the log it covers with a snapshot, and the log keeps growing after it', () => {
  const c = new TestCluster({ ids: [1, 2, 3] });
  c.elect(1);
  proposeAll(c, 1, ['a', 'b', 'c', 'd']);
  // Log: 1 no-op, 2..5 commands.
  assert.equal(c.node(1).status().lastIndex, 5);
  assert.equal(c.node(1).status().applied, 5);

  const index = c.compact(1);
  assert.equal(index, 5);
  const s = c.node(1).status();
  assert.equal(s.firstIndex, 6, 'entries up to the snapshot are gone');
  assert.equal(s.lastIndex, 5);
  assert.deepEqual(c.node(1).entriesFrom(1), []);
  const snapshot = c.node(1).currentSnapshot();
  assert.ok(snapshot);
  assert.deepEqual(snapshot.meta, { index: 5, term: 1, config: { voters: [1, 2, 3], learners: [] } });
  assert.deepEqual(snapshot.data, encodeCommands(['a', 'b', 'c', 'd']));
  assert.deepEqual(c.disks.get(1)?.entries, [], 'the disk dropped the covered entries too');

  // The followers, which are up to date, never need the snapshot.
  const snapshots = record(c, (m) => m.type === 'snapshot');
  proposeAll(c, 1, ['e']);
  c.tickAll(2);
  assert.equal(snapshots.length, 0);
  assert.deepEqual(
    c
      .node(1)
      .entriesFrom(1)
      .map((e) => e.index),
    [6],
  );
  for (const id of [1, 2, 3]) assert.deepEqual(c.applied.get(id), ['a', 'b', 'c', 'd', 'e']);
});

test('§7 Figure 13: a follower that was down is brought up to date by a snapshot sent in chunks', () => {
  const c = new TestCluster({ ids: [1, 2, 3], config: { snapshotChunkBytesMax: 8 } });
  c.elect(1);
  proposeAll(c, 1, ['a', 'b']);
  c.crash(3);
  const missed = commands('x', 10);
  proposeAll(c, 1, missed);
  const snapshotIndex = c.compact(1);
  assert.equal(snapshotIndex, 13);
  proposeAll(c, 1, ['after']);

  const chunks = record(c, (m) => m.type === 'snapshot') as SnapshotRequest[];
  c.start(3);
  c.tickAll(3);

  const expected = ['a', 'b', ...missed, 'after'];
  const data = encodeCommands(['a', 'b', ...missed]);
  const chunkCount = Math.ceil(data.length / 8);
  assert.ok(chunkCount >= 5, `the snapshot spans ${chunkCount} chunks`);
  assert.equal(chunks.length, chunkCount, 'each chunk is sent exactly once');
  let offset = 0;
  for (const [i, chunk] of chunks.entries()) {
    assert.equal(chunk.to, 3);
    assert.equal(chunk.meta.index, snapshotIndex);
    assert.equal(chunk.offset, offset, `chunk ${i} starts where the previous one ended`);
    assert.ok(chunk.data.length <= 8);
    assert.equal(chunk.done, i === chunks.length - 1, 'only the last chunk is marked done');
    offset += chunk.data.length;
  }
  assert.equal(offset, data.length);

  const s = c.node(3).status();
  assert.equal(s.firstIndex, snapshotIndex + 1, 'the follower discarded its log (Figure 13 step 7)');
  assert.equal(s.commit, snapshotIndex + 1);
  assert.deepEqual(c.disks.get(3)?.snapshot?.meta.index, snapshotIndex);
  for (const id of [1, 2, 3]) assert.deepEqual(c.applied.get(id), expected);
  const peer = c
    .node(1)
    .status()
    .peers.find((p) => p.id === 3);
  assert.equal(peer?.state, 'replicate');
  assert.equal(peer?.match, snapshotIndex + 1);
});

test('§7 Figure 13: a lost chunk is resent when the follower answers a heartbeat', () => {
  const c = new TestCluster({ ids: [1, 2, 3], config: { snapshotChunkBytesMax: 8 } });
  c.elect(1);
  c.crash(3);
  const all = commands('k', 6);
  proposeAll(c, 1, all);
  const snapshotIndex = c.compact(1);

  const chunks: SnapshotRequest[] = [];
  let dropped: SnapshotRequest | undefined;
  c.filter = (m) => {
    if (m.type !== 'snapshot') return true;
    chunks.push(m);
    if (dropped === undefined && m.offset === 16) {
      dropped = m;
      return false;
    }
    return true;
  };
  c.start(3);
  c.tickAll(1);
  assert.ok(dropped, 'the third chunk was sent and dropped');
  assert.deepEqual(
    chunks.map((m) => m.offset),
    [0, 8, 16],
    'nothing is sent past a chunk that was not acknowledged',
  );
  assert.equal(c.node(3).status().commit, 1, 'only the no-op it had before it went down');
  assert.equal(
    c
      .node(1)
      .status()
      .peers.find((p) => p.id === 3)?.state,
    'snapshot',
  );

  // A heartbeat answered a round after the one the chunk left in tells the leader the
  // follower still waits at offset 16.
  c.tickAll(3);
  const offsets = chunks.map((m) => m.offset);
  assert.deepEqual(offsets.slice(0, 4), [0, 8, 16, 16], 'the lost chunk is resent from its offset');
  assert.equal(offsets.filter((o) => o === 16).length, 2);
  assert.equal(chunks[chunks.length - 1]?.done, true);
  assert.equal(c.node(3).status().firstIndex, snapshotIndex + 1);
  for (const id of [1, 2, 3]) assert.deepEqual(c.applied.get(id), all);
});

test('§7 Figure 13 step 6: a snapshot whose last entry the follower holds keeps the entries after it', () => {
  const c = new TestCluster({ ids: [1, 2, 3] });
  c.elect(1);
  // Node 3 receives the entries but never hears that they committed.
  c.filter = (m) => m.to !== 3 || (m.type === 'append' && m.entries.length > 0);
  for (const command of ['a', 'b', 'c', 'd', 'e']) assert.ok(c.proposeAt(1, command).ok);
  c.stabilize();
  assert.equal(c.node(1).status().commit, 6);
  assert.equal(c.node(3).status().lastIndex, 6);
  assert.equal(c.node(3).status().commit, 1);

  const snapshotIndex = 4;
  // Compact the leader at index 4 (its applied list up to there is a, b, c).
  const leaderApplied = c.applied.get(1) as string[];
  c.node(1).compact({ index: snapshotIndex, data: encodeCommands(leaderApplied.slice(0, 3)) });
  const snapshot = c.node(1).currentSnapshot();
  assert.ok(snapshot);
  assert.equal(snapshot.meta.index, snapshotIndex);

  // The leader's snapshot reaches node 3 (as a late or duplicated message would).
  const request: SnapshotRequest = {
    type: 'snapshot',
    from: 1,
    to: 3,
    term: 1,
    meta: snapshot.meta,
    offset: 0,
    data: snapshotBytes(snapshot.data),
    done: true,
  };
  c.node(3).step(request);
  c.node(3).checkInvariants();
  c.processReadies();
  assert.equal(c.disks.get(3)?.snapshot, undefined, 'nothing to install: the log already agrees');
  assert.deepEqual(c.applied.get(3), ['a', 'b', 'c'], 'entries up to the snapshot are applied from the log');
  const s = c.node(3).status();
  assert.equal(s.commit, snapshotIndex);
  assert.equal(s.firstIndex, 1, 'the log was not discarded');
  assert.equal(s.lastIndex, 6, 'entries following the snapshot are retained');
  assert.deepEqual(
    c
      .node(3)
      .entriesFrom(5)
      .map((e) => new TextDecoder().decode(e.data)),
    ['d', 'e'],
  );
  assert.deepEqual(
    c.disks.get(3)?.entries.map((e) => e.index),
    [1, 2, 3, 4, 5, 6],
  );

  const responses = record(c, (m) => m.type === 'snapshotResponse') as SnapshotResponse[];
  c.stabilize();
  assert.equal(responses.length, 1);
  assert.equal(responses[0]?.done, true);

  c.tickAll(2);
  for (const id of [1, 2, 3]) assert.deepEqual(c.applied.get(id), ['a', 'b', 'c', 'd', 'e']);
  assert.equal(c.node(3).status().commit, 6);
});

test('§7 Figure 13 step 7: a follower whose entry at the snapshot index has another term discards its whole log', () => {
  // Node 2 holds entries 1..4 of term 1 (only 1 committed); the leader of term 2 sends
  // a snapshot at 3 whose last entry is of term 2: entries 2..4 of node 2 conflict.
  const stale = [1, 2, 3, 4].map((index) => ({ index, term: 1, kind: 'normal' as const, data: new TextEncoder().encode(`old${index}`) }));
  const follower = new RaftNode({
    config: { ...defaultRaftConfig, id: 2 },
    persisted: { hardState: { term: 2, vote: 0, commit: 1 }, entries: stale, snapshot: undefined },
    bootstrap: { voters: [1, 2, 3], learners: [] },
    random: new Prng(2),
  });
  const meta = { index: 3, term: 2, config: { voters: [1, 2, 3], learners: [] } };
  const data = encodeCommands(['a', 'b']);
  assert.equal(follower.step({ type: 'snapshot', from: 1, to: 2, term: 2, meta, offset: 0, data, done: true }), undefined);
  // The runtime stores the chunk, then reports the whole snapshot received and checked.
  const stored = follower.ready();
  assert.deepEqual(stored.snapshotChunks, [{ meta, offset: 0, data, done: true }]);
  assert.equal(follower.status().lastIndex, 4, 'nothing changes before the runtime has the snapshot');
  follower.advance(stored);
  follower.snapshotReceived(meta, { ok: true, data });
  follower.checkInvariants();
  const s = follower.status();
  assert.equal(s.lastIndex, 3, 'entry 4 (after the conflicting 3) is gone too');
  assert.equal(s.lastTerm, 2);
  assert.equal(s.firstIndex, 4, 'nothing of the old log is left');
  assert.equal(s.commit, 3);
  const ready = follower.ready();
  assert.deepEqual(ready.snapshot?.meta, meta, 'the snapshot is handed out to persist and install');
  assert.deepEqual(ready.entries, []);
  assert.deepEqual(ready.committedEntries, [], 'no entry of the discarded log is applied');
  const answer = ready.messages.find((m) => m.type === 'snapshotResponse');
  assert.ok(answer && answer.type === 'snapshotResponse' && answer.done && answer.snapshotIndex === 3);
  follower.advance(ready);
  // The log continues from the snapshot.
  const next = { index: 4, term: 2, kind: 'normal' as const, data: new TextEncoder().encode('c') };
  assert.equal(follower.step({ type: 'append', from: 1, to: 2, term: 2, prevIndex: 3, prevTerm: 2, entries: [next], commit: 4 }), undefined);
  assert.equal(follower.status().commit, 4);
  assert.deepEqual(
    follower.entriesFrom(4).map((e) => e.term),
    [2],
  );
});

test('§7: a node restarts from its persisted snapshot plus the log after it', () => {
  const c = new TestCluster({ ids: [1, 2, 3] });
  c.elect(1);
  proposeAll(c, 1, ['a', 'b', 'c']);
  const snapshotIndex = c.compact(2);
  assert.equal(snapshotIndex, 4);
  proposeAll(c, 1, ['d', 'e']);
  c.tickAll(1);
  const before = c.node(2).status();
  assert.equal(before.commit, 6);

  c.crash(2);
  const disk = c.disks.get(2);
  assert.equal(disk?.snapshot?.meta.index, snapshotIndex);
  assert.deepEqual(
    disk?.entries.map((e) => e.index),
    [5, 6],
  );
  c.start(2);
  const after = c.node(2).status();
  assert.equal(after.firstIndex, snapshotIndex + 1);
  assert.equal(after.lastIndex, 6);
  assert.equal(after.commit, 6);
  assert.equal(after.applied, snapshotIndex, 'the state machine starts from the snapshot');
  assert.equal(after.term, before.term);
  assert.deepEqual(after.config, { voters: [1, 2, 3], learners: [] });
  c.stabilize();
  assert.deepEqual(c.applied.get(2), ['a', 'b', 'c', 'd', 'e'], 'the log tail is applied on top of the snapshot');

  // The restarted node can lead, and feeds a blank follower from its snapshot.
  c.crash(1);
  c.crash(3);
  c.disks.delete(3);
  c.start(3);
  const chunks = record(c, (m) => m.type === 'snapshot');
  // Node 1 is down: node 2 needs node 3's vote, and node 3 has an empty log.
  c.elect(2);
  assert.equal(c.node(2).status().role, 'leader');
  assert.equal(c.node(2).status().term, 2);
  proposeAll(c, 2, ['f']);
  c.tickAll(2);
  assert.ok(chunks.length >= 1, 'the blank node needed the snapshot');
  assert.deepEqual(c.applied.get(3), ['a', 'b', 'c', 'd', 'e', 'f']);
});

test('§7: a snapshot older than the follower’s commit index is answered as done and not installed', () => {
  const c = new TestCluster({ ids: [1, 2, 3] });
  c.elect(1);
  c.crash(3);
  proposeAll(c, 1, ['a', 'b', 'c']);
  const snapshotIndex = c.compact(1);
  const captured: SnapshotRequest[] = [];
  c.filter = (m) => {
    if (m.type === 'snapshot') captured.push(m);
    return true;
  };
  c.start(3);
  c.tickAll(2);
  assert.equal(captured.length, 1);
  proposeAll(c, 1, ['d']);
  c.tickAll(1);
  // Node 3 compacts its own log past the old snapshot, so its log no longer holds the
  // snapshot's last entry and Figure 13 step 6 cannot be what saves it.
  assert.equal(c.compact(3), snapshotIndex + 1);
  const before = c.node(3).status();
  assert.equal(before.commit, snapshotIndex + 1);
  assert.equal(before.firstIndex, snapshotIndex + 2);

  // The same chunk arrives again, late.
  const responses = record(c, (m) => m.type === 'snapshotResponse') as SnapshotResponse[];
  c.node(3).step(captured[0] as SnapshotRequest);
  c.node(3).checkInvariants();
  const ready = c.node(3).ready();
  assert.equal(ready.snapshot, undefined, 'the stale snapshot is not installed');
  assert.deepEqual(ready.entries, []);
  assert.deepEqual(ready.committedEntries, []);
  c.node(3).advance(ready);
  c.queue.push(...ready.messages);
  c.stabilize();
  assert.equal(responses.length, 1);
  assert.equal(responses[0]?.done, true);
  assert.equal(responses[0]?.snapshotIndex, snapshotIndex);

  const after = c.node(3).status();
  assert.equal(after.commit, before.commit);
  assert.equal(after.firstIndex, before.firstIndex);
  assert.equal(after.lastIndex, before.lastIndex);
  assert.deepEqual(c.applied.get(3), ['a', 'b', 'c', 'd']);
  assert.equal(
    c
      .node(1)
      .status()
      .peers.find((p) => p.id === 3)?.match,
    snapshotIndex + 1,
    'the leader ignores the answer',
  );
});

/**
 * Node 3 was down while node 1 committed six commands and compacted its log; started
 * again, it is sent the snapshot in chunks of 8 bytes, stores three, and goes down
 * before the fourth arrives (`keepTransfer`: its runtime keeps the three), then starts.
 */
function restartedMidTransfer(keepTransfer: boolean): { c: TestCluster; all: string[]; snapshotIndex: number; chunks: SnapshotRequest[] } {
  const c = new TestCluster({ ids: [1, 2, 3], config: { snapshotChunkBytesMax: 8 } });
  c.elect(1);
  c.crash(3);
  const all = commands('m', 6);
  proposeAll(c, 1, all);
  const snapshotIndex = c.compact(1);
  const chunks: SnapshotRequest[] = [];
  c.filter = (m) => {
    if (m.type !== 'snapshot') return true;
    chunks.push(m);
    return m.offset < 24;
  };
  c.start(3);
  c.tickAll(1);
  assert.deepEqual(
    chunks.map((m) => m.offset),
    [0, 8, 16, 24],
  );
  c.crash(3, keepTransfer);
  c.start(3);
  return { c, all, snapshotIndex, chunks };
}

test('§7 Figure 13 step 2: a follower that restarts in the middle of a chunked snapshot gets it again from offset 0', () => {
  const { c, all, snapshotIndex, chunks } = restartedMidTransfer(false);
  assert.equal(c.node(3).status().commit, 1, 'the partial snapshot was never installed');

  c.filter = (m) => {
    if (m.type === 'snapshot') chunks.push(m);
    return true;
  };
  c.tickAll(2);
  const resent = chunks.slice(4).map((m) => m.offset);
  // The leader resumes where the follower last was; the restarted follower asks for
  // offset 0, and the chunks follow from there.
  assert.equal(resent[0], 24);
  const fromZero = resent.indexOf(0);
  assert.ok(fromZero > 0, `the snapshot is sent again from offset 0: ${resent.join(',')}`);
  const size = encodeCommands(all).length;
  assert.deepEqual(
    resent.slice(fromZero),
    Array.from({ length: Math.ceil(size / 8) }, (_, i) => i * 8),
  );
  assert.equal(c.node(3).status().firstIndex, snapshotIndex + 1);
  for (const id of [1, 2, 3]) assert.deepEqual(c.applied.get(id), all);
});

test('§7 Figure 13: a follower restarted mid-transfer with the chunks it stored goes on from there, not from offset 0', () => {
  const { c, all, snapshotIndex, chunks } = restartedMidTransfer(true);

  const answers: SnapshotResponse[] = [];
  c.filter = (m) => {
    if (m.type === 'snapshot') chunks.push(m);
    if (m.type === 'snapshotResponse' && m.from === 3) answers.push(m);
    return true;
  };
  c.tickAll(2);
  const resent = chunks.slice(4).map((m) => m.offset);
  assert.ok(
    answers.length > 0 && answers.every((answer) => answer.nextOffset >= 24),
    `the restarted follower kept its 24 bytes: ${answers.map((a) => a.nextOffset).join(',')}`,
  );
  assert.ok(!resent.includes(0), `nothing is sent again from offset 0: ${resent.join(',')}`);
  const size = encodeCommands(all).length;
  assert.deepEqual(
    resent.filter((offset) => offset >= 24),
    Array.from({ length: Math.ceil(size / 8) - 3 }, (_, i) => 24 + i * 8),
  );
  assert.equal(c.node(3).status().firstIndex, snapshotIndex + 1);
  for (const id of [1, 2, 3]) assert.deepEqual(c.applied.get(id), all);
});

test('Figure 2: a node restarted with its state machine ahead of the commit index on disk takes no snapshot there until it learns the commit again', () => {
  const entry = (index: number): Entry => ({ index, term: 1, kind: 'normal', data: new TextEncoder().encode(`e${index}`) });
  const node = new RaftNode({
    config: { ...defaultRaftConfig, id: 2 },
    // The hard state says 3 are committed; the state machine applied 5 before the crash.
    persisted: { hardState: { term: 1, vote: 1, commit: 3 }, entries: [1, 2, 3, 4, 5].map(entry), snapshot: undefined },
    bootstrap: { voters: [1, 2, 3], learners: [] },
    random: new Prng(2),
    applied: 5,
  });
  assert.equal(node.canSnapshotAt(5), false);
  assert.equal(node.canSnapshotAt(3), true);
  assert.throws(() => node.snapshotMetaAt(5), /no snapshot can be taken at 5/);
  node.step({ type: 'heartbeat', from: 1, to: 2, term: 1, commit: 5, seq: 1 });
  const ready = node.ready();
  node.advance(ready);
  assert.equal(node.canSnapshotAt(5), true, 'once the leader says 5 is committed and it is applied again');
});
