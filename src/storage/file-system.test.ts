import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeFileSystem, isNotFound } from './file-system.js';

test('node file system: every operation the storage uses, on a real temp directory', async () => {
  const root = await mkdtemp(join(tmpdir(), 'keel-fs-'));
  try {
    const fs = new NodeFileSystem();
    const dir = join(root, 'a', 'b');
    await fs.mkdirp(dir);
    await fs.mkdirp(dir);
    const path = join(dir, 'f');
    const f = await fs.open(path, 'create');
    await f.write(new Uint8Array([1, 2, 3]), 0);
    await f.write(new Uint8Array([9]), 5);
    await f.datasync();
    await f.sync();
    assert.equal(await f.size(), 6);
    assert.deepEqual(await f.read(4, 10), new Uint8Array([0, 9]));
    await f.truncate(2);
    await f.close();
    await fs.syncDir(dir);
    await assert.rejects(fs.open(path, 'create'), { code: 'EEXIST' });
    assert.deepEqual(await fs.readFile(path), new Uint8Array([1, 2]));
    await fs.rename(path, join(dir, 'g'));
    assert.deepEqual(await fs.list(dir), ['g']);
    await fs.unlink(join(dir, 'g'));
    assert.deepEqual(await fs.list(dir), []);
    await fs.readFile(path).then(
      () => assert.fail('expected ENOENT'),
      (error: unknown) => assert.ok(isNotFound(error)),
    );
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('node file system: allocate reserves space as zeros past the end, keeps what is written, never shrinks', async () => {
  const root = await mkdtemp(join(tmpdir(), 'keel-fs-'));
  try {
    const fs = new NodeFileSystem();
    const f = await fs.open(join(root, 'f'), 'create');
    await f.write(new Uint8Array([7, 7]), 0);
    await f.allocate(3 * 1024 * 1024 + 5);
    assert.equal(await f.size(), 3 * 1024 * 1024 + 5);
    assert.deepEqual(await f.read(0, 4), new Uint8Array([7, 7, 0, 0]));
    await f.allocate(10);
    assert.equal(await f.size(), 3 * 1024 * 1024 + 5, 'a smaller allocation leaves the file as it is');
    await f.close();
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('node file system: without fallocate(1) on the PATH, allocate writes the zeros itself', async () => {
  const root = await mkdtemp(join(tmpdir(), 'keel-fs-'));
  const path = process.env['PATH'];
  try {
    const fs = new NodeFileSystem();
    const f = await fs.open(join(root, 'f'), 'create');
    process.env['PATH'] = root;
    await f.allocate(1024 * 1024 + 3);
    process.env['PATH'] = path;
    assert.equal(await f.size(), 1024 * 1024 + 3);
    assert.deepEqual(await f.read(1024 * 1024, 3), new Uint8Array([0, 0, 0]));
    await f.close();
  } finally {
    process.env['PATH'] = path;
    await rm(root, { recursive: true, force: true });
  }
});
