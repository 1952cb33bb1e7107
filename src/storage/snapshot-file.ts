/**
 * The snapshot file format: one file holds one snapshot, checksummed as a whole.
 *
 *   magic "KEELSNAP" (8) | version u32 | crc32c u32 of everything after it |
 *   metaLength u32 | meta | dataLength u64 | data
 *   meta = index u64, term u64, voterCount u32, voters u64..., learnerCount u32, learners u64...
 *
 * The explicit lengths let a damaged file be told apart from a truncated one in
 * the error message; the checksum catches everything else.
 */
import type { ClusterConfig, Snapshot, SnapshotMeta } from '../raft/types.js';
import { ByteReader, ByteWriter, MalformedError } from './bytes.js';
import { crc32c } from './crc32c.js';

const MAGIC = new TextEncoder().encode('KEELSNAP');
export const SNAPSHOT_FORMAT_VERSION = 1;
/** magic + version + crc: the part the checksum does not cover. */
const PREAMBLE_BYTES = MAGIC.length + 4 + 4;

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
    if (count > r.remaining / 8) throw new MalformedError(`member count ${count} exceeds the meta length`);
    return Array.from({ length: count }, () => r.u53());
  };
  const config: ClusterConfig = { voters: list(), learners: list() };
  r.end('the snapshot meta');
  return { index, term, config };
}

/**
 * The file's bytes in two parts (header, then the data as is), so a large
 * snapshot is never copied just to prepend a header.
 */
export function encodeSnapshotFile(snapshot: Snapshot): [Uint8Array, Uint8Array] {
  const { header, crcFrom } = headerOf(snapshot);
  return [withCrc(header, crc32c(snapshot.data, crcFrom)), snapshot.data];
}

/** A slice of the data checksummed at a time by encodeSnapshotFilePaced. */
const CRC_SLICE_BYTES = 1024 * 1024;

/**
 * encodeSnapshotFile, with the data checksummed a slice at a time, awaiting
 * `between()` after each: a snapshot of hundreds of MB does not hold the event loop
 * for the whole checksum.
 */
export async function encodeSnapshotFilePaced(snapshot: Snapshot, between: () => Promise<void>): Promise<[Uint8Array, Uint8Array]> {
  const { header, crcFrom } = headerOf(snapshot);
  let crc = crcFrom;
  for (let at = 0; at < snapshot.data.length; at += CRC_SLICE_BYTES) {
    crc = crc32c(snapshot.data.subarray(at, at + CRC_SLICE_BYTES), crc);
    await between();
  }
  return [withCrc(header, crc), snapshot.data];
}

/** The header with a zero checksum, and the checksum of its part the checksum covers. */
function headerOf(snapshot: Snapshot): { header: Uint8Array; crcFrom: number } {
  const meta = encodeMeta(snapshot.meta);
  const w = new ByteWriter(PREAMBLE_BYTES + 4 + meta.length + 8);
  w.bytes(MAGIC).u32(SNAPSHOT_FORMAT_VERSION).u32(0).u32(meta.length).bytes(meta).u53(snapshot.data.length);
  const header = w.finish();
  return { header, crcFrom: crc32c(header.subarray(PREAMBLE_BYTES)) };
}

function withCrc(header: Uint8Array, crc: number): Uint8Array {
  new DataView(header.buffer, header.byteOffset, header.byteLength).setUint32(MAGIC.length + 4, crc >>> 0, true);
  return header;
}

/** Decodes and verifies a snapshot file; throws MalformedError saying what is wrong. */
export function decodeSnapshotFile(bytes: Uint8Array): Snapshot {
  if (bytes.length < PREAMBLE_BYTES || !MAGIC.every((b, i) => bytes[i] === b)) {
    throw new MalformedError(bytes.length < PREAMBLE_BYTES ? `truncated: only ${bytes.length} bytes` : 'not a snapshot file (bad magic)');
  }
  const r = new ByteReader(bytes.subarray(MAGIC.length));
  const version = r.u32();
  if (version !== SNAPSHOT_FORMAT_VERSION)
    throw new MalformedError(`unsupported snapshot format version ${version} (this build reads ${SNAPSHOT_FORMAT_VERSION})`);
  const expectedCrc = r.u32();
  const metaLength = r.u32();
  if (metaLength > r.remaining) throw new MalformedError(`truncated: meta of ${metaLength} bytes, only ${r.remaining} left`);
  const metaBytes = r.bytes(metaLength);
  const dataLength = r.u53();
  if (dataLength !== r.remaining) {
    throw new MalformedError(
      dataLength > r.remaining
        ? `truncated: data of ${dataLength} bytes, only ${r.remaining} present`
        : `${r.remaining - dataLength} unexpected bytes after the data`,
    );
  }
  const covered = bytes.subarray(PREAMBLE_BYTES);
  if (crc32c(covered) !== expectedCrc) throw new MalformedError('crc mismatch');
  return { meta: decodeMeta(metaBytes), data: r.rest() };
}
