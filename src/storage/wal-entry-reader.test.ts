/**
 * Entries read back from the WAL's segments (WalEntryReader), and a start that leaves
 * the older part of the log on disk (WalOptions.memoryBytesMax).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Entry } from '../raft/types.js';
import { FaultFileSystem } from './fault-file-system.js';
import { WalCorruptionError } from './errors.js';
import { Wal } from './wal.js';
import { RaftStorage } from './raft-storage.js';
import { ForwardingFileSystem } from './forwarding-file-system.js';

const DIR = '/node/wal';
const everything = { bytesMax: Number.POSITIVE_INFINITY, countMax: Number.POSITIVE_INFINITY };

function entry(index: number, term: number, size = 40): Entry {
  return { index, term, kind: 'normal', data: new TextEncoder().encode(`e${index}t${term}`.padEnd(size, '.')) };
}

function range(from: number, to: number, term: number, size?: number): Entry[] {
  return Array.from({ length: to - from + 1 }, (_, i) => entry(from + i, term, size));
}

const hs = (term: number, commit: number) => ({ term, vote: 1, commit });

test('entries read back from the segments are the live ones, across segments, overwrites and a restart', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.record({ back: fc.nat(6), count: fc.integer({ min: 1, max: 12 }), size: fc.integer({ min: 1, max: 3000 }) }), {
        minLength: 1,
        maxLength: 25,
      }),
      async (writes) => {
        const fs = new FaultFileSystem();
        const open = () => Wal.open({ fs, dir: DIR, segmentBytesMax: 4096, log: () => undefined });
        let { wal } = await open();
        // The model: the log as the writes leave it (a write may overwrite a suffix, §5.3).
        let log: Entry[] = [];
        let term = 1;
        for (const w of writes) {
          const first = Math.max(1, log.length + 1 - w.back);
          term++;
          const written = range(first, first + w.count - 1, term, w.size);
          await wal.save({ entries: written, hardState: hs(term, 0) });
          log = log.slice(0, first - 1).concat(written);
        }
        const check = (reader: Wal['entryReader']) => {
          assert.deepEqual(reader.read(1, log.length + 1, everything), log);
          const low = Math.ceil(log.length / 2);
          assert.deepEqual(reader.read(low, low + 1, { bytesMax: 0, countMax: 1 }), [log[low - 1]]);
          assert.deepEqual(
            reader.read(low, log.length + 1, { bytesMax: 10_000, countMax: 5 }).map((e) => e.index),
            log.slice(low - 1, low - 1 + Math.min(5, Math.max(1, countWithin(log.slice(low - 1), 10_000)))).map((e) => e.index),
          );
        };
        check(wal.entryReader);
        await wal.close();
        ({ wal } = await open());
        check(wal.entryReader);
        await wal.close();
      },
    ),
    { numRuns: 60 },
  );
});

/** How many entries from the front fit in `bytesMax` (entryBytes: data plus 24). */
function countWithin(entries: readonly Entry[], bytesMax: number): number {
  let bytes = 0;
  let count = 0;
  for (const e of entries) {
    bytes += e.data.length + 24;
    if (bytes > bytesMax) break;
    count++;
  }
  return count;
}

test('an entry read back from a damaged segment is refused, naming the segment', async () => {
  const fs = new FaultFileSystem();
  const { wal } = await Wal.open({ fs, dir: DIR, log: () => undefined });
  await wal.save({ entries: range(1, 20, 1), hardState: hs(1, 20) });
  const [segment] = wal.segmentNames();
  const bytes = await fs.readFile(`${DIR}/${segment}`);
  const at = Buffer.from(bytes).indexOf(Buffer.from('e10t1'));
  fs.flipBit(`${DIR}/${segment}`, at);
  assert.throws(
    () => wal.entryReader.read(9, 12, everything),
    (error: unknown) =>
      error instanceof WalCorruptionError &&
      /Cannot read entry 10 back from WAL segment .*: no valid record at offset \d+ \(crc mismatch\)/.test(error.message),
  );
  assert.deepEqual(wal.entryReader.read(1, 10, everything), range(1, 9, 1), 'the entries before it read');
  await wal.close();
});

test('a start keeps the older committed entries on disk and the core reads them back; their segments stay until the log moves past them', async () => {
  const fs = new FaultFileSystem();
  const open = () => RaftStorage.open({ fs, dir: '/node', log: () => undefined, segmentBytesMax: 2048, memoryBytesMax: 1000 });
  const first = await open();
  for (let i = 1; i <= 100; i += 10) await first.storage.saveReady({ hardState: hs(1, i + 4), entries: range(i, i + 9, 1), snapshot: undefined });
  await first.storage.close();
  const { storage, persisted } = await open();
  const onDisk = persisted.onDisk;
  assert.ok(onDisk, 'the older entries stayed on disk');
  assert.equal(onDisk.terms.first(), 1);
  assert.ok(onDisk.terms.last() <= 95, 'only committed entries stay on disk');
  assert.equal(persisted.entries[0]?.index, onDisk.terms.last() + 1);
  assert.equal(persisted.entries.at(-1)?.index, 100);
  const held = persisted.entries.reduce((n, e) => n + e.data.length, 0);
  assert.ok(held <= 1000, `${held} bytes held in memory`);
  assert.deepEqual(storage.logReader.read(1, onDisk.terms.last() + 1, everything), range(1, onDisk.terms.last(), 1));

  // A snapshot at 60 with the log kept from 41: segments holding 41 and later stay.
  storage.keepEntriesFrom(1);
  await (await storage.saveSnapshot({ meta: { index: 60, term: 1, config: { voters: [1], learners: [] } }, data: new Uint8Array([1]) })).close();
  storage.keepEntriesFrom(41);
  await (await storage.saveSnapshot({ meta: { index: 80, term: 1, config: { voters: [1], learners: [] } }, data: new Uint8Array([2]) })).close();
  assert.deepEqual(storage.logReader.read(41, 61, everything), range(41, 60, 1));
  await storage.close();
});

test('a start with its newest snapshot intact does not read the segments before it, and still deletes them later', async () => {
  const fs = new FaultFileSystem();
  const read: string[] = [];
  const counting = new (class extends ForwardingFileSystem {
    override readFile(path: string): Promise<Uint8Array> {
      read.push(path);
      return super.readFile(path);
    }
  })(fs);
  const open = () => RaftStorage.open({ fs: counting, dir: '/node', log: () => undefined, segmentBytesMax: 1024 });
  const config = { voters: [1], learners: [] };
  const first = await open();
  for (let i = 1; i <= 100; i += 10) await first.storage.saveReady({ hardState: hs(1, i + 9), entries: range(i, i + 9, 1), snapshot: undefined });
  await (await first.storage.saveSnapshot({ meta: { index: 80, term: 1, config }, data: new Uint8Array([1]) })).close();
  await first.storage.close();
  const segments = (await fs.list(DIR)).length;

  read.length = 0;
  const second = await open();
  const walReads = read.filter((path) => path.startsWith(`${DIR}/`));
  assert.ok(walReads.length < segments / 2, `read ${walReads.length} of ${segments} segments`);
  assert.deepEqual(
    second.persisted.entries.map((e) => e.index),
    range(81, 100, 1).map((e) => e.index),
  );
  await second.snapshotFile?.close();
  second.storage.keepEntriesFrom(81);
  await (await second.storage.saveSnapshot({ meta: { index: 100, term: 1, config }, data: new Uint8Array([2]) })).close();
  assert.ok((await fs.list(DIR)).length < segments, 'the segments not read are deleted once two snapshots are past them');
  await second.storage.close();

  // With the newest snapshot damaged, every segment is read: the older one needs them.
  fs.flipBit(`/node/snap/${(await fs.list('/node/snap')).at(-1)}`, 40);
  read.length = 0;
  const third = await open();
  assert.equal(third.persisted.snapshot?.meta.index, 80);
  assert.deepEqual(third.persisted.entries.at(-1)?.index, 100);
  await third.snapshotFile?.close();
  await third.storage.close();
});
