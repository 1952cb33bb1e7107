/**
 * The query of a scan (`GET /kv?...`) as a range request: which keys (a prefix, or a
 * range [start, end)), at which revision, how many, in which order, what to return.
 * Names follow etcd's RangeRequest: `sort` is its sort_target, `order` its sort_order.
 */
import { prefixEnd, type RangeRequest, type SortOrder, type SortTarget } from '../kv/index.js';
import { utf8 } from './json-bytes.js';
import { parseInteger, type Query, parseFlag } from './request-parsing.js';

const sortTargets: readonly SortTarget[] = ['key', 'version', 'create', 'mod', 'value'];
const sortOrders: readonly SortOrder[] = ['none', 'ascend', 'descend'];
const booleans = ['keysOnly', 'countOnly'] as const;
/** [0x00] as a range end means "every key from the start" (etcd's convention). */
const TO_THE_END = new Uint8Array([0]);

/** The range request, or the problem with the query. */
export function scanRequest(query: Query): RangeRequest | string {
  const numbers: Record<string, number> = {};
  for (const name of ['limit', 'rev'] as const) {
    const value = parseInteger(query[name], name);
    if (typeof value === 'string') return value;
    numbers[name] = value ?? 0;
  }
  const flags = { keysOnly: false, countOnly: false };
  for (const name of booleans) {
    const value = parseFlag(query, name);
    if (typeof value === 'string') return value;
    flags[name] = value;
  }
  const sortTarget = query.sort ?? 'key';
  if (!sortTargets.includes(sortTarget as SortTarget)) return `sort must be one of ${sortTargets.join(', ')}, got ${JSON.stringify(sortTarget)}`;
  const sortOrder = query.order ?? 'none';
  if (!sortOrders.includes(sortOrder as SortOrder)) return `order must be one of ${sortOrders.join(', ')}, got ${JSON.stringify(sortOrder)}`;
  const keys = keysOf(query);
  if (typeof keys === 'string') return keys;
  return {
    type: 'range',
    ...keys,
    limit: numbers['limit'] as number,
    revision: numbers['rev'] as number,
    sortTarget: sortTarget as SortTarget,
    sortOrder: sortOrder as SortOrder,
    keysOnly: flags.keysOnly,
    countOnly: flags.countOnly,
  };
}

/** `prefix=P` (all keys when empty or absent), or `start=A` with an optional `end=B` (exclusive). */
function keysOf(query: Query): { key: Uint8Array; rangeEnd: Uint8Array } | string {
  if (query.start !== undefined || query.end !== undefined) {
    if (query.prefix !== undefined) return 'give either prefix or start/end, not both';
    if (query.start === undefined || query.start === '') return 'start must be a non-empty key when end or start is given';
    const key = utf8(query.start);
    if (query.end === undefined || query.end === '') return { key, rangeEnd: TO_THE_END };
    const rangeEnd = utf8(query.end);
    if (Buffer.compare(rangeEnd, key) <= 0) return `end ${JSON.stringify(query.end)} must sort after start ${JSON.stringify(query.start)}`;
    return { key, rangeEnd };
  }
  const prefix = utf8(query.prefix ?? '');
  if (prefix.length === 0) return { key: TO_THE_END, rangeEnd: TO_THE_END };
  return { key: prefix, rangeEnd: prefixEnd(prefix) };
}
