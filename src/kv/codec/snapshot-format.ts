/**
 * The bytes of a state machine snapshot: every table of the store, verbatim, at one
 * applied index. Copying the tables (rather than, say, only the live keys) keeps all
 * history, the session table, the compaction state and the applied index, so a replica
 * restored from it answers every read, historical ones included, as the source did, and
 * applies the following entries identically.
 *
 *   snapshot = magic "KEELKVS1" appliedIndex:varint table* [0x00 0x00*] checksum
 *   table    = name:string (key:bytes value:bytes)* 0x00      (keys are never empty)
 *   checksum = SHA-256 of everything before it (32 bytes)
 * An empty table name ends the tables; the zero bytes after it pad what precedes the
 * checksum to a multiple of 512 bytes. etcd's client checks that a snapshot it saves
 * is "a multiple of 512 bytes and a SHA-256" (etcd's bolt file has 4 KiB pages), so
 * the padding lets etcdctl snapshot save keep ours. Snapshots written without it
 * (before it existed) decode the same.
 *
 * The format is independent of LMDB's file layout (page size, free pages), so a snapshot
 * restores into any version of the store that reads this format.
 */
import { createHash } from 'node:crypto';
import { ByteReader, ByteWriter, DecodeError, readVarintAt, varintBytesMax, varintProblemText, varintSize } from '../../lib/index.js';

const MAGIC = Buffer.from('KEELKVS1', 'latin1');
const CHECKSUM_BYTES = 32;
const PAD_BYTES = 512;

export interface SnapshotTable {
  readonly name: string;
  readonly entries: Iterable<{ readonly key: Uint8Array; readonly value: Uint8Array }>;
}

export function encodeSnapshot(index: number, tables: readonly SnapshotTable[]): Uint8Array {
  const encoder = new SnapshotEncoder(index);
  const chunks: Uint8Array[] = [];
  for (const table of tables) {
    encoder.startTable(table.name);
    for (const { key, value } of table.entries) {
      encoder.entry(table.name, key, value);
      const chunk = encoder.fullChunk();
      if (chunk) chunks.push(chunk);
    }
    encoder.endTable();
  }
  chunks.push(encoder.finish());
  return join(chunks);
}

function join(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/** The encoding is handed out in chunks of about this size. */
const CHUNK_BYTES = 1024 * 1024;

/**
 * Encodes a snapshot piece by piece, so that a caller can stop between entries and let
 * other work run, and write each chunk out as it fills (MvccStore.openSnapshotStream):
 * the snapshot is never in memory whole. The chunks are hashed as they are handed out;
 * finish() gives the last of them with the padding and the checksum. encodeSnapshot
 * joins the same chunks in memory.
 */
export class SnapshotEncoder {
  private readonly hash = createHash('sha256');
  private writer = new ByteWriter(CHUNK_BYTES + 64 * 1024);
  private writtenBytes = 0;

  constructor(index: number) {
    this.writer.raw(MAGIC).varint(index);
  }

  startTable(name: string): void {
    this.writer.string(name);
  }

  entry(table: string, key: Uint8Array, value: Uint8Array): void {
    if (key.length === 0) throw new RangeError(`table ${table} has an empty key`);
    this.writer.byteString(key).byteString(value);
  }

  endTable(): void {
    this.writer.varint(0);
  }

  /** The bytes encoded so far, once they fill a chunk; undefined until then. */
  fullChunk(): Uint8Array | undefined {
    return this.writer.size >= CHUNK_BYTES ? this.take() : undefined;
  }

  /** Ends the tables: the last chunk, padded, with the checksum at its end. */
  finish(): Uint8Array {
    this.writer.varint(0);
    const rest = this.take();
    const padding = new Uint8Array(Math.ceil(this.writtenBytes / PAD_BYTES) * PAD_BYTES - this.writtenBytes);
    this.hash.update(padding);
    return join([rest, padding, this.hash.digest()]);
  }

  private take(): Uint8Array {
    // The writer is replaced below, so its bytes can go out as they are, not copied: a
    // snapshot of a large store allocated and copied each of its megabytes twice.
    const chunk = this.writer.written();
    this.hash.update(chunk);
    this.writtenBytes += chunk.length;
    this.writer = new ByteWriter(CHUNK_BYTES + 64 * 1024);
    return chunk;
  }
}

export interface DecodedSnapshot {
  readonly index: number;
  /** Entries are copies, independent of the snapshot's bytes. */
  readonly tables: ReadonlyMap<string, readonly (readonly [Uint8Array, Uint8Array])[]>;
}

/** Checks and decodes a snapshot held in memory; throws an Error naming the problem if it is not one. */
export function decodeSnapshot(data: Uint8Array): DecodedSnapshot {
  const reader = new SnapshotReader(data);
  const tables = new Map<string, [Uint8Array, Uint8Array][]>();
  try {
    for (const { table, key, value } of reader.entries()) {
      let entries = tables.get(table);
      if (!entries) tables.set(table, (entries = []));
      entries.push([key, value]);
    }
  } catch (error) {
    throw reader.explain(error);
  }
  for (const name of reader.tableNames) if (!tables.has(name)) tables.set(name, []);
  return { index: reader.index, tables };
}

/** The bytes of a snapshot as a reader needs them: in memory, or read from a file a chunk at a time. */
export interface SnapshotBytes {
  readonly byteLength: number;
  subarray(begin: number, end: number): Uint8Array;
}

/**
 * What is wrong with `firstBytes`, the start of a snapshot said to be taken at
 * `index`, or undefined: checks as much of the magic and the index as they hold (a
 * first chunk may be shorter than the header).
 */
export function snapshotStartProblem(index: number, firstBytes: Uint8Array): string | undefined {
  const magic = firstBytes.subarray(0, MAGIC.length);
  if (!Buffer.from(magic).equals(MAGIC.subarray(0, magic.length))) return 'not a snapshot of this store (bad magic)';
  if (firstBytes.length <= MAGIC.length) return undefined;
  const rest = firstBytes.subarray(MAGIC.length);
  const lastByte = rest.findIndex((byte) => (byte & 0x80) === 0);
  if (lastByte < 0) return undefined;
  try {
    const taken = new ByteReader(rest.subarray(0, lastByte + 1)).varint();
    return taken === index ? undefined : `it was taken at index ${taken}, not ${index}`;
  } catch (error) {
    return error instanceof DecodeError ? error.message : String(error);
  }
}

/** Bytes read from a snapshot at a time. */
const READ_BYTES = 1024 * 1024;

/** One entry of a snapshot's table, in a copy of its own. */
export interface SnapshotEntry {
  readonly table: string;
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

/**
 * Reads a snapshot from front to back about 1 MiB at a time, so that one of any size is
 * checked or restored without being in memory whole (the bytes may be a file read on
 * demand). entries() hands out the tables' entries as it reads them and throws an Error
 * naming the problem on anything malformed; the checksum is compared at the end, so a
 * caller that writes entries as they come must do so where the throw undoes them (in
 * one transaction).
 */
export class SnapshotReader {
  /** The applied index in the header. */
  readonly index: number;
  /** The tables read so far, in order. */
  readonly tableNames: string[] = [];
  private readonly hash = createHash('sha256');
  private readonly bodyBytes: number;
  /** Bytes of the body read from the source and hashed. */
  private read = 0;
  private buffer: Uint8Array = new Uint8Array(0);
  private at = 0;
  private checksumVerdict: boolean | undefined;

  constructor(private readonly source: SnapshotBytes) {
    this.bodyBytes = source.byteLength - CHECKSUM_BYTES;
    if (this.bodyBytes < MAGIC.length || !Buffer.from(source.subarray(0, MAGIC.length)).equals(MAGIC)) {
      throw new Error('Cannot restore key-value snapshot: not a snapshot of this store (bad magic)');
    }
    this.index = this.decoding(() => {
      this.take(MAGIC.length);
      return this.varint();
    });
  }

  /** Every entry of every table, in order; then the padding and the checksum are checked. */
  *entries(): Generator<SnapshotEntry> {
    // Snapshots from before the padding may end without the empty name.
    while (this.position() < this.bodyBytes) {
      const name = this.decoding(() => new TextDecoder('utf-8', { fatal: true }).decode(this.take(this.varint())));
      if (name === '') break;
      if (this.tableNames.includes(name)) throw new Error(`Cannot restore key-value snapshot: table ${name} appears twice`);
      this.tableNames.push(name);
      for (;;) {
        const entry = this.decoding(() => {
          const keyBytes = this.varint();
          if (keyBytes === 0) return undefined;
          const key = this.take(keyBytes).slice();
          return { table: name, key, value: this.take(this.varint()).slice() };
        });
        if (entry === undefined) break;
        yield entry;
      }
    }
    this.decoding(() => {
      for (let left = this.bodyBytes - this.position(); left > 0; ) {
        const padding = this.take(Math.min(left, READ_BYTES));
        if (padding.some((byte) => byte !== 0)) throw new DecodeError('bytes other than padding after the last table');
        left -= padding.length;
      }
    });
    if (!this.checksumMatches()) throw this.checksumMismatch();
  }

  /**
   * What to report for `error`, thrown while the entries were read (by entries() or by
   * the caller, on an entry it cannot take): damage shows as nonsense before the
   * checksum at the end can tell, so a snapshot whose checksum fails is reported as
   * damaged, whatever its bytes looked like.
   */
  explain(error: unknown): unknown {
    return this.checksumMatches() ? error : this.checksumMismatch();
  }

  private checksumMatches(): boolean {
    if (this.checksumVerdict === undefined) {
      for (let at = this.read; at < this.bodyBytes; at += READ_BYTES) this.hash.update(this.source.subarray(at, Math.min(at + READ_BYTES, this.bodyBytes)));
      this.read = this.bodyBytes;
      this.checksumVerdict = this.hash.digest().equals(this.source.subarray(this.bodyBytes, this.source.byteLength));
    }
    return this.checksumVerdict;
  }

  private checksumMismatch(): Error {
    return new Error(`Cannot restore key-value snapshot: checksum mismatch (${this.source.byteLength} bytes, corrupt or truncated)`);
  }

  private position(): number {
    return this.read - (this.buffer.length - this.at);
  }

  private varint(): number {
    const at = this.position();
    // A varint takes at most varintBytesMax bytes; fewer are left only near the end.
    const available = Math.min(varintBytesMax, this.bodyBytes - at);
    if (this.buffer.length - this.at < available) this.fill(available);
    const value = readVarintAt(this.buffer, this.at, this.at + available);
    if (value < 0) throw new DecodeError(`${varintProblemText(value)} at byte ${at}`);
    this.at += varintSize(value);
    return value;
  }

  /** The next `length` bytes of the body (a view, valid until the next read). */
  private take(length: number): Uint8Array {
    if (this.buffer.length - this.at < length) this.fill(length);
    const out = this.buffer.subarray(this.at, this.at + length);
    this.at += length;
    return out;
  }

  /** Reads on until `length` unread bytes are buffered. */
  private fill(length: number): void {
    const unread = this.buffer.subarray(this.at);
    if (this.position() + length > this.bodyBytes) {
      throw new DecodeError(`${length} bytes wanted at byte ${this.position()}, only ${this.bodyBytes - this.position()} left before the checksum`);
    }
    const more = Math.max(length - unread.length, Math.min(READ_BYTES, this.bodyBytes - this.read));
    const chunk = this.source.subarray(this.read, this.read + more);
    if (chunk.length !== more) throw new DecodeError(`only ${chunk.length} of ${more} bytes could be read at byte ${this.read}`);
    this.hash.update(chunk);
    this.read += more;
    const joined = new Uint8Array(unread.length + chunk.length);
    joined.set(unread);
    joined.set(chunk, unread.length);
    this.buffer = joined;
    this.at = 0;
  }

  private decoding<T>(read: () => T): T {
    try {
      return read();
    } catch (error) {
      if (error instanceof DecodeError) throw new Error(`Cannot restore key-value snapshot: ${error.message}`);
      throw error;
    }
  }
}
