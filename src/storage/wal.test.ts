import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Entry, HardState } from '../raft/types.js';
import { FaultFileSystem } from './fault-file-system.js';
import { FsyncError } from './file-system.js';
import { StorageUnusableError, WalCorruptionError } from './errors.js';
import { Wal } from './wal.js';
import type { WalOptions } from './wal.js';
import { scanRecords } from './record-codec.js';
import { segmentName } from './wal-segments.js';

const DIR = '/node/wal';

function entry(index: number, term: number, text = `e${index}t${term}`): Entry {
  return { index, term, kind: 'normal', data: new TextEncoder().encode(text) };
}

function range(from: number, to: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(entry(i, term));
  return out;
}

const hs = (term: number, vote: number, commit: number): HardState => ({ term, vote, commit });

interface Harness {
  fs: FaultFileSystem;
  logs: string[];
  open(extra?: Partial<WalOptions>): ReturnType<typeof Wal.open>;
}

/**
 * Segments of 4 MiB unless a test says: every test's writes fit in one, and the default
 * 64 MiB made each open preallocate, read and scan 64 MiB of zeros in memory (about
 * 2 s a test).
 */
function harness(segmentBytesMax = 4 * 1024 * 1024): Harness {
  const fs = new FaultFileSystem();
  const logs: string[] = [];
  return {
    fs,
    logs,
    // Waits for the background preparation of the next segment, so that the file
    // operations a test counts or arms a crash after are the WAL's writes alone.
    open: async (extra = {}) => {
      const opened = await Wal.open({ fs, dir: DIR, log: (m) => logs.push(m), segmentBytesMax, ...extra });
      await opened.wal.nextSegmentSettled();
      return opened;
    },
  };
}

/** Where a segment's records end: the rest of the file is preallocated zeros. */
async function recordsEnd(fs: FaultFileSystem, path: string): Promise<number> {
  return scanRecords(await fs.readFile(path)).goodBytes;
}

async function segments(fs: FaultFileSystem): Promise<string[]> {
  return (await fs.list(DIR)).filter((n) => n.endsWith('.wal'));
}

/** The offsets of every record in a segment, for aiming damage. */
async function recordOffsets(fs: FaultFileSystem, name: string): Promise<number[]> {
  return scanRecords(await fs.readFile(`${DIR}/${name}`)).records.map((r) => r.offset);
}

test('wal: a new WAL is empty; what was saved comes back after a restart', async () => {
  const h = harness();
  const first = await h.open();
  assert.deepEqual(first.state, {
    hardState: hs(0, 0, 0),
    entries: [],
    snapshotIndex: 0,
    snapshotTerm: 0,
    spilled: undefined,
    compacted: [],
    bytesAfterSnapshot: 0,
  });
  assert.deepEqual(await segments(h.fs), [segmentName(1, 1)]);
  await first.wal.save({ hardState: hs(1, 1, 0), entries: range(1, 3, 1) });
  await first.wal.save({ hardState: hs(1, 1, 2), entries: [] });
  await first.wal.close();
  const second = await h.open();
  assert.deepEqual(second.state.entries, range(1, 3, 1));
  assert.deepEqual(second.state.hardState, hs(1, 1, 2));
  assert.deepEqual(h.logs, []);
});

test('wal: group commit — one save of 64 entries and a hard state costs exactly one durable write, and no separate flush', async () => {
  const h = harness();
  const { wal } = await h.open();
  const before = { ...h.fs.stats };
  await wal.save({ hardState: hs(2, 1, 10), entries: range(1, 64, 2) });
  assert.equal(h.fs.stats.durableWrites - before.durableWrites, 1);
  assert.equal(h.fs.stats.writes - before.writes, 0);
  assert.equal(h.fs.stats.datasyncs - before.datasyncs, 0);
  assert.equal(h.fs.stats.syncs - before.syncs, 0);
  assert.equal(h.fs.stats.dirSyncs - before.dirSyncs, 0);
});

test('wal: what a completed save covered survives a crash; an unsynced write does not', async () => {
  const h = harness();
  const { wal } = await h.open();
  await wal.save({ hardState: hs(1, 1, 1), entries: range(1, 2, 1) });
  h.fs.crashAfter(1); // the durable write of the next save is cut short: it lands in the cache, not on the disk
  await assert.rejects(wal.save({ hardState: hs(1, 1, 3), entries: range(3, 5, 1) }));
  h.fs.crash();
  const { state } = await h.open();
  assert.deepEqual(state.entries, range(1, 2, 1));
  assert.deepEqual(state.hardState, hs(1, 1, 1));
});

test('wal: a save that only moves the commit index writes nothing; the next write carries its hard state', async () => {
  const h = harness();
  const { wal } = await h.open();
  await wal.save({ hardState: hs(1, 1, 0), entries: range(1, 2, 1) });
  const before = { ...h.fs.stats };
  await wal.save({ hardState: hs(1, 1, 1), entries: [] });
  await wal.save({ hardState: hs(1, 1, 2), entries: [] });
  assert.equal(h.fs.stats.writes - before.writes, 0, 'no write for a commit index alone');
  h.fs.crash(); // nothing carried it yet: the commit index of the last write comes back
  let { wal: reopened, state } = await h.open();
  assert.deepEqual(state.hardState, hs(1, 1, 0));
  await reopened.save({ hardState: hs(1, 1, 2), entries: [] });
  await reopened.save({ entries: range(3, 3, 1) }); // no hard state of its own: it carries the one waiting
  assert.equal(h.fs.stats.durableWrites - before.durableWrites, 1, 'one durable write, for entry 3');
  h.fs.crash();
  ({ wal: reopened, state } = await h.open());
  assert.deepEqual(state.entries, range(1, 3, 1));
  assert.deepEqual(state.hardState, hs(1, 1, 2));
  await reopened.save({ hardState: hs(1, 1, 3), entries: [] });
  await reopened.close(); // a clean close writes the commit index it holds
  ({ state } = await h.open());
  assert.deepEqual(state.hardState, hs(1, 1, 3));
  assert.deepEqual(h.logs, [], 'nothing truncated');
});

test('wal: a new term or vote is written and made durable at once, though no entry comes with it', async () => {
  const h = harness();
  const { wal } = await h.open();
  await wal.save({ hardState: hs(1, 1, 0), entries: range(1, 1, 1) });
  await wal.save({ hardState: hs(2, 3, 0), entries: [] });
  h.fs.crash();
  const { state } = await h.open();
  assert.deepEqual(state.hardState, hs(2, 3, 0));
});

test('wal: overwriting a suffix (a new leader truncates) replays correctly across segments and restarts', async () => {
  const h = harness(120);
  let { wal } = await h.open();
  for (let i = 1; i <= 12; i += 3) await wal.save({ entries: range(i, i + 2, 1) });
  assert.ok((await segments(h.fs)).length >= 3, 'the log spans several segments');
  await wal.save({ hardState: hs(2, 2, 3), entries: range(4, 6, 2) }); // truncates 4..12, which sit in older segments
  await wal.close();
  ({ wal } = await h.open());
  await wal.save({ hardState: hs(3, 3, 3), entries: range(5, 5, 3) }); // and again after a restart
  await wal.save({ entries: range(6, 7, 3) });
  await wal.close();
  const { state } = await h.open();
  assert.deepEqual(state.entries, [...range(1, 3, 1), entry(4, 2), entry(5, 3), entry(6, 3), entry(7, 3)]);
  assert.deepEqual(state.hardState, hs(3, 3, 3));
});

test('wal: segments roll over at segmentBytesMax, are named by seq and first index, and a save never spans two', async () => {
  const h = harness(300);
  const { wal } = await h.open();
  for (let i = 1; i <= 40; i += 4) await wal.save({ hardState: hs(1, 1, i), entries: range(i, i + 3, 1) });
  const names = await segments(h.fs);
  assert.ok(names.length >= 4, `${names.length} segments`);
  assert.deepEqual(names, wal.segmentNames());
  names.forEach((name, i) => assert.ok(name.startsWith(`${String(i + 1).padStart(16, '0')}-`), name));
  // Every segment after the first starts at an index that begins a save (1, 5, 9, ...).
  for (const name of names.slice(1)) assert.equal((Number(name.slice(17, 33)) - 1) % 4, 0, name);
  await wal.close();
  const { state } = await h.open();
  assert.deepEqual(state.entries, range(1, 40, 1));
  assert.deepEqual(state.hardState, hs(1, 1, 37));
});

test('wal: compaction records the snapshot and deletes only whole segments at or below it', async () => {
  const h = harness(300);
  const { wal } = await h.open();
  for (let i = 1; i <= 40; i += 4) await wal.save({ hardState: hs(1, 1, i + 3), entries: range(i, i + 3, 1) });
  const before = await segments(h.fs);
  await wal.compact({ index: 30, term: 1 });
  const after = await segments(h.fs);
  assert.ok(after.length < before.length, 'old segments are gone');
  assert.deepEqual(after, before.slice(before.length - after.length), 'the newest ones remain');
  await wal.close();
  const reopened = await h.open();
  assert.equal(reopened.state.snapshotIndex, 30);
  assert.equal(reopened.state.snapshotTerm, 1);
  assert.deepEqual(reopened.state.entries, range(31, 40, 1));
  assert.deepEqual(reopened.state.hardState, hs(1, 1, 40), 'the hard state survives the deletion of the segment that first held it');
  // Compacting again to the same point removes the segments left by the restarts.
  await reopened.wal.compact({ index: 40, term: 1 });
  assert.equal((await segments(h.fs)).length, 1);
});

test('wal: keepEntriesAfter keeps the segments an older snapshot would need, and replay hands their entries back', async () => {
  const h = harness(300);
  const { wal } = await h.open();
  for (let i = 1; i <= 40; i += 4) await wal.save({ hardState: hs(1, 1, i + 3), entries: range(i, i + 3, 1) });
  await wal.compact({ index: 36, term: 1 }, { keepEntriesAfter: 20 });
  await wal.close();
  const { state } = await h.open();
  assert.equal(state.snapshotIndex, 36);
  assert.deepEqual(state.entries, range(37, 40, 1));
  const firstCompacted = state.compacted[0]?.index ?? Infinity;
  assert.ok(firstCompacted <= 21, `entries from ${firstCompacted} are kept`);
  assert.deepEqual(state.compacted, range(firstCompacted, 36, 1));
});

test('wal: a restore (snapshot installed from the leader) voids every earlier entry, even ones past the snapshot', async () => {
  const h = harness(250);
  let { wal } = await h.open();
  await wal.save({ hardState: hs(1, 1, 2), entries: range(1, 8, 1) });
  await wal.save({ snapshot: { index: 5, term: 3 }, hardState: hs(3, 0, 5), entries: range(6, 6, 3) });
  await wal.save({ entries: range(7, 7, 3) });
  await wal.close();
  ({ wal } = await h.open());
  await wal.compact({ index: 5, term: 3 }); // deletes the segments voided by the restore
  await wal.close();
  const { state } = await h.open();
  assert.equal(state.snapshotIndex, 5);
  assert.equal(state.snapshotTerm, 3);
  assert.deepEqual(state.entries, [entry(6, 3), entry(7, 3)]);
  assert.deepEqual(state.hardState, hs(3, 0, 5));
});

test('wal: a torn last write is truncated, and the log names the file and offset', async () => {
  const h = harness();
  const { wal } = await h.open();
  await wal.save({ hardState: hs(1, 1, 1), entries: range(1, 2, 1) });
  const name = wal.segmentNames()[0] as string;
  const tornAt = await recordsEnd(h.fs, `${DIR}/${name}`);
  h.fs.crashAfter(1);
  await assert.rejects(wal.save({ entries: range(3, 6, 1) }));
  h.fs.crash({ lastWrite: { mode: 'tear', keepBytes: 40 } }); // one whole entry record and part of the next
  const { state } = await h.open();
  assert.deepEqual(state.entries, range(1, 2, 1), 'a save is all or nothing: the complete records of the torn write are dropped too');
  assert.equal(h.logs.length, 1);
  assert.equal(
    h.logs[0],
    `WAL segment ${name}: truncating a torn tail at offset ${tornAt} (a write of 1 complete record without its commit record, ` +
      `then crc mismatch at offset ${tornAt + 30}; 40 bytes dropped) — a write cut short by a crash, never acknowledged`,
  );
  assert.equal(h.fs.size(`${DIR}/${name}`), tornAt, 'the file now ends at the last complete write');
});

test('wal: a write whose data never landed (zeros, as in the preallocated tail) is dropped as unused space', async () => {
  const h = harness();
  const { wal } = await h.open();
  await wal.save({ hardState: hs(1, 1, 1), entries: range(1, 2, 1) });
  h.fs.crashAfter(1);
  await assert.rejects(wal.save({ entries: range(3, 6, 1) }));
  h.fs.crash({ lastWrite: { mode: 'zero' } });
  const { state } = await h.open();
  assert.deepEqual(state.entries, range(1, 2, 1));
  assert.deepEqual(h.logs, [], 'zeros after the last record are not damage: nothing to truncate or report');
});

test('wal: segment files are preallocated to segmentBytesMax, and a full disk is met when the next segment is prepared, not inside a record', async () => {
  const segmentBytesMax = 4096;
  const h = harness(segmentBytesMax);
  const { wal } = await h.open();
  const [first] = wal.segmentNames() as [string];
  assert.equal(h.fs.size(`${DIR}/${first}`), segmentBytesMax, 'the segment in use holds its whole size');
  assert.equal(h.fs.size(`${DIR}/next-segment.tmp`), segmentBytesMax, 'the next one is ready and holds its whole size');
  for (let i = 1; wal.segmentNames().length < 3; i++) await wal.save({ hardState: hs(1, 1, i), entries: [entry(i, 1, 'x'.repeat(200))] });
  await wal.close();
  const { state } = await h.open();
  assert.equal(state.entries.length, state.entries.at(-1)?.index, 'every entry written across the preallocated segments reads back');
  assert.deepEqual(h.logs, []);
});

test('wal: a bit flipped mid-log, with good records after it, is corruption naming the file and offset — never skipped', async () => {
  const h = harness();
  const { wal } = await h.open();
  for (let i = 1; i <= 10; i++) await wal.save({ hardState: hs(1, 1, i), entries: [entry(i, 1)] });
  await wal.close();
  const name = segmentName(1, 1);
  const offsets = await recordOffsets(h.fs, name);
  const victim = offsets[8] as number; // an entry record in the middle
  h.fs.flipBit(`${DIR}/${name}`, victim + 12, 5);
  const error = await h.open().then(
    () => assert.fail('open must refuse'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof WalCorruptionError);
  assert.equal(error.file, name);
  assert.equal(error.offset, victim);
  assert.equal(
    error.message,
    `Cannot open WAL segment ${name}: bad record at offset ${victim} (crc mismatch) followed by valid records (next at offset ${offsets[9]}); ` +
      `refusing to start — run keel repair to truncate after offset ${victim} if you accept losing the rest`,
  );
  assert.deepEqual(h.logs, [], 'nothing was truncated');
});

test('wal: damage to the last record of an older segment is corruption too (it was complete and durable once)', async () => {
  const h = harness(200);
  const { wal } = await h.open();
  for (let i = 1; i <= 12; i++) await wal.save({ entries: [entry(i, 1)] });
  await wal.close();
  const [oldest] = await segments(h.fs);
  const path = `${DIR}/${oldest}`;
  h.fs.flipBit(path, h.fs.size(path) - 1);
  await assert.rejects(h.open(), (e: unknown) => e instanceof WalCorruptionError && e.file === oldest && /not the newest/.test(e.message));
});

test('wal: a bad checksum on the very last record counts as a torn write: that whole write is truncated', async () => {
  const h = harness();
  const { wal } = await h.open();
  await wal.save({ entries: range(1, 2, 1) });
  const name = wal.segmentNames()[0] as string;
  const path = `${DIR}/${name}`;
  const lastWriteAt = await recordsEnd(h.fs, path);
  await wal.save({ entries: range(3, 4, 1) });
  h.fs.flipBit(path, (await recordsEnd(h.fs, path)) - 1); // inside the commit record that seals the second save
  h.fs.crash();
  const { state } = await h.open();
  assert.deepEqual(state.entries, range(1, 2, 1));
  assert.match(
    h.logs[0] as string,
    new RegExp(`${name}: truncating a torn tail at offset ${lastWriteAt} \\(a write of 2 complete records without its commit record, then crc mismatch`),
  );
});

test('wal: a failed fsync throws FsyncError, the WAL refuses every later write, and recovery sees none of it', async () => {
  const h = harness();
  const { wal } = await h.open();
  await wal.save({ hardState: hs(1, 1, 1), entries: range(1, 2, 1) });
  h.fs.failNextSync();
  await assert.rejects(wal.save({ hardState: hs(1, 1, 3), entries: range(3, 4, 1) }), FsyncError);
  await assert.rejects(wal.save({ entries: range(3, 3, 1) }), StorageUnusableError);
  await assert.rejects(wal.compact({ index: 1, term: 1 }), StorageUnusableError);
  h.fs.crash();
  const { state } = await h.open();
  assert.deepEqual(state.entries, range(1, 2, 1));
  assert.deepEqual(state.hardState, hs(1, 1, 1));
});

test('wal: a closed WAL refuses writes', async () => {
  const h = harness();
  const { wal } = await h.open();
  await wal.close();
  await assert.rejects(wal.save({ entries: [entry(1, 1)] }), StorageUnusableError);
});

test('wal: a missing middle segment is corruption', async () => {
  const h = harness(150);
  const { wal } = await h.open();
  for (let i = 1; i <= 12; i++) await wal.save({ entries: [entry(i, 1)] });
  await wal.close();
  const names = await segments(h.fs);
  await h.fs.unlink(`${DIR}/${names[1]}`);
  await assert.rejects(h.open(), (e: unknown) => e instanceof WalCorruptionError && /segments 2\.\.2 are missing/.test(e.message));
});

test('wal: a segment whose header disagrees with its name is corruption', async () => {
  const h = harness();
  const { wal } = await h.open();
  await wal.save({ entries: [entry(1, 1)] });
  await wal.close();
  await h.fs.rename(`${DIR}/${segmentName(1, 1)}`, `${DIR}/${segmentName(1, 7)}`);
  await assert.rejects(
    h.open(),
    (e: unknown) => e instanceof WalCorruptionError && e.file === segmentName(1, 7) && e.offset === 0 && /named for seq 1, first index 7/.test(e.message),
  );
});

test('wal: a segment created just before a crash, with no complete record, is removed on open', async () => {
  const h = harness();
  const { wal } = await h.open();
  await wal.save({ entries: [entry(1, 1)] });
  await wal.close();
  h.fs.crashAfter(2); // reopening: create the new segment, then its write is cut
  await assert.rejects(h.open());
  h.fs.crash({ lastWrite: { mode: 'tear', keepBytes: 5 } });
  // The directory entry of the new segment was not synced either, so make it durable
  // by hand to reach the case: a segment file whose header is torn.
  const name = segmentName(2, 2);
  const f = await h.fs.open(`${DIR}/${name}`, 'create');
  await f.write(new Uint8Array([9, 0, 0]), 0);
  await f.sync();
  await h.fs.syncDir(DIR);
  const { state } = await h.open();
  assert.deepEqual(state.entries, [entry(1, 1)]);
  assert.match(h.logs.join('\n'), new RegExp(`${name}: removing it, it holds no complete write \\(partial record header`));
});

test('wal: saves must continue the log; a gap or an entry inside the snapshot is a caller bug', async () => {
  const h = harness();
  const { wal } = await h.open();
  await wal.save({ entries: range(1, 3, 1) });
  await assert.rejects(wal.save({ entries: [entry(5, 1)] }), /does not follow/);
  await assert.rejects(wal.save({ entries: [entry(2, 1), entry(4, 1)] }), /does not follow/);
  await wal.compact({ index: 2, term: 1 });
  await assert.rejects(wal.save({ entries: [entry(2, 2)] }), /at or below the snapshot/);
  await assert.rejects(wal.compact({ index: 9, term: 1 }), /the log ends at 3/);
});

test('wal: each restart gives back the unused preallocated tail of the segment it closes, so restarts neither fill the disk nor slow the next replay', async () => {
  const segmentBytesMax = 64 * 1024;
  const h = harness(segmentBytesMax);
  for (let start = 1; start <= 5; start++) {
    const { wal } = await h.open();
    await wal.save({ hardState: hs(start, 1, start), entries: [entry(start, start)] });
    await wal.close();
  }
  const { wal, state } = await h.open();
  assert.deepEqual(
    state.entries.map((e) => e.index),
    [1, 2, 3, 4, 5],
  );
  const names = await segments(h.fs);
  assert.equal(names.length, 6, 'a segment per start');
  // Every segment but the one just cut holds its records and nothing more.
  for (const name of names.slice(0, -1)) {
    const path = `${DIR}/${name}`;
    assert.equal((await h.fs.readFile(path)).length, await recordsEnd(h.fs, path), `${name} holds no preallocated tail`);
  }
  await wal.close();
  assert.deepEqual(h.logs, []);
});
