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
import { ByteReader, ByteWriter, DecodeError } from './byte-codec.js';
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
import { unreachable } from '../../lib/assert.js';

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

export function encodeCommand(command: Command): Uint8Array {
  const w = new ByteWriter(64);
  w.byte(COMMAND_FORMAT_VERSION);
  w.byte((command.session ? 1 : 0) | (command.timeMs !== undefined ? 2 : 0) | (command.auth ? 4 : 0));
  if (command.session) w.string(command.session.clientId).uint(command.session.seq);
  if (command.timeMs !== undefined) w.uint(command.timeMs);
  if (command.auth) w.string(command.auth.user).uint(command.auth.revision);
  writeBody(w, command.body);
  return w.finish();
}

/** Decodes a command; BAD_COMMAND for anything that is not a well-formed encoding. */
export function decodeCommand(data: Uint8Array): KvResult<Command> {
  try {
    const r = new ByteReader(data);
    const version = r.byte();
    if (version !== COMMAND_FORMAT_VERSION) throw new DecodeError(`unknown command format version ${version}`);
    const flags = r.byte();
    if (flags > 7) throw new DecodeError(`unknown command flags ${flags}`);
    const session = flags & 1 ? { clientId: r.string(), seq: r.uint() } : undefined;
    const timeMs = flags & 2 ? r.uint() : undefined;
    const auth = flags & 4 ? { user: r.string(), revision: r.uint() } : undefined;
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
      w.byte(TAG.put);
      w.byte((body.prevKv ? 1 : 0) | (body.ignoreValue ? 2 : 0) | (body.ignoreLease ? 4 : 0));
      w.bytes(body.key)
        .bytes(body.value)
        .uint(body.lease ?? 0);
      return;
    case 'deleteRange':
      w.byte(TAG.deleteRange).byte(body.prevKv ? 1 : 0);
      w.bytes(body.key).bytes(body.rangeEnd ?? EMPTY);
      return;
    case 'range':
      w.byte(TAG.range).byte((body.keysOnly ? 1 : 0) | (body.countOnly ? 2 : 0));
      w.bytes(body.key).bytes(body.rangeEnd ?? EMPTY);
      w.uint(body.limit ?? 0).uint(body.revision ?? 0);
      w.byte(SORT_ORDERS.indexOf(body.sortOrder ?? 'none')).byte(SORT_TARGETS.indexOf(body.sortTarget ?? 'key'));
      w.uint(body.minModRevision ?? 0).uint(body.maxModRevision ?? 0);
      w.uint(body.minCreateRevision ?? 0).uint(body.maxCreateRevision ?? 0);
      return;
    case 'txn':
      w.byte(TAG.txn);
      w.uint(body.compare.length);
      for (const c of body.compare) writeCompare(w, c);
      for (const ops of [body.success, body.failure]) {
        w.uint(ops.length);
        for (const op of ops) writeBody(w, op);
      }
      return;
    case 'compact':
      w.byte(TAG.compact).uint(body.revision);
      return;
    case 'noop':
      w.byte(TAG.noop);
      return;
    case 'leaseGrant':
      w.byte(TAG.leaseGrant).uint(body.id).uint(body.ttl);
      return;
    case 'leaseRevoke':
      w.byte(TAG.leaseRevoke)
        .uint(body.id)
        .uint(body.onlyIfRenewedAt ?? 0);
      return;
    case 'leaseKeepAlive':
      w.byte(TAG.leaseKeepAlive).uint(body.id);
      return;
    case 'member':
      w.byte(TAG.member).bytes(encodeMemberChange(body.change));
      return;
    case 'auth':
      w.byte(TAG.auth).bytes(encodeAuthChange(body.change));
      return;
    case 'alarm':
      w.byte(TAG.alarm).byte(ALARM_ACTIONS.indexOf(body.action)).byte(ALARM_TYPES.indexOf(body.alarm)).uint(body.memberId);
      return;
    default:
      unreachable(body, 'command');
  }
}

function writeCompare(w: ByteWriter, c: Compare): void {
  w.byte(COMPARE_TARGETS.indexOf(c.target)).byte(COMPARE_RESULTS.indexOf(c.result));
  w.bytes(c.key).bytes(c.rangeEnd ?? EMPTY);
  if (c.target === 'value') w.bytes(c.operand);
  else w.uint(c.operand);
}

function readBody(r: ByteReader): CommandBody {
  const tag = r.byte();
  switch (tag) {
    case TAG.put:
      return readPut(r);
    case TAG.deleteRange:
      return readDeleteRange(r);
    case TAG.txn:
      return readTxn(r, 1);
    case TAG.compact:
      return { type: 'compact', revision: r.uint() };
    case TAG.noop:
      return { type: 'noop' };
    case TAG.leaseGrant:
      return { type: 'leaseGrant', id: r.uint(), ttl: r.uint() };
    case TAG.leaseRevoke: {
      const id = r.uint();
      const onlyIfRenewedAt = r.uint();
      return { type: 'leaseRevoke', id, ...(onlyIfRenewedAt !== 0 ? { onlyIfRenewedAt } : {}) };
    }
    case TAG.leaseKeepAlive:
      return { type: 'leaseKeepAlive', id: r.uint() };
    case TAG.member:
      return { type: 'member', change: decodeMemberChange(r.bytes()) };
    case TAG.alarm:
      return readAlarm(r);
    case TAG.auth:
      return { type: 'auth', change: decodeAuthChange(r.bytes()) };
    default:
      throw new DecodeError(`unknown command tag ${tag}`);
  }
}

function readOp(r: ByteReader, depth: number): RequestOp {
  const tag = r.byte();
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
  const flags = r.byte();
  if (flags >= 1 << bits) throw new DecodeError(`unknown ${what} flags ${flags}`);
  return flags;
}

function readPut(r: ByteReader): PutRequest {
  const flags = readFlags(r, 3, 'put');
  const key = r.bytes();
  const value = r.bytes();
  const lease = r.uint();
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
  const key = r.bytes();
  const rangeEnd = r.bytes();
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
  return { type: 'alarm', action, alarm, memberId: r.uint() };
}

function readEnum<T>(r: ByteReader, values: readonly T[], what: string): T {
  const i = r.byte();
  const value = values[i];
  if (value === undefined) throw new DecodeError(`unknown ${what} ${i}`);
  return value;
}

function readRange(r: ByteReader): RangeRequest {
  const flags = readFlags(r, 2, 'range');
  const key = r.bytes();
  const rangeEnd = r.bytes();
  const limit = r.uint();
  const revision = r.uint();
  const sortOrder = readEnum(r, SORT_ORDERS, 'sort order');
  const sortTarget = readEnum(r, SORT_TARGETS, 'sort target');
  const minModRevision = r.uint();
  const maxModRevision = r.uint();
  const minCreateRevision = r.uint();
  const maxCreateRevision = r.uint();
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
  const n = r.uint();
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
  const key = r.bytes();
  const rangeEnd = r.bytes();
  const range = rangeEnd.length > 0 ? { rangeEnd } : {};
  if (target === 'value') return { key, ...range, target, result, operand: r.bytes() };
  return { key, ...range, target, result, operand: r.uint() };
}
