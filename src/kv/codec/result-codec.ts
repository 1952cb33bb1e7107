/**
 * The bytes of a command's result, as kept in the session table (so a duplicate gets the
 * saved result back, byte for byte the same on every replica) and as a runtime may send
 * it to a follower that forwarded the command. Same conventions as command.ts.
 *
 *   result   = version:1 ok:1 (revision:varint response | code:string message:string)
 *   response = tag:1 ... (1 put: hasPrev:1 [kv]; 2 deleteRange: deleted n kv*n;
 *              3 txn: succeeded:1 n response*n; 4 compact; 5 noop; 6 range: count more:1 n kv*n;
 *              7 leaseGrant: id ttl; 8 leaseRevoke: revoked:1 deleted; 9 leaseKeepAlive: id ttl)
 *              11 alarm: n (alarm:1 memberId:varint)*n, alarm numbered as in command.ts)
 *   kv       = key:bytes createRevision modRevision version value:bytes lease
 */
import { ByteReader, ByteWriter, DecodeError, unreachable } from '../../lib/index.js';
import { isKvErrorCode } from '../errors.js';
import type { AlarmMember, CommandResponse, CommandResult, KeyValue, ResponseOp } from '../types.js';
import { ALARM_TYPES } from './command.js';

const RESULT_FORMAT_VERSION = 1;
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

export function encodeResult(result: CommandResult): Uint8Array {
  const w = new ByteWriter(64);
  w.u8(RESULT_FORMAT_VERSION).bool(result.ok);
  if (result.ok) {
    w.varint(result.revision);
    writeResponse(w, result.response);
  } else {
    w.string(result.error.code).string(result.error.message);
  }
  return w.finish();
}

/** Decodes what encodeResult wrote; throws DecodeError on anything else. */
export function decodeResult(data: Uint8Array): CommandResult {
  const r = new ByteReader(data);
  const version = r.u8();
  if (version !== RESULT_FORMAT_VERSION) throw new DecodeError(`unknown result format version ${version}`);
  let result: CommandResult;
  if (r.bool()) {
    const revision = r.varint();
    result = { ok: true, revision, response: readResponse(r, true) as CommandResponse };
  } else {
    const code = r.string();
    if (!isKvErrorCode(code)) throw new DecodeError(`unknown error code ${code}`);
    result = { ok: false, error: { code, message: r.string() } };
  }
  r.end();
  return result;
}

export function writeKeyValue(w: ByteWriter, kv: KeyValue): void {
  w.byteString(kv.key).varint(kv.createRevision).varint(kv.modRevision).varint(kv.version).byteString(kv.value).varint(kv.lease);
}

export function readKeyValue(r: ByteReader): KeyValue {
  return {
    key: r.byteString(),
    createRevision: r.varint(),
    modRevision: r.varint(),
    version: r.varint(),
    value: r.byteString(),
    lease: r.varint(),
  };
}

function writeKeyValues(w: ByteWriter, kvs: readonly KeyValue[]): void {
  w.varint(kvs.length);
  for (const kv of kvs) writeKeyValue(w, kv);
}

function readKeyValues(r: ByteReader): KeyValue[] {
  const n = r.varint();
  if (n > r.remaining) throw new DecodeError(`key-value count ${n} exceeds the bytes left`);
  const kvs: KeyValue[] = [];
  for (let i = 0; i < n; i++) kvs.push(readKeyValue(r));
  return kvs;
}

function readAlarms(r: ByteReader): AlarmMember[] {
  const n = r.varint();
  if (n > r.remaining) throw new DecodeError(`alarm count ${n} exceeds the bytes left`);
  const alarms: AlarmMember[] = [];
  for (let i = 0; i < n; i++) {
    const alarm = ALARM_TYPES[r.u8()];
    if (alarm === undefined) throw new DecodeError('unknown alarm type');
    alarms.push({ alarm, memberId: r.varint() });
  }
  return alarms;
}

function writeResponse(w: ByteWriter, response: CommandResponse | ResponseOp): void {
  switch (response.type) {
    case 'put':
      w.u8(TAG.put).bool(response.prevKv !== undefined);
      if (response.prevKv) writeKeyValue(w, response.prevKv);
      return;
    case 'deleteRange':
      w.u8(TAG.deleteRange).varint(response.deleted);
      writeKeyValues(w, response.prevKvs);
      return;
    case 'range':
      w.u8(TAG.range).varint(response.count).bool(response.more);
      writeKeyValues(w, response.kvs);
      return;
    case 'txn':
      w.u8(TAG.txn).bool(response.succeeded).varint(response.responses.length);
      for (const sub of response.responses) writeResponse(w, sub);
      return;
    case 'compact':
      w.u8(TAG.compact);
      return;
    case 'noop':
      w.u8(TAG.noop);
      return;
    case 'leaseGrant':
    case 'leaseKeepAlive':
      w.u8(TAG[response.type]).varint(response.id).varint(response.ttl);
      return;
    case 'leaseRevoke':
      w.u8(TAG.leaseRevoke).bool(response.revoked).varint(response.deleted);
      return;
    case 'member':
      w.u8(TAG.member);
      return;
    case 'auth':
      w.u8(TAG.auth);
      return;
    case 'alarm':
      w.u8(TAG.alarm).varint(response.alarms.length);
      for (const a of response.alarms) w.u8(ALARM_TYPES.indexOf(a.alarm)).varint(a.memberId);
      return;
    default:
      unreachable(response, 'response');
  }
}

function readResponse(r: ByteReader, topLevel: boolean): CommandResponse | ResponseOp {
  const tag = r.u8();
  switch (tag) {
    case TAG.put:
      return r.bool() ? { type: 'put', prevKv: readKeyValue(r) } : { type: 'put' };
    case TAG.deleteRange:
      return { type: 'deleteRange', deleted: r.varint(), prevKvs: readKeyValues(r) };
    case TAG.range:
      if (topLevel) break;
      return { type: 'range', count: r.varint(), more: r.bool(), kvs: readKeyValues(r) };
    case TAG.txn: {
      const succeeded = r.bool();
      const n = r.varint();
      if (n > r.remaining) throw new DecodeError(`response count ${n} exceeds the bytes left`);
      const responses: ResponseOp[] = [];
      for (let i = 0; i < n; i++) responses.push(readResponse(r, false) as ResponseOp);
      return { type: 'txn', succeeded, responses };
    }
    case TAG.compact:
      if (!topLevel) break;
      return { type: 'compact' };
    case TAG.noop:
      if (!topLevel) break;
      return { type: 'noop' };
    case TAG.leaseGrant:
    case TAG.leaseKeepAlive:
      if (!topLevel) break;
      return { type: tag === TAG.leaseGrant ? 'leaseGrant' : 'leaseKeepAlive', id: r.varint(), ttl: r.varint() };
    case TAG.leaseRevoke:
      if (!topLevel) break;
      return { type: 'leaseRevoke', revoked: r.bool(), deleted: r.varint() };
    case TAG.member:
      if (!topLevel) break;
      return { type: 'member' };
    case TAG.auth:
      if (!topLevel) break;
      return { type: 'auth' };
    case TAG.alarm:
      if (!topLevel) break;
      return { type: 'alarm', alarms: readAlarms(r) };
  }
  throw new DecodeError(`unexpected response tag ${tag}`);
}
