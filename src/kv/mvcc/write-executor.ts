/**
 * Runs a put, a deleteRange or a txn inside the apply's LMDB write transaction, as etcd's
 * applier does (server/etcdserver/txn/txn.go):
 *   1. plan: evaluate every compare, nested ones included, against the store as it was
 *      before the transaction, choosing the branch taken at each level;
 *   2. check the operations on that path for what would fail (a put with ignoreValue
 *      or ignoreLease on a missing key, a put with a lease that does not exist, a range
 *      at a compacted or future revision): if anything would, the whole command fails
 *      and nothing is written;
 *   3. execute the path at revision R = current + 1: each change takes the next
 *      sub-revision; ranges inside see the transaction's own earlier writes.
 * The revision moves to R only if something changed (a deleteRange that deletes
 * nothing, or a txn of reads, leaves it), as in etcd.
 *
 * Each put and delete also keeps two indexes true: the latest index (latest-index.ts)
 * names the new record as the key's newest, and the lease attachment index
 * (lease-table.ts) moves the key to its new lease (none, if put without one), or
 * detaches it on a delete.
 *
 * Validation (validate.ts) guarantees that a key changes at most once per revision,
 * which the history table's layout (one record per key and revision) relies on.
 */
import type { Table } from '../env/kv-env.js';
import { compareHolds } from './compare.js';
import { BY_REVISION_KEY_BYTES, writeByRevisionKey } from './compaction.js';
import { kvError, type KvError } from '../errors.js';
import { encodeKey, REVISION_BYTES, writeHistoryKey } from '../codec/key-encoding.js';
import { LATEST, type MvccReader } from './mvcc-reader.js';
import { setLatestRevision } from './latest-index.js';
import type { LeaseTable } from '../lease/lease-table.js';
import { encodePutRecord, encodeTombstone, toKeyValue } from './record.js';
import type {
  CommandResult,
  DeleteRangeRequest,
  DeleteRangeResponse,
  KeyValue,
  KvEvent,
  PutRequest,
  PutResponse,
  RequestOp,
  ResponseOp,
  TxnRequest,
  TxnResponse,
} from '../types.js';
import { assert, ByteWriter } from '../../lib/index.js';

export interface WriteContext {
  readonly history: Table;
  readonly byRevision: Table;
  /** The latest index (latest-index.ts), kept with the history. */
  readonly latest: Table;
  readonly leases: LeaseTable;
  readonly reader: MvccReader;
  /** The store's revision before this command. */
  readonly revision: number;
  readonly compactedRevision: number;
  /** Called at each key a delete visits and removes (MvccStore.applyBatch). */
  readonly pulse: () => void;
  /** Whether events carry the previous key-values' values (ApplyOptions.prevValues). */
  readonly prevValues: boolean;
}

export interface WriteOutcome {
  readonly result: CommandResult;
  readonly events: readonly KvEvent[];
  /** The store's revision after the command. */
  readonly revision: number;
}

interface Plan {
  readonly succeeded: boolean;
  /** For each op of the branch taken: the plan of a nested txn, else undefined. */
  readonly nested: readonly (Plan | undefined)[];
}

const EMPTY = new Uint8Array(0);

/**
 * The keys writeNewest writes under, and a put's record, built in buffers used again:
 * Table.putSync copies what it is given before it returns. A Buffer made for each key
 * was a fifth of the CPU of a delete of many keys (each is written three times), and a
 * record's a tenth of a put of a 1 KiB value. The record's buffer stays as large as the
 * largest record written (at most twice the largest value a request may carry).
 */
const scratch = {
  byRevision: Buffer.alloc(BY_REVISION_KEY_BYTES),
  record: new ByteWriter(),
  historyBuffer: Buffer.alloc(0),
  /** historyKey(encodedKey, revision) in a buffer kept while keys of one length follow. */
  history(encodedKey: Uint8Array, revision: number): Buffer {
    const length = encodedKey.length + REVISION_BYTES;
    if (this.historyBuffer.length !== length) this.historyBuffer = Buffer.allocUnsafeSlow(length);
    return writeHistoryKey(this.historyBuffer, encodedKey, revision);
  },
};

export function executeWrite(context: WriteContext, request: PutRequest | DeleteRangeRequest | TxnRequest): WriteOutcome {
  return new WriteExecution(context).run(request);
}

class WriteExecution {
  private readonly main: number;
  private sub = 0;
  private readonly events: KvEvent[] = [];

  constructor(private readonly context: WriteContext) {
    this.main = context.revision + 1;
  }

  run(request: PutRequest | DeleteRangeRequest | TxnRequest): WriteOutcome {
    const txn: TxnRequest = request.type === 'txn' ? request : { type: 'txn', compare: [], success: [request], failure: [] };
    const plan = this.plan(txn);
    const problem = this.check(txn, plan);
    if (problem) return { result: { ok: false, error: problem }, events: [], revision: this.context.revision };
    const response = this.execute(txn, plan);
    const revision = this.sub > 0 ? this.main : this.context.revision;
    const top = request.type === 'txn' ? response : response.responses[0];
    assert(top !== undefined && top.type !== 'range', 'single write produced no response');
    return { result: { ok: true, revision, response: top }, events: this.events, revision };
  }

  private plan(txn: TxnRequest): Plan {
    const { reader, revision } = this.context;
    const succeeded = txn.compare.every((c) => compareHolds(c, reader.liveKeyValues(c.key, c.rangeEnd, revision, c.target === 'value')));
    const ops = succeeded ? txn.success : txn.failure;
    return { succeeded, nested: ops.map((op) => (op.type === 'txn' ? this.plan(op) : undefined)) };
  }

  private check(txn: TxnRequest, plan: Plan): KvError | undefined {
    const { reader, revision, compactedRevision } = this.context;
    const ops = plan.succeeded ? txn.success : txn.failure;
    for (const [i, op] of ops.entries()) {
      switch (op.type) {
        case 'put':
          if ((op.ignoreValue || op.ignoreLease) && reader.get(op.key, revision) === undefined) {
            const flag = op.ignoreValue ? 'ignoreValue' : 'ignoreLease';
            return kvError('KEY_NOT_FOUND', `put: key ${describeKey(op.key)} does not exist, and ${flag} needs an existing key`);
          }
          if (op.lease && !this.context.leases.has(op.lease)) {
            return kvError('LEASE_NOT_FOUND', `put: requested lease ${op.lease} not found`);
          }
          break;
        case 'range': {
          const at = op.revision ?? 0;
          if (at > revision) return kvError('FUTURE_REV', `range: revision ${at} is in the future; the current revision is ${revision}`);
          if (at > 0 && at < compactedRevision) {
            return kvError('COMPACTED', `range: revision ${at} has been compacted; the oldest readable revision is ${compactedRevision}`);
          }
          break;
        }
        case 'txn': {
          const problem = this.check(op, plan.nested[i] as Plan);
          if (problem) return problem;
          break;
        }
        case 'deleteRange':
          break;
      }
    }
    return undefined;
  }

  private execute(txn: TxnRequest, plan: Plan): TxnResponse {
    const ops = plan.succeeded ? txn.success : txn.failure;
    const responses: ResponseOp[] = ops.map((op: RequestOp, i): ResponseOp => {
      switch (op.type) {
        case 'range':
          return this.context.reader.range(op, op.revision || LATEST);
        case 'put':
          return this.put(op);
        case 'deleteRange':
          return this.deleteRange(op);
        case 'txn':
          return this.execute(op, plan.nested[i] as Plan);
      }
    });
    return { type: 'txn', succeeded: plan.succeeded, responses };
  }

  private put(op: PutRequest): PutResponse {
    const encodedKey = encodeKey(op.key);
    const withValue = op.prevKv === true || op.ignoreValue === true || this.context.prevValues;
    const found = this.context.reader.newestRecord(encodedKey, withValue);
    assert(!found || found.modRevision < this.main, () => `key ${describeKey(op.key)} changed twice at revision ${this.main}`);
    const prev = found && !found.record.tombstone ? toKeyValue(op.key, found.modRevision, found.record) : undefined;
    assert(prev !== undefined || (!op.ignoreValue && !op.ignoreLease), 'ignoreValue/ignoreLease on a missing key passed the check');
    const record = {
      createRevision: prev ? prev.createRevision : this.main,
      version: prev ? prev.version + 1 : 1,
      lease: op.ignoreLease && prev ? prev.lease : (op.lease ?? 0),
      value: op.ignoreValue && prev ? prev.value : op.value,
    };
    this.writeNewest(encodedKey, encodePutRecord(record, scratch.record));
    if (prev?.lease !== record.lease) {
      if (prev?.lease) this.context.leases.detach(prev.lease, op.key);
      if (record.lease) this.context.leases.attach(record.lease, op.key);
    }
    const kv: KeyValue = { key: op.key, modRevision: this.main, ...record };
    this.events.push(prev && this.context.prevValues ? { type: 'put', kv, prevKv: prev } : { type: 'put', kv });
    return op.prevKv && prev ? { type: 'put', prevKv: prev } : { type: 'put' };
  }

  /**
   * The key's record at this revision, its newest: in the history, in the latest index,
   * and in revision order at the next sub-revision.
   */
  private writeNewest(encodedKey: Buffer, record: Uint8Array): void {
    this.context.history.putSync(scratch.history(encodedKey, this.main), record);
    setLatestRevision(this.context.latest, encodedKey, this.main);
    this.context.byRevision.putSync(writeByRevisionKey(scratch.byRevision, this.main, this.sub++), encodedKey);
  }

  private deleteRange(op: DeleteRangeRequest): DeleteRangeResponse {
    const { pulse, prevValues } = this.context;
    const live = this.context.reader.newestLive(op.key, op.rangeEnd, op.prevKv === true || prevValues, pulse);
    const kvs: KeyValue[] = [];
    for (const { encodedKey, kv: prev } of live) {
      pulse();
      assert(prev.modRevision < this.main, () => `key ${describeKey(prev.key)} changed twice at revision ${this.main}`);
      kvs.push(prev);
      this.writeNewest(encodedKey, encodeTombstone());
      if (prev.lease) this.context.leases.detach(prev.lease, prev.key);
      const kv: KeyValue = { key: prev.key, createRevision: 0, modRevision: this.main, version: 0, value: EMPTY, lease: 0 };
      this.events.push(prevValues ? { type: 'delete', kv, prevKv: prev } : { type: 'delete', kv });
    }
    return { type: 'deleteRange', deleted: kvs.length, prevKvs: op.prevKv ? kvs : [] };
  }
}

export function describeKey(key: Uint8Array): string {
  const text = Buffer.from(key).toString('latin1');
  return JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}…` : text);
}
