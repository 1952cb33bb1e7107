/**
 * KeelClient: the TypeScript client of a Keel cluster, over the REST API.
 *
 * - It finds the leader (see endpoints.ts) and sends requests there, falling back to
 *   the other endpoints in turn.
 * - It retries what is safe to retry: a 503 (the node refused before proposing), a
 *   network error, a timeout. Between retries it waits with exponential backoff and
 *   full jitter, except for one immediate retry when it has just learned a new leader.
 *   It stops after `retries` retries or when the next wait would pass `retryBudgetMs`.
 * - Every write carries a session (X-Keel-Client-Id, X-Keel-Seq) and every retry of one
 *   write carries the same pair, so a write retried after a timeout or a dropped
 *   connection applies exactly once (see session.ts).
 * - Failures are KeelClientErrors; for writes, `outcome` says whether it may have applied.
 */
import type { BatchJson, GetJson, HistoryJson, PutJson, ScanJson } from '../wire/index.js';
import { backoffDelayMs, backoffPolicy, sleep } from './backoff.js';
import type { BackoffOptions, BackoffPolicy } from './backoff.js';
import { bytesField, lenientText, needsBatchRoute, percentEncode, toBytes } from './bytes.js';
import type { Bytes } from './bytes.js';
import {
  ShapeError,
  badResponse,
  batchResult,
  clusterInfo,
  deleteResult,
  integer,
  keyValue,
  keyVersion,
  leaseGrant,
  leaseList,
  leaseTimeToLive,
  memberChange,
  memberList,
  nodeStatus,
  object,
} from './decode.js';
import { EndpointTracker } from './endpoints.js';
import { KeelClientError, invalidArgument, leaderLostCodes } from './errors.js';
import { errorCode, responseError, sendOnce } from './http.js';
import type { HttpRequest, HttpResponse } from './http.js';
import { SessionPool, sessionHeaders } from './session.js';
import { watchEvents, type WatchBatch, type WatchOptions } from './watch.js';
import { fetchWithTls } from './tls.js';
import type { ClientTlsOptions, FetchFunction } from './tls.js';
import { alarmList, defragmentResult, hashKvResult } from './maintenance-decode.js';
import type { AlarmMember, DefragmentResult, HashKvResult } from './maintenance-types.js';
import { KeelRecords } from './record-client.js';
import type { SessionSettlement, SessionTicket } from './session.js';
import type {
  BatchOp,
  BatchResult,
  ClusterInfo,
  Consistency,
  DeleteResult,
  GetResult,
  Health,
  LeaseGrant,
  LeaseList,
  LeaseTimeToLive,
  MemberChangeResult,
  MemberList,
  HistoryResult,
  NodeStatus,
  PutResult,
  ScanResult,
  SortOrder,
  SortTarget,
} from './types.js';

export interface MemberAddOptions extends CallOptions {
  /** Join as a non-voting learner, to be promoted once caught up (recommended). */
  readonly isLearner?: boolean;
  /** The new member's id; default: one more than any id ever used. */
  readonly id?: number;
}

export interface KeelClientOptions {
  /** Client URLs of some or all nodes, e.g. ['http://127.0.0.1:7001']. The rest are learned. */
  readonly endpoints: readonly string[];
  /** Each HTTP request is abandoned after this long. Default 6000 ms (the server gives up at 5000). */
  readonly timeoutMs?: number;
  /** Retries after the first attempt, at most. Default 8. */
  readonly retries?: number;
  /** No retry starts later than this after the call began. Default 20000 ms. */
  readonly retryBudgetMs?: number;
  readonly backoff?: BackoffOptions;
  /** Base of the session client ids; default: random. Two live clients must never share one. */
  readonly clientId?: string;
  /** Source of jitter in [0, 1); default Math.random. */
  readonly random?: () => number;
  /**
   * The Authorization header for a cluster with authentication enabled: `Bearer TOKEN`
   * (a token from POST /v3/auth/authenticate) or `Basic base64(user:password)`
   * (see basicAuthorization()). Sent with every request.
   */
  readonly authorization?: string;
  /** CA, client certificate and key for https:// endpoints (etcdctl's --cacert, --cert, --key). */
  readonly tls?: ClientTlsOptions;
}

/** The Authorization header value for HTTP Basic with `user` and `password`. */
export function basicAuthorization(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
}

/** Per-call options, accepted by every method. */
export interface CallOptions {
  /** Overrides the client's per-request timeout for this call. */
  readonly timeoutMs?: number;
  /** Cancels the call (and its retries); the error is ABORTED. */
  readonly signal?: AbortSignal;
}

export interface PutOptions extends CallOptions {
  /** Attach this existing lease: the key goes when the lease does. */
  readonly lease?: number;
  /** Grant a new lease of this many seconds for the key (its id is in the result). */
  readonly ttl?: number;
}

export interface GetOptions extends CallOptions {
  /** Default linearizable (confirmed by the leader); serializable may be stale. */
  readonly consistency?: Consistency;
  /** Read the key as it was at this revision. */
  readonly revision?: number;
}

export interface ScanOptions extends CallOptions {
  /** At most this many keys; the server's default when omitted. */
  readonly limit?: number;
  readonly consistency?: Consistency;
  /** Read the keys as they were at this revision. */
  readonly revision?: number;
  /** Scan the keys in [prefix, end) instead of the keys starting with prefix ('' end: every key from prefix on). */
  readonly end?: string;
  /** Sort by this (etcd's sort target; default key). */
  readonly sortBy?: SortTarget;
  /** Default: ascending by key; 'ascend' when sorting by anything else. */
  readonly order?: SortOrder;
  /** Keys and revisions without values. */
  readonly keysOnly?: boolean;
  /** Only `count`, no keys. */
  readonly countOnly?: boolean;
}

export interface HistoryOptions extends CallOptions {
  /** 'descend' (default): newest first; 'ascend': oldest first. */
  readonly order?: 'ascend' | 'descend';
  /** At most this many versions (server default and maximum: 1,000). */
  readonly limit?: number;
  /** Versions written at or before this revision. */
  readonly revision?: number;
  /** Versions written at or after this revision. */
  readonly minRevision?: number;
  readonly consistency?: Consistency;
}

export type Interpretation<T> = { readonly ok: true; readonly value: T } | { readonly ok: false };

export interface CallSpec<T> {
  readonly build: (session: SessionTicket | undefined) => HttpRequest;
  readonly write: boolean;
  /** Only this endpoint, one attempt. */
  readonly endpoint?: string | undefined;
  /** The result for an answer, or not ok (the answer becomes a KeelClientError). May throw ShapeError. */
  readonly interpret: (response: HttpResponse) => Interpretation<T>;
}

const discoveryTimeoutMsMax = 2_000;

export class KeelClient {
  private readonly tracker: EndpointTracker;
  private readonly sessions: SessionPool;
  private readonly fetch: FetchFunction;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly retryBudgetMs: number;
  private readonly backoff: BackoffPolicy;
  private readonly random: () => number;
  private readonly authorization: string | undefined;
  /** Records with named fields (record-client.ts). */
  readonly records: KeelRecords = new KeelRecords(this);

  constructor(options: KeelClientOptions) {
    this.timeoutMs = positive(options.timeoutMs ?? 6_000, 'timeoutMs');
    this.retries = nonNegative(options.retries ?? 8, 'retries');
    this.retryBudgetMs = nonNegative(options.retryBudgetMs ?? 20_000, 'retryBudgetMs');
    this.backoff = backoffPolicy(options.backoff);
    this.random = options.random ?? Math.random;
    this.authorization = options.authorization;
    this.sessions = new SessionPool(options.clientId);
    this.fetch = fetchWithTls(options.tls);
    const probeTimeoutMs = Math.min(this.timeoutMs, discoveryTimeoutMsMax);
    this.tracker = new EndpointTracker(options.endpoints, (endpoint, path) =>
      sendOnce(endpoint, { method: 'GET', path }, { timeoutMs: probeTimeoutMs, fetch: this.fetch }),
    );
  }

  /** The base of this client's session ids (each concurrent write uses `${clientId}-n`). */
  get clientId(): string {
    return this.sessions.baseId;
  }

  /** Every endpoint this client knows: the ones given, then members it learned. */
  endpoints(): readonly string[] {
    return this.tracker.endpoints();
  }

  /** The endpoint this client believes leads, if any. */
  leaderEndpoint(): string | undefined {
    return this.tracker.leader();
  }

  /** Sets `key` to `value` (text is stored as UTF-8), with an existing `lease` or a new one of `ttl` seconds. */
  async put(key: Bytes, value: Bytes, options: PutOptions = {}): Promise<PutResult> {
    checkKey(key);
    const query = new URLSearchParams();
    if (options.lease !== undefined) query.set('lease', String(leaseIdArgument(options.lease)));
    if (options.ttl !== undefined) query.set('ttl', String(nonNegativeInteger(options.ttl, 'ttl')));
    if (needsBatchRoute(key)) {
      if (query.size > 0) throw invalidArgument('a key a URL path cannot carry (not UTF-8, or "." or "..") goes through /batch, which takes no lease or ttl');
      return this.batch([{ op: 'set', key, value }], options).then(({ revision }) => ({ revision }));
    }
    return this.call<PutResult>(
      {
        write: true,
        build: (session) => ({
          method: 'PUT',
          path: `/kv/${percentEncode(key)}${query.size > 0 ? `?${query}` : ''}`,
          headers: { 'content-type': 'application/octet-stream', ...sessionHeaders(session) },
          body: toBytes(value),
        }),
        interpret: (r) => {
          if (r.status !== 200) return { ok: false };
          const json = object<PutJson>(r.json, 'answer');
          const granted = options.ttl !== undefined ? { lease: integer(json, 'lease', 'answer'), ttl: integer(json, 'ttl', 'answer') } : {};
          return { ok: true, value: { revision: integer(json, 'revision', 'answer'), ...granted } };
        },
      },
      options,
    );
  }

  /** Grants a lease of `ttl` seconds (raised to the cluster's minimum); `id` 0 or absent: the server picks one. */
  async leaseGrant(ttl: number, options: CallOptions & { readonly id?: number } = {}): Promise<LeaseGrant> {
    const body = { ttl: nonNegativeInteger(ttl, 'ttl'), ...(options.id ? { id: leaseIdArgument(options.id) } : {}) };
    return this.leaseWrite('POST', '/leases', body, options, leaseGrant);
  }

  /** Renews the lease once; fails with LEASE_NOT_FOUND once it has expired or been revoked. */
  async leaseKeepAlive(id: number, options: CallOptions = {}): Promise<LeaseGrant> {
    return this.leaseWrite('POST', `/leases/${leaseIdArgument(id)}/keepalive`, undefined, options, leaseGrant);
  }

  /** Revokes the lease, deleting every key attached to it. */
  async leaseRevoke(id: number, options: CallOptions = {}): Promise<DeleteResult> {
    return this.leaseWrite('DELETE', `/leases/${leaseIdArgument(id)}`, undefined, options, deleteResult);
  }

  /** The lease's seconds left and granted TTL (and keys with `keys`), or undefined if it has expired or been revoked. */
  async leaseTimeToLive(
    id: number,
    options: CallOptions & { readonly keys?: boolean; readonly consistency?: Consistency } = {},
  ): Promise<LeaseTimeToLive | undefined> {
    const query = new URLSearchParams();
    if (options.keys) query.set('keys', 'true');
    if (options.consistency) query.set('consistency', options.consistency);
    const path = `/leases/${leaseIdArgument(id)}${query.size > 0 ? `?${query}` : ''}`;
    return this.call<LeaseTimeToLive | undefined>(
      {
        write: false,
        build: () => ({ method: 'GET', path }),
        interpret: (r) => {
          if (r.status === 404 && errorCode(r) === 'LEASE_NOT_FOUND') return { ok: true, value: undefined };
          return r.status === 200 ? { ok: true, value: leaseTimeToLive(r.json) } : { ok: false };
        },
      },
      options,
    );
  }

  /** Every lease. */
  async leases(options: CallOptions & { readonly consistency?: Consistency } = {}): Promise<LeaseList> {
    const path = options.consistency ? `/leases?consistency=${options.consistency}` : '/leases';
    return this.call<LeaseList>(
      { write: false, build: () => ({ method: 'GET', path }), interpret: (r) => (r.status === 200 ? { ok: true, value: leaseList(r.json) } : { ok: false }) },
      options,
    );
  }

  /** A lease write (with a session, so a retry applies once). */
  private leaseWrite<T>(method: 'POST' | 'DELETE', path: string, body: object | undefined, options: CallOptions, decode: (json: unknown) => T): Promise<T> {
    return this.call<T>(
      {
        write: true,
        build: (session) => ({
          method,
          path,
          headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...sessionHeaders(session) },
          ...(body ? { body: JSON.stringify(body) } : {}),
        }),
        interpret: (r) => (r.status === 200 ? { ok: true, value: decode(r.json) } : { ok: false }),
      },
      options,
    );
  }

  /** The key's record, or undefined when it does not exist (at that revision). */
  async get(key: Bytes, options: GetOptions = {}): Promise<GetResult | undefined> {
    checkKey(key);
    if (options.revision !== undefined) checkRevision(options.revision);
    if (needsBatchRoute(key)) return this.getThroughBatch(key, options);
    const query = new URLSearchParams();
    if (options.consistency) query.set('consistency', options.consistency);
    if (options.revision !== undefined) query.set('rev', String(options.revision));
    const path = `/kv/${percentEncode(key)}${query.size > 0 ? `?${query}` : ''}`;
    return this.call<GetResult | undefined>(
      {
        write: false,
        build: () => ({ method: 'GET', path }),
        interpret: (r) => {
          if (r.status === 404 && errorCode(r) === 'KEY_NOT_FOUND') return { ok: true, value: undefined };
          if (r.status !== 200) return { ok: false };
          const json = object<GetJson>(r.json, 'answer');
          return { ok: true, value: { ...keyValue(json, 'answer'), revision: integer(json, 'revision', 'answer') } };
        },
      },
      options,
    );
  }

  /** Deletes the key; `deleted` is 0 when it did not exist. */
  async delete(key: Bytes, options: CallOptions = {}): Promise<DeleteResult> {
    checkKey(key);
    if (needsBatchRoute(key)) {
      return this.batch([{ op: 'delete', key }], options).then(({ revision, results }) => ({
        revision,
        deleted: results[0]?.op === 'delete' ? results[0].deleted : 0,
      }));
    }
    return this.call<DeleteResult>(
      {
        write: true,
        build: (session) => ({ method: 'DELETE', path: `/kv/${percentEncode(key)}`, headers: sessionHeaders(session) }),
        interpret: (r) => {
          if (r.status !== 200) return { ok: false };
          return { ok: true, value: deleteResult(r.json) };
        },
      },
      options,
    );
  }

  /** Keys starting with `prefix` (all keys for ''), in key order. */
  async scan(prefix: Bytes, options: ScanOptions = {}): Promise<ScanResult> {
    if (options.limit !== undefined && !(Number.isSafeInteger(options.limit) && options.limit > 0)) {
      throw invalidArgument(`limit must be a positive integer, not ${options.limit}`);
    }
    if (options.revision !== undefined) checkRevision(options.revision);
    const query = [options.end === undefined ? `prefix=${percentEncode(prefix)}` : `start=${percentEncode(prefix)}&end=${percentEncode(options.end)}`];
    if (options.limit !== undefined) query.push(`limit=${options.limit}`);
    if (options.consistency) query.push(`consistency=${options.consistency}`);
    if (options.revision !== undefined) query.push(`rev=${options.revision}`);
    if (options.sortBy) query.push(`sort=${options.sortBy}`);
    if (options.order) query.push(`order=${options.order}`);
    if (options.keysOnly) query.push('keysOnly=true');
    if (options.countOnly) query.push('countOnly=true');
    const path = `/kv?${query.join('&')}`;
    return this.call<ScanResult>(
      {
        write: false,
        build: () => ({ method: 'GET', path }),
        interpret: (r) => {
          if (r.status !== 200) return { ok: false };
          const json = object<ScanJson>(r.json, 'answer');
          const kvs = json['kvs'];
          if (!Array.isArray(kvs)) throw new ShapeError('answer.kvs is not an array');
          return {
            ok: true,
            value: {
              kvs: kvs.map((kv, i) => keyValue(kv, `kvs[${i}]`)),
              count: json['count'] === undefined ? kvs.length : integer(json, 'count', 'answer'),
              more: json['more'] === true,
              revision: integer(json, 'revision', 'answer'),
            },
          };
        },
      },
      options,
    );
  }

  /** The key's versions still in the store's history (puts and deletions), newest first by default. */
  async history(key: Bytes, options: HistoryOptions = {}): Promise<HistoryResult> {
    checkKey(key);
    if (needsBatchRoute(key)) {
      throw invalidArgument(
        `the key ${JSON.stringify(typeof key === 'string' ? key : lenientText(key))} cannot travel in a URL, so its history cannot be read`,
      );
    }
    if (options.limit !== undefined && !(Number.isSafeInteger(options.limit) && options.limit > 0)) {
      throw invalidArgument(`limit must be a positive integer, not ${options.limit}`);
    }
    for (const revision of [options.revision, options.minRevision]) if (revision !== undefined) checkRevision(revision);
    const query = new URLSearchParams();
    if (options.order) query.set('order', options.order);
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    if (options.revision !== undefined) query.set('rev', String(options.revision));
    if (options.minRevision !== undefined) query.set('minRev', String(options.minRevision));
    if (options.consistency) query.set('consistency', options.consistency);
    const path = `/history/${percentEncode(key)}${query.size > 0 ? `?${query}` : ''}`;
    return this.call<HistoryResult>(
      {
        write: false,
        build: () => ({ method: 'GET', path }),
        interpret: (r) => {
          if (r.status !== 200) return { ok: false };
          const json = object<HistoryJson>(r.json, 'answer');
          const versions = json['versions'];
          if (!Array.isArray(versions)) throw new ShapeError('answer.versions is not an array');
          return {
            ok: true,
            value: {
              versions: versions.map(keyVersion),
              more: json['more'] === true,
              revision: integer(json, 'revision', 'answer'),
              compactRevision: integer(json, 'compactRevision', 'answer'),
            },
          };
        },
      },
      options,
    );
  }

  /** Applies the operations atomically, in order; a get sees the sets before it. */
  async batch(ops: readonly BatchOp[], options: CallOptions = {}): Promise<BatchResult> {
    if (ops.length === 0) throw invalidArgument('a batch needs at least one operation');
    for (const op of ops) checkKey(op.key);
    const body = JSON.stringify({
      ops: ops.map((op) => ({ op: op.op, ...bytesField('key', op.key), ...(op.op === 'set' ? bytesField('value', op.value) : {}) })),
    });
    return this.call<BatchResult>(
      {
        write: true,
        build: (session) => ({
          method: 'POST',
          path: '/batch',
          headers: { 'content-type': 'application/json', ...sessionHeaders(session) },
          body,
        }),
        interpret: (r) => {
          if (r.status !== 200) return { ok: false };
          const json = object<BatchJson>(r.json, 'answer');
          const results = json['results'];
          if (!Array.isArray(results)) throw new ShapeError('answer.results is not an array');
          return { ok: true, value: { revision: integer(json, 'revision', 'answer'), results: results.map(batchResult) } };
        },
      },
      options,
    );
  }

  /** GET /status of one node: `endpoint`, or the leader (else any node) when omitted. */
  /**
   * Watches a key (or, with `prefix`, every key under it) from `revision` on, as an
   * async iterable of batches of whole revisions; it resumes on another node by itself
   * (see watch.ts). Break out of the loop or abort `signal` to stop.
   */
  watch(key: Bytes, options: WatchOptions = {}): AsyncGenerator<WatchBatch> {
    return watchEvents({ fetch: this.fetch, endpoints: () => this.tracker.endpoints(), backoff: this.backoff, random: this.random }, key, options);
  }

  async status(endpoint?: string, options: CallOptions = {}): Promise<NodeStatus> {
    return this.call<NodeStatus>(
      {
        write: false,
        endpoint,
        build: () => ({ method: 'GET', path: '/status' }),
        interpret: (r) => (r.status === 200 ? { ok: true, value: nodeStatus(r.json) } : { ok: false }),
      },
      options,
    );
  }

  /** The cluster's id, members and leader, as one node sees them. */
  async clusterInfo(options: CallOptions = {}): Promise<ClusterInfo> {
    return this.call<ClusterInfo>(
      {
        write: false,
        build: () => ({ method: 'GET', path: '/cluster/info' }),
        interpret: (r) => (r.status === 200 ? { ok: true, value: clusterInfo(r.json) } : { ok: false }),
      },
      options,
    );
  }

  /** The replicated member list (GET /members), as the node that answers has applied it. */
  async members(options: CallOptions = {}): Promise<MemberList> {
    return this.call<MemberList>(
      {
        write: false,
        build: () => ({ method: 'GET', path: '/members' }),
        interpret: (r) => (r.status === 200 ? { ok: true, value: memberList(r.json) } : { ok: false }),
      },
      options,
    );
  }

  /** Adds a member with these peer URLs (http://host:port); start it with `keel start --join` after. */
  async memberAdd(peerUrls: readonly string[], options: MemberAddOptions = {}): Promise<MemberChangeResult> {
    const body = { peerUrls, isLearner: options.isLearner ?? false, ...(options.id !== undefined ? { id: options.id } : {}) };
    return this.memberChange('POST', '/members', body, 201, options);
  }

  async memberRemove(id: number, options: CallOptions = {}): Promise<MemberChangeResult> {
    return this.memberChange('DELETE', `/members/${id}`, undefined, 200, options);
  }

  /** Promotes a learner to a voter once it has caught up (else LEARNER_NOT_READY). */
  async memberPromote(id: number, options: CallOptions = {}): Promise<MemberChangeResult> {
    return this.memberChange('POST', `/members/${id}/promote`, undefined, 200, options);
  }

  /** Changes a member's peer URLs (the node must then be restarted on them). */
  async memberUpdate(id: number, peerUrls: readonly string[], options: CallOptions = {}): Promise<MemberChangeResult> {
    return this.memberChange('PUT', `/members/${id}`, { peerUrls }, 200, options);
  }

  /**
   * A membership change is sent once, to one node (which forwards it to the leader): it
   * carries no session, and a blind retry of an add whose outcome is unknown could add
   * a second member. The caller looks at the member list and decides.
   */
  private async memberChange(
    method: 'POST' | 'PUT' | 'DELETE',
    path: string,
    body: object | undefined,
    okStatus: number,
    options: CallOptions,
  ): Promise<MemberChangeResult> {
    return this.call<MemberChangeResult>(
      {
        write: false,
        endpoint: await this.tracker.pick(),
        build: () => ({ method, path, ...(body ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}) }),
        interpret: (r) => (r.status === okStatus ? { ok: true, value: memberChange(r.json) } : { ok: false }),
      },
      options,
    );
  }

  /** GET /health of one node (`endpoint`, or any that answers): ok when it knows a leader. */
  async health(endpoint?: string, options: CallOptions = {}): Promise<Health> {
    return this.call<Health>(
      {
        write: false,
        endpoint,
        build: () => ({ method: 'GET', path: '/health' }),
        interpret: (r) => {
          if (r.status !== 200 && r.status !== 503) return { ok: false };
          const json = typeof r.json === 'object' && r.json !== null ? (r.json as Record<string, unknown>) : {};
          const leader = typeof json['leader'] === 'number' && json['leader'] > 0 ? json['leader'] : null;
          return { ok: true, value: { ok: r.status === 200 && json['ok'] !== false, leader, endpoint: r.endpoint } };
        },
      },
      options,
    );
  }

  /** HashKV of one node's store up to `revision` (0: its current revision). */
  async hashKv(endpoint: string, revision = 0, options: CallOptions = {}): Promise<HashKvResult> {
    return this.call<HashKvResult>(
      {
        write: false,
        endpoint,
        build: () => ({ method: 'GET', path: `/admin/hash?revision=${nonNegative(revision, 'revision')}` }),
        interpret: (r) => (r.status === 200 ? { ok: true, value: hashKvResult(r.json) } : { ok: false }),
      },
      options,
    );
  }

  /** The cluster's active alarms (as the leader, else any node, has applied them). */
  async alarms(options: CallOptions = {}): Promise<AlarmMember[]> {
    return this.call<AlarmMember[]>(
      {
        write: false,
        build: () => ({ method: 'GET', path: '/admin/alarms' }),
        interpret: (r) => (r.status === 200 ? { ok: true, value: alarmList(r.json, 'answer') } : { ok: false }),
      },
      options,
    );
  }

  /** Raises or clears an alarm through the log; answers with the alarms it changed. Idempotent, so retried. */
  async setAlarm(action: 'activate' | 'deactivate', alarm: AlarmMember, options: CallOptions = {}): Promise<AlarmMember[]> {
    return this.call<AlarmMember[]>(
      {
        write: false,
        build: () => ({ method: 'POST', path: '/admin/alarms', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ action, ...alarm }) }),
        interpret: (r) => (r.status === 200 ? { ok: true, value: alarmList(r.json, 'answer', 'changed') } : { ok: false }),
      },
      options,
    );
  }

  /** Defragments one node's store (never retried: ask again if it failed). */
  async defragment(endpoint: string, options: CallOptions = {}): Promise<DefragmentResult> {
    return this.call<DefragmentResult>(
      {
        write: false,
        endpoint,
        build: () => ({ method: 'POST', path: '/admin/defragment' }),
        interpret: (r) => (r.status === 200 ? { ok: true, value: defragmentResult(r.json) } : { ok: false }),
      },
      options,
    );
  }

  /** Makes node `to` the leader, through the current leader, and answers once it leads. */
  async moveLeader(to: number, options: CallOptions & { readonly waitMs?: number } = {}): Promise<void> {
    const waitMs = options.waitMs ?? 10_000;
    await this.call<undefined>(
      {
        write: false,
        build: () => ({
          method: 'POST',
          path: '/admin/move-leader',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ to, timeoutMs: waitMs }),
        }),
        interpret: (r) => (r.status === 200 ? { ok: true, value: undefined } : { ok: false }),
      },
      { ...options, timeoutMs: Math.max(options.timeoutMs ?? this.timeoutMs, waitMs + 5_000) },
    );
  }

  private async getThroughBatch(key: Bytes, options: GetOptions): Promise<GetResult | undefined> {
    if (options.revision !== undefined) {
      throw invalidArgument(
        `the key ${JSON.stringify(typeof key === 'string' ? key : lenientText(key))} cannot travel in a URL, so it cannot be read at a revision`,
      );
    }
    const { revision, results } = await this.batch([{ op: 'get', key }], options);
    const first = results[0];
    return first?.op === 'get' && first.kv ? { ...first.kv, revision } : undefined;
  }

  /**
   * Sends the request, retrying as the class comment says, until an answer or a final
   * error. Internal: for this library's helpers (record-client.ts), not for applications.
   */
  async call<T>(spec: CallSpec<T>, options: CallOptions): Promise<T> {
    const startedMs = performance.now();
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    let ticket = spec.write ? this.sessions.acquire() : undefined;
    let settlement: SessionSettlement = 'not-sent';
    let attempts = 0;
    let renewedSession = false;
    let lastRetryWasQuick = false;
    for (let retry = 0; ; retry++) {
      const endpoint = spec.endpoint ?? (await this.tracker.pick());
      if (options.signal?.aborted) {
        const outcome = spec.write && settlement === 'unknown' ? 'unknown' : 'not-applied';
        if (ticket) this.sessions.settle(ticket, settlement);
        throw new KeelClientError({
          code: 'ABORTED',
          message: 'aborted by the caller',
          status: 0,
          outcome,
          endpoint,
          cause: options.signal.reason,
        }).withAttempts(attempts, outcome);
      }
      const built = spec.build(ticket);
      const request = this.authorization === undefined ? built : { ...built, headers: { ...built.headers, authorization: this.authorization } };
      attempts += 1;
      let error: KeelClientError;
      try {
        const response = await sendOnce(endpoint, request, { timeoutMs, signal: options.signal, fetch: this.fetch });
        let result: Interpretation<T>;
        try {
          result = spec.interpret(response);
        } catch (shape) {
          if (!(shape instanceof ShapeError)) throw shape;
          throw badResponse(shape, endpoint, request.path, response.status, spec.write);
        }
        if (result.ok) {
          if (ticket) this.sessions.settle(ticket, 'applied');
          return result.value;
        }
        error = responseError(response, request);
      } catch (thrown) {
        if (!(thrown instanceof KeelClientError)) {
          if (ticket) this.sessions.settle(ticket, 'unknown');
          throw thrown;
        }
        error = thrown;
      }
      settlement = worse(settlement, attemptSettlement(error));

      // A session the server has forgotten (or never saw at this seq): if no attempt can
      // have applied the write, start a fresh session and send it again, once.
      if (ticket && error.code === 'SESSION_EXPIRED' && settlement !== 'unknown' && !renewedSession) {
        this.sessions.settle(ticket, 'unknown');
        ticket = this.sessions.acquire();
        settlement = 'not-sent';
        renewedSession = true;
        retry -= 1;
        continue;
      }

      const retryable = spec.endpoint === undefined && this.noteFailure(error, endpoint);
      const outcome = spec.write && settlement === 'unknown' ? 'unknown' : 'not-applied';
      const final = (): KeelClientError => {
        if (ticket) this.sessions.settle(ticket, settlement);
        return error.withAttempts(attempts, outcome);
      };
      if (!retryable || retry >= this.retries) throw final();

      let delayMs = backoffDelayMs(this.backoff, retry, this.random);
      if (!lastRetryWasQuick && (await this.newLeaderBesides(endpoint))) delayMs = 0;
      lastRetryWasQuick = delayMs === 0;
      if (performance.now() - startedMs + delayMs > this.retryBudgetMs) throw final();
      try {
        await sleep(delayMs, options.signal);
      } catch (reason) {
        const aborted = new KeelClientError({
          code: 'ABORTED',
          message: `aborted by the caller while waiting to retry (${error.message})`,
          status: 0,
          outcome,
          endpoint,
          cause: reason,
        });
        if (ticket) this.sessions.settle(ticket, settlement);
        throw aborted.withAttempts(attempts, outcome);
      }
    }
  }

  /** Tells the tracker what the failure says about `endpoint`; true when retrying may help. */
  private noteFailure(error: KeelClientError, endpoint: string): boolean {
    if (error.code === 'ABORTED') return false;
    if (error.status === 503) {
      if (leaderLostCodes.has(error.code)) this.tracker.leaderLost(endpoint);
      else if (error.code !== 'OVERLOADED') this.tracker.failed(endpoint);
      return true;
    }
    if (error.status === 0 && (error.code === 'NETWORK_ERROR' || error.code === 'TIMEOUT')) {
      this.tracker.failed(endpoint);
      return true;
    }
    if (error.status === 504) {
      // The node could not get the request committed in time: it may have lost its quorum.
      this.tracker.leaderLost(endpoint);
      return true;
    }
    return false;
  }

  /** Looks for the leader (if the tracker is stale); true when it is known and is not `endpoint`. */
  private async newLeaderBesides(endpoint: string): Promise<boolean> {
    await this.tracker.pick();
    const leader = this.tracker.leader();
    return leader !== undefined && leader !== endpoint;
  }
}

/** What one failed attempt means for the write's session. */
function attemptSettlement(error: KeelClientError): SessionSettlement {
  if (error.outcome === 'unknown') return 'unknown';
  if (error.status === 503 || error.status === 0) return 'not-sent';
  return 'answered-error';
}

const settlementRank: Record<SessionSettlement, number> = { 'not-sent': 0, 'answered-error': 1, unknown: 2, applied: 3 };

function worse(a: SessionSettlement, b: SessionSettlement): SessionSettlement {
  return settlementRank[b] > settlementRank[a] ? b : a;
}

function checkRevision(revision: number): void {
  if (!(Number.isSafeInteger(revision) && revision > 0)) throw invalidArgument(`revision must be a positive integer, not ${revision}`);
}

export function checkKey(key: Bytes): void {
  if (key.length === 0) throw new KeelClientError({ code: 'KEY_EMPTY', message: 'the key is empty', status: 0, outcome: 'not-applied', endpoint: '' });
}

function leaseIdArgument(id: number): number {
  if (!(Number.isSafeInteger(id) && id > 0)) throw invalidArgument(`lease id must be a positive integer, not ${id}`);
  return id;
}

function nonNegativeInteger(value: number, name: string): number {
  if (!(Number.isSafeInteger(value) && value >= 0)) throw invalidArgument(`${name} must be a non-negative integer, not ${value}`);
  return value;
}

function positive(value: number, name: string): number {
  if (!(Number.isFinite(value) && value > 0)) throw new RangeError(`${name} must be a positive number, not ${value}`);
  return value;
}

function nonNegative(value: number, name: string): number {
  if (!(Number.isFinite(value) && value >= 0)) throw new RangeError(`${name} must be a non-negative number, not ${value}`);
  return value;
}
