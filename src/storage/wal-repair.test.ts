import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Entry } from '../raft/types.js';
import { FaultFileSystem } from './fault-file-system.js';
import { WalCorruptionError } from './errors.js';
import { scanRecords } from './record-codec.js';
import { Wal } from './wal.js';
import { repairWal } from './wal-repair.js';

const DIR = '/n/wal';
const entry = (index: number): Entry => ({ index, term: 1, kind: 'normal', data: new Uint8Array([index]) });

test('wal repair: truncates at the damaged record, removes newer segments, and the WAL opens with what came before', async () => {
  const fs = new FaultFileSystem();
  const logs: string[] = [];
  const log = (m: string): void => void logs.push(m);
  const { wal } = await Wal.open({ fs, dir: DIR, log, segmentBytesMax: 200 });
  for (let i = 1; i <= 20; i++) await wal.save({ entries: [entry(i)] });
  const names = wal.segmentNames();
  await wal.close();
  assert.ok(names.length >= 3);
  const victim = names[1] as string;
  const records = scanRecords(await fs.readFile(`${DIR}/${victim}`)).records;
  const damagedAt = (records[5] as { offset: number }).offset;
  fs.flipBit(`${DIR}/${victim}`, damagedAt + 9);
  await assert.rejects(Wal.open({ fs, dir: DIR, log }), WalCorruptionError);

  const repair = await repairWal({ fs, dir: DIR, log });
  assert.equal(repair?.file, victim);
  assert.equal(repair?.offset, damagedAt);
  assert.deepEqual(repair?.removedSegments, names.slice(2).reverse());
  assert.match(logs.join('\n'), new RegExp(`keel repair: truncated ${victim} at offset ${damagedAt}`));

  const { state } = await Wal.open({ fs, dir: DIR, log });
  const last = state.entries[state.entries.length - 1]?.index ?? 0;
  assert.ok(last >= 1 && last < 20, `entries up to ${last} survive`);
  assert.deepEqual(
    state.entries,
    Array.from({ length: last }, (_, i) => entry(i + 1)),
  );
  assert.equal(await repairWal({ fs, dir: DIR, log }), undefined, 'nothing left to repair');
});

test('wal repair: damage without a single cut point is left to a human', async () => {
  const fs = new FaultFileSystem();
  const { wal } = await Wal.open({ fs, dir: DIR, log: () => undefined, segmentBytesMax: 150 });
  for (let i = 1; i <= 12; i++) await wal.save({ entries: [entry(i)] });
  const names = wal.segmentNames();
  await wal.close();
  await fs.unlink(`${DIR}/${names[1]}`);
  await assert.rejects(repairWal({ fs, dir: DIR, log: () => undefined }), /cannot fix this automatically/);
});
