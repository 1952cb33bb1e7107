/**
 * What the client library returns: the REST API's JSON, with keys and values decoded
 * to bytes (and to text for convenience).
 */
import type { Bytes } from './bytes.js';
import type { ClusterMemberJson, MemberChangeJson, MemberJson, MemberListJson, NodeStatusJson } from '../wire/index.js';

export type Consistency = 'linearizable' | 'serializable';

export interface KeyValueRecord {
  /** The key as text (invalid UTF-8 shown as U+FFFD; `keyBytes` is exact). */
  readonly key: string;
  readonly keyBytes: Uint8Array;
  /** The value as text (invalid UTF-8 shown as U+FFFD; `valueBytes` is exact). */
  readonly value: string;
  readonly valueBytes: Uint8Array;
  readonly createRevision: number;
  readonly modRevision: number;
  /** Writes to the key since it was created (1 after the first). */
  readonly version: number;
  /** The lease attached to the key; 0 for none. */
  readonly lease: number;
}

export interface GetResult extends KeyValueRecord {
  /** The store's revision when the read was served. */
  readonly revision: number;
}

export interface PutResult {
  readonly revision: number;
  /** For a put with `ttl`: the lease granted for the key and its TTL in seconds. */
  readonly lease?: number;
  readonly ttl?: number;
}

export interface LeaseGrant {
  readonly id: number;
  /** The granted TTL in seconds (a TTL below the cluster's minimum is raised to it). */
  readonly ttl: number;
  readonly revision: number;
}

export interface LeaseTimeToLive {
  readonly id: number;
  /** Seconds left, rounded up. */
  readonly ttl: number;
  readonly grantedTtl: number;
  /** Attached keys, when asked for (as text; `keyBytes` exact). */
  readonly keys: readonly { readonly key: string; readonly keyBytes: Uint8Array }[];
  readonly revision: number;
}

export interface LeaseList {
  readonly leases: readonly { readonly id: number; readonly grantedTtl: number }[];
  readonly revision: number;
}

export interface DeleteResult {
  /** Keys deleted: 0 or 1. */
  readonly deleted: number;
  readonly revision: number;
}

export interface ScanResult {
  readonly kvs: readonly KeyValueRecord[];
  /** Keys matching the prefix (may exceed kvs.length when limited). */
  readonly count: number;
  /** True when more keys match than were returned. */
  readonly more: boolean;
  readonly revision: number;
}

export type BatchOp =
  | { readonly op: 'set'; readonly key: Bytes; readonly value: Bytes }
  | { readonly op: 'get'; readonly key: Bytes }
  | { readonly op: 'delete'; readonly key: Bytes };

export type BatchOpResult =
  | { readonly op: 'set' }
  | { readonly op: 'get'; readonly kv: KeyValueRecord | undefined }
  | { readonly op: 'delete'; readonly deleted: number };

export interface BatchResult {
  readonly revision: number;
  readonly results: readonly BatchOpResult[];
}

export type Role = 'leader' | 'follower' | 'candidate' | 'preCandidate';

/** A node's GET /status (its JSON is declared once, in wire/status.ts). */
export interface NodeStatus extends Omit<NodeStatusJson, 'leader'> {
  /** The leader this node knows of; null when none. */
  readonly leader: number | null;
}

/** A member as GET /cluster/info lists it: where to reach it (the JSON as it comes). */
export type Member = ClusterMemberJson;

/** A member as the replicated member list holds it (GET /members; the JSON as it comes). */
export type MemberRecord = MemberJson;

export interface MemberList extends Omit<MemberListJson, 'leader'> {
  /** The leader the answering node knows of; null when none. */
  readonly leader: number | null;
}

/** The answer to a membership change: the member changed and the list after it. */
export type MemberChangeResult = MemberChangeJson;

export interface ClusterInfo {
  readonly clusterId: string;
  readonly leader: number | null;
  readonly members: readonly Member[];
}

export interface Health {
  readonly ok: boolean;
  readonly leader: number | null;
  /** The node that answered. */
  readonly endpoint: string;
}

export type SortTarget = 'key' | 'version' | 'create' | 'mod' | 'value';
export type SortOrder = 'none' | 'ascend' | 'descend';

/** One version of a key in its history: its state after a put, or its deletion. */
export type KeyVersionRecord =
  | ({ readonly type: 'put' } & Omit<KeyValueRecord, 'key' | 'keyBytes'>)
  | { readonly type: 'delete'; readonly modRevision: number };

export interface HistoryResult {
  readonly versions: readonly KeyVersionRecord[];
  /** True when `limit` cut the list: ask again from the last modRevision on. */
  readonly more: boolean;
  readonly revision: number;
  /** Versions before this revision are gone (0: never compacted). */
  readonly compactRevision: number;
}

/** A record with named fields, read whole. */
export interface RecordResult {
  readonly key: string;
  /** Each field's value as text (invalid UTF-8 shown as U+FFFD; `fieldBytes` is exact). */
  readonly fields: Readonly<Record<string, string>>;
  readonly fieldBytes: Readonly<Record<string, Uint8Array>>;
  /** The latest modRevision of any field. */
  readonly modRevision: number;
  /** True when the record has more fields than one read returns (1,000). */
  readonly more: boolean;
  readonly revision: number;
}

/** One field of a record. */
export interface FieldResult {
  readonly key: string;
  readonly field: string;
  readonly value: string;
  readonly valueBytes: Uint8Array;
  readonly createRevision: number;
  readonly modRevision: number;
  readonly version: number;
  readonly revision: number;
}
