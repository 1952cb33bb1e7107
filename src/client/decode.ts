/**
 * Turns the API's JSON answers into the library's types, checking their shape once
 * here: a field of the wrong type is a BAD_RESPONSE, never a silent undefined. Each
 * answer is read as its wire type (wire/rest.ts, which the node's routes write), and
 * only that type's field names can be read: a field renamed on the node is a compile
 * error here.
 */
import { fromBase64, lenientText, readBytesField } from './bytes.js';
import { KeelClientError } from './errors.js';
import type {
  AlarmJson,
  BatchOpResultJson,
  BytesJson,
  ClusterInfoJson,
  ClusterMemberJson,
  DeleteJson,
  FieldJson,
  KeyValueJson,
  KeyVersionJson,
  LeaseGrantJson,
  LeaseListJson,
  LeaseTimeToLiveJson,
  MemberChangeJson,
  MemberJson,
  MemberListJson,
  NodeStatusJson,
  PeerProgressJson,
  RecordJson,
  RoleName,
} from '../wire/index.js';
import type {
  BatchOpResult,
  ClusterInfo,
  DeleteResult,
  FieldResult,
  KeyValueRecord,
  KeyVersionRecord,
  LeaseGrant,
  LeaseList,
  LeaseTimeToLive,
  Member,
  MemberChangeResult,
  MemberList,
  MemberRecord,
  NodeStatus,
  RecordResult,
} from './types.js';

export class ShapeError extends Error {}

/** The field names of a wire type, of every member of a union. */
type FieldName<T> = T extends unknown ? Extract<keyof T, string> : never;

/** An answer's JSON object, not yet checked, readable by the field names `K` only. */
export type Fields<K extends string> = { readonly [P in K]?: unknown };

/** `value` as a JSON object of the wire type `T`, whose fields are still to be checked. */
export function object<T>(value: unknown, what: string): Fields<FieldName<T>> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ShapeError(`${what} is not an object`);
  return value;
}

/** `value` itself, when it is a safe integer; `where` names it in the error. */
function safeInteger(value: unknown, where: string, kind = 'an integer'): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw new ShapeError(`${where} is not ${kind}`);
  return value;
}

export function integer<K extends string>(json: Fields<K>, field: NoInfer<K>, what: string): number {
  return safeInteger(json[field], `${what}.${field}`);
}

function optionalInteger<K extends string>(json: Fields<K>, field: NoInfer<K>, what: string, fallback: number): number {
  return json[field] === undefined ? fallback : integer(json, field, what);
}

function nullableId<K extends string>(json: Fields<K>, field: NoInfer<K>, what: string): number | null {
  const value = json[field];
  if (value === undefined || value === null || value === 0) return null;
  return safeInteger(value, `${what}.${field}`, 'a node id');
}

export function keyValue(value: unknown, what = 'kv'): KeyValueRecord {
  const json = object<KeyValueJson>(value, what);
  const keyBytes = readBytesField(json, 'key');
  if (!keyBytes) throw new ShapeError(`${what} has neither key nor keyBase64`);
  const valueBytes = readBytesField(json, 'value') ?? new Uint8Array();
  return {
    key: lenientText(keyBytes),
    keyBytes,
    value: lenientText(valueBytes),
    valueBytes,
    createRevision: integer(json, 'createRevision', what),
    modRevision: integer(json, 'modRevision', what),
    version: integer(json, 'version', what),
    lease: optionalInteger(json, 'lease', what, 0),
  };
}

/** DELETE /kv/KEY, DELETE /records/KEY, DELETE /leases/ID. */
export function deleteResult(value: unknown): DeleteResult {
  const json = object<DeleteJson>(value, 'answer');
  return { deleted: integer(json, 'deleted', 'answer'), revision: integer(json, 'revision', 'answer') };
}

export function leaseGrant(value: unknown): LeaseGrant {
  const json = object<LeaseGrantJson>(value, 'lease');
  return { id: integer(json, 'id', 'lease'), ttl: integer(json, 'ttl', 'lease'), revision: integer(json, 'revision', 'lease') };
}

export function leaseTimeToLive(value: unknown): LeaseTimeToLive {
  const json = object<LeaseTimeToLiveJson>(value, 'lease');
  const keys = json['keys'] === undefined ? [] : json['keys'];
  if (!Array.isArray(keys)) throw new ShapeError('lease.keys is not a list');
  return {
    id: integer(json, 'id', 'lease'),
    ttl: integer(json, 'ttl', 'lease'),
    grantedTtl: integer(json, 'grantedTtl', 'lease'),
    keys: keys.map((entry: unknown, i) => {
      const keyBytes = readBytesField(object<BytesJson<'key'>>(entry, `lease.keys[${i}]`), 'key');
      if (!keyBytes) throw new ShapeError(`lease.keys[${i}] has neither key nor keyBase64`);
      return { key: lenientText(keyBytes), keyBytes };
    }),
    revision: integer(json, 'revision', 'lease'),
  };
}

export function leaseList(value: unknown): LeaseList {
  const json = object<LeaseListJson>(value, 'answer');
  const leases = json['leases'];
  if (!Array.isArray(leases)) throw new ShapeError('answer.leases is not a list');
  return {
    leases: leases.map((entry: unknown, i) => {
      const lease = object<LeaseListJson['leases'][number]>(entry, `leases[${i}]`);
      return { id: integer(lease, 'id', `leases[${i}]`), grantedTtl: integer(lease, 'grantedTtl', `leases[${i}]`) };
    }),
    revision: integer(json, 'revision', 'answer'),
  };
}

export function batchResult(value: unknown, index: number): BatchOpResult {
  const what = `results[${index}]`;
  const json = object<BatchOpResultJson>(value, what);
  switch (json['op']) {
    case 'set':
    case 'put':
      return { op: 'set' };
    case 'get':
      return { op: 'get', kv: json['kv'] === null || json['kv'] === undefined ? undefined : keyValue(json['kv'], `${what}.kv`) };
    case 'delete':
    case 'del':
      return { op: 'delete', deleted: integer(json, 'deleted', what) };
    default:
      throw new ShapeError(`${what}.op is ${JSON.stringify(json['op'])}`);
  }
}

const roleNames: readonly RoleName[] = ['follower', 'preCandidate', 'candidate', 'leader'];
const isRoleName = (value: unknown): value is RoleName => roleNames.some((name) => name === value);

export function nodeStatus(value: unknown): NodeStatus {
  const what = 'status';
  const json = object<NodeStatusJson>(value, what);
  const role = json['role'];
  if (!isRoleName(role)) throw new ShapeError(`${what}.role is ${JSON.stringify(role)}`);
  const disk = object<NodeStatusJson['disk']>(json['disk'], `${what}.disk`);
  return {
    id: integer(json, 'id', what),
    role,
    term: integer(json, 'term', what),
    leader: nullableId(json, 'leader', what),
    commit: integer(json, 'commit', what),
    applied: integer(json, 'applied', what),
    firstIndex: integer(json, 'firstIndex', what),
    lastIndex: integer(json, 'lastIndex', what),
    revision: integer(json, 'revision', what),
    compactedRevision: integer(json, 'compactedRevision', what),
    compactionPending: boolean(json, 'compactionPending', what),
    voters: integers(json, 'voters', what),
    learners: integers(json, 'learners', what),
    isLearner: boolean(json, 'isLearner', what),
    pendingWrites: integer(json, 'pendingWrites', what),
    pendingReads: integer(json, 'pendingReads', what),
    watchers: integer(json, 'watchers', what),
    peers: list(json, 'peers', what).map((item, i) => {
      const peer = object<PeerProgressJson>(item, `${what}.peers[${i}]`);
      const where = `${what}.peers[${i}]`;
      return {
        id: integer(peer, 'id', where),
        match: integer(peer, 'match', where),
        next: integer(peer, 'next', where),
        state: text(peer, 'state', where),
        recentActive: boolean(peer, 'recentActive', where),
      };
    }),
    version: text(json, 'version', what),
    dbSize: integer(json, 'dbSize', what),
    dbSizeInUse: integer(json, 'dbSizeInUse', what),
    quotaBackendBytes: integer(json, 'quotaBackendBytes', what),
    alarms: list(json, 'alarms', what).map((item, i) => {
      const alarm = object<AlarmJson>(item, `${what}.alarms[${i}]`);
      return { memberId: integer(alarm, 'memberId', `${what}.alarms[${i}]`), alarm: text(alarm, 'alarm', `${what}.alarms[${i}]`) };
    }),
    disk: {
      freeBytes: integer(disk, 'freeBytes', `${what}.disk`),
      reserveBytes: integer(disk, 'reserveBytes', `${what}.disk`),
      low: boolean(disk, 'low', `${what}.disk`),
    },
  };
}

function list<K extends string>(json: Fields<K>, field: NoInfer<K>, what: string): unknown[] {
  const value = json[field];
  if (!Array.isArray(value)) throw new ShapeError(`${what}.${field} is not a list`);
  return value;
}

function integers<K extends string>(json: Fields<K>, field: NoInfer<K>, what: string): number[] {
  return list(json, field, what).map((item, i) => safeInteger(item, `${what}.${field}[${i}]`));
}

function boolean<K extends string>(json: Fields<K>, field: NoInfer<K>, what: string): boolean {
  const value = json[field];
  if (typeof value !== 'boolean') throw new ShapeError(`${what}.${field} is not true or false`);
  return value;
}

function text<K extends string>(json: Fields<K>, field: NoInfer<K>, what: string): string {
  const value = json[field];
  if (typeof value !== 'string') throw new ShapeError(`${what}.${field} is not a string`);
  return value;
}

export function clusterInfo(value: unknown): ClusterInfo {
  const json = object<ClusterInfoJson>(value, 'cluster info');
  const members = json['members'];
  if (!Array.isArray(members)) throw new ShapeError('cluster info.members is not an array');
  return {
    clusterId: typeof json['clusterId'] === 'string' ? json['clusterId'] : String(json['clusterId'] ?? ''),
    leader: nullableId(json, 'leader', 'cluster info'),
    members: members.map((m, i): Member => {
      const what = `members[${i}]`;
      const member = object<ClusterMemberJson>(m, what);
      return {
        id: integer(member, 'id', what),
        host: typeof member['host'] === 'string' ? member['host'] : '',
        peerPort: optionalInteger(member, 'peerPort', what, 0),
        clientPort: optionalInteger(member, 'clientPort', what, 0),
        clientUrl: typeof member['clientUrl'] === 'string' ? member['clientUrl'] : '',
        voter: member['voter'] !== false,
      };
    }),
  };
}

function strings<K extends string>(json: Fields<K>, field: NoInfer<K>, what: string): string[] {
  const value = json[field];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw new ShapeError(`${what}.${field} is not a list of strings`);
  return value as string[];
}

export function memberRecord(value: unknown, what = 'member'): MemberRecord {
  const json = object<MemberJson>(value, what);
  return {
    id: integer(json, 'id', what),
    name: typeof json['name'] === 'string' ? json['name'] : '',
    peerUrls: strings(json, 'peerUrls', what),
    clientUrls: strings(json, 'clientUrls', what),
    grpcUrls: strings(json, 'grpcUrls', what),
    isLearner: json['isLearner'] === true,
  };
}

export function memberList(value: unknown): MemberList {
  const json = object<MemberListJson>(value, 'member list');
  const members = json['members'];
  const removed = json['removed'];
  if (!Array.isArray(members) || !Array.isArray(removed)) throw new ShapeError('member list needs members and removed arrays');
  return {
    leader: nullableId(json, 'leader', 'member list'),
    members: members.map((m, i) => memberRecord(m, `members[${i}]`)),
    removed: removed.filter((id): id is number => typeof id === 'number'),
  };
}

export function memberChange(value: unknown): MemberChangeResult {
  const json = object<MemberChangeJson>(value, 'member change');
  const members = json['members'];
  if (!Array.isArray(members)) throw new ShapeError('member change.members is not an array');
  return { member: memberRecord(json['member']), members: members.map((m, i) => memberRecord(m, `members[${i}]`)) };
}

export function badResponse(error: ShapeError, endpoint: string, path: string, status: number, write: boolean): KeelClientError {
  return new KeelClientError({
    code: 'BAD_RESPONSE',
    message: `${endpoint}${path}: unexpected answer: ${error.message}`,
    status,
    outcome: write ? 'unknown' : 'not-applied',
    endpoint,
  });
}

export function keyVersion(value: unknown, index: number): KeyVersionRecord {
  const what = `versions[${index}]`;
  const json = object<KeyVersionJson>(value, what);
  if (json['type'] === 'delete') return { type: 'delete', modRevision: integer(json, 'modRevision', what) };
  if (json['type'] !== 'put') throw new ShapeError(`${what}.type is neither put nor delete`);
  const { key: _key, keyBytes: _keyBytes, ...rest } = keyValue({ ...json, key: '' }, what);
  return { type: 'put', ...rest };
}

export function recordResult(value: unknown): RecordResult {
  const json = object<RecordJson>(value, 'answer');
  const keyBytes = readBytesField(json, 'key');
  if (!keyBytes) throw new ShapeError('answer has neither key nor keyBase64');
  const fields: Record<string, string> = {};
  const fieldBytes: Record<string, Uint8Array> = {};
  for (const [source, decode] of [
    ['fields', (text: string) => new TextEncoder().encode(text)],
    ['fieldsBase64', fromBase64],
  ] as const) {
    if (json[source] === undefined) continue;
    for (const [name, encoded] of Object.entries(object<Record<string, string>>(json[source], `answer.${source}`))) {
      if (typeof encoded !== 'string') throw new ShapeError(`answer.${source}.${name} is not a string`);
      fieldBytes[name] = decode(encoded);
      fields[name] = lenientText(fieldBytes[name] as Uint8Array);
    }
  }
  return {
    key: lenientText(keyBytes),
    fields,
    fieldBytes,
    modRevision: integer(json, 'modRevision', 'answer'),
    more: json['more'] === true,
    revision: integer(json, 'revision', 'answer'),
  };
}

export function fieldResult(value: unknown): FieldResult {
  const json = object<FieldJson>(value, 'answer');
  const kv = keyValue(json, 'answer');
  if (typeof json['field'] !== 'string') throw new ShapeError('answer.field is not a string');
  const { lease: _lease, keyBytes: _keyBytes, ...rest } = kv;
  return { ...rest, field: json['field'], revision: integer(json, 'revision', 'answer') };
}
