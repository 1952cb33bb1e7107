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

test('snapshot store: a snapshot the state machine holds is opened on its header alone; dataProblem() finds damaged data later', async () => {
  const fs = new FaultFileSystem();
  const { store } = await open(fs);
  await store.save(snap(10, 1));
  await store.save(snap(20, 1, 4096));
  fs.flipBit(`${DIR}/${snapshotFileName(20, 1)}`, 2000);
  const held = await SnapshotStore.open({ fs, dir: DIR, heldThrough: 20 });
  assert.deepEqual(held.damaged, []);
  assert.equal(held.snapshot?.meta.index, 20);
  assert.equal(held.snapshot?.dataChecked, false);
  assert.equal(await held.store.dataProblem({ index: 20, term: 1, config: { voters: [], learners: [] } }), 'crc mismatch');
  assert.equal(await held.store.dataProblem({ index: 10, term: 1, config: { voters: [], learners: [] } }), undefined);
  await held.snapshot?.data.close();
  assert.equal(await held.store.quarantineSaved(snap(20, 1).meta), true);
  assert.equal(await held.store.quarantineSaved(snap(20, 1).meta), false, 'gone already');
  assert.deepEqual(await fs.list(DIR), [snapshotFileName(10, 1), `${snapshotFileName(20, 1)}.corrupt`]);
  // One the state machine does not hold yet is checked whole at open, as before.
  await fs.rename(`${DIR}/${snapshotFileName(20, 1)}.corrupt`, `${DIR}/${snapshotFileName(20, 1)}`);
  const behind = await SnapshotStore.open({ fs, dir: DIR, heldThrough: 19 });
  assert.deepEqual(behind.damaged, [{ file: snapshotFileName(20, 1), reason: 'crc mismatch' }]);
  assert.equal(behind.snapshot?.meta.index, 10);
  assert.equal(behind.snapshot?.dataChecked, false, 'the older one is held, so its header alone is read');
  await behind.snapshot?.data.close();
  // A header that disagrees with the file's size is refused at open even when held.
  const handle = await fs.open(`${DIR}/${snapshotFileName(20, 1)}`, 'write');
  await handle.truncate(1000);
  await handle.sync();
  await handle.close();
  const truncated = await SnapshotStore.open({ fs, dir: DIR, heldThrough: 20 });
  assert.match(truncated.damaged[0]?.reason ?? '', /truncated/);
  await truncated.snapshot?.data.close();
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

test('snapshot store: a transfer a crash cut short goes on from its last checkpoint, whatever the crash kept after it', async () => {
  const whole = snap(40, 3, 100 * 40);
  const chunkAt = (offset: number, length = 100): { meta: Snapshot['meta']; offset: number; data: Uint8Array; done: boolean } => ({
    meta: whole.meta,
    offset,
    data: (whole.data as Uint8Array).subarray(offset, offset + length),
    done: offset + length >= (whole.data as Uint8Array).length,
  });
  const prng = new Prng(9);
  const resumedFrom = new Set<number>();
  for (let round = 0; round < 12; round++) {
    const fs = new FaultFileSystem();
    const { store } = await open(fs);
    // 16 chunks make a checkpoint: 35 chunks leave two and 3 chunks after them.
    const chunks = 16 + prng.int(24);
    for (let i = 0; i < chunks; i++) await store.receive(chunkAt(i * 100));
    const options: CrashOptions[] = [{}, { lastWrite: { mode: 'tear', keepBytes: prng.int(100) } }, { lastWrite: { mode: 'zero' } }, { prng: prng.fork() }];
    fs.crash(options[round % options.length] as CrashOptions);
    const logs: string[] = [];
    const reopened = await open(fs, logs);
    const checkpointed = Math.floor(chunks / 16) * 16 * 100;
    assert.deepEqual(reopened.transfer, whole.meta, `round ${round}: ${logs.join('; ')}`);
    assert.deepEqual(await reopened.store.resumeTransfer(), { meta: whole.meta, size: checkpointed }, `round ${round}`);
    resumedFrom.add(checkpointed);
    for (let offset = checkpointed; offset < (whole.data as Uint8Array).length; offset += 100) await reopened.store.receive(chunkAt(offset));
    const received = await reopened.store.received(whole.meta);
    assert.deepEqual(snapshotBytes(received), whole.data, `round ${round}: the bytes stitched across the crash are the snapshot's`);
    await received.close();
    await reopened.store.install({ meta: whole.meta, data: received });
    const again = await open(fs);
    assert.deepEqual(inMemory(again.snapshot), whole);
    assert.equal(again.transfer, undefined);
  }
  assert.deepEqual([...resumedFrom].sort(), [1600, 3200]);
});

test('snapshot store: a transfer file cut before its first checkpoint, or not one at all, is removed and the transfer starts over', async () => {
  const fs = new FaultFileSystem();
  const { store } = await open(fs);
  const meta = snap(50, 3).meta;
  await store.receive({ meta, offset: 0, data: new Uint8Array(100).fill(1), done: false });
  fs.crash({ prng: new Prng(2) });
  const first = await open(fs);
  assert.equal((await first.store.resumeTransfer())?.size ?? 0, 0, 'nothing was checkpointed');
  const handle = await fs.open(`${DIR}/${snapshotFileName(60, 3)}.receiving`, 'create');
  await handle.write(new TextEncoder().encode('not a snapshot file'), 0);
  await handle.sync();
  await handle.close();
  const logs: string[] = [];
  const second = await open(fs, logs);
  assert.ok(
    logs.some((line) => line.includes('is not a snapshot file')),
    logs.join('; '),
  );
  assert.equal(second.transfer?.index === 60, false);
  assert.ok(!(await fs.list(DIR)).some((name) => name.startsWith(snapshotFileName(60, 3))), 'the damaged transfer file is removed');
});
