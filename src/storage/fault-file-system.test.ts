import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FaultFileSystem, PowerCutError } from './fault-file-system.js';
import { FsyncError } from './file-system.js';
import { Prng } from '../lib/prng.js';

const bytes = (...values: number[]): Uint8Array => new Uint8Array(values);

async function fsWithDir(): Promise<FaultFileSystem> {
  const fs = new FaultFileSystem();
  await fs.mkdirp('/d');
  return fs;
}

test('fault fs: unsynced bytes are lost in a crash, synced bytes are kept', async () => {
  const fs = await fsWithDir();
  const f = await fs.open('/d/a', 'create');
  await fs.syncDir('/d');
  await f.write(bytes(1, 2, 3), 0);
  await f.datasync();
  await f.write(bytes(4, 5), 3);
  assert.deepEqual(await fs.readFile('/d/a'), bytes(1, 2, 3, 4, 5), 'reads see the page cache');
  fs.crash();
  assert.deepEqual(await fs.readFile('/d/a'), bytes(1, 2, 3));
});

test('fault fs: a created file whose directory was not synced disappears in a crash', async () => {
  const fs = await fsWithDir();
  const f = await fs.open('/d/a', 'create');
  await f.write(bytes(1), 0);
  await f.sync();
  fs.crash();
  assert.deepEqual(await fs.list('/d'), []);
});

test('fault fs: rename and unlink are durable only after the directory is synced', async () => {
  const fs = await fsWithDir();
  for (const name of ['a', 'b']) {
    const f = await fs.open(`/d/${name}`, 'create');
    await f.write(bytes(name.charCodeAt(0)), 0);
    await f.sync();
  }
  await fs.syncDir('/d');
  await fs.rename('/d/a', '/d/b');
  await fs.unlink('/d/b');
  assert.deepEqual(await fs.list('/d'), []);
  fs.crash();
  assert.deepEqual(await fs.list('/d'), ['a', 'b']);
  await fs.rename('/d/a', '/d/b');
  await fs.syncDir('/d');
  fs.crash();
  assert.deepEqual(await fs.list('/d'), ['b']);
  assert.deepEqual(await fs.readFile('/d/b'), bytes('a'.charCodeAt(0)), 'rename replaced the target atomically');
});

test('fault fs: the newest unsynced write can survive torn (a prefix) or zero-filled', async () => {
  for (const [mode, expected] of [
    [{ mode: 'tear', keepBytes: 2 }, bytes(9, 1, 2)],
    [{ mode: 'zero' }, bytes(9, 0, 0, 0, 0)],
  ] as const) {
    const fs = await fsWithDir();
    const f = await fs.open('/d/a', 'create');
    await fs.syncDir('/d');
    await f.write(bytes(9), 0);
    await f.datasync();
    await f.write(bytes(1, 2, 3, 4), 1);
    fs.crash({ lastWrite: mode });
    assert.deepEqual(await fs.readFile('/d/a'), expected, mode.mode);
  }
});

test('fault fs: with a prng, what survives is a prefix of the pending writes in order', async () => {
  for (let seed = 1; seed <= 200; seed++) {
    const fs = await fsWithDir();
    const f = await fs.open('/d/a', 'create');
    await fs.syncDir('/d');
    for (let i = 0; i < 5; i++) await f.write(bytes(i + 1, i + 1), i * 2);
    fs.crash({ prng: new Prng(seed) });
    const after = await fs.readFile('/d/a');
    // Every surviving byte is either what was written there or a zero of a
    // zero-filled write, and a written pair is never followed by a later write
    // while an earlier one is missing.
    let sawGap = false;
    for (let i = 0; i < after.length; i++) {
      const v = after[i] as number;
      assert.ok(v === 0 || v === (i >> 1) + 1, `seed ${seed}: byte ${i} = ${v}`);
      if (v === 0) sawGap = true;
      else if (sawGap) assert.fail(`seed ${seed}: byte ${i} survived after a lost earlier byte`);
    }
  }
});

test('fault fs: flipBit damages the file on disk and in the cache', async () => {
  const fs = await fsWithDir();
  const f = await fs.open('/d/a', 'create');
  await fs.syncDir('/d');
  await f.write(bytes(0, 0), 0);
  await f.sync();
  fs.flipBit('/d/a', 1, 3);
  assert.deepEqual(await fs.readFile('/d/a'), bytes(0, 8));
  fs.crash();
  assert.deepEqual(await fs.readFile('/d/a'), bytes(0, 8));
  assert.throws(() => fs.flipBit('/d/a', 2), RangeError);
});

test('fault fs: a failed fsync throws FsyncError, and the data it was meant to save never becomes durable, even after a later successful sync', async () => {
  const fs = await fsWithDir();
  const f = await fs.open('/d/a', 'create');
  await fs.syncDir('/d');
  await f.write(bytes(1), 0);
  fs.failNextSync('/d/a');
  await assert.rejects(f.datasync(), FsyncError);
  assert.deepEqual(await fs.readFile('/d/a'), bytes(1), 'reads still see it');
  await f.datasync(); // a retry "succeeds"...
  fs.crash();
  assert.deepEqual(await fs.readFile('/d/a'), bytes(), '...but the byte was never written');
});

test('fault fs: an armed power cut interrupts the n-th mutating call, then everything fails until crash()', async () => {
  const fs = await fsWithDir();
  const f = await fs.open('/d/a', 'create');
  await fs.syncDir('/d');
  fs.crashAfter(2);
  await f.write(bytes(1), 0);
  await assert.rejects(f.datasync(), PowerCutError);
  assert.ok(fs.poweredOff);
  await assert.rejects(fs.readFile('/d/a'), PowerCutError);
  fs.crash();
  assert.deepEqual(await fs.readFile('/d/a'), bytes(), 'the interrupted sync did not happen');
  await assert.rejects(f.write(bytes(1), 0), /handle opened before a crash/);
});

test('fault fs: an interrupted write lands in the cache and can survive torn', async () => {
  const fs = await fsWithDir();
  const f = await fs.open('/d/a', 'create');
  await fs.syncDir('/d');
  fs.crashAfter(1);
  await assert.rejects(f.write(bytes(1, 2, 3), 0), PowerCutError);
  fs.crash({ lastWrite: { mode: 'tear', keepBytes: 1 } });
  assert.deepEqual(await fs.readFile('/d/a'), bytes(1));
});

test('fault fs: a durable write keeps its own bytes through a crash, not the unsynced writes before it; those it covers are superseded', async () => {
  const fs = await fsWithDir();
  const f = await fs.open('/d/a', 'create');
  await fs.syncDir('/d');
  await f.write(bytes(1, 1, 1, 1), 0);
  await f.write(bytes(2, 2), 4);
  await f.writeDurably(bytes(3, 3, 3), 5); // covers the second write's last byte
  assert.deepEqual(await fs.readFile('/d/a'), bytes(1, 1, 1, 1, 2, 3, 3, 3));
  assert.equal(fs.stats.durableWrites, 1);
  fs.crash();
  assert.deepEqual(await fs.readFile('/d/a'), bytes(0, 0, 0, 0, 0, 3, 3, 3), 'only the durable write’s bytes survive');

  const g = await fs.open('/d/a', 'write');
  await g.write(bytes(4, 4), 0);
  await g.writeDurably(bytes(5, 5, 5), 1);
  await g.datasync();
  fs.crash();
  assert.deepEqual(await fs.readFile('/d/a'), bytes(4, 5, 5, 5, 0, 3, 3, 3), 'a later sync keeps the newest bytes, not an older write they covered');
});

test('fault fs: a durable write that fails is an FsyncError, and one cut short by a power cut is an unsynced write', async () => {
  const fs = await fsWithDir();
  const f = await fs.open('/d/a', 'create');
  await fs.syncDir('/d');
  fs.failNextSync('/d/a');
  await assert.rejects(f.writeDurably(bytes(1), 0), FsyncError);
  assert.deepEqual(await fs.readFile('/d/a'), bytes(1), 'reads still see it');
  fs.crash();
  assert.deepEqual(await fs.readFile('/d/a'), bytes());

  const g = await fs.open('/d/a', 'write');
  fs.crashAfter(1);
  await assert.rejects(g.writeDurably(bytes(7, 7), 0), PowerCutError);
  fs.crash({ lastWrite: { mode: 'tear', keepBytes: 1 } });
  assert.deepEqual(await fs.readFile('/d/a'), bytes(7));
});

test('fault fs: create is exclusive, missing files are ENOENT, read-only handles refuse writes', async () => {
  const fs = await fsWithDir();
  await fs.open('/d/a', 'create');
  await assert.rejects(fs.open('/d/a', 'create'), { code: 'EEXIST' });
  await assert.rejects(fs.open('/d/zz', 'write'), { code: 'ENOENT' });
  await assert.rejects(fs.readFile('/d/zz'), { code: 'ENOENT' });
  const r = await fs.open('/d/a', 'read');
  await assert.rejects(r.write(bytes(1), 0), { code: 'EBADF' });
  await fs.mkdirp('/d/sub/deeper');
  assert.deepEqual(await fs.list('/d'), ['a', 'sub']);
});

test('fault fs: truncate is a pending operation like a write', async () => {
  const fs = await fsWithDir();
  const f = await fs.open('/d/a', 'create');
  await fs.syncDir('/d');
  await f.write(bytes(1, 2, 3), 0);
  await f.sync();
  await f.truncate(1);
  assert.equal(await f.size(), 1);
  fs.crash();
  assert.equal(fs.size('/d/a'), 3);
  const g = await fs.open('/d/a', 'write');
  await g.truncate(2);
  await g.datasync();
  fs.crash();
  assert.deepEqual(await fs.readFile('/d/a'), bytes(1, 2));
});

test('fault fs: writing past the end leaves zeros in the gap, truncating up extends with zeros, and large appends stay cheap', async () => {
  const fs = await fsWithDir();
  const f = await fs.open('/d/a', 'create');
  await f.write(bytes(1, 2, 3, 4), 0);
  await f.truncate(1);
  await f.write(bytes(9), 3);
  assert.deepEqual(await fs.readFile('/d/a'), bytes(1, 0, 0, 9), 'old bytes beyond a truncation do not come back');
  await f.truncate(6);
  assert.deepEqual(await f.read(0, 10), bytes(1, 0, 0, 9, 0, 0));
  const chunk = new Uint8Array(4096).fill(5);
  for (let i = 0; i < 4096; i++) await f.write(chunk, 6 + i * chunk.length); // 16 MiB, appended piecewise
  assert.equal(fs.size('/d/a'), 6 + 4096 * 4096);
});
