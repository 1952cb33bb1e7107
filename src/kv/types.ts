/**
 * The key-value store's data model: etcd's (api/v3 mvccpb and etcdserverpb), so that etcd
 * v3 clients can be served by a thin adapter. Keys and values are bytes. Revisions,
 * versions and lease ids are non-negative safe integers (below 2^53); etcd uses int64,
 * which no store will reach by counting.
 *
 * Names follow etcd's fields in camelCase; enums are string unions.
 */
import type { KvError } from './errors.js';
import type { MemberChange } from './members.js';
import type { AuthRequest, AuthResponse } from './auth/auth-types.js';

/** A key as stored at some revision (etcd's mvccpb.KeyValue). */
export interface KeyValue {
  readonly key: Uint8Array;
  /** Revision of the last creation of this key (reset by a delete and a new put). */
  readonly createRevision: number;
  /** Revision of the last change to this key. */
  readonly modRevision: number;
  /** 1 on creation, +1 on each put; a delete resets it (the key no longer exists). */
  readonly version: number;
  readonly value: Uint8Array;
  /** The lease attached to the key, 0 for none. */
  readonly lease: number;
}

export type SortOrder = 'none' | 'ascend' | 'descend';
export type SortTarget = 'key' | 'version' | 'create' | 'mod' | 'value';

/**
 * Keys in [key, rangeEnd). `rangeEnd` absent or empty: the single key `key`. `rangeEnd`
 * = [0x00]: every key >= `key` (with `key` = [0x00]: every key). `rangeEnd` =
 * prefixEnd(key) (see key-range.ts): every key starting with `key`.
 */
export interface RangeRequest {
  readonly type: 'range';
  readonly key: Uint8Array;
  readonly rangeEnd?: Uint8Array;
  /** At most this many keys in `kvs`; 0 or absent: no limit. */
  readonly limit?: number;
  /** Read the store as it was at this revision; 0 or absent: the current revision. */
  readonly revision?: number;
  readonly sortOrder?: SortOrder;
  readonly sortTarget?: SortTarget;
  /** Return keys without values. */
  readonly keysOnly?: boolean;
  /** Return only `count`, no keys. */
  readonly countOnly?: boolean;
  /** Filters on the keys returned (0 or absent: no filter). As in etcd they do not change `count`. */
  readonly minModRevision?: number;
  readonly maxModRevision?: number;
  readonly minCreateRevision?: number;
  readonly maxCreateRevision?: number;
}

export interface PutRequest {
  readonly type: 'put';
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  /** Lease id to attach; 0 or absent: none. */
  readonly lease?: number;
  /** Return the key as it was before this put. */
  readonly prevKv?: boolean;
  /** Keep the current value (the key must exist; `value` must be empty). */
  readonly ignoreValue?: boolean;
  /** Keep the current lease (the key must exist; `lease` must be 0). */
  readonly ignoreLease?: boolean;
}

export interface DeleteRangeRequest {
  readonly type: 'deleteRange';
  readonly key: Uint8Array;
  /** As in RangeRequest. */
  readonly rangeEnd?: Uint8Array;
  /** Return the deleted keys as they were. */
  readonly prevKv?: boolean;
}

export type CompareResult = 'equal' | 'notEqual' | 'less' | 'greater';
export type CompareNumericTarget = 'version' | 'create' | 'mod' | 'lease';

interface CompareBase {
  readonly key: Uint8Array;
  /** As in RangeRequest: when given, every key in the range must satisfy the compare. */
  readonly rangeEnd?: Uint8Array;
  readonly result: CompareResult;
}

/**
 * One guard of a transaction (etcd's Compare). A missing key compares as version,
 * create, mod and lease 0; a value compare on a missing key is false (as in etcd).
 */
export type Compare =
  | (CompareBase & { readonly target: CompareNumericTarget; readonly operand: number })
  | (CompareBase & { readonly target: 'value'; readonly operand: Uint8Array });

/** If every compare holds, run `success`, else `failure`; atomically, at one revision. */
export interface TxnRequest {
  readonly type: 'txn';
  readonly compare: readonly Compare[];
  readonly success: readonly RequestOp[];
  readonly failure: readonly RequestOp[];
}

export type RequestOp = RangeRequest | PutRequest | DeleteRangeRequest | TxnRequest;

/** Drop history superseded at or before `revision`; reads below it fail with COMPACTED. */
export interface CompactRequest {
  readonly type: 'compact';
  readonly revision: number;
}

/** Changes nothing; advances the applied index (and lets session expiry and compaction progress). */
export interface NoopRequest {
  readonly type: 'noop';
}

/**
 * Grants lease `id` for `ttl` seconds (etcd's LeaseGrant). The id is chosen before the
 * command is proposed (a proposer picks one when the client gave none), so every replica
 * applies the same id; a taken id fails with LEASE_EXISTS. The TTL is final here: the
 * proposer has already raised it to the cluster's minimum.
 */
export interface LeaseGrantRequest {
  readonly type: 'leaseGrant';
  readonly id: number;
  readonly ttl: number;
}

/**
 * Revokes lease `id`, deleting every key attached to it at one revision. With
 * `onlyIfRenewedAt` it is the leader's expiry of the lease, decided when the lease's last
 * renewal was the entry at that log index: if a keep-alive applied since (it was in the
 * log before this revoke), the lease is alive and nothing happens (`revoked: false`).
 */
export interface LeaseRevokeRequest {
  readonly type: 'leaseRevoke';
  readonly id: number;
  readonly onlyIfRenewedAt?: number;
}

/** Renews lease `id` (etcd's LeaseKeepAlive, one beat): the leader restarts its TTL when this applies. */
export interface LeaseKeepAliveRequest {
  readonly type: 'leaseKeepAlive';
  readonly id: number;
}

export type LeaseRequest = LeaseGrantRequest | LeaseRevokeRequest | LeaseKeepAliveRequest;

/** A lease as the state machine keeps it. Its deadline is not here: only the leader's clock decides expiry. */
export interface Lease {
  readonly id: number;
  /** The granted TTL in seconds. */
  readonly ttl: number;
  /** Log index of the grant or of the last keep-alive applied. */
  readonly renewedIndex: number;
}

/** A lease and the keys attached to it (etcd's LeaseTimeToLive with keys), keys ascending. */
export interface LeaseInfo {
  readonly lease: Lease;
  readonly keys: readonly Uint8Array[];
}
/** Changes the cluster's member metadata (members.ts); no key, no revision. */
export interface MemberRequest {
  readonly type: 'member';
  readonly change: MemberChange;
}

/** etcd's alarm types (etcdserverpb.AlarmType, without NONE). */
export type AlarmType = 'NOSPACE' | 'CORRUPT';

/** An alarm raised by (or for) one member (etcd's AlarmMember). */
export interface AlarmMember {
  readonly memberId: number;
  readonly alarm: AlarmType;
}

/**
 * Raise or clear an alarm (etcd's AlarmRequest ACTIVATE / DEACTIVATE). It goes through
 * the log, so every replica holds the same alarms and refuses the same writes. Listing
 * alarms is a read of the replicated state, not a command.
 */
export interface AlarmRequest {
  readonly type: 'alarm';
  readonly action: 'activate' | 'deactivate';
  readonly memberId: number;
  readonly alarm: AlarmType;
}

export type CommandBody =
  | PutRequest
  | DeleteRangeRequest
  | TxnRequest
  | CompactRequest
  | NoopRequest
  | LeaseRequest
  | MemberRequest
  | AlarmRequest
  | AuthRequest;

/** A client session for exactly-once semantics (Raft thesis §6.3). */
export interface ClientSession {
  /** Unique per client session (e.g. random); at most `clientIdBytesMax` bytes of UTF-8. */
  readonly clientId: string;
  /** 1 for the first command of a session, then increasing. */
  readonly seq: number;
}

/**
 * The authenticated user a key request was made for, and the auth revision its
 * credentials were checked at. With auth enabled, the store checks the user's
 * permissions again when the command applies (as etcd does), so a permission revoked
 * earlier in the log refuses the write on every replica alike, whichever member took it.
 */
export interface CommandAuth {
  readonly user: string;
  readonly revision: number;
}

/** What a log entry carries: a command, and who sent it when. */
export interface Command {
  readonly body: CommandBody;
  readonly session?: ClientSession;
  readonly auth?: CommandAuth;
  /**
   * The proposing leader's wall clock in milliseconds. The state machine never reads a
   * clock of its own (every replica must apply identically); its notion of time is the
   * largest `timeMs` applied so far, used to expire client sessions.
   */
  readonly timeMs?: number;
}

export interface RangeResponse {
  readonly type: 'range';
  readonly kvs: readonly KeyValue[];
  /** Keys in the range at the revision read (before the mod/create filters, as in etcd). */
  readonly count: number;
  /** True when `limit` cut the list of keys. */
  readonly more: boolean;
}

export interface PutResponse {
  readonly type: 'put';
  readonly prevKv?: KeyValue;
}

export interface DeleteRangeResponse {
  readonly type: 'deleteRange';
  readonly deleted: number;
  /** Present when asked for with `prevKv`. */
  readonly prevKvs: readonly KeyValue[];
}

export interface TxnResponse {
  readonly type: 'txn';
  readonly succeeded: boolean;
  readonly responses: readonly ResponseOp[];
}

export interface CompactResponse {
  readonly type: 'compact';
}

export interface NoopResponse {
  readonly type: 'noop';
}

export interface LeaseGrantResponse {
  readonly type: 'leaseGrant';
  readonly id: number;
  readonly ttl: number;
}

export interface LeaseRevokeResponse {
  readonly type: 'leaseRevoke';
  /** False only for an expiry that found the lease renewed since it was decided. */
  readonly revoked: boolean;
  /** Keys deleted with the lease. */
  readonly deleted: number;
}

export interface LeaseKeepAliveResponse {
  readonly type: 'leaseKeepAlive';
  readonly id: number;
  /** The lease's granted TTL, which the renewal restarts. */
  readonly ttl: number;
}

export type LeaseResponse = LeaseGrantResponse | LeaseRevokeResponse | LeaseKeepAliveResponse;

export interface MemberResponse {
  readonly type: 'member';
}

/** The alarms the request changed: the one activated, or the one cleared (none if it was not active). */
export interface AlarmResponse {
  readonly type: 'alarm';
  readonly alarms: readonly AlarmMember[];
}

export type ResponseOp = RangeResponse | PutResponse | DeleteRangeResponse | TxnResponse;
export type CommandResponse =
  | PutResponse
  | DeleteRangeResponse
  | TxnResponse
  | CompactResponse
  | NoopResponse
  | LeaseResponse
  | MemberResponse
  | AlarmResponse
  | AuthResponse;

/**
 * The outcome of applying one command, as the client sees it. `revision` is the store's
 * revision after the command (etcd's response header revision).
 */
export type CommandResult =
  | { readonly ok: true; readonly revision: number; readonly response: CommandResponse }
  | { readonly ok: false; readonly error: KvError };

/** A change, in the order applied, for watchers (etcd's mvccpb.Event). */
export interface KvEvent {
  readonly type: 'put' | 'delete';
  /** For a delete: the key, with modRevision = the deleting revision and all else zero/empty. */
  readonly kv: KeyValue;
  /** The key before the change, if it existed. */
  readonly prevKv?: KeyValue;
}

/** A read served outside the log (after ReadIndex, or a serializable read). */
export interface ReadResponse extends RangeResponse {
  /** The store's current revision (etcd's header revision), even for a historical read. */
  readonly revision: number;
}

/**
 * A key's versions still in the history (key-history.ts): Keel's own read, not etcd's.
 * Revisions are bounds on modRevision, both inclusive.
 */
export interface HistoryRequest {
  readonly type: 'history';
  readonly key: Uint8Array;
  /** 'descend' (default): newest first; 'ascend': oldest first. */
  readonly order?: 'ascend' | 'descend';
  /** At most this many versions; 0 or absent: no limit. */
  readonly limit?: number;
  /** Versions written at or before this revision; 0 or absent: the current revision. */
  readonly revision?: number;
  /** Versions written at or after this revision; 0 or absent: from the oldest kept. */
  readonly minRevision?: number;
}

/** One version of a key: its state after a put, or its deletion (a tombstone). */
export type KeyVersion = { readonly type: 'put'; readonly kv: KeyValue } | { readonly type: 'delete'; readonly modRevision: number };

export interface HistoryResponse {
  readonly versions: readonly KeyVersion[];
  /** True when `limit` cut the list. */
  readonly more: boolean;
  /** The store's current revision. */
  readonly revision: number;
  /** Versions below this revision are gone (0: never compacted). */
  readonly compactRevision: number;
}
