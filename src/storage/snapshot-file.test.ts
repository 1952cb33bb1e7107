import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SnapshotMeta } from '../raft/types.js';
import { ByteWriter, DecodeError } from '../lib/bytes/index.js';
import { crc32c } from './crc32c.js';
import { FaultFileSystem } from './fault-file-system.js';
import { FileSnapshotData, readSnapshotFileLayout, snapshotSyncEveryBytes, verifySnapshotFile, writeSnapshotFile } from './snapshot-file.js';
import { forwardingHandle } from './forwarding-file-system.js';

const meta: SnapshotMeta = { index: 1234, term: 7, config: { voters: [1, 2, 3], learners: [9] } };
const data = Uint8Array.from({ length: 1000 }, (_, i) => (i * 31) & 0xff);
const noPause = async (): Promise<void> => undefined;

async function* inChunks(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

/** The bytes of a snapshot file written by writeSnapshotFile from `bytes` in chunks of `chunkBytes`. */
async function fileBytes(bytes: Uint8Array, chunkBytes = 64, m: SnapshotMeta = meta): Promise<Uint8Array> {
  const fs = new FaultFileSystem();
  await fs.mkdirp('/s');
  const handle = await fs.open('/s/f', 'create');
  await writeSnapshotFile(handle, m, inChunks(bytes, chunkBytes));
  return handle.read(0, await handle.size());
}

/** Writes `bytes` as a file and opens it for reading. */
async function asFile(bytes: Uint8Array): Promise<ReturnType<FaultFileSystem['open']>> {
  const fs = new FaultFileSystem();
  await fs.mkdirp('/s');
  const handle = await fs.open('/s/f', 'create');
  await handle.write(bytes, 0);
  return fs.open('/s/f', 'read');
}

test('snapshot file: meta, config and data round-trip, whatever the chunks it was written in', async () => {
  for (const chunkBytes of [1, 7, 1000, 4096]) {
    const handle = await asFile(await fileBytes(data, chunkBytes));
    const layout = await verifySnapshotFile(handle, noPause);
    assert.deepEqual(layout.meta, meta);
    assert.equal(layout.dataLength, data.length);
    const stored = new FileSnapshotData(handle, layout);
    assert.deepEqual(stored.subarray(0, stored.byteLength), data);
    assert.deepEqual(stored.subarray(990, 5000), data.subarray(990));
    const chunks: Uint8Array[] = [];
    for await (const chunk of stored.chunks(300)) chunks.push(chunk);
    assert.deepEqual(
      chunks.map((c) => c.length),
      [300, 300, 300, 100],
    );
    assert.deepEqual(await readSnapshotFileLayout(handle), layout);
  }
  const empty = await asFile(await fileBytes(new Uint8Array(0)));
  assert.equal((await verifySnapshotFile(empty, noPause)).dataLength, 0);
});

test('snapshot file: any flipped bit is detected', async () => {
  const bytes = await fileBytes(data);
  for (let i = 0; i < bytes.length; i += 7) {
    const damaged = bytes.slice();
    damaged[i] = (damaged[i] as number) ^ 0x04;
    await assert.rejects(verifySnapshotFile(await asFile(damaged), noPause), DecodeError, `byte ${i}`);
  }
});

test('snapshot file: truncation and foreign files are named as such', async () => {
  const bytes = await fileBytes(data);
  await assert.rejects(verifySnapshotFile(await asFile(bytes.subarray(0, bytes.length - 1)), noPause), /truncated: data of 1000 bytes, only 999 present/);
  await assert.rejects(verifySnapshotFile(await asFile(bytes.subarray(0, 10)), noPause), /truncated: only 10 bytes/);
  await assert.rejects(verifySnapshotFile(await asFile(new TextEncoder().encode('hello, this is not a snapshot')), noPause), /bad magic/);
});

test('snapshot file: a version 1 file (checksum over the data length too) still reads', async () => {
  const metaBytes = (await fileBytes(new Uint8Array(0))).subarray(20, -8);
  const covered = new ByteWriter().u32(metaBytes.length).raw(metaBytes).u53(data.length).raw(data).finish();
  const v1 = new ByteWriter()
    .raw(new TextEncoder().encode('KEELSNAP'))
    .u32(1)
    .u32(crc32c(covered) >>> 0)
    .raw(covered)
    .finish();
  const layout = await verifySnapshotFile(await asFile(v1), noPause);
  assert.deepEqual(layout.meta, meta);
  assert.equal(layout.dataLength, data.length);
  const damaged = v1.slice();
  damaged[damaged.length - 1] = (damaged[damaged.length - 1] as number) ^ 1;
  await assert.rejects(verifySnapshotFile(await asFile(damaged), noPause), /crc mismatch/);
});

test('snapshot file: a large one is synced every snapshotSyncEveryBytes as it is written, so its dirty pages never pile up', async () => {
  const fs = new FaultFileSystem();
  await fs.mkdirp('/s');
  const inner = await fs.open('/s/f', 'create');
  let written = 0;
  let headerBytes: number | undefined;
  const syncedAfter: number[] = [];
  const handle = {
    ...forwardingHandle(inner),
    write: (bytes: Uint8Array, position: number) => {
      headerBytes ??= bytes.length;
      written += bytes.length;
      return inner.write(bytes, position);
    },
    datasync: () => {
      syncedAfter.push(written);
      return inner.datasync();
    },
  };
  const chunk = new Uint8Array(1024 * 1024).fill(7);
  async function* chunks(): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < 20; i++) yield chunk;
  }
  await writeSnapshotFile(handle, meta, chunks());
  assert.equal(syncedAfter.length, 2, `synced after ${syncedAfter.join(', ')} bytes`);
  // After the chunk that reached each multiple of the bound (the header came first).
  assert.deepEqual(
    syncedAfter.map((bytes) => bytes - (headerBytes as number)),
    [8, 16].map((mib) => mib * 1024 * 1024),
  );
  assert.equal(snapshotSyncEveryBytes, 8 * 1024 * 1024);
});
