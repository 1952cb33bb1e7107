import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { RaftStorage } from '../storage/raft-storage.js';
import { NodeFileSystem } from '../storage/file-system.js';
import { scanRecords } from '../storage/record-codec.js';

const run = promisify(execFile);
const main = new URL('./main.js', import.meta.url).pathname;

test('keel repair cuts a corrupt WAL at the bad record, after which the node storage opens', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'keel-repair-'));
  try {
    const fs = new NodeFileSystem();
    const { storage } = await RaftStorage.open({ fs, dir: join(dataDir, 'raft'), log: () => {} });
    for (let i = 1; i <= 20; i++) {
      await storage.saveReady({
        entries: [{ term: 1, index: i, kind: 'normal', data: new Uint8Array(64).fill(i) }],
        hardState: { term: 1, vote: 1, commit: i - 1 },
        snapshot: undefined,
      });
    }
    await storage.close();
    const walDir = join(dataDir, 'raft', 'wal');
    const segment = (await readdir(walDir)).sort().find((n) => n.endsWith('.wal')) as string;
    const bytes = await readFile(join(walDir, segment));
    // A bit flipped mid-log, good records after it (the file's tail is preallocated zeros).
    const middle = Math.floor(scanRecords(bytes).goodBytes / 2);
    bytes[middle] = (bytes[middle] as number) ^ 0x40;
    await writeFile(join(walDir, segment), bytes);
    await assert.rejects(RaftStorage.open({ fs, dir: join(dataDir, 'raft'), log: () => {} }), /bad record at offset \d+/);

    const { stdout } = await run(process.execPath, [main, 'repair', '--data-dir', dataDir]);
    assert.match(stdout, /cut .*\.wal at offset \d+/);
    const { storage: reopened, persisted } = await RaftStorage.open({ fs, dir: join(dataDir, 'raft'), log: () => {} });
    assert.ok(persisted.entries.length > 0 && persisted.entries.length < 20, `kept ${persisted.entries.length} entries before the damage`);
    await reopened.close();
    const again = await run(process.execPath, [main, 'repair', '--data-dir', dataDir]);
    assert.match(again.stdout, /nothing to repair/);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
