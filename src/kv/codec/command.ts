/**
 * The bytes of a command in a log entry. A compact binary encoding, versioned by its
 * first byte, rather than JSON, because:
 *   - keys and values are arbitrary bytes: JSON would need base64 (+33%) and a second
 *     pass, and the log, the WAL and every follower carry each command;
 *   - the encoding must be canonical and exact on every replica (no float formatting,
 *     no key order, no UTF-16 surprises); a strict decoder refuses trailing bytes,
 *     non-minimal varints and unknown tags, so a corrupt entry is rejected, not guessed;
 *   - it is small and fast: a put of a 10-byte key and value is ~30 bytes.
 *
 * Layout (varint = unsigned LEB128; bytes = varint length + raw bytes):
 *   command  = version:1 flags:1 [clientId:string seq:varint] [timeMs:varint] [user:string authRevision:varint] body
 *              flags bit0 = session present, bit1 = timeMs present, bit2 = auth present
 *   body     = tag:1 fields; tags: 1 put, 2 deleteRange, 3 txn, 4 compact, 5 noop, 6 range,
 *              7 leaseGrant, 8 leaseRevoke, 9 leaseKeepAlive
 *              11 alarm
 *   put      = flags:1 (prevKv, ignoreValue, ignoreLease) key:bytes value:bytes lease:varint
 *   delete   = flags:1 (prevKv) key:bytes rangeEnd:bytes
 *   range    = flags:1 (keysOnly, countOnly) key:bytes rangeEnd:bytes limit revision
 *              sortOrder:1 sortTarget:1 minMod maxMod minCreate maxCreate (varints)
 *   txn      = n:varint compare*n  n:varint op*n (success)  n:varint op*n (failure)
 *   compare  = target:1 result:1 key:bytes rangeEnd:bytes operand (varint, or bytes for value)
 *   compact  = revision:varint
 *   leaseGrant = id:varint ttl:varint;  leaseKeepAlive = id:varint
 *   leaseRevoke = id:varint onlyIfRenewedAt:varint (0: unconditional; log indexes start at 1)
 *   member   = change:bytes (JSON, members.ts)   tag 12 (12-15 are reserved for membership)
 *   alarm    = action:1 (1 activate, 2 deactivate) alarm:1 (etcd's AlarmType: 1 NOSPACE,
 *              2 CORRUPT) memberId:varint
 *   auth     = change:bytes (JSON, auth-codec.ts)   tag 16
 *
 * Decoding yields a canonical command: optional fields at their default (false, 0,
 * empty, 'none', 'key') are left out.
 */
import { ByteReader, ByteWriter, DecodeError, unreachable, varintBytesMax } from '../../lib/index.js';
import { kvError, type KvResult } from '../errors.js';
import type {
  AlarmRequest,
  Command,
  CommandBody,
  Compare,
  CompareResult,
  DeleteRangeRequest,
  PutRequest,
  RangeRequest,
  RequestOp,
  SortOrder,
  SortTarget,
  TxnRequest,
} from '../types.js';
import { decodeMemberChange, encodeMemberChange } from '../members.js';
import { decodeAuthChange, encodeAuthChange } from '../auth/auth-codec.js';

export const COMMAND_FORMAT_VERSION = 1;
/** The decoder refuses deeper nesting before validation sees it, to bound its recursion. */
export const DECODE_DEPTH_MAX = 64;

const TAG = {
  put: 1,
  deleteRange: 2,
  txn: 3,
  compact: 4,
  noop: 5,
  range: 6,
  leaseGrant: 7,
  leaseRevoke: 8,
  leaseKeepAlive: 9,
  alarm: 11,
  member: 12,
  auth: 16,
} as const;
const ALARM_ACTIONS = [undefined, 'activate', 'deactivate'] as const;
/** Indexed by etcd's AlarmType numbers (0 is NONE, never stored). */
export const ALARM_TYPES = [undefined, 'NOSPACE', 'CORRUPT'] as const;
const SORT_ORDERS: readonly SortOrder[] = ['none', 'ascend', 'descend'];
const SORT_TARGETS: readonly SortTarget[] = ['key', 'version', 'create', 'mod', 'value'];
const COMPARE_TARGETS = ['version', 'create', 'mod', 'value', 'lease'] as const;
const COMPARE_RESULTS: readonly CompareResult[] = ['equal', 'notEqual', 'less', 'greater'];

const EMPTY = new Uint8Array(0);

/**
 * The command's bytes, after `prefix` if given (a header of the caller's, the
 * replica's envelope, laid out in the same buffer so that a large value is not copied
 * once more to put one in front).
 */
export function encodeCommand(command: Command, prefix?: Uint8Array): Uint8Array {
  // Sized up front: grown from a few bytes, a 64 KiB value's command took eleven
  // allocations and copies.
  const w = new ByteWriter((prefix?.length ?? 0) + commandBytesHint(command));
  if (prefix) w.raw(prefix);
  w.u8(COMMAND_FORMAT_VERSION);
  w.u8((command.session ? 1 : 0) | (command.timeMs !== undefined ? 2 : 0) | (command.auth ? 4 : 0));
  if (command.session) w.string(command.session.clientId).varint(command.session.seq);
  if (command.timeMs !== undefined) w.varint(command.timeMs);
  if (command.auth) w.string(command.auth.user).varint(command.auth.revision);
  writeBody(w, command.body);
  return w.finish();
}

/** Decodes a command; BAD_COMMAND for anything that is not a well-formed encoding. */
export function decodeCommand(data: Uint8Array): KvResult<Command> {
  try {
    const r = new ByteReader(data);
    const version = r.u8();
    if (version !== COMMAND_FORMAT_VERSION) throw new DecodeError(`unknown command format version ${version}`);
    const flags = r.u8();
    if (flags > 7) throw new DecodeError(`unknown command flags ${flags}`);
    const session = flags & 1 ? { clientId: r.string(), seq: r.varint() } : undefined;
    const timeMs = flags & 2 ? r.varint() : undefined;
    const auth = flags & 4 ? { user: r.string(), revision: r.varint() } : undefined;
    const body = readBody(r);
    r.end();
    return {
      ok: true,
      value: { body, ...(session ? { session } : {}), ...(timeMs !== undefined ? { timeMs } : {}), ...(auth ? { auth } : {}) },
    };
  } catch (error) {
    if (error instanceof DecodeError) {
      return { ok: false, error: kvError('BAD_COMMAND', `cannot decode command: ${error.message}`) };
    }
    throw error;
  }
}

function writeBody(w: ByteWriter, body: CommandBody | RequestOp): void {
  switch (body.type) {
    case 'put':
      w.u8(TAG.put);
      w.u8((body.prevKv ? 1 : 0) | (body.ignoreValue ? 2 : 0) | (body.ignoreLease ? 4 : 0));
      w.byteString(body.key)
        .byteString(body.value)
        .varint(body.lease ?? 0);
      return;
    case 'deleteRange':
      w.u8(TAG.deleteRange).u8(body.prevKv ? 1 : 0);
      w.byteString(body.key).byteString(body.rangeEnd ?? EMPTY);
      return;
    case 'range':
      w.u8(TAG.range).u8((body.keysOnly ? 1 : 0) | (body.countOnly ? 2 : 0));
      w.byteString(body.key).byteString(body.rangeEnd ?? EMPTY);
      w.varint(body.limit ?? 0).varint(body.revision ?? 0);
      w.u8(SORT_ORDERS.indexOf(body.sortOrder ?? 'none')).u8(SORT_TARGETS.indexOf(body.sortTarget ?? 'key'));
      w.varint(body.minModRevision ?? 0).varint(body.maxModRevision ?? 0);
      w.varint(body.minCreateRevision ?? 0).varint(body.maxCreateRevision ?? 0);
      return;
    case 'txn':
      w.u8(TAG.txn);
      w.varint(body.compare.length);
      for (const c of body.compare) writeCompare(w, c);
      for (const ops of [body.success, body.failure]) {
        w.varint(ops.length);
        for (const op of ops) writeBody(w, op);
      }
      return;
    case 'compact':
      w.u8(TAG.compact).varint(body.revision);
      return;
    case 'noop':
      w.u8(TAG.noop);
      return;
    case 'leaseGrant':
      w.u8(TAG.leaseGrant).varint(body.id).varint(body.ttl);
      return;
    case 'leaseRevoke':
      w.u8(TAG.leaseRevoke)
        .varint(body.id)
        .varint(body.onlyIfRenewedAt ?? 0);
      return;
    case 'leaseKeepAlive':
      w.u8(TAG.leaseKeepAlive).varint(body.id);
      return;
    case 'member':
      w.u8(TAG.member).byteString(encodeMemberChange(body.change));
      return;
    case 'auth':
      w.u8(TAG.auth).byteString(encodeAuthChange(body.change));
      return;
    case 'alarm':
      w.u8(TAG.alarm).u8(ALARM_ACTIONS.indexOf(body.action)).u8(ALARM_TYPES.indexOf(body.alarm)).varint(body.memberId);
      return;
    default:
      unreachable(body, 'command');
  }
}

/** About the bytes encodeCommand writes (exact for the usual put of ASCII ids; a hint, never a limit). */
function commandBytesHint(command: Command): number {
  const session = command.session ? command.session.clientId.length + varintBytesMax + 1 : 0;
  const auth = command.auth ? command.auth.user.length + varintBytesMax + 1 : 0;
  return 2 + varintBytesMax + session + auth + bodyBytesHint(command.body);
}

function bodyBytesHint(body: CommandBody | RequestOp): number {
  // Each byte string: its bytes and a length of up to 4 bytes (values are at most a few MiB).
  switch (body.type) {
    case 'put':
      return 2 + body.key.length + body.value.length + 8 + varintBytesMax;
    case 'deleteRange':
    case 'range':
      return 2 + body.key.length + (body.rangeEnd?.length ?? 0) + 8 + 8 * varintBytesMax;
    case 'txn': {
      let bytes = 1 + 3 * varintBytesMax;
      for (const c of body.compare) bytes += 2 + c.key.length + (c.rangeEnd?.length ?? 0) + 8 + (c.target === 'value' ? c.operand.length + 4 : varintBytesMax);
      for (const op of body.success) bytes += bodyBytesHint(op);
      for (const op of body.failure) bytes += bodyBytesHint(op);
      return bytes;
    }
    default:
      return 64;
  }
}

function writeCompare(w: ByteWriter, c: Compare): void {
  w.u8(COMPARE_TARGETS.indexOf(c.target)).u8(COMPARE_RESULTS.indexOf(c.result));
  w.byteString(c.key).byteString(c.rangeEnd ?? EMPTY);
  if (c.target === 'value') w.byteString(c.operand);
  else w.varint(c.operand);
}

function readBody(r: ByteReader): CommandBody {
  const tag = r.u8();
  switch (tag) {
    case TAG.put:
      return readPut(r);
    case TAG.deleteRange:
      return readDeleteRange(r);
    case TAG.txn:
      return readTxn(r, 1);
    case TAG.compact:
      return { type: 'compact', revision: r.varint() };
    case TAG.noop:
      return { type: 'noop' };
    case TAG.leaseGrant:
      return { type: 'leaseGrant', id: r.varint(), ttl: r.varint() };
    case TAG.leaseRevoke: {
      const id = r.varint();
      const onlyIfRenewedAt = r.varint();
      return { type: 'leaseRevoke', id, ...(onlyIfRenewedAt !== 0 ? { onlyIfRenewedAt } : {}) };
    }
    case TAG.leaseKeepAlive:
      return { type: 'leaseKeepAlive', id: r.varint() };
    case TAG.member:
      return { type: 'member', change: decodeMemberChange(r.byteString()) };
    case TAG.alarm:
      return readAlarm(r);
    case TAG.auth:
      return { type: 'auth', change: decodeAuthChange(r.byteString()) };
    default:
      throw new DecodeError(`unknown command tag ${tag}`);
  }
}

function readOp(r: ByteReader, depth: number): RequestOp {
  const tag = r.u8();
  switch (tag) {
    case TAG.put:
      return readPut(r);
    case TAG.deleteRange:
      return readDeleteRange(r);
    case TAG.range:
      return readRange(r);
    case TAG.txn:
      return readTxn(r, depth + 1);
    default:
      throw new DecodeError(`unknown txn operation tag ${tag}`);
  }
}

function readFlags(r: ByteReader, bits: number, what: string): number {
  const flags = r.u8();
  if (flags >= 1 << bits) throw new DecodeError(`unknown ${what} flags ${flags}`);
  return flags;
}

function readPut(r: ByteReader): PutRequest {
  const flags = readFlags(r, 3, 'put');
  const key = r.byteString();
  const value = r.byteString();
  const lease = r.varint();
  return {
    type: 'put',
    key,
    value,
    ...(lease !== 0 ? { lease } : {}),
    ...(flags & 1 ? { prevKv: true } : {}),
    ...(flags & 2 ? { ignoreValue: true } : {}),
    ...(flags & 4 ? { ignoreLease: true } : {}),
  };
}

function readDeleteRange(r: ByteReader): DeleteRangeRequest {
  const flags = readFlags(r, 1, 'deleteRange');
  const key = r.byteString();
  const rangeEnd = r.byteString();
  return {
    type: 'deleteRange',
    key,
    ...(rangeEnd.length > 0 ? { rangeEnd } : {}),
    ...(flags & 1 ? { prevKv: true } : {}),
  };
}

function readAlarm(r: ByteReader): AlarmRequest {
  const action = readEnum(r, ALARM_ACTIONS, 'alarm action');
  const alarm = readEnum(r, ALARM_TYPES, 'alarm type');
  if (action === undefined || alarm === undefined) throw new DecodeError('alarm action and type must not be 0');
  return { type: 'alarm', action, alarm, memberId: r.varint() };
}

function readEnum<T>(r: ByteReader, values: readonly T[], what: string): T {
  const i = r.u8();
  const value = values[i];
  if (value === undefined) throw new DecodeError(`unknown ${what} ${i}`);
  return value;
}

function readRange(r: ByteReader): RangeRequest {
  const flags = readFlags(r, 2, 'range');
  const key = r.byteString();
  const rangeEnd = r.byteString();
  const limit = r.varint();
  const revision = r.varint();
  const sortOrder = readEnum(r, SORT_ORDERS, 'sort order');
  const sortTarget = readEnum(r, SORT_TARGETS, 'sort target');
  const minModRevision = r.varint();
  const maxModRevision = r.varint();
  const minCreateRevision = r.varint();
  const maxCreateRevision = r.varint();
  return {
    type: 'range',
    key,
    ...(rangeEnd.length > 0 ? { rangeEnd } : {}),
    ...(limit !== 0 ? { limit } : {}),
    ...(revision !== 0 ? { revision } : {}),
    ...(sortOrder !== 'none' ? { sortOrder } : {}),
    ...(sortTarget !== 'key' ? { sortTarget } : {}),
    ...(flags & 1 ? { keysOnly: true } : {}),
    ...(flags & 2 ? { countOnly: true } : {}),
    ...(minModRevision !== 0 ? { minModRevision } : {}),
    ...(maxModRevision !== 0 ? { maxModRevision } : {}),
    ...(minCreateRevision !== 0 ? { minCreateRevision } : {}),
    ...(maxCreateRevision !== 0 ? { maxCreateRevision } : {}),
  };
}

/** A count of items that each take at least one byte cannot exceed the bytes left. */
function readCount(r: ByteReader, what: string): number {
  const n = r.varint();
  if (n > r.remaining) throw new DecodeError(`${what} count ${n} exceeds the ${r.remaining} bytes left`);
  return n;
}

function readTxn(r: ByteReader, depth: number): TxnRequest {
  if (depth > DECODE_DEPTH_MAX) throw new DecodeError(`transactions nested deeper than ${DECODE_DEPTH_MAX}`);
  const compare: Compare[] = [];
  for (let n = readCount(r, 'compare'); n > 0; n--) compare.push(readCompare(r));
  const success: RequestOp[] = [];
  for (let n = readCount(r, 'success op'); n > 0; n--) success.push(readOp(r, depth));
  const failure: RequestOp[] = [];
  for (let n = readCount(r, 'failure op'); n > 0; n--) failure.push(readOp(r, depth));
  return { type: 'txn', compare, success, failure };
}

function readCompare(r: ByteReader): Compare {
  const target = readEnum(r, COMPARE_TARGETS, 'compare target');
  const result = readEnum(r, COMPARE_RESULTS, 'compare result');
  const key = r.byteString();
  const rangeEnd = r.byteString();
  const range = rangeEnd.length > 0 ? { rangeEnd } : {};
  if (target === 'value') return { key, ...range, target, result, operand: r.byteString() };
  return { key, ...range, target, result, operand: r.varint() };
}
