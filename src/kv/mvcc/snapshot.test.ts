import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeCommand } from '../codec/command.js';
import { MvccStore } from './mvcc-store.js';
import { MemoryDisk } from '../env/memory-env.js';
import { bytes, openTempStore, withTempStore } from '../testing/temp-store.js';
import type { Command, RangeRequest } from '../types.js';
import type { Entry } from '../../raft/types.js';
import { Prng } from '../../lib/prng.js';

const ALL = new Uint8Array([0]);

/** `entry` made a put of `bytes` bytes to a key of its own. */
function bigPut(entry: Entry, size: number): Entry {
  return { ...entry, data: encodeCommand({ body: { type: 'put', key: bytes(`big/${entry.index}`), value: new Uint8Array(size).fill(entry.index % 251) } }) };
}

function log(from: number, count: number, seed: number): Entry[] {
  const random = new Prng(seed);
  const out: Entry[] = [];
  for (let index = from; index < from + count; index++) {
    const key = bytes(`key/${random.int(12)}`);
    const roll = random.int(23);
    const command: Command =
      roll < 12
        ? {
            body: { type: 'put', key, value: bytes(`v${index}`), lease: random.int(3) },
            session: { clientId: `c${random.int(4)}`, seq: index },
            timeMs: index * 100,
          }
        : roll < 16
          ? { body: { type: 'deleteRange', key, rangeEnd: bytes('key/5') } }
          : roll < 19
            ? {
                body: {
                  type: 'txn',
                  compare: [{ key, target: 'mod', result: 'less', operand: Math.max(0, index - 5) }],
                  success: [{ type: 'put', key, value: bytes('t') }],
                  failure: [],
                },
              }
            : roll < 20
              ? { body: { type: 'compact', revision: Math.max(1, index - 30) } }
              : roll < 22
                ? { body: { type: 'leaseGrant', id: 1 + random.int(2), ttl: 5 } }
                : { body: { type: 'leaseRevoke', id: 1 + random.int(2) } };
    out.push({ term: 2, index, kind: 'normal', data: encodeCommand(command) });
  }
  return out;
}

/** Every read the store can answer: whole ranges and single keys, at every readable revision. */
function answers(store: MvccStore): unknown[] {
  const out: unknown[] = [store.appliedIndex(), store.currentRevision(), store.compactedRevision(), store.leases(), store.leaseInfo(1), store.leaseInfo(2)];
  for (let revision = Math.max(1, store.compactedRevision() - 1); revision <= store.currentRevision() + 1; revision++) {
    const requests: RangeRequest[] = [
      { type: 'range', key: ALL, rangeEnd: ALL, revision },
      { type: 'range', key: bytes('key/1'), revision },
      { type: 'range', key: bytes('key/'), rangeEnd: bytes('key0'), revision, sortTarget: 'mod', sortOrder: 'descend', limit: 3 },
    ];
    for (const request of requests) out.push(store.range(request));
  }
  return out;
}

/**
 * A store's whole history, cheaply enough for megabytes of values: HashKV over every record of
 * every revision (values included), and the live keys with their values. Reading every revision
 * with its values, as answers() does, would copy gigabytes here.
 */
function historyOf(store: MvccStore): unknown[] {
  const current = store.currentRevision();
  return [store.appliedIndex(), current, store.compactedRevision(), store.hashKv(current), store.range({ type: 'range', key: ALL, rangeEnd: ALL })];
}

test('snapshot then restore into an empty store: every read, historical ones too, answers the same', async () => {
  const source = openTempStore({ compactionStepRecordsMax: 2 });
  const target = openTempStore({ compactionStepRecordsMax: 2 });
  try {
    source.store.applyEntries(log(1, 200, 11));
    assert.ok(source.store.compactedRevision() > 0);
    const snapshot = source.store.snapshot();
    assert.equal(snapshot.index, 200);
    target.store.restore(snapshot.index, snapshot.data);
    assert.equal(target.store.appliedIndex(), 200);
    assert.deepEqual(answers(target.store), answers(source.store));
    assert.deepEqual(target.store.stats(), source.store.stats());
    assert.equal(target.store.latestIndexProblem(), undefined, 'the restore builds the latest index, which no snapshot holds');
    // Both go on identically: sessions, clock and compaction progress came along.
    const more = log(201, 100, 12);
    const a = source.store.applyEntries(more);
    const b = target.store.applyEntries(more);
    assert.deepEqual(b, a);
    assert.deepEqual(answers(target.store), answers(source.store));
    assert.deepEqual(target.store.snapshot(), source.store.snapshot());
  } finally {
    await source.cleanup();
    await target.cleanup();
  }
});

test('restore replaces everything the store held, and survives a reopen', async () => {
  const source = await withTempStore((store) => {
    store.applyEntries(log(1, 50, 1));
    return { snapshot: store.snapshot(), answers: answers(store) };
  });
  const { store, path, cleanup } = openTempStore();
  try {
    store.applyEntries(log(1, 80, 99)); // other data, further along
    store.restore(source.snapshot.index, source.snapshot.data);
    assert.deepEqual(answers(store), source.answers);
    assert.equal(store.latestIndexProblem(), undefined, 'no key of the data replaced is left in the latest index');
    await store.close();
    const { MvccStore } = await import('./mvcc-store.js');
    const reopened = MvccStore.open({ path, sync: 'none' });
    assert.deepEqual(answers(reopened), source.answers);
    await reopened.close();
  } finally {
    await cleanup();
  }
});

test('a corrupt snapshot, or one for another index, is refused and changes nothing', async () => {
  await withTempStore((store) => {
    store.applyEntries(log(1, 30, 5));
    const snapshot = store.snapshot();
    const before = answers(store);
    const flipped = new Uint8Array(snapshot.data);
    flipped[flipped.length >> 1] = (flipped[flipped.length >> 1] as number) ^ 0x01;
    assert.throws(() => store.restore(snapshot.index, flipped), /checksum mismatch/);
    assert.throws(() => store.restore(snapshot.index, snapshot.data.subarray(0, 100)), /checksum mismatch/);
    assert.throws(() => store.restore(snapshot.index, new Uint8Array(10)), /bad magic/);
    assert.throws(() => store.restore(snapshot.index + 1, snapshot.data), /taken at index 30, not 31/);
    assert.deepEqual(answers(store), before);
  });
});

test('a snapshot already checked is restored in one pass; damaged since, it still throws and the store reads as never applied', async () => {
  await withTempStore((store) => {
    store.applyEntries(log(1, 30, 5));
    const snapshot = store.snapshot();
    const before = answers(store);
    store.applyEntries(log(31, 10, 5));
    store.restore(snapshot.index, snapshot.data, true);
    assert.equal(store.appliedIndex(), snapshot.index);
    assert.deepEqual(answers(store), before);
    const flipped = new Uint8Array(snapshot.data);
    flipped[flipped.length >> 1] = (flipped[flipped.length >> 1] as number) ^ 0x01;
    assert.throws(() => store.restore(snapshot.index, flipped, true), /checksum mismatch|Cannot restore/);
    // The meta table goes in last: the runtime sees applied index 0 and restores again.
    assert.equal(store.appliedIndex(), 0);
  });
});

test('the snapshot of a new store restores to a new store', async () => {
  const empty = await withTempStore((store) => store.snapshot());
  assert.equal(empty.index, 0);
  await withTempStore((store) => {
    store.applyEntries(log(1, 10, 3));
    store.restore(0, empty.data);
    assert.equal(store.appliedIndex(), 0);
    assert.equal(store.currentRevision(), 1);
    const all = store.range({ type: 'range', key: ALL, rangeEnd: ALL });
    assert.ok(all.ok && all.value.count === 0);
    assert.equal(store.stats().sessions, 0);
  });
});

test('a streamed snapshot of a store in memory holds the store as of its start, though entries are applied between its slices', async () => {
  const store = MvccStore.openOn(new MemoryDisk().open(), { compactionStepRecordsMax: 2 });
  store.applyEntries(log(1, 300, 17));
  const expected = store.snapshot();
  let next = 301;
  let slices = 0;
  // A zero-length slice: every pause applies more entries, which the snapshot must not see.
  const stream = await store.openSnapshotStream(0, async () => {
    slices++;
    store.applyEntries(log(next, 5, next));
    next += 5;
  });
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream.chunks) chunks.push(chunk);
  assert.ok(slices > 1, `the snapshot paused ${slices} times`);
  assert.equal(stream.index, 300);
  assert.deepEqual(Buffer.concat(chunks), Buffer.from(expected.data));
  assert.ok(store.appliedIndex() > 300);
  await store.close();
});

test('a snapshot of a store on LMDB is read out in a worker thread, as of its start, though entries are applied meanwhile', async () => {
  const source = openTempStore({ compactionStepRecordsMax: 2, snapshotWorkerBytesMin: 0 });
  try {
    // Values of up to 64 KiB: several chunks of 1 MiB, so the worker waits for them to be taken.
    source.store.applyEntries(log(1, 400, 17).map((entry, i) => (i % 4 === 0 ? bigPut(entry, 60_000) : entry)));
    const expected = source.store.snapshot();
    const stream = await source.store.openSnapshotStream(0, () => Promise.reject(new Error('a worker thread does not pause the event loop')));
    assert.equal(stream.index, 400);
    let next = 401;
    const chunks: Uint8Array[] = [];
    for await (const chunk of stream.chunks) {
      chunks.push(chunk);
      source.store.applyEntries(log(next, 5, next));
      next += 5;
    }
    assert.ok(chunks.length > 4, `${chunks.length} chunks`);
    assert.deepEqual(Buffer.concat(chunks), Buffer.from(expected.data));
    assert.ok(source.store.appliedIndex() > 400);
    // Closed early, the worker is let go and the store goes on.
    const early = await source.store.openSnapshotStream(0, async () => undefined);
    early.close();
    source.store.applyEntries(log(next, 5, next));
    assert.equal(source.store.appliedIndex(), next + 4);
  } finally {
    await source.cleanup();
  }
});

test("a snapshot's first bytes are checked as far as they go: the magic, then the index it was taken at", async () => {
  await withTempStore((store) => {
    store.applyEntries(log(1, 20, 3));
    const { index, data } = store.snapshot();
    for (const length of [1, 4, 8, 9, 12, 64, data.length])
      assert.equal(store.snapshotStartProblem(index, data.subarray(0, length)), undefined, `${length} bytes`);
    assert.match(store.snapshotStartProblem(index + 1, data.subarray(0, 64)) ?? '', /it was taken at index 20, not 21/);
    assert.match(store.snapshotStartProblem(index, new TextEncoder().encode('not a snapshot')) ?? '', /bad magic/);
    assert.match(
      store.snapshotStartProblem(index, new TextEncoder().encode('KEEL')) ?? 'nothing',
      /nothing/,
      'a prefix of the magic may be all of a first chunk',
    );
  });
});

test('restoreInSlices gives the store restore() gives, a write transaction at a time with between() between them', async () => {
  const source = openTempStore();
  const sliced = openTempStore();
  const whole = openTempStore();
  try {
    // About 20 MiB of values: two transactions of restoreBatchBytes (8 MiB) before the last.
    const entries: Entry[] = [];
    for (let index = 1; index <= 320; index++) {
      const value = new Uint8Array(64 * 1024).fill(index % 256);
      entries.push({ term: 1, index, kind: 'normal', data: encodeCommand({ body: { type: 'put', key: bytes(`big/${index % 200}`), value } }) });
    }
    source.store.applyEntries(entries);
    const snapshot = source.store.snapshot();
    whole.store.restore(snapshot.index, snapshot.data);
    let pauses = 0;
    await sliced.store.restoreInSlices(snapshot.index, snapshot.data, false, 0, async () => {
      pauses++;
    });
    assert.ok(pauses >= 2, `between() ran ${pauses} times`);
    const expected = historyOf(whole.store);
    assert.deepEqual(historyOf(sliced.store), expected);
    assert.deepEqual(historyOf(source.store), expected);
  } finally {
    await source.cleanup();
    await sliced.cleanup();
    await whole.cleanup();
  }
});
