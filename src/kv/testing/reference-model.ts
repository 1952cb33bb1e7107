/**
 * A deliberately naive in-memory model of the store's semantics, for model-based tests:
 * every key keeps a plain list of versions, every read rebuilds the state at its
 * revision by scanning everything. It shares nothing with the store but the request
 * types and validation (which has its own tests); range, txn, compare and compaction
 * rules are written out again here, from etcd's behaviour, so a bug in the store's
 * encoding, scans, seeks or compaction shows up as a difference. Leases are a plain map;
 * a lease's keys are found by scanning the live keys for its id (no attachment index).
 */
import { kvError, type KvError, type KvResult } from '../errors.js';
import type {
  CommandBody,
  CommandResult,
  Compare,
  KeyValue,
  Lease,
  LeaseRequest,
  KvEvent,
  RangeRequest,
  RangeResponse,
  ReadResponse,
  RequestOp,
  ResponseOp,
  TxnRequest,
  TxnResponse,
} from '../types.js';
import { HARD_LIMITS, validateCommand, validateRangeRequest } from '../validate.js';

interface Version {
  readonly revision: number;
  /** undefined: a tombstone. */
  readonly kv: KeyValue | undefined;
}

const EMPTY = new Uint8Array(0);
const hex = (key: Uint8Array): string => Buffer.from(key).toString('hex');
const cmp = (a: Uint8Array, b: Uint8Array): number => Buffer.compare(a, b);

export class ReferenceModel {
  revision = 1;
  compacted = 0;
  /** The log index of the last command applied (every apply() is one entry). */
  applied = 0;
  private readonly leaseMap = new Map<number, Lease>();
  /** Active alarms as `TYPE/memberId`. */
  readonly alarms = new Set<string>();
  private readonly keys = new Map<string, { key: Uint8Array; versions: Version[] }>();

  /** Every key alive at `revision`, ascending. */
  stateAt(revision: number): KeyValue[] {
    const out: KeyValue[] = [];
    for (const { versions } of this.keys.values()) {
      let last: Version | undefined;
      for (const v of versions) if (v.revision <= revision) last = v;
      if (last?.kv) out.push(last.kv);
    }
    return out.sort((a, b) => cmp(a.key, b.key));
  }

  /** How many versions are kept, tombstones included. */
  versionCount(): number {
    let n = 0;
    for (const { versions } of this.keys.values()) n += versions.length;
    return n;
  }

  range(request: RangeRequest): KvResult<ReadResponse> {
    const problem = validateRangeRequest(request, HARD_LIMITS);
    if (problem) return { ok: false, error: problem };
    const at = request.revision || this.revision;
    const error = this.checkReadRevision(at);
    if (error) return { ok: false, error };
    return { ok: true, value: { ...this.read(request, at), revision: this.revision } };
  }

  /** Every lease, by id. */
  leases(): Lease[] {
    return [...this.leaseMap.values()].sort((a, b) => a.id - b.id);
  }

  /** The live keys attached to lease `id`, ascending. */
  keysOfLease(id: number): Uint8Array[] {
    return this.stateAt(this.revision)
      .filter((kv) => kv.lease === id)
      .map((kv) => kv.key);
  }

  apply(body: CommandBody): { result: CommandResult; events: KvEvent[] } {
    this.applied++;
    const problem = validateCommand({ body }, HARD_LIMITS);
    if (problem) return fail(problem);
    switch (body.type) {
      case 'leaseGrant':
        if (this.noSpace()) return fail(kvError('NO_SPACE', 'no space'));
        return this.applyLease(body);
      case 'leaseRevoke':
      case 'leaseKeepAlive':
        return this.applyLease(body);
      case 'noop':
        return { result: { ok: true, revision: this.revision, response: { type: 'noop' } }, events: [] };
      case 'member':
        return { result: { ok: true, revision: this.revision, response: { type: 'member' } }, events: [] };
      case 'auth':
        // The model checks the key space; auth changes leave it (auth-table.test.ts checks them).
        return { result: { ok: true, revision: this.revision, response: { type: 'auth' } }, events: [] };
      case 'compact':
        if (body.revision <= this.compacted) return fail(kvError('COMPACTED', 'compacted'));
        if (body.revision > this.revision) return fail(kvError('FUTURE_REV', 'future'));
        this.compact(body.revision);
        return { result: { ok: true, revision: this.revision, response: { type: 'compact' } }, events: [] };
      case 'alarm': {
        const name = `${body.alarm}/${body.memberId}`;
        const present = this.alarms.has(name);
        if (body.action === 'activate') this.alarms.add(name);
        else this.alarms.delete(name);
        const changed = body.action === 'activate' || present ? [{ memberId: body.memberId, alarm: body.alarm }] : [];
        return { result: { ok: true, revision: this.revision, response: { type: 'alarm', alarms: changed } }, events: [] };
      }
      default:
        if (this.noSpace() && this.putsAnywhere(body)) {
          return fail(kvError('NO_SPACE', 'no space'));
        }
        return this.write(body.type === 'txn' ? body : { type: 'txn', compare: [], success: [body], failure: [] }, body.type !== 'txn');
    }
  }

  private applyLease(body: LeaseRequest): { result: CommandResult; events: KvEvent[] } {
    const lease = this.leaseMap.get(body.id);
    const ok = (response: CommandResult & { ok: true }): { result: CommandResult; events: KvEvent[] } => ({ result: response, events: [] });
    if (body.type === 'leaseGrant') {
      if (lease) return fail(kvError('LEASE_EXISTS', 'exists'));
      this.leaseMap.set(body.id, { id: body.id, ttl: body.ttl, renewedIndex: this.applied });
      return ok({ ok: true, revision: this.revision, response: { type: 'leaseGrant', id: body.id, ttl: body.ttl } });
    }
    if (!lease) return fail(kvError('LEASE_NOT_FOUND', 'not found'));
    if (body.type === 'leaseKeepAlive') {
      this.leaseMap.set(body.id, { ...lease, renewedIndex: this.applied });
      return ok({ ok: true, revision: this.revision, response: { type: 'leaseKeepAlive', id: body.id, ttl: lease.ttl } });
    }
    if (body.onlyIfRenewedAt !== undefined && body.onlyIfRenewedAt !== lease.renewedIndex) {
      return ok({ ok: true, revision: this.revision, response: { type: 'leaseRevoke', revoked: false, deleted: 0 } });
    }
    const keys = this.keysOfLease(body.id);
    const { events } = this.write({ type: 'txn', compare: [], success: keys.map((key) => ({ type: 'deleteRange', key })), failure: [] }, false);
    this.leaseMap.delete(body.id);
    return { result: { ok: true, revision: this.revision, response: { type: 'leaseRevoke', revoked: true, deleted: keys.length } }, events };
  }

  private noSpace(): boolean {
    return [...this.alarms].some((name) => name.startsWith('NOSPACE/'));
  }

  private putsAnywhere(op: RequestOp): boolean {
    if (op.type === 'put') return true;
    return op.type === 'txn' && [...op.success, ...op.failure].some((sub) => this.putsAnywhere(sub));
  }

  private checkReadRevision(at: number): KvError | undefined {
    if (at > this.revision) return kvError('FUTURE_REV', 'future');
    if (at < this.compacted) return kvError('COMPACTED', 'compacted');
    return undefined;
  }

  private compact(revision: number): void {
    this.compacted = revision;
    for (const [id, entry] of this.keys) {
      const old = entry.versions.filter((v) => v.revision <= revision);
      const newer = entry.versions.filter((v) => v.revision > revision);
      const keep = old.length > 0 && old[old.length - 1]?.kv ? [old[old.length - 1] as Version] : [];
      entry.versions = [...keep, ...newer];
      if (entry.versions.length === 0) this.keys.delete(id);
    }
  }

  private inRange(key: Uint8Array, start: Uint8Array, end: Uint8Array | undefined): boolean {
    if (end === undefined || end.length === 0) return cmp(key, start) === 0;
    if (end.length === 1 && end[0] === 0) return cmp(key, start) >= 0;
    return cmp(key, start) >= 0 && cmp(key, end) < 0;
  }

  private read(request: RangeRequest, at: number): RangeResponse {
    const all = this.stateAt(at).filter((kv) => this.inRange(kv.key, request.key, request.rangeEnd));
    if (request.countOnly) return { type: 'range', kvs: [], count: all.length, more: false };
    let kvs = all.filter(
      (kv) =>
        (!request.minModRevision || kv.modRevision >= request.minModRevision) &&
        (!request.maxModRevision || kv.modRevision <= request.maxModRevision) &&
        (!request.minCreateRevision || kv.createRevision >= request.minCreateRevision) &&
        (!request.maxCreateRevision || kv.createRevision <= request.maxCreateRevision),
    );
    const target = request.sortTarget ?? 'key';
    const order = request.sortOrder ?? 'none';
    if (order !== 'none' || target !== 'key') {
      const field = (kv: KeyValue): number | Uint8Array =>
        target === 'key'
          ? kv.key
          : target === 'value'
            ? kv.value
            : target === 'version'
              ? kv.version
              : target === 'create'
                ? kv.createRevision
                : kv.modRevision;
      const by = (a: KeyValue, b: KeyValue): number => {
        const x = field(a);
        const y = field(b);
        return typeof x === 'number' ? x - (y as number) : cmp(x, y as Uint8Array);
      };
      kvs = [...kvs].sort(order === 'descend' ? (a, b) => by(b, a) : by);
    }
    const limit = request.limit ?? 0;
    const more = limit > 0 && kvs.length > limit;
    if (more) kvs = kvs.slice(0, limit);
    if (request.keysOnly) kvs = kvs.map((kv) => ({ ...kv, value: EMPTY }));
    return { type: 'range', kvs, count: all.length, more };
  }

  private write(txn: TxnRequest, single: boolean): { result: CommandResult; events: KvEvent[] } {
    const begin = this.revision;
    const main = begin + 1;
    const before = this.stateAt(begin);
    const holds = (c: Compare): boolean => {
      const kvs = before.filter((kv) => this.inRange(kv.key, c.key, c.rangeEnd));
      if (kvs.length === 0 && c.target === 'value') return false;
      const subjects = kvs.length > 0 ? kvs : [{ key: EMPTY, createRevision: 0, modRevision: 0, version: 0, value: EMPTY, lease: 0 }];
      return subjects.every((kv) => {
        const d =
          c.target === 'value'
            ? cmp(kv.value, c.operand)
            : (c.target === 'version' ? kv.version : c.target === 'create' ? kv.createRevision : c.target === 'mod' ? kv.modRevision : kv.lease) - c.operand;
        return c.result === 'equal' ? d === 0 : c.result === 'notEqual' ? d !== 0 : c.result === 'less' ? d < 0 : d > 0;
      });
    };
    // The path through nested transactions, decided before anything is written.
    const branch = (t: TxnRequest): { succeeded: boolean; ops: readonly RequestOp[] } => {
      const succeeded = t.compare.every(holds);
      return { succeeded, ops: succeeded ? t.success : t.failure };
    };
    const problemIn = (t: TxnRequest): KvError | undefined => {
      for (const op of branch(t).ops) {
        if (op.type === 'put' && (op.ignoreValue || op.ignoreLease) && !before.some((kv) => cmp(kv.key, op.key) === 0)) {
          return kvError('KEY_NOT_FOUND', 'missing');
        }
        if (op.type === 'put' && op.lease && !this.leaseMap.has(op.lease)) return kvError('LEASE_NOT_FOUND', 'no lease');
        if (op.type === 'range' && op.revision) {
          const error = this.checkReadRevision(op.revision);
          if (error) return error;
        }
        if (op.type === 'txn') {
          const error = problemIn(op);
          if (error) return error;
        }
      }
      return undefined;
    };
    const problem = problemIn(txn);
    if (problem) return fail(problem);

    const events: KvEvent[] = [];
    const current = (key: Uint8Array): KeyValue | undefined => {
      const versions = this.keys.get(hex(key))?.versions ?? [];
      return versions[versions.length - 1]?.kv;
    };
    const record = (key: Uint8Array, kv: KeyValue | undefined): void => {
      const entry = this.keys.get(hex(key)) ?? { key, versions: [] };
      entry.versions.push({ revision: main, kv });
      this.keys.set(hex(key), entry);
    };
    const run = (t: TxnRequest): TxnResponse => {
      const { succeeded, ops } = branch(t);
      const responses = ops.map((op): ResponseOp => {
        switch (op.type) {
          case 'range':
            return this.read(op, op.revision || main);
          case 'put': {
            const prev = current(op.key);
            const kv: KeyValue = {
              key: op.key,
              createRevision: prev ? prev.createRevision : main,
              modRevision: main,
              version: prev ? prev.version + 1 : 1,
              value: op.ignoreValue && prev ? prev.value : op.value,
              lease: op.ignoreLease && prev ? prev.lease : (op.lease ?? 0),
            };
            record(op.key, kv);
            events.push(prev ? { type: 'put', kv, prevKv: prev } : { type: 'put', kv });
            return op.prevKv && prev ? { type: 'put', prevKv: prev } : { type: 'put' };
          }
          case 'deleteRange': {
            const doomed = this.stateAt(main).filter((kv) => this.inRange(kv.key, op.key, op.rangeEnd));
            for (const prev of doomed) {
              record(prev.key, undefined);
              events.push({ type: 'delete', kv: { key: prev.key, createRevision: 0, modRevision: main, version: 0, value: EMPTY, lease: 0 }, prevKv: prev });
            }
            return { type: 'deleteRange', deleted: doomed.length, prevKvs: op.prevKv ? doomed : [] };
          }
          case 'txn':
            return run(op);
        }
      });
      return { type: 'txn', succeeded, responses };
    };
    const response = run(txn);
    if (events.length > 0) this.revision = main;
    const top = single ? response.responses[0] : response;
    if (top === undefined || top.type === 'range') throw new Error('model: single write without response');
    return { result: { ok: true, revision: this.revision, response: top }, events };
  }
}

function fail(error: KvError): { result: CommandResult; events: KvEvent[] } {
  return { result: { ok: false, error }, events: [] };
}
