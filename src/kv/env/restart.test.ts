import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeCommand } from '../codec/command.js';
import { MvccStore } from '../mvcc/mvcc-store.js';
import { bytes, makeTempDir, removeDir, withTempStore } from '../testing/temp-store.js';
import type { Command } from '../types.js';
import type { Entry } from '../../raft/types.js';
import { Prng } from '../../lib/prng.js';

const ALL = new Uint8Array([0]);

/** A reproducible mix of puts, deletes, txns and compactions, some with sessions, as Raft entries. */
function entries(count: number, seed: number): Entry[] {
  const random = new Prng(seed);
  const out: Entry[] = [];
  let revisionGuess = 1;
  for (let index = 1; index <= count; index++) {
    const key = bytes(`k${random.int(8)}`);
    const roll = random.int(10);
    let command: Command;
    if (roll < 5) command = { body: { type: 'put', key, value: bytes(`v${index}`) }, session: { clientId: `c${index % 3}`, seq: index }, timeMs: 1000 + index };
    else if (roll < 7) command = { body: { type: 'deleteRange', key, rangeEnd: Buffer.compare(key, bytes('k5')) < 0 ? bytes('k5') : ALL } };
    else if (roll < 9) {
      command = {
        body: {
          type: 'txn',
          compare: [{ key, target: 'version', result: 'greater', operand: 1 }],
          success: [{ type: 'put', key, value: bytes('big') }],
          failure: [{ type: 'put', key: bytes('other'), value: bytes(`${index}`) }],
        },
      };
    } else command = { body: { type: 'compact', revision: Math.max(1, revisionGuess - 3) } };
    revisionGuess++;
    out.push({ term: 1, index, kind: index % 17 === 0 ? 'config' : 'normal', data: index % 13 === 0 ? new Uint8Array(0) : encodeCommand(command) });
  }
  return out;
}

function everyRead(store: MvccStore): unknown[] {
  const reads: unknown[] = [];
  for (let revision = Math.max(1, store.compactedRevision()); revision <= store.currentRevision(); revision++) {
    reads.push(store.range({ type: 'range', key: ALL, rangeEnd: ALL, revision }));
  }
  return [store.appliedIndex(), store.currentRevision(), store.compactedRevision(), reads];
}

test('apply is idempotent across a restart: entries at or below the applied index are skipped on replay', async () => {
  const log = entries(120, 7);
  const reference = await withTempStore((store) => {
    store.applyEntries(log);
    return everyRead(store);
  });
  const dir = makeTempDir();
  try {
    let store = MvccStore.open({ path: dir });
    store.applyEntries(log.slice(0, 50));
    store.applyEntries(log.slice(50, 80));
    await store.flush();
    await store.close();

    // The runtime does not know exactly what the state machine kept; it replays from an
    // earlier point (here: its last snapshot at 40). Entries up to 80 must be skipped.
    store = MvccStore.open({ path: dir });
    assert.equal(store.appliedIndex(), 80);
    const replay = store.applyEntries(log.slice(40, 120));
    assert.deepEqual(
      replay.slice(0, 40).map((o) => o.status),
      new Array(40).fill('skipped'),
    );
    assert.ok(replay.slice(40).every((o) => o.status !== 'skipped'));
    assert.deepEqual(everyRead(store), reference);
    // Applying the same entries once more changes nothing at all.
    assert.ok(store.applyEntries(log).every((o) => o.status === 'skipped'));
    assert.deepEqual(everyRead(store), reference);
    await store.close();

    store = MvccStore.open({ path: dir });
    assert.deepEqual(everyRead(store), reference, 'the state survives the reopen');
    await store.close();
  } finally {
    removeDir(dir);
  }
});

test('a batch that fails part-way leaves nothing behind, and is replayed whole', async () => {
  const log = entries(30, 3);
  const dir = makeTempDir();
  try {
    const store = MvccStore.open({ path: dir, sync: 'full' });
    store.applyEntries(log.slice(0, 10));
    const before = everyRead(store);
    // Entry 25 after 20 is a gap: the runtime is broken; the batch must not half-apply.
    assert.throws(() => store.applyEntries([...log.slice(10, 20), log[24] as Entry]), /entries must be applied in order/);
    assert.deepEqual(everyRead(store), before);
    store.applyEntries(log.slice(10));
    const after = await withTempStore((fresh) => {
      fresh.applyEntries(log);
      return everyRead(fresh);
    });
    assert.deepEqual(everyRead(store), after);
    await store.close();
  } finally {
    removeDir(dir);
  }
});

test('a store refuses to open an environment of another format', async () => {
  const dir = makeTempDir();
  try {
    const store = MvccStore.open({ path: dir });
    await store.close();
    // Tamper with the format marker through a second, raw handle.
    const { open } = await import('lmdb');
    const root = open({ path: dir, maxDbs: 8 });
    const meta = root.openDB('meta', { keyEncoding: 'binary', encoding: 'binary' });
    await meta.put(Buffer.from('format'), Buffer.from([9]));
    await root.close();
    assert.throws(() => MvccStore.open({ path: dir }), /format 9, this version reads format 1/);
  } finally {
    removeDir(dir);
  }
});

test('a store whose latest index was not kept up (written by a build without it) rebuilds it at open', async () => {
  const log = entries(120, 5);
  const dir = makeTempDir();
  try {
    let store = MvccStore.open({ path: dir });
    store.applyEntries(log.slice(0, 60));
    await store.close();
    // What a build without the index leaves: entries applied, the index neither written nor marked.
    const { open } = await import('lmdb');
    const root = open({ path: dir, maxDbs: 16 });
    const meta = root.openDB('meta', { keyEncoding: 'binary', encoding: 'binary' });
    const latest = root.openDB('latest', { keyEncoding: 'binary', encoding: 'binary' });
    await meta.remove(Buffer.from('latest-applied'));
    await latest.clearAsync();
    await root.close();

    store = MvccStore.open({ path: dir });
    assert.equal(store.latestIndexProblem(), undefined);
    store.applyEntries(log.slice(60));
    const reference = await withTempStore((fresh) => {
      fresh.applyEntries(log);
      return everyRead(fresh);
    });
    assert.deepEqual(everyRead(store), reference);
    assert.equal(store.latestIndexProblem(), undefined);
    await store.close();
  } finally {
    removeDir(dir);
  }
});
