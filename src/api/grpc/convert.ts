/**
 * Between etcd's protobuf messages (as plain objects, see proto.ts) and the store's
 * own request and response types (src/kv/types.ts, which follow etcd's model field for
 * field). Validation of the values themselves (key sizes, ranges, txn rules) is the
 * store's (kv/validate.ts); here only the wire's shape and integer ranges are checked.
 */
import { status } from './status.js';
import {
  type Compare,
  type CompareNumericTarget,
  type CompareResult,
  type DeleteRangeRequest,
  type DeleteRangeResponse,
  type KeyValue,
  type KvEvent,
  type PutRequest,
  type PutResponse,
  type RangeRequest,
  type RangeResponse,
  type RequestOp,
  type ResponseOp,
  type SortOrder,
  type SortTarget,
  type TxnRequest,
  type TxnResponse,
  compareBytes,
  isFromKey,
} from '../../kv/index.js';
import { GrpcError } from './errors.js';
import { revisionOrZero, safeInteger } from './int64.js';

/**
 * etcd answers a range whose end sorts before its key (neither empty nor [0x00]) with
 * nothing, where Keel's store refuses it as a mistake: such a request is served as an
 * empty read at the revision asked for (kv-service.ts).
 */
export function isBackwardsRange(range: RangeRequest): boolean {
  return range.rangeEnd !== undefined && !isFromKey(range.rangeEnd) && compareBytes(range.rangeEnd, range.key) <= 0;
}

/** A decoded message: fields by their proto names. */
export type Message = Record<string, unknown>;

export interface KeyValueMessage {
  key: Uint8Array;
  create_revision: number;
  mod_revision: number;
  version: number;
  value: Uint8Array;
  lease: number;
}

const sortOrders: Record<string, SortOrder> = { NONE: 'none', ASCEND: 'ascend', DESCEND: 'descend' };
const sortTargets: Record<string, SortTarget> = { KEY: 'key', VERSION: 'version', CREATE: 'create', MOD: 'mod', VALUE: 'value' };
const compareResults: Record<string, CompareResult> = { EQUAL: 'equal', NOT_EQUAL: 'notEqual', LESS: 'less', GREATER: 'greater' };
const compareFields: Record<string, [CompareNumericTarget | 'value', string]> = {
  VERSION: ['version', 'version'],
  CREATE: ['create', 'create_revision'],
  MOD: ['mod', 'mod_revision'],
  VALUE: ['value', 'value'],
  LEASE: ['lease', 'lease'],
};

function bytes(message: Message, field: string): Uint8Array {
  const value = message[field];
  return value instanceof Uint8Array ? value : new Uint8Array(0);
}

function optionalBytes(message: Message, field: string): { rangeEnd?: Uint8Array } {
  const value = bytes(message, field);
  return value.length > 0 ? { rangeEnd: value } : {};
}

function enumValue<T>(table: Record<string, T>, value: unknown, field: string): T {
  const mapped = table[String(value)];
  if (mapped === undefined) throw new GrpcError(status.INVALID_ARGUMENT, `etcdserver: unknown ${field} ${String(value)}`);
  return mapped;
}

function nonNegative(message: Message, field: string): number {
  const value = message[field] ?? 0;
  if (typeof value === 'string' && value.startsWith('-')) {
    throw new GrpcError(status.INVALID_ARGUMENT, `etcdserver: ${field} must not be negative, got ${value}`);
  }
  return safeInteger(value, field);
}

export function rangeFromMessage(message: Message): RangeRequest {
  let sortOrder = enumValue(sortOrders, message.sort_order ?? 'NONE', 'sort_order');
  const sortTarget = enumValue(sortTargets, message.sort_target ?? 'KEY', 'sort_target');
  // etcd: a sort target other than the key with no order given sorts ascending.
  if (sortOrder === 'none' && sortTarget !== 'key') sortOrder = 'ascend';
  return {
    type: 'range',
    key: bytes(message, 'key'),
    ...optionalBytes(message, 'range_end'),
    // etcd reads a negative limit as no limit (limit <= 0).
    limit: revisionOrZero(message.limit ?? 0, 'limit'),
    revision: revisionOrZero(message.revision ?? 0, 'revision'),
    sortOrder,
    sortTarget,
    keysOnly: message.keys_only === true,
    countOnly: message.count_only === true,
    minModRevision: nonNegative(message, 'min_mod_revision'),
    maxModRevision: nonNegative(message, 'max_mod_revision'),
    minCreateRevision: nonNegative(message, 'min_create_revision'),
    maxCreateRevision: nonNegative(message, 'max_create_revision'),
  };
}

export function putFromMessage(message: Message): PutRequest {
  return {
    type: 'put',
    key: bytes(message, 'key'),
    value: bytes(message, 'value'),
    lease: nonNegative(message, 'lease'),
    prevKv: message.prev_kv === true,
    ignoreValue: message.ignore_value === true,
    ignoreLease: message.ignore_lease === true,
  };
}

export function deleteRangeFromMessage(message: Message): DeleteRangeRequest {
  return { type: 'deleteRange', key: bytes(message, 'key'), ...optionalBytes(message, 'range_end'), prevKv: message.prev_kv === true };
}

function compareFromMessage(message: Message): Compare {
  const [target, field] = enumValue(compareFields, message.target ?? 'VERSION', 'compare target');
  const result = enumValue(compareResults, message.result ?? 'EQUAL', 'compare result');
  const base = { key: bytes(message, 'key'), ...optionalBytes(message, 'range_end'), result };
  if (target === 'value') return { ...base, target, operand: bytes(message, field) };
  return { ...base, target, operand: safeInteger(message[field] ?? 0, `compare ${field}`) };
}

function requestOpFromMessage(message: Message): RequestOp {
  const which = message.request;
  const body = (typeof which === 'string' ? message[which] : undefined) as Message | undefined;
  switch (which) {
    case 'request_range':
      return rangeFromMessage(body ?? {});
    case 'request_put':
      return putFromMessage(body ?? {});
    case 'request_delete_range':
      return deleteRangeFromMessage(body ?? {});
    case 'request_txn':
      return txnFromMessage(body ?? {});
    default:
      throw new GrpcError(status.INVALID_ARGUMENT, 'etcdserver: a txn operation must hold a range, put, delete_range or txn request');
  }
}

function messages(value: unknown): Message[] {
  return Array.isArray(value) ? (value as Message[]) : [];
}

export function txnFromMessage(message: Message): TxnRequest {
  return {
    type: 'txn',
    compare: messages(message.compare).map(compareFromMessage),
    success: messages(message.success).map(requestOpFromMessage),
    failure: messages(message.failure).map(requestOpFromMessage),
  };
}

export function keyValueMessage(kv: KeyValue): KeyValueMessage {
  return { key: kv.key, create_revision: kv.createRevision, mod_revision: kv.modRevision, version: kv.version, value: kv.value, lease: kv.lease };
}

export function eventMessage(event: KvEvent, withPrevKv: boolean): Message {
  return {
    type: event.type === 'put' ? 'PUT' : 'DELETE',
    kv: keyValueMessage(event.kv),
    ...(withPrevKv && event.prevKv ? { prev_kv: keyValueMessage(event.prevKv) } : {}),
  };
}

export function rangeResponseMessage(response: RangeResponse, header: Message): Message {
  return { header, kvs: response.kvs.map(keyValueMessage), more: response.more, count: response.count };
}

export function putResponseMessage(response: PutResponse, header: Message): Message {
  return { header, ...(response.prevKv ? { prev_kv: keyValueMessage(response.prevKv) } : {}) };
}

export function deleteRangeResponseMessage(response: DeleteRangeResponse, header: Message): Message {
  return { header, deleted: response.deleted, prev_kvs: response.prevKvs.map(keyValueMessage) };
}

export function txnResponseMessage(response: TxnResponse, header: Message): Message {
  // etcd's nested responses carry a header holding only the transaction's revision.
  const nested = { revision: header.revision };
  return { header, succeeded: response.succeeded, responses: response.responses.map((op) => responseOpMessage(op, nested)) };
}

/** Nested responses carry the header they are given (the transaction's revision). */
function responseOpMessage(op: ResponseOp, header: Message): Message {
  switch (op.type) {
    case 'range':
      return { response_range: rangeResponseMessage(op, header) };
    case 'put':
      return { response_put: putResponseMessage(op, header) };
    case 'deleteRange':
      return { response_delete_range: deleteRangeResponseMessage(op, header) };
    case 'txn':
      return { response_txn: txnResponseMessage(op, header) };
  }
}
