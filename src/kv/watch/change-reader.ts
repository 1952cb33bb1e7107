/**
 * Reads the store's past changes in revision order, as watch events: what a watcher
 * that starts at an old revision must be sent before the live events of new applies
 * (etcd's syncWatchers reading the backend by revision).
 *
 * Two paths, both bounded by `recordsMax` records examined and `bytesMax` bytes of
 * events returned per call (so a catch-up step's time and memory stay bounded even
 * with large values):
 *   - a single key: its run of the history table (enc(key) ‖ revision), which is
 *     already in revision order and holds only that key, so the cost is that key's
 *     changes, whatever else the store holds;
 *   - a range: the byRevision table (revision ‖ sub -> enc(key)), every change of the
 *     store in revision order, keeping those whose encoded key lies in the range (the
 *     key encoding preserves order, so no key is decoded to test it).
 * A call never stops inside a revision: all events of one revision are returned
 * together (etcd never splits a revision across watch responses).
 *
 * Only revisions above the compacted revision are complete (compaction removes
 * superseded records and tombstones at or below it), so callers start above it.
 */
import type { Table } from '../env/kv-env.js';
import { decodeKey, encodeKey, historyKey, readRevision, REVISION_BYTES } from '../codec/key-encoding.js';
import { isFromKey, isSingleKey } from '../mvcc/key-range.js';
import { byRevisionKey } from '../mvcc/compaction.js';
import type { MvccReader } from '../mvcc/mvcc-reader.js';
import { decodeRecord, isTombstone, toKeyValue, type PutRecord } from '../mvcc/record.js';
import type { KeyValue, KvEvent } from '../types.js';
import { eventBytes } from './watcher.js';
import { assert } from '../../lib/index.js';

export interface ChangeQuery {
  readonly key: Uint8Array;
  /** As in RangeRequest: absent or empty for the single key. */
  readonly rangeEnd?: Uint8Array;
  /** The first revision to read (above the compacted revision). */
  readonly fromRevision: number;
  /** The last revision to read: the store's current revision. */
  readonly toRevision: number;
  /** Fill each event's prevKv (one more read per event). */
  readonly prevKv: boolean;
  /** Records examined before the call stops at the end of a revision. */
  readonly recordsMax: number;
  /** Bytes of events (eventBytes) returned before the call stops at the end of a revision. */
  readonly bytesMax: number;
}

export interface ChangeBatch {
  /** In revision order, sub-revision order within one revision. */
  readonly events: KvEvent[];
  /** Every change in the range up to this revision is in `events` (or an earlier batch). */
  readonly throughRevision: number;
}

const EMPTY = new Uint8Array(0);

export function readChanges(tables: { readonly history: Table; readonly byRevision: Table }, reader: MvccReader, query: ChangeQuery): ChangeBatch {
  assert(query.recordsMax >= 1, 'readChanges: recordsMax must be >= 1');
  if (query.fromRevision > query.toRevision) return { events: [], throughRevision: query.toRevision };
  return isSingleKey(query.rangeEnd) ? readKeyChanges(tables.history, reader, query) : readRangeChanges(tables, reader, query);
}

function readKeyChanges(history: Table, reader: MvccReader, query: ChangeQuery): ChangeBatch {
  const encodedKey = encodeKey(query.key);
  const events: KvEvent[] = [];
  // The key's state before the first change read, for the first event's prevKv.
  let previous = query.prevKv ? liveAt(reader, encodedKey, query.key, query.fromRevision - 1) : undefined;
  let examined = 0;
  let bytes = 0;
  for (const { key: lmdbKey, value } of history.getRange({
    start: historyKey(encodedKey, query.fromRevision),
    end: historyKey(encodedKey, query.toRevision + 1),
  })) {
    const revision = readRevision(lmdbKey, lmdbKey.length - REVISION_BYTES);
    const kv = isTombstone(value) ? undefined : toKeyValue(query.key, revision, decodeRecord(value) as PutRecord);
    const event = eventOf(query.key, revision, kv, previous);
    events.push(event);
    bytes += eventBytes(event);
    previous = kv;
    // One record is one whole revision of this key, so any record is a place to stop.
    if ((++examined >= query.recordsMax || bytes >= query.bytesMax) && revision < query.toRevision) return { events, throughRevision: revision };
  }
  return { events, throughRevision: query.toRevision };
}

function readRangeChanges(tables: { readonly history: Table; readonly byRevision: Table }, reader: MvccReader, query: ChangeQuery): ChangeBatch {
  const start = encodeKey(query.key);
  const end = isFromKey(query.rangeEnd) ? undefined : encodeKey(query.rangeEnd as Uint8Array);
  const events: KvEvent[] = [];
  let examined = 0;
  let bytes = 0;
  let stopAfter: number | undefined;
  for (const { key: revisionKey, value: encodedKey } of tables.byRevision.getRange({
    start: byRevisionKey(query.fromRevision, 0),
    end: byRevisionKey(query.toRevision + 1, 0),
  })) {
    const revision = readRevision(revisionKey, 0);
    if (stopAfter !== undefined && revision > stopAfter) return { events, throughRevision: stopAfter };
    if (encodedKey.compare(start) >= 0 && (end === undefined || encodedKey.compare(end) < 0)) {
      const record = tables.history.get(historyKey(encodedKey, revision));
      assert(record !== undefined, () => `readChanges: byRevision names revision ${revision} but the history has no record`);
      const key = decodeKey(encodedKey);
      const kv = isTombstone(record) ? undefined : toKeyValue(key, revision, decodeRecord(record) as PutRecord);
      const previous = query.prevKv ? liveAt(reader, encodedKey, key, revision - 1) : undefined;
      const event = eventOf(key, revision, kv, previous);
      events.push(event);
      bytes += eventBytes(event);
    }
    if ((++examined >= query.recordsMax || bytes >= query.bytesMax) && stopAfter === undefined) stopAfter = revision;
  }
  return { events, throughRevision: query.toRevision };
}

function liveAt(reader: MvccReader, encodedKey: Uint8Array, key: Uint8Array, revision: number): KeyValue | undefined {
  const found = reader.latest(encodedKey, revision);
  if (!found || isTombstone(found.data)) return undefined;
  return toKeyValue(key, found.modRevision, decodeRecord(found.data) as PutRecord);
}

/** A put carries the key as written; a delete only the key and its revision (as apply's events do). */
function eventOf(key: Uint8Array, revision: number, kv: KeyValue | undefined, previous: KeyValue | undefined): KvEvent {
  const event: KvEvent = kv
    ? { type: 'put', kv }
    : { type: 'delete', kv: { key, createRevision: 0, modRevision: revision, version: 0, value: EMPTY, lease: 0 } };
  return previous ? { ...event, prevKv: previous } : event;
}
