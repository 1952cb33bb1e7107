/**
 * The typed records inside WAL segments (framed by record-codec.ts). All integers
 * are little-endian; terms, indexes and ids take 8 bytes.
 *
 *   1 segment    formatVersion u32, seq u64, firstIndex u64
 *                — first in every segment, so a misplaced or renamed file is caught.
 *   2 entry      term u64, index u64, kind u8 (0 normal, 1 config), data ...
 *                — an entry at index i also discards every entry >= i before it
 *                  (a new leader overwrote the suffix).
 *   3 hardState  term u64, vote u64, commit u64 — the newest one wins.
 *   4 snapshot   index u64, term u64 — a snapshot up to `index` is durable in the
 *                snapshot store: entries <= index are no longer needed (compaction).
 *   5 restore    index u64, term u64 — the log was replaced by a snapshot installed
 *                from the leader (§7, Figure 13 step 7): every entry before this
 *                record is void, and the log continues at index + 1.
 *   6 commit     count u32 — ends a write group (one write, one sync) of `count`
 *                records before it. Recovery applies a group only with its commit
 *                record, so a save is all-or-nothing: a torn write can never leave
 *                a Ready's entries without its hard state (say, entries of a term
 *                the node never durably entered), a state the node never had.
 *
 * Snapshot and restore differ on purpose: after a local compaction the entries
 * after the snapshot are still the log, after a restore they are not.
 */
import type { Entry, EntryKind, HardState, LogIndex, Term } from '../raft/index.js';
import { ByteReader, ByteWriter, DecodeError } from '../lib/index.js';
import type { RawRecord } from './record-codec.js';
import { appendRecord } from './record-codec.js';

export const WAL_FORMAT_VERSION = 1;

export type WalRecord =
  | { readonly type: 'segment'; readonly seq: number; readonly firstIndex: LogIndex }
  | { readonly type: 'entry'; readonly entry: Entry }
  | { readonly type: 'hardState'; readonly hardState: HardState }
  | { readonly type: 'snapshot'; readonly index: LogIndex; readonly term: Term }
  | { readonly type: 'restore'; readonly index: LogIndex; readonly term: Term }
  | { readonly type: 'commit'; readonly count: number };

const typeCodes = { segment: 1, entry: 2, hardState: 3, snapshot: 4, restore: 5, commit: 6 } as const;
const kindCodes: Record<EntryKind, number> = { normal: 0, config: 1 };

export function appendWalRecord(w: ByteWriter, record: WalRecord): void {
  switch (record.type) {
    case 'segment':
      appendRecord(w, typeCodes.segment, (x) => x.u32(WAL_FORMAT_VERSION).u53(record.seq).u53(record.firstIndex));
      return;
    case 'entry': {
      const { term, index, kind, data } = record.entry;
      appendRecord(w, typeCodes.entry, (x) => x.u53(term).u53(index).u8(kindCodes[kind]).raw(data));
      return;
    }
    case 'hardState': {
      const { term, vote, commit } = record.hardState;
      appendRecord(w, typeCodes.hardState, (x) => x.u53(term).u53(vote).u53(commit));
      return;
    }
    case 'snapshot':
    case 'restore':
      appendRecord(w, typeCodes[record.type], (x) => x.u53(record.index).u53(record.term));
      return;
    case 'commit':
      appendRecord(w, typeCodes.commit, (x) => x.u32(record.count));
      return;
  }
}

/** Decodes a record whose checksum matched; throws DecodeError if it does not parse. */
/**
 * `entryData: 'view'` leaves an entry's data a view into the record's bytes, for a
 * replay that keeps few of the entries it decodes and copies those (recoverWal);
 * otherwise the data is a copy.
 */
export function decodeWalRecord(raw: RawRecord, entryData: 'copy' | 'view' = 'copy'): WalRecord {
  const r = new ByteReader(raw.payload);
  let record: WalRecord;
  switch (raw.type) {
    case typeCodes.segment: {
      const version = r.u32();
      if (version !== WAL_FORMAT_VERSION) throw new DecodeError(`unsupported WAL format version ${version} (this build reads ${WAL_FORMAT_VERSION})`);
      record = { type: 'segment', seq: r.u53(), firstIndex: r.u53() };
      break;
    }
    case typeCodes.entry: {
      const term = r.u53();
      const index = r.u53();
      const code = r.u8();
      const kind: EntryKind | undefined = code === 0 ? 'normal' : code === 1 ? 'config' : undefined;
      if (kind === undefined) throw new DecodeError(`unknown entry kind ${code}`);
      if (index === 0) throw new DecodeError('entry with index 0');
      return { type: 'entry', entry: { term, index, kind, data: entryData === 'view' ? r.view(r.remaining) : r.rest() } };
    }
    case typeCodes.hardState:
      record = { type: 'hardState', hardState: { term: r.u53(), vote: r.u53(), commit: r.u53() } };
      break;
    case typeCodes.snapshot:
      record = { type: 'snapshot', index: r.u53(), term: r.u53() };
      break;
    case typeCodes.restore:
      record = { type: 'restore', index: r.u53(), term: r.u53() };
      break;
    case typeCodes.commit:
      record = { type: 'commit', count: r.u32() };
      break;
    default:
      throw new DecodeError(`unknown record type ${raw.type}`);
  }
  r.end(`a ${record.type} record`);
  return record;
}

/** The bytes of one write group: the records, then the commit record that seals them. */
export function encodeWriteGroup(records: readonly WalRecord[]): Uint8Array {
  const w = new ByteWriter(records.reduce((n, r) => n + 40 + (r.type === 'entry' ? r.entry.data.length : 0), 16));
  for (const record of records) appendWalRecord(w, record);
  appendWalRecord(w, { type: 'commit', count: records.length });
  return w.finish();
}
