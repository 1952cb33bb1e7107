/**
 * Checks on requests at the boundary, before anything changes: each problem gets a
 * stable code and a message that names it (`put: key is 5000 bytes; the limit is 3072
 * (keyBytesMax)`). The API layer calls prepareCommand() with the configured limits
 * before proposing; the state machine calls validateCommand() again with HARD_LIMITS
 * when it applies, so that a command that slipped past (another node's configuration, a
 * hand-made entry) is refused the same way on every replica rather than corrupting the
 * store: HARD_LIMITS are constants, never configuration, so apply stays deterministic.
 */
import { encodeCommand, DECODE_DEPTH_MAX } from './codec/command.js';
import { kvError, type KvError, type KvResult } from './errors.js';
import { KEY_BYTES_PHYSICAL_MAX } from './codec/key-encoding.js';
import { compareBytes, inRange, isFromKey, isSingleKey } from './mvcc/key-range.js';
import type { AuthChange } from './auth/auth-types.js';
import type { Command, Compare, HistoryRequest, RangeRequest, RequestOp, TxnRequest } from './types.js';

export interface Limits {
  /** Bytes in a key (or a range end). At most KEY_BYTES_PHYSICAL_MAX (see key-encoding.ts). */
  readonly keyBytesMax: number;
  readonly valueBytesMax: number;
  /** Bytes of the encoded command (what goes in the log entry). */
  readonly requestBytesMax: number;
  /** Compares, success ops and failure ops of one txn, each (etcd's --max-txn-ops). */
  readonly txnOpsMax: number;
  /** Levels of transactions inside transactions. */
  readonly txnDepthMax: number;
  readonly clientIdBytesMax: number;
}

export const defaultLimits: Limits = {
  // 4 KiB keys do not fit in an LMDB key once encoded (key-encoding.ts); 3 KiB does.
  keyBytesMax: 3 * 1024,
  valueBytesMax: 1536 * 1024,
  // etcd's default --max-request-bytes; below the Raft core's entryBytesMax (2 MiB).
  requestBytesMax: 1536 * 1024,
  txnOpsMax: 128,
  txnDepthMax: 8,
  clientIdBytesMax: 256,
};

/** What the state machine enforces on apply, whatever the configuration. */
export const HARD_LIMITS: Limits = {
  keyBytesMax: KEY_BYTES_PHYSICAL_MAX,
  valueBytesMax: 64 * 1024 * 1024,
  requestBytesMax: Number.MAX_SAFE_INTEGER,
  txnOpsMax: 10_000,
  txnDepthMax: DECODE_DEPTH_MAX,
  clientIdBytesMax: 1024,
};

/**
 * The longest lease TTL, in seconds: etcd's MaxLeaseTTL (9e9 s, about 285 years).
 * A longer one fails with LEASE_TTL_TOO_LARGE ("etcdserver: too large lease TTL").
 */
export const LEASE_TTL_MAX_SECONDS = 9_000_000_000;

/** Configured limits must lie within the hard ones, or applies would refuse what the API accepted. */
export function checkLimits(limits: Limits): void {
  for (const name of Object.keys(HARD_LIMITS) as (keyof Limits)[]) {
    const value = limits[name];
    if (!Number.isSafeInteger(value) || value < 1 || value > HARD_LIMITS[name]) {
      throw new RangeError(`limit ${name} = ${value} must be an integer in [1, ${HARD_LIMITS[name]}]`);
    }
  }
}

/**
 * Validates and encodes a command for proposal: the bytes to put in the log entry, or
 * the problem. `prefix` goes before the command in the same bytes (encodeCommand); the
 * limit is the command's own.
 */
export function prepareCommand(command: Command, limits: Limits = defaultLimits, prefix?: Uint8Array): KvResult<Uint8Array> {
  const problem = validateCommand(command, limits);
  if (problem) return { ok: false, error: problem };
  const bytes = encodeCommand(command, prefix);
  const commandBytes = bytes.length - (prefix?.length ?? 0);
  if (commandBytes > limits.requestBytesMax) {
    return {
      ok: false,
      error: kvError('REQUEST_TOO_LARGE', `request is ${commandBytes} bytes encoded; the limit is ${limits.requestBytesMax} (requestBytesMax)`),
    };
  }
  return { ok: true, value: bytes };
}

/** The first problem with `command`, or undefined. Does not check the encoded size (prepareCommand does). */
export function validateCommand(command: Command, limits: Limits = defaultLimits): KvError | undefined {
  if (command.session) {
    const { clientId, seq } = command.session;
    if (typeof clientId !== 'string') return kvError('INVALID_SESSION', 'session: clientId must be a string');
    const idBytes = Buffer.byteLength(clientId, 'utf8');
    if (idBytes === 0) return kvError('INVALID_SESSION', 'session: clientId is empty');
    if (idBytes > limits.clientIdBytesMax) {
      return kvError('INVALID_SESSION', `session: clientId is ${idBytes} bytes; the limit is ${limits.clientIdBytesMax} (clientIdBytesMax)`);
    }
    if (!Number.isSafeInteger(seq) || seq < 1) return kvError('INVALID_SESSION', `session: seq must be an integer >= 1, got ${seq}`);
  }
  if (command.timeMs !== undefined) {
    const problem = checkUint(command.timeMs, 'timeMs', '');
    if (problem) return problem;
  }
  if (command.auth !== undefined && (typeof command.auth.user !== 'string' || !Number.isSafeInteger(command.auth.revision) || command.auth.revision < 1)) {
    return kvError('INVALID_ARGUMENT', 'auth: user must be a string and revision an integer >= 1');
  }
  const body = command.body;
  switch (body.type) {
    case 'put':
    case 'deleteRange':
      return validateOp(body, limits, '', 1);
    case 'txn': {
      const problem = validateOp(body, limits, '', 1);
      return problem ?? checkTxnIntervals(body);
    }
    case 'compact':
      if (!Number.isSafeInteger(body.revision) || body.revision < 1) {
        return kvError('INVALID_ARGUMENT', `compact: revision must be an integer >= 1, got ${body.revision}`);
      }
      return undefined;
    case 'noop':
    case 'member':
      return undefined;
    case 'auth':
      return validateAuthChange(body.change, limits);
    case 'leaseGrant':
      return (
        checkLeaseId(body.id, 'lease grant: ') ??
        (!Number.isSafeInteger(body.ttl) || body.ttl < 1
          ? kvError('INVALID_ARGUMENT', `lease grant: ttl must be an integer >= 1 second, got ${body.ttl}`)
          : body.ttl > LEASE_TTL_MAX_SECONDS
            ? kvError('LEASE_TTL_TOO_LARGE', `lease grant: ttl ${body.ttl} s is too large; the limit is ${LEASE_TTL_MAX_SECONDS} s`)
            : undefined)
      );
    case 'leaseRevoke':
      return (
        checkLeaseId(body.id, 'lease revoke: ') ??
        (body.onlyIfRenewedAt !== undefined && (!Number.isSafeInteger(body.onlyIfRenewedAt) || body.onlyIfRenewedAt < 1)
          ? kvError('INVALID_ARGUMENT', `lease revoke: onlyIfRenewedAt must be a log index >= 1, got ${body.onlyIfRenewedAt}`)
          : undefined)
      );
    case 'leaseKeepAlive':
      return checkLeaseId(body.id, 'lease keep-alive: ');
    case 'alarm':
      if (!Number.isSafeInteger(body.memberId) || body.memberId < 0) {
        return kvError('INVALID_ARGUMENT', `alarm: memberId must be an integer >= 0, got ${body.memberId}`);
      }
      if (body.alarm !== 'NOSPACE' && body.alarm !== 'CORRUPT') return kvError('INVALID_ARGUMENT', `alarm: unknown alarm type ${JSON.stringify(body.alarm)}`);
      if (body.action !== 'activate' && body.action !== 'deactivate') return kvError('INVALID_ARGUMENT', `alarm: action must be activate or deactivate`);
      return undefined;
    default:
      return kvError('BAD_COMMAND', `unknown command type ${JSON.stringify((body as { type: unknown }).type)}`);
  }
}

/** The first problem with a read request, or undefined. */
export function validateRangeRequest(request: RangeRequest, limits: Limits = defaultLimits): KvError | undefined {
  return validateOp(request, limits, '', 1);
}

/** Checks a key-history read: the key, the order, and the bounds (non-negative integers). */
export function validateHistoryRequest(request: HistoryRequest, limits: Limits = defaultLimits): KvError | undefined {
  const where = 'history: ';
  const problem = checkKey(request.key, limits, where, 'key');
  if (problem) return problem;
  for (const name of ['limit', 'revision', 'minRevision'] as const) {
    const p = checkUint(request[name] ?? 0, name, where);
    if (p) return p;
  }
  if (request.order !== undefined && request.order !== 'ascend' && request.order !== 'descend') {
    return kvError('INVALID_ARGUMENT', `${where}order must be ascend or descend, got ${JSON.stringify(request.order)}`);
  }
  return undefined;
}

function validateOp(op: RequestOp, limits: Limits, path: string, depth: number): KvError | undefined {
  const where = `${path}${op.type}: `;
  switch (op.type) {
    case 'put': {
      const problem = checkKey(op.key, limits, where, 'key');
      if (problem) return problem;
      if (!(op.value instanceof Uint8Array)) return kvError('INVALID_ARGUMENT', `${where}value must be bytes`);
      if (op.value.length > limits.valueBytesMax) {
        return kvError('VALUE_TOO_LARGE', `${where}value is ${op.value.length} bytes; the limit is ${limits.valueBytesMax} (valueBytesMax)`);
      }
      const lease = op.lease ?? 0;
      const leaseProblem = checkUint(lease, 'lease', where);
      if (leaseProblem) return leaseProblem;
      if (op.ignoreValue && op.value.length > 0) {
        return kvError('VALUE_PROVIDED', `${where}ignoreValue is set, so value must be empty (it is ${op.value.length} bytes)`);
      }
      if (op.ignoreLease && lease !== 0) {
        return kvError('LEASE_PROVIDED', `${where}ignoreLease is set, so lease must be 0 (it is ${lease})`);
      }
      return undefined;
    }
    case 'deleteRange':
      return checkRange(op.key, op.rangeEnd, limits, where);
    case 'range': {
      const problem = checkRange(op.key, op.rangeEnd, limits, where);
      if (problem) return problem;
      for (const name of ['limit', 'revision', 'minModRevision', 'maxModRevision', 'minCreateRevision', 'maxCreateRevision'] as const) {
        const p = checkUint(op[name] ?? 0, name, where);
        if (p) return p;
      }
      if (op.sortOrder !== undefined && !['none', 'ascend', 'descend'].includes(op.sortOrder)) {
        return kvError('INVALID_ARGUMENT', `${where}unknown sortOrder ${JSON.stringify(op.sortOrder)}`);
      }
      if (op.sortTarget !== undefined && !['key', 'version', 'create', 'mod', 'value'].includes(op.sortTarget)) {
        return kvError('INVALID_ARGUMENT', `${where}unknown sortTarget ${JSON.stringify(op.sortTarget)}`);
      }
      return undefined;
    }
    case 'txn':
      return validateTxn(op, limits, path, depth);
    default:
      return kvError('BAD_COMMAND', `${path}unknown operation type ${JSON.stringify((op as { type: unknown }).type)}`);
  }
}

function validateTxn(txn: TxnRequest, limits: Limits, path: string, depth: number): KvError | undefined {
  const where = `${path}txn: `;
  if (depth > limits.txnDepthMax) {
    return kvError('TXN_TOO_DEEP', `${where}transactions are nested ${depth} deep; the limit is ${limits.txnDepthMax} (txnDepthMax)`);
  }
  for (const [name, list] of [
    ['compare', txn.compare],
    ['success', txn.success],
    ['failure', txn.failure],
  ] as const) {
    if (!Array.isArray(list)) return kvError('INVALID_ARGUMENT', `${where}${name} must be a list`);
    if (list.length > limits.txnOpsMax) {
      return kvError('TOO_MANY_OPS', `${where}${name} has ${list.length} entries; the limit is ${limits.txnOpsMax} (txnOpsMax)`);
    }
  }
  for (const [i, c] of txn.compare.entries()) {
    const problem = validateCompare(c, limits, `${path}txn.compare[${i}]: `);
    if (problem) return problem;
  }
  for (const branch of ['success', 'failure'] as const) {
    for (const [i, op] of txn[branch].entries()) {
      const problem = validateOp(op, limits, `${path}txn.${branch}[${i}] `, depth + 1);
      if (problem) return problem;
    }
  }
  return undefined;
}

function validateCompare(c: Compare, limits: Limits, where: string): KvError | undefined {
  const problem = checkRange(c.key, c.rangeEnd, limits, where);
  if (problem) return problem;
  if (!['equal', 'notEqual', 'less', 'greater'].includes(c.result)) {
    return kvError('INVALID_ARGUMENT', `${where}unknown compare result ${JSON.stringify(c.result)}`);
  }
  if (c.target === 'value') {
    if (!(c.operand instanceof Uint8Array)) return kvError('INVALID_ARGUMENT', `${where}a value compare needs bytes`);
    if (c.operand.length > limits.valueBytesMax) {
      return kvError('VALUE_TOO_LARGE', `${where}compared value is ${c.operand.length} bytes; the limit is ${limits.valueBytesMax} (valueBytesMax)`);
    }
    return undefined;
  }
  if (!['version', 'create', 'mod', 'lease'].includes(c.target)) {
    return kvError('INVALID_ARGUMENT', `${where}unknown compare target ${JSON.stringify((c as { target: unknown }).target)}`);
  }
  return checkUint(c.operand, c.target, where);
}

function checkKey(key: Uint8Array, limits: Limits, where: string, name: string): KvError | undefined {
  if (!(key instanceof Uint8Array)) return kvError('INVALID_ARGUMENT', `${where}${name} must be bytes`);
  if (name === 'key' && key.length === 0) return kvError('KEY_EMPTY', `${where}key is empty`);
  if (key.length > limits.keyBytesMax) {
    return kvError('KEY_TOO_LARGE', `${where}${name} is ${key.length} bytes; the limit is ${limits.keyBytesMax} (keyBytesMax)`);
  }
  return undefined;
}

function checkRange(key: Uint8Array, rangeEnd: Uint8Array | undefined, limits: Limits, where: string): KvError | undefined {
  const problem = checkKey(key, limits, where, 'key') ?? (rangeEnd !== undefined ? checkKey(rangeEnd, limits, where, 'rangeEnd') : undefined);
  if (problem) return problem;
  if (!isSingleKey(rangeEnd) && !isFromKey(rangeEnd) && compareBytes(rangeEnd as Uint8Array, key) <= 0) {
    return kvError('INVALID_RANGE', `${where}rangeEnd must be greater than key (or [0x00] for every key from key on, or empty for the key alone)`);
  }
  return undefined;
}

/** Lease ids are positive safe integers (etcd's are int64; 0 means "no lease"). */
function checkLeaseId(id: number, where: string): KvError | undefined {
  if (!Number.isSafeInteger(id) || id < 1) return kvError('INVALID_ARGUMENT', `${where}lease id must be an integer in [1, 2^53 - 1], got ${id}`);
  return undefined;
}

function checkUint(value: number, name: string, where: string): KvError | undefined {
  if (!Number.isSafeInteger(value) || value < 0) {
    return kvError('INVALID_ARGUMENT', `${where}${name} must be a non-negative integer, got ${value}`);
  }
  return undefined;
}

// ---------------------------------------------------------------------------------
// etcd's checkIntervals, made symmetric: within what one transaction may execute, no key
// is put twice and no key is both put and deleted, whatever the order of the operations
// and however deep. The store relies on it: a key changes at most once per revision.
// The two branches of one nested txn exclude each other, so they may overlap. (etcd
// itself lets an earlier nested txn put a key that a later nested txn deletes; we refuse
// that too.)
// ---------------------------------------------------------------------------------

interface Interval {
  readonly key: Uint8Array;
  readonly rangeEnd: Uint8Array | undefined;
}

class KeySet {
  private readonly keys = new Set<string>();
  has(key: Uint8Array): boolean {
    return this.keys.has(Buffer.from(key).toString('latin1'));
  }
  add(key: Uint8Array): void {
    this.keys.add(Buffer.from(key).toString('latin1'));
  }
  *[Symbol.iterator](): Generator<Uint8Array> {
    for (const k of this.keys) yield Buffer.from(k, 'latin1');
  }
}

function checkTxnIntervals(txn: TxnRequest): KvError | undefined {
  for (const branch of ['success', 'failure'] as const) {
    const outcome = intervalsOf(txn[branch], `txn.${branch}`);
    if ('error' in outcome) return outcome.error;
  }
  return undefined;
}

/** What a list of operations may change if it runs: the keys it puts and the ranges it deletes. */
function intervalsOf(ops: readonly RequestOp[], path: string): { puts: KeySet; dels: Interval[] } | { error: KvError } {
  const puts = new KeySet();
  const dels: Interval[] = [];
  const duplicate = (key: Uint8Array): { error: KvError } => ({
    error: kvError('DUPLICATE_KEY', `${path}: key ${JSON.stringify(Buffer.from(key).toString('latin1'))} is changed more than once in one transaction`),
  });
  for (const [i, op] of ops.entries()) {
    // What this operation may change (for a nested txn: either branch, which exclude each other).
    let opPuts: Uint8Array[] = [];
    let opDels: Interval[] = [];
    if (op.type === 'put') opPuts = [op.key];
    else if (op.type === 'deleteRange') opDels = [{ key: op.key, rangeEnd: op.rangeEnd }];
    else if (op.type === 'txn') {
      const then = intervalsOf(op.success, `${path}[${i}].success`);
      if ('error' in then) return then;
      const otherwise = intervalsOf(op.failure, `${path}[${i}].failure`);
      if ('error' in otherwise) return otherwise;
      const both = new KeySet();
      for (const k of then.puts) both.add(k);
      for (const k of otherwise.puts) both.add(k);
      opPuts = [...both];
      opDels = [...then.dels, ...otherwise.dels];
    }
    // Against everything the operations before it may change.
    for (const k of opPuts) {
      if (puts.has(k) || dels.some((d) => inRange(k, d.key, d.rangeEnd))) return duplicate(k);
    }
    for (const d of opDels) {
      for (const k of puts) if (inRange(k, d.key, d.rangeEnd)) return duplicate(k);
    }
    for (const k of opPuts) puts.add(k);
    dels.push(...opDels);
  }
  return { puts, dels };
}

/**
 * User and role names are keys of the auth table: bounded, so that a long one is refused
 * before it is proposed (and on apply), never met by LMDB's own key limit mid-apply.
 */
export const AUTH_NAME_BYTES_MAX = 256;

function validateAuthChange(change: AuthChange, limits: Limits): KvError | undefined {
  const names: string[] = [];
  switch (change.op) {
    case 'enable':
    case 'disable':
      break;
    case 'userGrantRole':
      names.push(change.user, change.role);
      break;
    case 'userRevokeRole':
      names.push(change.name, change.role);
      break;
    case 'roleDelete':
      names.push(change.role);
      break;
    case 'roleRevokePermission':
      names.push(change.role);
      return checkAuthNames(names) ?? checkKey(change.key, limits, 'auth: ', 'permission key') ?? checkKey(change.rangeEnd, limits, 'auth: ', 'range end');
    case 'roleGrantPermission':
      names.push(change.name);
      return (
        checkAuthNames(names) ??
        checkKey(change.permission.key, limits, 'auth: ', 'permission key') ??
        checkKey(change.permission.rangeEnd, limits, 'auth: ', 'range end')
      );
    default:
      names.push(change.name);
  }
  return checkAuthNames(names);
}

function checkAuthNames(names: readonly string[]): KvError | undefined {
  for (const name of names) {
    const bytes = Buffer.byteLength(name, 'utf8');
    if (bytes > AUTH_NAME_BYTES_MAX)
      return kvError('INVALID_ARGUMENT', `auth: the name ${JSON.stringify(name.slice(0, 32))}... is ${bytes} bytes; the limit is ${AUTH_NAME_BYTES_MAX}`);
  }
  return undefined;
}
