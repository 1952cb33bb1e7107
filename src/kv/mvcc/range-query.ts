/**
 * The part of a range read that works on the keys found, as etcd's apply does it
 * (server/etcdserver/txn/range.go): filter on mod/create revisions, sort, cut to
 * `limit`, strip values for keysOnly. `count` is the number of keys in the range at
 * the revision read, before the filters, as in etcd.
 *
 * Sorting: etcd sorts ascending by default when the target is not the key, and never
 * re-sorts keys already in ascending key order. Ties keep ascending key order (the sort
 * is stable over a key-ordered list), so results are the same on every replica.
 */
import { compareBytes } from './key-range.js';
import type { KeyValue, RangeRequest, RangeResponse, SortOrder, SortTarget } from '../types.js';

const EMPTY = new Uint8Array(0);

/** The sort to apply to a key-ascending list, or 'none'. */
export function effectiveSortOrder(request: RangeRequest): SortOrder {
  const order = request.sortOrder ?? 'none';
  const target = request.sortTarget ?? 'key';
  if (target !== 'key' && order === 'none') return 'ascend';
  if (target === 'key' && order === 'ascend') return 'none';
  return order;
}

export function hasFilters(request: RangeRequest): boolean {
  return Boolean(request.minModRevision || request.maxModRevision || request.minCreateRevision || request.maxCreateRevision);
}

/** Whether every key must be materialized before `limit` can be applied. */
export function needsAllKeys(request: RangeRequest): boolean {
  return effectiveSortOrder(request) !== 'none' || hasFilters(request);
}

/** Whether values must be read (they are stripped later for keysOnly, but may be sorted on). */
export function needsValues(request: RangeRequest): boolean {
  if (request.countOnly) return false;
  return !request.keysOnly || (request.sortTarget === 'value' && effectiveSortOrder(request) !== 'none');
}

function sortKey(target: SortTarget): (a: KeyValue, b: KeyValue) => number {
  switch (target) {
    case 'key':
      return (a, b) => compareBytes(a.key, b.key);
    case 'version':
      return (a, b) => a.version - b.version;
    case 'create':
      return (a, b) => a.createRevision - b.createRevision;
    case 'mod':
      return (a, b) => a.modRevision - b.modRevision;
    case 'value':
      return (a, b) => compareBytes(a.value, b.value);
  }
}

/**
 * `kvs`: the live keys of the range in ascending key order; all of them if
 * needsAllKeys(request), else at least min(limit + 1, all) of them. `count`: all keys.
 */
export function finishRange(kvs: readonly KeyValue[], count: number, request: RangeRequest): RangeResponse {
  if (request.countOnly) return { type: 'range', kvs: [], count, more: false };
  let out = kvs.filter(
    (kv) =>
      (!request.minModRevision || kv.modRevision >= request.minModRevision) &&
      (!request.maxModRevision || kv.modRevision <= request.maxModRevision) &&
      (!request.minCreateRevision || kv.createRevision >= request.minCreateRevision) &&
      (!request.maxCreateRevision || kv.createRevision <= request.maxCreateRevision),
  );
  const order = effectiveSortOrder(request);
  if (order !== 'none') {
    const by = sortKey(request.sortTarget ?? 'key');
    out.sort(order === 'ascend' ? by : (a, b) => by(b, a));
  }
  const limit = request.limit ?? 0;
  let more = false;
  if (limit > 0 && out.length > limit) {
    out = out.slice(0, limit);
    more = true;
  }
  if (request.keysOnly) out = out.map((kv) => ({ ...kv, value: EMPTY }));
  return { type: 'range', kvs: out, count, more };
}
