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
