/**
 * The snapshot file format: one file holds one snapshot, checksummed as a whole.
 *
 *   magic "KEELSNAP" (8) | version u32 | crc32c u32 | metaLength u32 | meta | dataLength u64 | data
 *   meta = index u64, term u64, voterCount u32, voters u64..., learnerCount u32, learners u64...
 *
 * The file is written and read as a stream, a chunk at a time, so that a snapshot of
 * hundreds of MB never has to be in memory whole.
 * Version 2 checksums metaLength, meta and data; dataLength, which a stream knows
 * only at its end, is written last and checked against the file's size instead.
 * Version 1 files (checksum over everything after it, dataLength included) still
 * read. The explicit lengths let a damaged file be told apart from a truncated one
 * in the error message; the checksum catches everything else.
 */
import type { ClusterConfig, SnapshotData, SnapshotMeta } from '../raft/index.js';
import { ByteReader, ByteWriter, DecodeError } from '../lib/index.js';
import { crc32c } from './crc32c.js';
import type { FileHandle } from './file-system.js';

const MAGIC = new TextEncoder().encode('KEELSNAP');
export const SNAPSHOT_FORMAT_VERSION = 2;
/** magic + version + crc: the part the checksum does not cover. */
const PREAMBLE_BYTES = MAGIC.length + 4 + 4;
const CRC_AT = MAGIC.length + 4;
const DATA_LENGTH_BYTES = 8;
/** Bytes read at a time when a file is verified or copied. */
const READ_CHUNK_BYTES = 1024 * 1024;

function encodeMeta(meta: SnapshotMeta): Uint8Array {
  const w = new ByteWriter(64);
  w.u53(meta.index).u53(meta.term);
  for (const ids of [meta.config.voters, meta.config.learners]) {
    w.u32(ids.length);
    for (const id of ids) w.u53(id);
  }
  return w.finish();
}

function decodeMeta(bytes: Uint8Array): SnapshotMeta {
  const r = new ByteReader(bytes);
  const index = r.u53();
  const term = r.u53();
  const list = (): number[] => {
    const count = r.u32();
    if (count > r.remaining / 8) throw new DecodeError(`member count ${count} exceeds the meta length`);
    return Array.from({ length: count }, () => r.u53());
  };
  const config: ClusterConfig = { voters: list(), learners: list() };
  r.end('the snapshot meta');
  return { index, term, config };
}

/** Where a verified file's parts are. */
export interface SnapshotFileLayout {
  readonly meta: SnapshotMeta;
  readonly dataOffset: number;
  readonly dataLength: number;
}

/**
 * Writes a snapshot file through `handle` (new and empty) a chunk at a time, as the
 * chunks come: the header with its length and checksum blank, the data checksummed on
 * the way, then the two blanks. Does not sync but in checkpoint().
 *
 * Until finish(), the data length in the header says how much of the data is durable
 * (checkpoint()), so a transfer a crash cut short goes on from there (resume()).
 */
export class SnapshotFileWriter {
  private crc: number;
  private dataLength = 0;
  /** Data bytes the last checkpoint (or resume) made durable. */
  private durableLength = 0;

  private constructor(
    private readonly handle: FileHandle,
    readonly meta: SnapshotMeta,
    private readonly dataOffset: number,
    headerCrc: number,
  ) {
    this.crc = headerCrc;
  }

  static async create(handle: FileHandle, meta: SnapshotMeta): Promise<SnapshotFileWriter> {
    const metaBytes = encodeMeta(meta);
    const header = new ByteWriter(PREAMBLE_BYTES + 4 + metaBytes.length + DATA_LENGTH_BYTES);
    header.raw(MAGIC).u32(SNAPSHOT_FORMAT_VERSION).u32(0).u32(metaBytes.length).raw(metaBytes).u53(0);
    const headerBytes = header.finish();
    await handle.write(headerBytes, 0);
    return new SnapshotFileWriter(handle, meta, headerBytes.length, crc32c(headerBytes.subarray(PREAMBLE_BYTES, headerBytes.length - DATA_LENGTH_BYTES)));
  }

  /**
   * Reopens a file a transfer was writing when the node stopped, to go on from the data
   * its last checkpoint made durable: what follows is cut off (after a power cut it may
   * be lost or zeros), and the checksum is computed again over what stays, a chunk at a
   * time, awaiting `between()` after each. Throws DecodeError for a file that is not one.
   */
  static async resume(handle: FileHandle, between: () => Promise<void>): Promise<SnapshotFileWriter> {
    const { layout, version, size } = await readHeaderParts(handle);
    if (version !== SNAPSHOT_FORMAT_VERSION) throw new DecodeError(`a transfer is written in version ${SNAPSHOT_FORMAT_VERSION}, not ${version}`);
    const { meta, dataOffset, dataLength: durable } = layout;
    if (durable > size - dataOffset) throw new DecodeError(`its checkpoint says ${durable} bytes of data, only ${size - dataOffset} present`);
    await handle.truncate(dataOffset + durable);
    const writer = new SnapshotFileWriter(handle, meta, dataOffset, await checksum(handle, dataOffset - DATA_LENGTH_BYTES, layout, between));
    writer.dataLength = durable;
    writer.durableLength = durable;
    return writer;
  }

  /** Data bytes written so far. */
  get size(): number {
    return this.dataLength;
  }

  /** Data bytes written since the last checkpoint (or resume). */
  get uncheckpointed(): number {
    return this.dataLength - this.durableLength;
  }

  /** Makes the data written so far durable, and records in the header how much that is. */
  async checkpoint(): Promise<void> {
    // The data first, then the length that vouches for it.
    await this.handle.datasync();
    await this.writeDataLength();
    await this.handle.datasync();
    this.durableLength = this.dataLength;
  }

  async append(chunk: Uint8Array): Promise<void> {
    if (chunk.length === 0) return;
    this.crc = crc32c(chunk, this.crc);
    await this.handle.write(chunk, this.dataOffset + this.dataLength);
    this.dataLength += chunk.length;
  }

  /** Fills in the data's length and the checksum; answers where the data is. */
  async finish(): Promise<SnapshotFileLayout> {
    await this.writeDataLength();
    await this.handle.write(new ByteWriter(4).u32(this.crc >>> 0).finish(), CRC_AT);
    return { meta: this.meta, dataOffset: this.dataOffset, dataLength: this.dataLength };
  }

  private writeDataLength(): Promise<void> {
    return this.handle.write(new ByteWriter(DATA_LENGTH_BYTES).u53(this.dataLength).finish(), this.dataOffset - DATA_LENGTH_BYTES);
  }
}

/**
 * Bytes a snapshot file is written ahead of its last fdatasync at most. Left to the
 * kernel, a snapshot of a large store piles up gigabytes of dirty pages, and on ext4
 * (data=ordered) a journal commit must write a file's dirty data out first: the WAL's
 * fsyncs and the store's synchronous commits on the event loop then waited seconds
 * behind it (ticks held back 0.5-2.3 s during every snapshot of a 1 GiB store, and the
 * leader changed at them). Synced as it goes, the file leaves each commit little to
 * flush, as RocksDB's bytes_per_sync does for the same reason.
 */
export const snapshotSyncEveryBytes = 8 * 1024 * 1024;

/** A whole snapshot file from `chunks` (SnapshotFileWriter), synced every snapshotSyncEveryBytes on the way. */
export async function writeSnapshotFile(handle: FileHandle, meta: SnapshotMeta, chunks: AsyncIterable<Uint8Array>): Promise<SnapshotFileLayout> {
  const writer = await SnapshotFileWriter.create(handle, meta);
  let unsynced = 0;
  for await (const chunk of chunks) {
    await writer.append(chunk);
    unsynced += chunk.length;
    if (unsynced >= snapshotSyncEveryBytes) {
      await handle.datasync();
      unsynced = 0;
    }
  }
  return writer.finish();
}

/**
 * Reads a snapshot file's header and checks its lengths and checksum, a chunk at a
 * time, awaiting `between()` after each so that a large file does not hold the event
 * loop. Throws DecodeError saying what is wrong.
 */
export async function verifySnapshotFile(handle: FileHandle, between: () => Promise<void>): Promise<SnapshotFileLayout> {
  const { layout, version, expectedCrc } = await readHeader(handle);
  // Version 1 covered dataLength too; version 2 checks it against the file's size.
  const coveredHeaderEnd = version === 1 ? layout.dataOffset : layout.dataOffset - DATA_LENGTH_BYTES;
  if ((await checksum(handle, coveredHeaderEnd, layout, between)) >>> 0 !== expectedCrc) throw new DecodeError('crc mismatch');
  return layout;
}

/** The checksum over the header from the preamble to `coveredHeaderEnd`, then the data, a chunk at a time. */
async function checksum(handle: FileHandle, coveredHeaderEnd: number, layout: SnapshotFileLayout, between: () => Promise<void>): Promise<number> {
  const { dataOffset, dataLength } = layout;
  let crc = crc32c(await handle.read(PREAMBLE_BYTES, coveredHeaderEnd - PREAMBLE_BYTES));
  for (let at = 0; at < dataLength; at += READ_CHUNK_BYTES) {
    crc = crc32c(await handle.read(dataOffset + at, Math.min(READ_CHUNK_BYTES, dataLength - at)), crc);
    await between();
  }
  return crc;
}

/** The meta of a snapshot file's header, whether or not its data is complete (a transfer's file). */
export async function readSnapshotFileMeta(handle: FileHandle): Promise<SnapshotMeta> {
  return (await readHeaderParts(handle)).layout.meta;
}

/** The header of a file this process wrote and synced (not checksummed again). */
export async function readSnapshotFileLayout(handle: FileHandle): Promise<SnapshotFileLayout> {
  return (await readHeader(handle)).layout;
}

async function readHeader(handle: FileHandle): Promise<{ layout: SnapshotFileLayout; version: number; expectedCrc: number }> {
  const { layout, version, expectedCrc, size } = await readHeaderParts(handle);
  const present = size - layout.dataOffset;
  if (layout.dataLength !== present) {
    throw new DecodeError(
      layout.dataLength > present
        ? `truncated: data of ${layout.dataLength} bytes, only ${present} present`
        : `${present - layout.dataLength} unexpected bytes after the data`,
    );
  }
  return { layout, version, expectedCrc };
}

/** The header's fields, its data length not yet checked against the file's size. */
async function readHeaderParts(handle: FileHandle): Promise<{ layout: SnapshotFileLayout; version: number; expectedCrc: number; size: number }> {
  const size = await handle.size();
  const preamble = await handle.read(0, PREAMBLE_BYTES + 4);
  if (preamble.length < PREAMBLE_BYTES || !MAGIC.every((b, i) => preamble[i] === b)) {
    throw new DecodeError(size < PREAMBLE_BYTES ? `truncated: only ${size} bytes` : 'not a snapshot file (bad magic)');
  }
  const r = new ByteReader(preamble.subarray(MAGIC.length));
  const version = r.u32();
  if (version !== 1 && version !== SNAPSHOT_FORMAT_VERSION)
    throw new DecodeError(`unsupported snapshot format version ${version} (this build reads 1 and ${SNAPSHOT_FORMAT_VERSION})`);
  const expectedCrc = r.u32();
  const metaLength = r.u32();
  const left = size - PREAMBLE_BYTES - 4;
  if (metaLength + DATA_LENGTH_BYTES > left) throw new DecodeError(`truncated: meta of ${metaLength} bytes, only ${Math.max(0, left)} left`);
  const rest = new ByteReader(await handle.read(PREAMBLE_BYTES + 4, metaLength + DATA_LENGTH_BYTES));
  const meta = decodeMeta(rest.raw(metaLength));
  const dataLength = rest.u53();
  const dataOffset = PREAMBLE_BYTES + 4 + metaLength + DATA_LENGTH_BYTES;
  return { layout: { meta, dataOffset, dataLength }, version, expectedCrc, size };
}

/**
 * A stored snapshot's data, read from its file on demand: what the Raft core holds
 * and sends a chunk at a time instead of the bytes themselves. Reads are synchronous
 * (the core cannot wait) and a chunk at most (snapshotChunkBytesMax), from a file
 * just written, so usually from the page cache.
 */
export class FileSnapshotData implements SnapshotData {
  constructor(
    private readonly handle: FileHandle,
    private readonly layout: SnapshotFileLayout,
  ) {}

  get byteLength(): number {
    return this.layout.dataLength;
  }

  subarray(begin: number, end: number): Uint8Array {
    const from = Math.min(Math.max(0, begin), this.byteLength);
    const to = Math.min(Math.max(from, end), this.byteLength);
    return this.handle.readSync(this.layout.dataOffset + from, to - from);
  }

  /** The data in chunks of up to `chunkBytes`, read as they are asked for. */
  async *chunks(chunkBytes = READ_CHUNK_BYTES): AsyncGenerator<Uint8Array> {
    for (let at = 0; at < this.byteLength; at += chunkBytes) {
      yield await this.handle.read(this.layout.dataOffset + at, Math.min(chunkBytes, this.byteLength - at));
    }
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

/** A snapshot to store: its data, in memory or in a file, or a stream of it whose length shows at its end. */
export type SnapshotSource =
  | { readonly meta: SnapshotMeta; readonly data: SnapshotData }
  | { readonly meta: SnapshotMeta; readonly chunks: AsyncIterable<Uint8Array> };

/** A source's data in chunks. */
export function sourceChunks(source: SnapshotSource): AsyncIterable<Uint8Array> {
  return 'chunks' in source ? source.chunks : snapshotChunks(source.data);
}

/** Any snapshot data in chunks of up to `chunkBytes` (views, not copies, where it is in memory). */
async function* snapshotChunks(data: SnapshotData, chunkBytes = READ_CHUNK_BYTES): AsyncGenerator<Uint8Array> {
  if (data instanceof FileSnapshotData) {
    yield* data.chunks(chunkBytes);
    return;
  }
  for (let at = 0; at < data.byteLength; at += chunkBytes) yield data.subarray(at, at + chunkBytes);
}
