/**
 * Entries released from memory once applied and durable (RaftConfig.logMemoryBytesMax),
 * their terms kept as runs and their data read back through a LogReader.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RaftLog } from './log.js';
import { TermRuns } from './term-runs.js';
import { TestCluster } from './testing/test-cluster.js';
import type { Entry, LogReader } from './types.js';

const encoder = new TextEncoder();

function entries(from: number, terms: readonly number[]): Entry[] {
  return terms.map((term, i) => ({ index: from + i, term, kind: 'normal', data: encoder.encode(`entry ${from + i}`) }));
}

/** A reader over `stored`, counting the entries it reads. */
function readerOver(stored: readonly Entry[]): LogReader & { reads: number } {
  const reader = {
    reads: 0,
    read(low: number, high: number, limits: { bytesMax: number; countMax: number }): Entry[] {
      const out = stored.filter((e) => e.index >= low && e.index < high).slice(0, Math.max(1, Math.min(limits.countMax, high - low)));
      reader.reads += out.length;
      return out;
    },
  };
  return reader;
}

test('term runs answer the term of every entry they hold, after any cut of their front', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 50 }), fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 60 }), fc.nat(80), (first, steps, cut) => {
      const runs = new TermRuns(first);
      const terms: number[] = [];
      let term = 1;
      for (const step of steps) {
        term += step;
        runs.push(first + terms.length, term);
        terms.push(term);
      }
      runs.dropThrough(first + cut - 1);
      assert.equal(runs.first(), first + cut);
      for (let i = 0; i < terms.length; i++) assert.equal(runs.term(first + i), i < cut ? undefined : terms[i], `entry ${first + i}`);
      assert.equal(runs.term(first + terms.length), undefined);
    }),
  );
});

test('a log releases applied, durable entries down to half its budget, keeps their terms, and reads them back', () => {
  const all = entries(1, [1, 1, 2, 2, 2, 3, 3, 3, 3, 3]);
  const reader = readerOver(all);
  const log = new RaftLog({ snapshotIndex: 0, snapshotTerm: 0, entries: all, committed: 10, applied: 6, reader });
  const perEntry = 24 + 'entry 1'.length;
  log.release(perEntry * 8);
  // Ten entries are over a budget of eight: released down to four held, but only the applied ones may go.
  assert.equal(log.inMemory(6), false);
  assert.equal(log.inMemory(7), true);
  assert.equal(log.lastIndex(), 10);
  for (const entry of all) assert.equal(log.term(entry.index), entry.term);
  assert.equal(log.findConflictByTerm(10, 2), 5);
  assert.deepEqual(
    log.slice(2, 11).map((e) => e.index),
    [2, 3, 4, 5, 6, 7, 8, 9, 10],
  );
  assert.equal(reader.reads, 5);
  assert.deepEqual(log.entry(3), all[2]);
  assert.deepEqual(
    log.slice(5, 11, { bytesMax: Infinity, countMax: 1 }).map((e) => e.index),
    [5],
    'the limits hold on entries read back',
  );
  log.compact(4);
  assert.equal(log.term(4), 2);
  assert.equal(log.term(3), undefined);
  assert.deepEqual(
    log.slice(5, 8).map((e) => e.index),
    [5, 6, 7],
  );
  log.applied = 10;
  log.compact(8);
  assert.deepEqual(
    log.slice(9, 11).map((e) => e.index),
    [9, 10],
  );
});

test('a log without a reader keeps every entry in memory', () => {
  const log = new RaftLog({ snapshotIndex: 0, snapshotTerm: 0, entries: entries(1, [1, 1, 1]), committed: 3, applied: 3 });
  log.release(0);
  assert.equal(log.inMemory(1), true);
});

test('a reader that answers another entry than the one released stops the node', () => {
  const all = entries(1, [1, 1, 2, 2]);
  const wrong = all.map((e) => (e.index === 2 ? { ...e, term: 2 } : e));
  const log = new RaftLog({ snapshotIndex: 0, snapshotTerm: 0, entries: all, committed: 4, applied: 4, reader: readerOver(wrong) });
  log.release(0);
  assert.throws(() => log.slice(1, 5), /the log reader answered entry 2 \(term 2\) for entry 2 \(term 1\)/);
});

test('a follower far behind is caught up from entries the leader released from memory and reads back', () => {
  const c = new TestCluster({ ids: [1, 2, 3], config: { logMemoryBytesMax: 200, entriesPerMessageMax: 4 } });
  c.elect(1);
  c.crash(3);
  for (let i = 0; i < 40; i++) {
    assert.ok(c.proposeAt(1, `command ${i}`).ok);
    c.stabilize();
  }
  const leader = c.node(1);
  assert.equal(leader.status().firstIndex, 1, 'nothing was compacted');
  c.start(3);
  c.tickAll(3);
  assert.deepEqual(c.applied.get(3), c.applied.get(1));
  assert.equal((c.applied.get(3) as string[]).length, 40);
  // The leader holds only the last entries in memory, yet serves every one.
  assert.deepEqual(
    leader.entriesFrom(1).map((e) => e.index),
    Array.from({ length: leader.status().lastIndex }, (_, i) => i + 1),
  );
});

test('after a snapshot, the catch-up entries kept before it are counted, not weighed, once on disk', () => {
  const c = new TestCluster({ ids: [1, 2, 3], config: { logMemoryBytesMax: 100, snapshotCatchUpEntries: 20, snapshotCatchUpBytesMax: 50 } });
  c.elect(1);
  for (let i = 0; i < 30; i++) {
    if (i === 15) c.crash(3);
    assert.ok(c.proposeAt(1, `command ${i}`).ok);
    c.stabilize();
  }
  const index = c.compact(1);
  const leader = c.node(1);
  // 20 entries of more than 50 bytes in all stay: those released cost no memory.
  assert.equal(leader.status().firstIndex, index - 19);
  c.start(3);
  c.tickAll(3);
  assert.equal((c.applied.get(3) as string[]).length, 30);
  assert.equal(c.node(3).currentSnapshot(), undefined, 'caught up from the log, not sent the snapshot');
});
