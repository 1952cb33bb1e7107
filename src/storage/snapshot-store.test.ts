import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Snapshot } from '../raft/types.js';
import { Prng } from '../lib/prng.js';
import { FaultFileSystem, PowerCutError } from './fault-file-system.js';
import type { CrashOptions } from './fault-file-system.js';
import { FsyncError } from './file-system.js';
import { StorageUnusableError } from './errors.js';
import { SnapshotStore, snapshotFileName } from './snapshot-store.js';
import type { StoredSnapshot } from './snapshot-store.js';
import { snapshotBytes } from '../raft/testing/snapshot-bytes.js';

const DIR = '/n/snap';

function snap(index: number, term: number, size = 100): Snapshot {
  return { meta: { index, term, config: { voters: [1, 2, 3], learners: [] } }, data: Uint8Array.from({ length: size }, (_, i) => (i + index) & 0xff) };
}

/** A loaded snapshot with its data read from its file, to compare with one built in memory. */
function inMemory(snapshot: StoredSnapshot | undefined): Snapshot | undefined {
  return snapshot && { meta: snapshot.meta, data: snapshotBytes(snapshot.data) };
}

function open(fs: FaultFileSystem, logs: string[] = []): ReturnType<typeof SnapshotStore.open> {
  return SnapshotStore.open({ fs, dir: DIR, log: (m) => logs.push(m) });
}

test('snapshot store: an empty store has no snapshot; a saved one loads back; the newest two are kept', async () => {
  const fs = new FaultFileSystem();
  const { store, snapshot, damaged } = await open(fs);
  assert.equal(snapshot, undefined);
  assert.deepEqual(damaged, []);
  for (const [i, t] of [
    [10, 1],
    [20, 1],
    [30, 2],
  ] as const)
    await store.save(snap(i, t));
  assert.deepEqual(await store.files(), [snapshotFileName(20, 1), snapshotFileName(30, 2)]);
  assert.equal(snapshotFileName(30, 2), '0000000000000030-0000000000000002.snap');
  fs.crash(); // everything was synced
  const reopened = await open(fs);
  assert.deepEqual(inMemory(reopened.snapshot), snap(30, 2));
});

test('snapshot store: a crash at any point of a save leaves the previous snapshot intact (or the new one complete)', async () => {
  const prng = new Prng(3);
  let sawOld = 0;
  let sawNew = 0;
  for (let cutAt = 1; cutAt <= 12; cutAt++) {
    for (let round = 0; round < 8; round++) {
      const fs = new FaultFileSystem();
      const { store } = await open(fs);
      await store.save(snap(10, 1, 5000));
      await store.save(snap(20, 1, 5000));
      fs.crashAfter(cutAt);
      const outcome = await store.save(snap(30, 2, 5000)).then(
        () => 'done',
        (e: unknown) => {
          assert.ok(e instanceof PowerCutError, String(e));
          return 'cut';
        },
      );
      const options: CrashOptions[] = [{}, { lastWrite: { mode: 'tear', keepBytes: prng.int(5000) } }, { lastWrite: { mode: 'zero' } }, { prng: prng.fork() }];
      fs.crash(outcome === 'done' ? {} : (options[round % options.length] as CrashOptions));
      const logs: string[] = [];
      const { snapshot, damaged } = await open(fs, logs);
      assert.deepEqual(damaged, [], `cut at ${cutAt}: no damaged file under a real name`);
      assert.ok(snapshot, `cut at ${cutAt}: a snapshot is there`);
      if (snapshot.meta.index === 30) {
        sawNew += 1;
        assert.deepEqual(inMemory(snapshot), snap(30, 2, 5000));
      } else {
        sawOld += 1;
        assert.deepEqual(inMemory(snapshot), snap(20, 1, 5000));
      }
      assert.ok(!(await fs.list(DIR)).some((n) => n.endsWith('.tmp')), 'leftover temp files are removed');
    }
  }
  assert.ok(sawOld > 0 && sawNew > 0, `old ${sawOld}, new ${sawNew}`);
});

test('snapshot store: a damaged newest snapshot is reported by name, and the older valid one is loaded', async () => {
  const fs = new FaultFileSystem();
  const { store } = await open(fs);
  await store.save(snap(10, 1));
  await store.save(snap(20, 1));
  fs.flipBit(`${DIR}/${snapshotFileName(20, 1)}`, 60);
  const { store: reopened, snapshot, damaged } = await open(fs);
  assert.deepEqual(inMemory(snapshot), snap(10, 1));
  assert.deepEqual(damaged, [{ file: snapshotFileName(20, 1), reason: 'crc mismatch' }]);
  await reopened.quarantine(damaged.map((d) => d.file));
  assert.deepEqual(await fs.list(DIR), [snapshotFileName(10, 1), `${snapshotFileName(20, 1)}.corrupt`]);
  const again = await open(fs);
  assert.deepEqual(again.damaged, []);
});

test('snapshot store: a file whose contents disagree with its name is damaged', async () => {
  const fs = new FaultFileSystem();
  const { store } = await open(fs);
  await store.save(snap(10, 1));
  await fs.rename(`${DIR}/${snapshotFileName(10, 1)}`, `${DIR}/${snapshotFileName(11, 1)}`);
  const { snapshot, damaged } = await open(fs);
  assert.equal(snapshot, undefined);
  assert.match(damaged[0]?.reason ?? '', /holds the snapshot at index 10, term 1/);
});

test('snapshot store: a failed fsync throws FsyncError, later saves are refused, and the previous snapshot survives', async () => {
  const fs = new FaultFileSystem();
  const { store } = await open(fs);
  await store.save(snap(10, 1));
  fs.failNextSync();
  await assert.rejects(store.save(snap(20, 1)), FsyncError);
  await assert.rejects(store.save(snap(30, 1)), StorageUnusableError);
  fs.crash();
  assert.deepEqual(inMemory((await open(fs)).snapshot), snap(10, 1));
});
