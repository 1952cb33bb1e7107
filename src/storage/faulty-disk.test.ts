import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeFileSystem } from './file-system.js';
import { FaultyDisk } from './faulty-disk.js';

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'keel-faulty-disk-'));
  try {
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('power-loss disk: written bytes reach the real file only at datasync, while the writer reads them back at once', async () => {
  await withDir(async (dir) => {
    const disk = new FaultyDisk(new NodeFileSystem(), true);
    const path = join(dir, 'seg.wal');
    const file = await disk.open(path, 'create');
    await file.write(new Uint8Array([1, 2, 3]), 0);
    await file.write(new Uint8Array([9]), 1);
    assert.deepEqual(await file.read(0, 10), new Uint8Array([1, 9, 3]), 'the writer sees its own writes, in order');
    assert.equal(await file.size(), 3);
    assert.equal((await readFile(path)).length, 0, 'nothing is on the disk before a sync: a kill -9 now loses it all');
    await file.datasync();
    assert.deepEqual(new Uint8Array(await readFile(path)), new Uint8Array([1, 9, 3]));
    await file.write(new Uint8Array(2_000).fill(7), 3);
    assert.equal((await readFile(path)).length, 3, 'a later unsynced write is not on the disk');
    await file.close();
    assert.equal((await readFile(path)).length, 2_003, 'a file closed by a running process is written back');
  });
});

test('fsync stall: every sync waits fsyncDelayMs; the default disk writes through', async () => {
  await withDir(async (dir) => {
    const disk = new FaultyDisk(new NodeFileSystem(), false);
    const path = join(dir, 'f');
    const file = await disk.open(path, 'create');
    await file.write(new Uint8Array([5]), 0);
    assert.equal((await readFile(path)).length, 1, 'without power-loss simulation writes go straight through');
    disk.fsyncDelayMs = 150;
    const started = performance.now();
    await file.datasync();
    assert.ok(performance.now() - started >= 140, 'the sync waited for the stall');
    disk.fsyncDelayMs = 0;
    await file.close();
  });
});
