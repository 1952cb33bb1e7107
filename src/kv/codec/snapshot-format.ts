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
import { ByteReader, ByteWriter, DecodeError } from './byte-codec.js';

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
    this.writer.raw(MAGIC).uint(index);
  }

  startTable(name: string): void {
    this.writer.string(name);
  }

  entry(table: string, key: Uint8Array, value: Uint8Array): void {
    if (key.length === 0) throw new RangeError(`table ${table} has an empty key`);
    this.writer.bytes(key).bytes(value);
  }

  endTable(): void {
    this.writer.uint(0);
  }

  /** The bytes encoded so far, once they fill a chunk; undefined until then. */
  fullChunk(): Uint8Array | undefined {
    return this.writer.length >= CHUNK_BYTES ? this.take() : undefined;
  }

  /** Ends the tables: the last chunk, padded, with the checksum at its end. */
  finish(): Uint8Array {
    this.writer.uint(0);
    const rest = this.take();
    const padding = new Uint8Array(Math.ceil(this.writtenBytes / PAD_BYTES) * PAD_BYTES - this.writtenBytes);
    this.hash.update(padding);
    return join([rest, padding, this.hash.digest()]);
  }

  private take(): Uint8Array {
    const chunk = this.writer.finish();
    this.hash.update(chunk);
    this.writtenBytes += chunk.length;
    this.writer = new ByteWriter(CHUNK_BYTES + 64 * 1024);
    return chunk;
  }
}

export interface DecodedSnapshot {
  readonly index: number;
  /** Entries are views into the snapshot's bytes. */
  readonly tables: ReadonlyMap<string, readonly (readonly [Uint8Array, Uint8Array])[]>;
}

/** Checks and decodes a snapshot; throws an Error naming the problem if it is not one. */
export function decodeSnapshot(data: Uint8Array): DecodedSnapshot {
  if (data.length < MAGIC.length + CHECKSUM_BYTES || !Buffer.from(data.subarray(0, MAGIC.length)).equals(MAGIC)) {
    throw new Error('Cannot restore key-value snapshot: not a snapshot of this store (bad magic)');
  }
  const body = data.subarray(0, data.length - CHECKSUM_BYTES);
  const checksum = createHash('sha256').update(body).digest();
  if (!checksum.equals(data.subarray(data.length - CHECKSUM_BYTES))) {
    throw new Error(`Cannot restore key-value snapshot: checksum mismatch (${data.length} bytes, corrupt or truncated)`);
  }
  try {
    const r = new ByteReader(body);
    r.view(MAGIC.length);
    const index = r.uint();
    const tables = new Map<string, [Uint8Array, Uint8Array][]>();
    while (r.remaining > 0) {
      const name = r.string();
      if (name === '') {
        if (r.view(r.remaining).some((byte) => byte !== 0)) throw new DecodeError('bytes other than padding after the last table');
        break;
      }
      if (tables.has(name)) throw new DecodeError(`table ${name} appears twice`);
      const entries: [Uint8Array, Uint8Array][] = [];
      for (;;) {
        const keyBytes = r.uint();
        if (keyBytes === 0) break;
        const key = r.view(keyBytes);
        entries.push([key, r.view(r.uint())]);
      }
      tables.set(name, entries);
    }
    return { index, tables };
  } catch (error) {
    if (error instanceof DecodeError) throw new Error(`Cannot restore key-value snapshot: ${error.message}`);
    throw error;
  }
}
