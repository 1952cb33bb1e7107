import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Entry, HardState, Ready, Snapshot } from '../raft/types.js';
import { WriteLane, mergeWrites, type Write } from './write-lane.js';

const entry = (index: number, term: number): Entry => ({ index, term, kind: 'normal', data: new Uint8Array(0) });
const ready = (fields: { entries?: Entry[]; hardState?: HardState; snapshot?: Snapshot }): Ready => ({
  softState: undefined,
  hardState: fields.hardState,
  entries: fields.entries ?? [],
  snapshot: fields.snapshot,
  snapshotChunks: [],
  messages: [],
  committedEntries: [],
  readStates: [],
});

/** A lane whose writes complete only when the test says so. */
function heldLane(): { lane: WriteLane; writes: Write[]; complete: () => Promise<void>; durable: Ready[][] } {
  const writes: Write[] = [];
  const pending: (() => void)[] = [];
  const durable: Ready[][] = [];
  const lane = new WriteLane({
    save: (write) => {
      writes.push(write);
      return new Promise((resolve) => pending.push(resolve));
    },
    durable: (readys) => durable.push([...readys]),
    failed: (error) => assert.fail(String(error)),
  });
  const complete = async (): Promise<void> => {
    const resolve = pending.shift();
    assert.ok(resolve, 'a write is in flight');
    resolve();
    // Let the lane's continuation run.
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };
  return { lane, writes, complete, durable };
}

test('one write at a time: the Readys queued during it share the next write, and are reported durable in order after it', async () => {
  const { lane, writes, complete, durable } = heldLane();
  const first = ready({ entries: [entry(1, 1)] });
  lane.push(first);
  const second = ready({ entries: [entry(2, 1), entry(3, 1)] });
  const third = ready({ entries: [entry(4, 1)], hardState: { term: 1, vote: 1, commit: 2 } });
  lane.push(second);
  lane.push(third);
  assert.equal(writes.length, 1, 'the second write waits for the first');
  assert.deepEqual(durable, [], 'nothing is durable before its fsync');
  await complete();
  assert.deepEqual(durable, [[first]]);
  assert.equal(writes.length, 2);
  assert.deepEqual(
    writes[1]?.entries.map((e) => e.index),
    [2, 3, 4],
  );
  assert.deepEqual(writes[1]?.hardState, { term: 1, vote: 1, commit: 2 });
  assert.equal(lane.idle, false);
  await complete();
  assert.deepEqual(durable, [[first], [second, third]]);
  assert.equal(lane.idle, true);
});

test('merged writes: a later Ready overwrites the earlier ones from its first entry on, and the newest hard state wins', () => {
  const write = mergeWrites([
    ready({ entries: [entry(5, 1), entry(6, 1), entry(7, 1)], hardState: { term: 1, vote: 0, commit: 4 } }),
    ready({ entries: [entry(6, 2)], hardState: { term: 2, vote: 3, commit: 4 } }),
    ready({}),
  ]);
  assert.deepEqual(
    write.entries.map((e) => [e.index, e.term]),
    [
      [5, 1],
      [6, 2],
    ],
  );
  assert.deepEqual(write.hardState, { term: 2, vote: 3, commit: 4 });
});

test('a Ready that installs a snapshot starts a write of its own: the snapshot goes first, the entries after it with it', async () => {
  const { lane, writes, complete, durable } = heldLane();
  const before = ready({ entries: [entry(1, 1)] });
  const snapshot = ready({ snapshot: { meta: { index: 10, term: 1, config: { voters: [1], learners: [] } }, data: new Uint8Array(0) } });
  const after = ready({ entries: [entry(11, 1)] });
  lane.push(before);
  lane.push(snapshot);
  lane.push(after);
  await complete();
  await complete();
  assert.deepEqual(
    writes.map((w) => [w.snapshot?.meta.index, w.entries.map((e) => e.index)]),
    [
      [undefined, [1]],
      [10, [11]],
    ],
  );
  assert.deepEqual(durable, [[before], [snapshot, after]]);
});

test('a failed write is reported and the lane writes nothing more', async () => {
  const failures: unknown[] = [];
  let saves = 0;
  const lane = new WriteLane({
    save: async () => {
      saves++;
      throw new Error('fsync failed');
    },
    durable: () => assert.fail('nothing is durable'),
    failed: (error) => failures.push(error),
  });
  lane.push(ready({ entries: [entry(1, 1)] }));
  lane.push(ready({ entries: [entry(2, 1)] }));
  await lane.drained();
  lane.push(ready({ entries: [entry(3, 1)] }));
  await lane.drained();
  assert.equal(saves, 1);
  assert.equal(failures.length, 1);
});
