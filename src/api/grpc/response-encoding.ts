/**
 * The protobuf bytes of the most frequent answers, the KV service's RangeResponse and
 * PutResponse and the Watch service's WatchResponse with events, written straight from
 * the objects the handlers build (convert.ts). grpc-js's serializer (proto-loader over
 * protobufjs) first turns each object into a message with fromObject, which makes a Long
 * for every 64-bit field (four per key-value, four in the header), then encodes that: a
 * third of a member's CPU serving ranges of 5,000 keys. Here each message is measured,
 * then written into one buffer of that size. An event sent to many watchers is encoded
 * once: its bytes are kept with its message object, which watch-service.ts makes once
 * per event.
 *
 * The bytes are the same message: fields at their proto3 default (0, false, empty) are
 * left out, as etcd leaves them out. An object of any other shape than these encoders
 * know (a field they do not write, a value of another type, a negative or unsafe
 * integer) is declined, and the caller serializes it as before (withFastResponses).
 * response-encoding.test.ts decodes both encodings of random answers and compares.
 */
import type { MethodDefinition } from '@grpc/grpc-js';
import { varintSize, writeVarintAt } from '../../lib/index.js';

type Fields = Record<string, unknown>;

const VARINT = 0;
const LENGTH_DELIMITED = 2;

function isUint(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** The varint bytes of uint64 fields held as decimal strings (a cluster's and a member's ids), made once each. */
const decimalVarints = new Map<string, Uint8Array>();
const decimalVarintsMax = 64;

function decimalVarint(decimal: string): Uint8Array | undefined {
  let bytes = decimalVarints.get(decimal);
  if (bytes) return bytes;
  if (!/^\d{1,20}$/.test(decimal)) return undefined;
  let value = BigInt(decimal);
  if (value >= 1n << 64n) return undefined;
  const out: number[] = [];
  while (value >= 0x80n) {
    out.push(Number(value & 0x7fn) | 0x80);
    value >>= 7n;
  }
  out.push(Number(value));
  bytes = Uint8Array.from(out);
  if (decimalVarints.size < decimalVarintsMax) decimalVarints.set(decimal, bytes);
  return bytes;
}

class Writer {
  private offset = 0;
  constructor(readonly bytes: Buffer) {}

  varint(value: number): void {
    this.offset = writeVarintAt(this.bytes, this.offset, value);
  }

  tag(field: number, wireType: number): void {
    this.bytes[this.offset++] = (field << 3) | wireType;
  }

  /** A varint field, left out at 0. */
  uint(field: number, value: number): void {
    if (value === 0) return;
    this.tag(field, VARINT);
    this.varint(value);
  }

  /** A bool field, left out when false. */
  bool(field: number, value: boolean): void {
    if (value) this.uint(field, 1);
  }

  /** A bytes field, left out when empty. */
  raw(field: number, value: Uint8Array): void {
    if (value.length === 0) return;
    this.tag(field, LENGTH_DELIMITED);
    this.varint(value.length);
    this.copy(value);
  }

  /** Bytes as they are (a varint made beforehand). */
  copy(value: Uint8Array): void {
    this.bytes.set(value, this.offset);
    this.offset += value.length;
  }

  /** A message field whose body (of `size` bytes) the caller writes next. */
  message(field: number, size: number): void {
    this.tag(field, LENGTH_DELIMITED);
    this.varint(size);
  }

  done(): Buffer {
    if (this.offset !== this.bytes.length) throw new Error(`response encoding wrote ${this.offset} of ${this.bytes.length} bytes`);
    return this.bytes;
  }
}

/** Size of a varint field (0 when left out). */
function uintField(value: number): number {
  return value === 0 ? 0 : 1 + varintSize(value);
}

/** Size of a bytes or message field of `length` bytes (0 when an empty bytes field is left out). */
function lengthField(length: number, keepEmpty: boolean): number {
  return length === 0 && !keepEmpty ? 0 : 1 + varintSize(length) + length;
}

function hasOnly(object: Fields, names: ReadonlySet<string>): boolean {
  for (const name in object) if (!names.has(name)) return false;
  return true;
}

// ResponseHeader: cluster_id = 1, member_id = 2 (uint64); revision = 3 (int64); raft_term = 4 (uint64).
const headerFields = new Set(['cluster_id', 'member_id', 'revision', 'raft_term']);

interface HeaderParts {
  readonly clusterId: Uint8Array;
  readonly memberId: Uint8Array;
  readonly revision: number;
  readonly raftTerm: number;
  readonly size: number;
}

/** A uint64 field from decimalVarint's bytes, left out at 0. */
function writeDecimalId(w: Writer, field: number, id: Uint8Array): void {
  if (isZeroVarint(id)) return;
  w.tag(field, VARINT);
  w.copy(id);
}

function isZeroVarint(id: Uint8Array): boolean {
  return id.length === 1 && id[0] === 0;
}

function headerParts(header: unknown): HeaderParts | undefined {
  if (typeof header !== 'object' || header === null || !hasOnly(header as Fields, headerFields)) return undefined;
  const { cluster_id, member_id, revision = 0, raft_term = 0 } = header as Fields;
  if (typeof cluster_id !== 'string' || typeof member_id !== 'string' || !isUint(revision) || !isUint(raft_term)) return undefined;
  const clusterId = decimalVarint(cluster_id);
  const memberId = decimalVarint(member_id);
  if (!clusterId || !memberId) return undefined;
  const idSize = (id: Uint8Array): number => (isZeroVarint(id) ? 0 : 1 + id.length);
  return { clusterId, memberId, revision, raftTerm: raft_term, size: idSize(clusterId) + idSize(memberId) + uintField(revision) + uintField(raft_term) };
}

function writeHeader(w: Writer, field: number, header: HeaderParts): void {
  w.message(field, header.size);
  writeDecimalId(w, 1, header.clusterId);
  writeDecimalId(w, 2, header.memberId);
  w.uint(3, header.revision);
  w.uint(4, header.raftTerm);
}

// mvccpb.KeyValue: key = 1 (bytes); create_revision = 2, mod_revision = 3, version = 4 (int64); value = 5 (bytes); lease = 6 (int64).
const keyValueFields = new Set(['key', 'create_revision', 'mod_revision', 'version', 'value', 'lease']);

/** The size of a KeyValue's body, or undefined for another shape. */
function keyValueSize(kv: unknown): number | undefined {
  if (typeof kv !== 'object' || kv === null || !hasOnly(kv as Fields, keyValueFields)) return undefined;
  const { key, create_revision = 0, mod_revision = 0, version = 0, value, lease = 0 } = kv as Fields;
  if (!(key instanceof Uint8Array) || !(value === undefined || value instanceof Uint8Array)) return undefined;
  if (!isUint(create_revision) || !isUint(mod_revision) || !isUint(version) || !isUint(lease)) return undefined;
  return (
    lengthField(key.length, false) +
    uintField(create_revision) +
    uintField(mod_revision) +
    uintField(version) +
    lengthField(value?.length ?? 0, false) +
    uintField(lease)
  );
}

function writeKeyValue(w: Writer, field: number, kv: Fields, size: number): void {
  w.message(field, size);
  w.raw(1, kv.key as Uint8Array);
  w.uint(2, (kv.create_revision as number | undefined) ?? 0);
  w.uint(3, (kv.mod_revision as number | undefined) ?? 0);
  w.uint(4, (kv.version as number | undefined) ?? 0);
  if (kv.value !== undefined) w.raw(5, kv.value as Uint8Array);
  w.uint(6, (kv.lease as number | undefined) ?? 0);
}

// RangeResponse: header = 1; kvs = 2 (repeated KeyValue); more = 3 (bool); count = 4 (int64).
const rangeFields = new Set(['header', 'kvs', 'more', 'count']);

/** A RangeResponse's bytes, or undefined for an object of another shape. */
export function encodeRangeResponse(response: Fields): Buffer | undefined {
  if (!hasOnly(response, rangeFields)) return undefined;
  const { header, kvs = [], more = false, count = 0 } = response;
  const parts = headerParts(header);
  if (!parts || !Array.isArray(kvs) || typeof more !== 'boolean' || !isUint(count)) return undefined;
  const sizes: number[] = [];
  let size = lengthField(parts.size, true) + uintField(more ? 1 : 0) + uintField(count);
  for (const kv of kvs) {
    const kvSize = keyValueSize(kv);
    if (kvSize === undefined) return undefined;
    sizes.push(kvSize);
    size += lengthField(kvSize, true);
  }
  const w = new Writer(Buffer.allocUnsafe(size));
  writeHeader(w, 1, parts);
  kvs.forEach((kv, i) => writeKeyValue(w, 2, kv as Fields, sizes[i] as number));
  w.bool(3, more);
  w.uint(4, count);
  return w.done();
}

// PutResponse: header = 1; prev_kv = 2 (KeyValue).
const putFields = new Set(['header', 'prev_kv']);

/** A PutResponse's bytes, or undefined for an object of another shape. */
export function encodePutResponse(response: Fields): Buffer | undefined {
  if (!hasOnly(response, putFields)) return undefined;
  const parts = headerParts(response.header);
  if (!parts) return undefined;
  const prevKv = response.prev_kv;
  const prevSize = prevKv === undefined ? undefined : keyValueSize(prevKv);
  if (prevKv !== undefined && prevSize === undefined) return undefined;
  const w = new Writer(Buffer.allocUnsafe(lengthField(parts.size, true) + (prevSize === undefined ? 0 : lengthField(prevSize, true))));
  writeHeader(w, 1, parts);
  if (prevSize !== undefined) writeKeyValue(w, 2, prevKv as Fields, prevSize);
  return w.done();
}

// mvccpb.Event: type = 1 (PUT = 0, DELETE = 1); kv = 2; prev_kv = 3.
const eventFields = new Set(['type', 'kv', 'prev_kv']);
const eventTypes: Record<string, number> = { PUT: 0, DELETE: 1 };

/**
 * Each event message's bytes as a WatchResponse's field 11, made once however many
 * watchers it goes to. An event message is never changed once made (watch-service.ts
 * makes each once and keeps it as it is), so its bytes stay true.
 */
const eventFieldBytes = new WeakMap<object, Buffer>();

function eventField(event: unknown): Buffer | undefined {
  if (typeof event !== 'object' || event === null) return undefined;
  const made = eventFieldBytes.get(event);
  if (made) return made;
  if (!hasOnly(event as Fields, eventFields)) return undefined;
  const { type, kv, prev_kv } = event as Fields;
  const typeNumber = typeof type === 'string' ? eventTypes[type] : undefined;
  if (typeNumber === undefined) return undefined;
  const kvSize = kv === undefined ? undefined : keyValueSize(kv);
  const prevSize = prev_kv === undefined ? undefined : keyValueSize(prev_kv);
  if ((kv !== undefined && kvSize === undefined) || (prev_kv !== undefined && prevSize === undefined)) return undefined;
  const body = uintField(typeNumber) + (kvSize === undefined ? 0 : lengthField(kvSize, true)) + (prevSize === undefined ? 0 : lengthField(prevSize, true));
  const w = new Writer(Buffer.allocUnsafe(lengthField(body, true)));
  w.message(11, body);
  w.uint(1, typeNumber);
  if (kvSize !== undefined) writeKeyValue(w, 2, kv as Fields, kvSize);
  if (prevSize !== undefined) writeKeyValue(w, 3, prev_kv as Fields, prevSize);
  const bytes = w.done();
  eventFieldBytes.set(event, bytes);
  return bytes;
}

// WatchResponse: header = 1; watch_id = 2 (int64); fragment = 7 (bool); events = 11
// (repeated Event). Created, canceled and their reasons are left to grpc-js: rare.
const watchFields = new Set(['header', 'watch_id', 'fragment', 'events']);

/** A WatchResponse's bytes (events or progress), or undefined for an object of another shape. */
export function encodeWatchResponse(response: Fields): Buffer | undefined {
  if (!hasOnly(response, watchFields)) return undefined;
  const { header, watch_id = 0, fragment = false, events = [] } = response;
  const parts = headerParts(header);
  if (!parts || !isUint(watch_id) || typeof fragment !== 'boolean' || !Array.isArray(events)) return undefined;
  const fields: Buffer[] = [];
  let size = lengthField(parts.size, true) + uintField(watch_id) + uintField(fragment ? 1 : 0);
  for (const event of events) {
    const field = eventField(event);
    if (!field) return undefined;
    fields.push(field);
    size += field.length;
  }
  const w = new Writer(Buffer.allocUnsafe(size));
  writeHeader(w, 1, parts);
  w.uint(2, watch_id);
  w.bool(7, fragment);
  for (const field of fields) w.copy(field);
  return w.done();
}

/** A service's methods as proto-loader describes them (path, codecs), by name. */
export type ServiceMethods = Readonly<Record<string, MethodDefinition<unknown, unknown>>>;

/** The methods answered here, by service. */
const fastEncoders: Record<string, Record<string, (response: Fields) => Buffer | undefined>> = {
  KV: { Range: encodeRangeResponse, Put: encodePutResponse },
  Watch: { Watch: encodeWatchResponse },
};

/**
 * `service`'s definition with the methods above answered by these encoders, each
 * falling back to the definition's own serializer for a shape it declines.
 */
export function withFastResponses(service: string, definition: ServiceMethods): ServiceMethods {
  const out: Record<string, MethodDefinition<unknown, unknown>> = { ...definition };
  for (const [name, encode] of Object.entries(fastEncoders[service] ?? {})) {
    const method = definition[name];
    if (!method) continue;
    const generic = method.responseSerialize;
    out[name] = { ...method, responseSerialize: (response: unknown) => encode(response as Fields) ?? generic(response) };
  }
  return out;
}
