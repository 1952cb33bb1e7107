import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Entry, HardState, Snapshot } from '../raft/types.js';
import { defaultRaftConfig } from '../raft/types.js';
import { RaftNode } from '../raft/node.js';
import { Prng } from '../lib/prng.js';
import { FaultFileSystem, PowerCutError } from './fault-file-system.js';
import { ForwardingFileSystem } from './forwarding-file-system.js';
import { FsyncError, NodeFileSystem } from './file-system.js';
import type { FileHandle, FileSystem } from './file-system.js';
import { SnapshotCorruptionError, StorageUnusableError } from './errors.js';
import { RaftStorage } from './raft-storage.js';
import { SnapshotStore, snapshotFileName } from './snapshot-store.js';
import { snapshotBytes } from '../raft/testing/snapshot-bytes.js';

const DIR = '/node1';

const e = (index: number, term: number): Entry => ({ index, term, kind: 'normal', data: new TextEncoder().encode(`cmd ${index}`) });
const range = (from: number, to: number, term: number): Entry[] => Array.from({ length: to - from + 1 }, (_, i) => e(from + i, term));
const hs = (term: number, vote: number, commit: number): HardState => ({ term, vote, commit });
const snap = (index: number, term: number): Snapshot => ({
  meta: { index, term, config: { voters: [1, 2, 3], learners: [] } },
  data: new TextEncoder().encode(`state at ${index}`),
});

/**
 * Opens the storage; the snapshot it finds is read from its file (and the file closed),
 * to compare with ones built in memory. Segments of 4 MiB unless a test says: the
 * default 64 MiB made each open preallocate and scan 64 MiB of zeros in memory.
 */
function opener(fs: FileSystem, dir = DIR, segmentBytesMax = 4 * 1024 * 1024): { logs: string[]; open: () => ReturnType<typeof RaftStorage.open> } {
  const logs: string[] = [];
  const open: () => ReturnType<typeof RaftStorage.open> = async () => {
    const opened = await RaftStorage.open({ fs, dir, log: (m) => logs.push(m), segmentBytesMax });
    const { snapshot } = opened.persisted;
    const persisted = { ...opened.persisted, snapshot: snapshot && { meta: snapshot.meta, data: snapshotBytes(snapshot.data) } };
    await opened.snapshotFile?.close();
    return { ...opened, snapshotFile: undefined, persisted };
  };
  return { logs, open };
}

test('raft storage: a new node starts empty; a saved Ready is there after a restart', async () => {
  const fs = new FaultFileSystem();
  const { open } = opener(fs);
  const { storage, persisted } = await open();
  assert.deepEqual(persisted, { hardState: hs(0, 0, 0), snapshot: undefined, entries: [] });
  await storage.saveReady({ hardState: hs(1, 1, 2), entries: range(1, 3, 1), snapshot: undefined });
  fs.crash(); // durable before saveReady resolved: no close needed
  const again = await open();
  assert.deepEqual(again.persisted, { hardState: hs(1, 1, 2), snapshot: undefined, entries: range(1, 3, 1) });
  assert.deepEqual(await fs.list(DIR), ['snap', 'wal']);
});

test('raft storage: local snapshots compact the WAL, keeping what the previous snapshot would need', async () => {
  const fs = new FaultFileSystem();
  const { open } = opener(fs, DIR, 400);
  const { storage } = await open();
  for (let i = 1; i <= 100; i += 5) await storage.saveReady({ hardState: hs(1, 1, i + 4), entries: range(i, i + 4, 1), snapshot: undefined });
  const before = (await fs.list(`${DIR}/wal`)).length;
  await storage.saveSnapshot(snap(50, 1));
  await storage.saveSnapshot(snap(90, 1));
  await storage.saveSnapshot(snap(90, 1)); // again: nothing to do
  const after = await fs.list(`${DIR}/wal`);
  assert.ok(after.length < before, `${before} -> ${after.length} segments`);
  assert.deepEqual(await fs.list(`${DIR}/snap`), [snapshotFileName(50, 1), snapshotFileName(90, 1)]);
  await storage.close();
  const { persisted } = await open();
  assert.deepEqual(persisted.snapshot, snap(90, 1));
  assert.deepEqual(persisted.entries, range(91, 100, 1));
  assert.deepEqual(persisted.hardState, hs(1, 1, 100));
});

test('raft storage: a Ready carrying a snapshot from the leader replaces the log', async () => {
  const fs = new FaultFileSystem();
  const { open } = opener(fs, DIR, 300);
  const { storage } = await open();
  for (let i = 1; i <= 30; i += 5) await storage.saveReady({ hardState: hs(1, 1, 3), entries: range(i, i + 4, 1), snapshot: undefined });
  await storage.saveReady({ snapshot: snap(40, 3), hardState: hs(3, 0, 40), entries: range(41, 42, 3) });
  assert.equal((await fs.list(`${DIR}/wal`)).filter((name) => name.endsWith('.wal')).length, 1, 'segments voided by the restore are deleted');
  await storage.close();
  const { persisted } = await open();
  assert.deepEqual(persisted, { hardState: hs(3, 0, 40), snapshot: snap(40, 3), entries: range(41, 42, 3) });
});

test('raft storage: a crash between a local snapshot and its WAL record is completed at the next start', async () => {
  const fs = new FaultFileSystem();
  const { open, logs } = opener(fs);
  const { storage } = await open();
  await storage.saveReady({ hardState: hs(2, 1, 10), entries: range(1, 10, 2), snapshot: undefined });
  await storage.close();
  // The snapshot reached the disk, the WAL record did not.
  const { store } = await SnapshotStore.open({ fs, dir: `${DIR}/snap` });
  await store.save(snap(7, 2));
  const { storage: s2, persisted } = await open();
  assert.deepEqual(persisted, { hardState: hs(2, 1, 10), snapshot: snap(7, 2), entries: range(8, 10, 2) });
  assert.match(logs.join('\n'), /recording the compaction to snapshot 7/);
  await s2.close();
  logs.length = 0;
  assert.deepEqual((await open()).persisted.entries, range(8, 10, 2));
  assert.deepEqual(logs, [], 'the fix was made durable');
});

test('raft storage: a crash between an installed snapshot and its WAL record voids the old log at the next start', async () => {
  const fs = new FaultFileSystem();
  const { open, logs } = opener(fs);
  const { storage } = await open();
  await storage.saveReady({ hardState: hs(2, 1, 3), entries: range(1, 10, 2), snapshot: undefined });
  await storage.close();
  const { store } = await SnapshotStore.open({ fs, dir: `${DIR}/snap` });
  await store.save(snap(8, 4)); // term 4: not the entry this node has at 8
  const { persisted } = await open();
  assert.deepEqual(persisted, { hardState: hs(2, 1, 3), snapshot: snap(8, 4), entries: [] });
  assert.match(logs.join('\n'), /installation of snapshot 8/);
});

/** Entries 1..60, snapshots at 20 and 50, then a bit of the one at 50 flipped. */
async function entriesThenTwoSnapshotsTheNewestDamaged(fs: FaultFileSystem, open: ReturnType<typeof opener>['open']): Promise<void> {
  const { storage } = await open();
  for (let i = 1; i <= 60; i += 5) await storage.saveReady({ hardState: hs(1, 1, i + 4), entries: range(i, i + 4, 1), snapshot: undefined });
  await storage.saveSnapshot(snap(20, 1));
  await storage.saveSnapshot(snap(50, 1));
  await storage.close();
  fs.flipBit(`${DIR}/snap/${snapshotFileName(50, 1)}`, 40);
}

test('raft storage: a damaged newest snapshot falls back to the previous one plus the WAL, loudly, and is moved aside', async () => {
  const fs = new FaultFileSystem();
  const { open, logs } = opener(fs, DIR, 300);
  await entriesThenTwoSnapshotsTheNewestDamaged(fs, open);
  const { persisted } = await open();
  assert.deepEqual(persisted.snapshot, snap(20, 1));
  assert.deepEqual(persisted.entries, range(21, 60, 1));
  assert.match(logs.join('\n'), /SNAPSHOT FALLBACK: the newest snapshot file 0000000000000050-0000000000000001\.snap is damaged \(crc mismatch\)/);
  assert.deepEqual(await fs.list(`${DIR}/snap`), [snapshotFileName(20, 1), `${snapshotFileName(50, 1)}.corrupt`]);
});

test('raft storage: a snapshot the state machine holds is not read through at open; moved aside once found damaged, the next start falls back to the previous one', async () => {
  const fs = new FaultFileSystem();
  const { open } = opener(fs, DIR, 300);
  await entriesThenTwoSnapshotsTheNewestDamaged(fs, open);
  const logs: string[] = [];
  const held = await RaftStorage.open({ fs, dir: DIR, log: (m) => logs.push(m), segmentBytesMax: 300, stateHeldThrough: 60 });
  assert.equal(held.snapshotDataChecked, false);
  assert.equal(held.persisted.snapshot?.meta.index, 50);
  assert.deepEqual(held.persisted.entries, range(51, 60, 1));
  assert.deepEqual(logs, [], 'nothing found wrong at open');
  assert.equal(await held.storage.snapshotDataProblem(snap(50, 1).meta), 'crc mismatch');
  assert.equal(await held.storage.quarantineSnapshot(snap(50, 1).meta), true);
  await held.snapshotFile?.close();
  await held.storage.close();
  const again = await open();
  assert.equal(again.snapshotDataChecked, true);
  assert.deepEqual(again.persisted.snapshot, snap(20, 1));
  assert.deepEqual(again.persisted.entries, range(21, 60, 1));
});

test('raft storage: a damaged newest snapshot with no way back is refused, naming the file', async () => {
  const fs = new FaultFileSystem();
  const { open } = opener(fs, DIR, 300);
  const { storage } = await open();
  for (let i = 1; i <= 60; i += 5) await storage.saveReady({ hardState: hs(1, 1, i + 4), entries: range(i, i + 4, 1), snapshot: undefined });
  await storage.saveSnapshot(snap(20, 1));
  await storage.saveSnapshot(snap(40, 1));
  await storage.saveSnapshot(snap(55, 1)); // the WAL now holds entries after 40 only
  await storage.close();
  // An even older snapshot is present (kept by hand), but the WAL cannot bridge 11..40.
  const { store } = await SnapshotStore.open({ fs, dir: `${DIR}/snap`, keep: 3 });
  await store.save(snap(10, 1));
  fs.flipBit(`${DIR}/snap/${snapshotFileName(55, 1)}`, 40);
  fs.flipBit(`${DIR}/snap/${snapshotFileName(40, 1)}`, 40);
  await assert.rejects(
    open(),
    (err: unknown) => err instanceof SnapshotCorruptionError && err.file === snapshotFileName(55, 1) && /no longer holds entries 11\.\.55/.test(err.message),
  );
  assert.ok((await fs.list(`${DIR}/snap`)).includes(snapshotFileName(55, 1)), 'nothing is moved aside when refusing');
});

test('raft storage: a failed fsync throws FsyncError and the storage refuses every later write', async () => {
  const fs = new FaultFileSystem();
  const { open } = opener(fs);
  const { storage } = await open();
  await storage.saveReady({ hardState: hs(1, 1, 0), entries: range(1, 2, 1), snapshot: undefined });
  fs.failNextSync();
  await assert.rejects(storage.saveReady({ hardState: hs(1, 1, 2), entries: range(3, 3, 1), snapshot: undefined }), FsyncError);
  await assert.rejects(storage.saveReady({ hardState: undefined, entries: range(3, 3, 1), snapshot: undefined }), StorageUnusableError);
  await assert.rejects(storage.saveSnapshot(snap(2, 1)), StorageUnusableError);
});

// ---------------------------------------------------------------------------
// With the real consensus core: a single-node cluster whose disk loses power at
// random moments. Every command the state machine applied (so it was committed,
// so a client may have been told) must still be there after every restart.
// ---------------------------------------------------------------------------

const encodeState = (commands: string[]): Uint8Array => new TextEncoder().encode(JSON.stringify(commands));
const decodeState = (data: Uint8Array): string[] => JSON.parse(new TextDecoder().decode(data)) as string[];

async function runNode(fs: FaultFileSystem, prng: Prng, proposals: number, counter: { next: number }): Promise<{ applied: string[]; crashed: boolean }> {
  let opened: Awaited<ReturnType<typeof RaftStorage.open>>;
  try {
    opened = await RaftStorage.open({ fs, dir: DIR, log: () => undefined, segmentBytesMax: 512 });
  } catch (error) {
    if (!(error instanceof PowerCutError)) throw error;
    return { applied: [], crashed: true }; // nothing applied in this life
  }
  const { storage, persisted } = opened;
  const node = new RaftNode({ config: { ...defaultRaftConfig, id: 1 }, persisted, bootstrap: { voters: [1], learners: [] }, random: prng.fork() });
  let applied: string[] = [];
  const drain = async (): Promise<void> => {
    while (node.hasReady()) {
      const ready = node.ready();
      await storage.saveReady(ready);
      if (ready.snapshot) applied = decodeState(snapshotBytes(ready.snapshot.data));
      for (const entry of ready.committedEntries) if (entry.kind === 'normal' && entry.data.length > 0) applied.push(new TextDecoder().decode(entry.data));
      node.advance(ready);
      node.checkInvariants();
    }
  };
  try {
    // Read from the snapshot file, which a power cut can stop too.
    applied = persisted.snapshot ? decodeState(snapshotBytes(persisted.snapshot.data)) : [];
    await drain();
    for (let i = 0; i < 100 && node.status().role !== 'leader'; i++) {
      node.tick();
      await drain();
    }
    assert.equal(node.status().role, 'leader');
    for (let i = 0; i < proposals; i++) {
      const burst = prng.between(1, 4);
      for (let b = 0; b < burst; b++) assert.ok(node.propose(new TextEncoder().encode(`c${counter.next++}`)).ok);
      await drain();
      const status = node.status();
      if (status.applied - status.firstIndex > 8 && prng.chance(0.3)) {
        node.compact({ index: status.applied, data: encodeState(applied) });
        await storage.saveSnapshot(node.currentSnapshot() as Snapshot);
      }
    }
    await storage.close();
    return { applied, crashed: false };
  } catch (error) {
    if (!(error instanceof PowerCutError)) throw error;
    return { applied, crashed: true };
  }
}

test('raft storage with RaftNode: commands applied before a power cut are all there after restarts (100 seeds)', async () => {
  let crashes = 0;
  for (let seed = 1; seed <= 100; seed++) {
    const prng = new Prng(seed);
    const fs = new FaultFileSystem();
    const counter = { next: 0 };
    let acknowledged: string[] = [];
    for (let life = 0; life < 8; life++) {
      if (prng.chance(0.8)) fs.crashAfter(prng.between(1, 60));
      const { applied, crashed } = await runNode(fs, prng, prng.between(3, 15), counter);
      if (applied.length >= acknowledged.length) {
        assert.deepEqual(applied.slice(0, acknowledged.length), acknowledged, `seed ${seed} life ${life}: what was applied before is applied again, in order`);
        acknowledged = applied;
      } else {
        // A power cut before this life re-applied everything: what it did apply must agree.
        assert.ok(crashed, `seed ${seed} life ${life}: a clean run re-applies everything`);
        assert.deepEqual(applied, acknowledged.slice(0, applied.length), `seed ${seed} life ${life}`);
      }
      if (crashed) {
        crashes += 1;
        fs.crash({ prng: prng.fork() });
      } else {
        fs.crash({ prng: prng.fork() }); // even after a clean stop, only durable state counts
      }
    }
    const last = await runNode(fs, prng, 0, counter);
    assert.deepEqual(last.applied.slice(0, acknowledged.length), acknowledged, `seed ${seed}: final restart`);
  }
  assert.ok(crashes > 200, `${crashes} crashes`);
});

test('raft storage on the real file system (temp dir): save, snapshot, reopen', async () => {
  const root = await mkdtemp(join(tmpdir(), 'keel-storage-'));
  try {
    const { open } = opener(new NodeFileSystem(), root, 4096);
    const { storage } = await open();
    for (let i = 1; i <= 200; i += 10) await storage.saveReady({ hardState: hs(1, 1, i + 9), entries: range(i, i + 9, 1), snapshot: undefined });
    await storage.saveReady({ hardState: hs(2, 2, 190), entries: range(195, 196, 2), snapshot: undefined });
    await storage.saveSnapshot(snap(150, 1));
    await storage.close();
    const { storage: again, persisted } = await open();
    assert.deepEqual(persisted.snapshot, snap(150, 1));
    assert.deepEqual(persisted.entries, [...range(151, 194, 1), ...range(195, 196, 2)]);
    assert.deepEqual(persisted.hardState, hs(2, 2, 190));
    await again.close();
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

/** Forwards to `inner`, but holds the fsync of a snapshot file being written until `release()`. */
class HeldSnapshotSync extends ForwardingFileSystem {
  held = false;
  private releaseSync: () => void = () => {};
  private readonly gate = new Promise<void>((resolve) => {
    this.releaseSync = resolve;
  });
  release(): void {
    this.releaseSync();
  }
  override async open(path: string, mode: 'create' | 'write' | 'read'): Promise<FileHandle> {
    const handle = await this.inner.open(path, mode);
    if (!path.endsWith('.snap.tmp')) return handle;
    return Object.assign(Object.create(handle) as FileHandle, {
      sync: async () => {
        this.held = true;
        await this.gate;
        await handle.sync();
      },
    });
  }
}

test('raft storage: Readys are persisted while a local snapshot file is still being written', { timeout: 10_000 }, async () => {
  const faults = new FaultFileSystem();
  const fs = new HeldSnapshotSync(faults);
  const { open } = opener(fs);
  const { storage } = await open();
  await storage.saveReady({ hardState: hs(1, 1, 10), entries: range(1, 10, 1), snapshot: undefined });
  const saving = storage.saveSnapshot(snap(5, 1));
  await waitUntil(() => fs.held);
  // With the snapshot's fsync held, a Ready still reaches the disk (a test timeout otherwise).
  await storage.saveReady({ hardState: hs(1, 1, 12), entries: range(11, 12, 1), snapshot: undefined });
  fs.release();
  await saving;
  faults.crash();
  const again = await opener(faults).open();
  assert.equal(again.persisted.snapshot?.meta.index, 5);
  assert.deepEqual(again.persisted.entries, range(6, 12, 1));
  assert.deepEqual(again.persisted.hardState, hs(1, 1, 12));
});

/** Lets pending I/O callbacks run until `condition` holds. */
async function waitUntil(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}
