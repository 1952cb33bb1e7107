/**
 * The JSON forms of watch requests and messages, shared by the WebSocket and the
 * server-sent-events endpoints. Keys and values are text when they are UTF-8, else
 * base64 under a `...Base64` name, as in the key-value routes.
 *
 * A create request: {"key" | "keyBase64", "rangeEnd" | "rangeEndBase64" | "prefix": true
 * | "fromKey": true, "startRevision", "prevKv", "noPut", "noDelete", "progressNotify",
 * "watchId"} (all but the key optional).
 */
import { type KvEvent, prefixEnd } from '../kv/index.js';
import type { StreamMessage, WatchCreateRequest } from '../replica/index.js';
import { bytesField, bytesOf, keyValueJson } from './json-bytes.js';
import type { WatchEventJson, WatchMessageJson } from '../wire/index.js';

/** A create request from its JSON form, or a message naming what is wrong. */
export function parseCreateRequest(fields: Record<string, unknown>): WatchCreateRequest | string {
  const key = bytesOf(fields, 'key', 'create');
  if (typeof key === 'string') return key;
  const flags = ['prevKv', 'noPut', 'noDelete', 'progressNotify', 'prefix', 'fromKey'] as const;
  for (const flag of flags) {
    if (fields[flag] !== undefined && typeof fields[flag] !== 'boolean') return `${flag} must be true or false`;
  }
  const ways = [fields.rangeEnd !== undefined || fields.rangeEndBase64 !== undefined, fields.prefix === true, fields.fromKey === true].filter(Boolean);
  if (ways.length > 1) return 'give at most one of rangeEnd (or rangeEndBase64), prefix and fromKey';
  let rangeEnd: Uint8Array | undefined;
  if (fields.prefix === true) rangeEnd = key.length === 0 ? new Uint8Array([0]) : prefixEnd(key);
  else if (fields.fromKey === true) rangeEnd = new Uint8Array([0]);
  else if (ways.length === 1) {
    const end = bytesOf(fields, 'rangeEnd', 'create');
    if (typeof end === 'string') return end;
    rangeEnd = end;
  }
  const startRevision = integerOf(fields.startRevision, 'startRevision');
  if (typeof startRevision === 'string') return startRevision;
  const watchId = integerOf(fields.watchId, 'watchId');
  if (typeof watchId === 'string') return watchId;
  return {
    // etcd's clients watch "every key" as key [0] with rangeEnd [0]; an empty prefix means the same here.
    key: key.length === 0 && rangeEnd !== undefined ? new Uint8Array([0]) : key,
    ...(rangeEnd ? { rangeEnd } : {}),
    startRevision,
    watchId,
    prevKv: fields.prevKv === true,
    noPut: fields.noPut === true,
    noDelete: fields.noDelete === true,
    progressNotify: fields.progressNotify === true,
  };
}

export function streamMessageJson(message: StreamMessage): WatchMessageJson {
  if (message.type !== 'events') return { ...message };
  return { type: 'events', watchId: message.watchId, revision: message.revision, events: message.events.map(eventJson) };
}

export function eventJson(event: KvEvent): WatchEventJson {
  const prevKv = event.prevKv ? { prevKv: keyValueJson(event.prevKv) } : {};
  return event.type === 'put'
    ? { type: 'put', kv: keyValueJson(event.kv), ...prevKv }
    : { type: 'delete', kv: { ...bytesField('key', event.kv.key), modRevision: event.kv.modRevision }, ...prevKv };
}

function integerOf(value: unknown, name: string): number | string {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) return `${name} must be a non-negative integer, got ${JSON.stringify(value)}`;
  return value;
}
