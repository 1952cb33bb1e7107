/**
 * The REST API's answers, as JSON: written by the node (api/*-routes.ts) and read by the
 * client library (client/decode.ts, which checks each field it reads against these
 * names). One declaration, so a field renamed on one side is a compile error on the
 * other. GET /status's answer is in status.ts.
 *
 * Keys, values and record fields are bytes: JSON carries them as text when they are
 * valid UTF-8 and as base64 otherwise, under a name that says so (`key` or
 * `keyBase64`), so no client has to guess.
 */

import type { AlarmJson } from './status.js';

/** Bytes named `N`: `N` as text, or `NBase64` when they are not valid UTF-8. */
export type BytesJson<N extends string> = { readonly [K in N]: string } | { readonly [K in `${N}Base64`]: string };

/** Where a version of a key came from. */
export interface RevisionFieldsJson {
  readonly createRevision: number;
  readonly modRevision: number;
  /** Writes to the key since it was created (1 after the first). */
  readonly version: number;
}

/** A key and its latest version (GET /kv/KEY, scans, batch gets, watch events); the
 * value is left out of a keys-only scan. */
export type KeyValueJson = BytesJson<'key'> &
  Partial<BytesJson<'value'>> &
  RevisionFieldsJson & {
    /** The lease attached to the key; 0 for none. */
    readonly lease: number;
  };

/** GET /kv/KEY. */
export type GetJson = KeyValueJson & { readonly revision: number };

/** PUT /kv/KEY. */
export interface PutJson {
  readonly revision: number;
  /** With ?ttl=: the lease granted for the key and its TTL in seconds. */
  readonly lease?: number;
  readonly ttl?: number;
  /** With ?prevKv=true: the key before the put, if it existed. */
  readonly prevKv?: KeyValueJson;
}

/** DELETE /kv/KEY, DELETE /records/KEY, DELETE /leases/ID. */
export interface DeleteJson {
  readonly deleted: number;
  readonly revision: number;
}

/** GET /kv?prefix=. */
export interface ScanJson {
  readonly kvs: readonly KeyValueJson[];
  /** Keys matching (may exceed kvs.length when limited). */
  readonly count: number;
  readonly more: boolean;
  readonly revision: number;
}

/** One operation's result in POST /batch. */
export type BatchOpResultJson =
  | { readonly op: 'set' }
  | { readonly op: 'get'; readonly kv: KeyValueJson | null }
  | { readonly op: 'delete'; readonly deleted: number }
  | { readonly op: 'txn' };

/** POST /batch. */
export interface BatchJson {
  readonly revision: number;
  /** False when the batch's `if` failed: nothing ran. */
  readonly succeeded: boolean;
  readonly results: readonly BatchOpResultJson[];
}

/** One version in GET /history/KEY. */
export type KeyVersionJson =
  | ({ readonly type: 'put'; readonly lease: number } & BytesJson<'value'> & RevisionFieldsJson)
  | { readonly type: 'delete'; readonly modRevision: number };

/** GET /history/KEY. */
export type HistoryJson = BytesJson<'key'> & {
  readonly versions: readonly KeyVersionJson[];
  readonly more: boolean;
  readonly revision: number;
  /** Versions before this revision are gone (0: never compacted). */
  readonly compactRevision: number;
};

/** POST /leases, POST /leases/ID/keepalive. */
export interface LeaseGrantJson {
  readonly id: number;
  readonly ttl: number;
  readonly revision: number;
}

/** GET /leases/ID. */
export interface LeaseTimeToLiveJson {
  readonly id: number;
  /** Seconds left, rounded up. */
  readonly ttl: number;
  readonly grantedTtl: number;
  /** With ?keys=true. */
  readonly keys?: readonly BytesJson<'key'>[];
  readonly revision: number;
}

/** GET /leases. */
export interface LeaseListJson {
  readonly leases: readonly { readonly id: number; readonly grantedTtl: number }[];
  readonly revision: number;
}

/** A member as the replicated member list holds it. */
export interface MemberJson {
  readonly id: number;
  /** Empty until the member has started and published it. */
  readonly name: string;
  readonly peerUrls: readonly string[];
  /** REST URLs; empty until the member has started. */
  readonly clientUrls: readonly string[];
  /** etcd v3 gRPC URLs. */
  readonly grpcUrls: readonly string[];
  readonly isLearner: boolean;
}

/** GET /members. */
export interface MemberListJson {
  /** The leader this node knows of; 0 for none. */
  readonly leader: number;
  readonly members: readonly MemberJson[];
  /** Ids removed from the cluster, never used again. */
  readonly removed: readonly number[];
}

/** POST /members, DELETE /members/ID, POST /members/ID/promote: the member and the list after. */
export interface MemberChangeJson {
  readonly member: MemberJson;
  readonly members: readonly MemberJson[];
}

/** GET /records/KEY: a record's fields, text or base64 each. */
export type RecordJson = BytesJson<'key'> & {
  readonly fields?: Readonly<Record<string, string>>;
  readonly fieldsBase64?: Readonly<Record<string, string>>;
  readonly modRevision: number;
  readonly more: boolean;
  readonly revision: number;
};

/** GET /records/KEY/FIELD. */
export type FieldJson = BytesJson<'key'> & BytesJson<'value'> & RevisionFieldsJson & { readonly field: string; readonly revision: number };

/** PUT /records/KEY and the revision-only answers. */
export interface RevisionJson {
  readonly revision: number;
}

/** A watch event: for a delete, only the key and the revision of the delete. */
export type WatchEventJson =
  | { readonly type: 'put'; readonly kv: KeyValueJson; readonly prevKv?: KeyValueJson }
  | { readonly type: 'delete'; readonly kv: BytesJson<'key'> & { readonly modRevision: number }; readonly prevKv?: KeyValueJson };

/** The messages of a watch stream (GET /watch/KEY as server-sent events, and /ws). */
export type WatchMessageJson =
  | { readonly type: 'created'; readonly watchId: number; readonly revision: number }
  | { readonly type: 'createFailed'; readonly code: string; readonly reason: string; readonly revision: number }
  | { readonly type: 'events'; readonly watchId: number; readonly revision: number; readonly events: readonly WatchEventJson[] }
  | { readonly type: 'progress'; readonly watchId: number; readonly revision: number }
  | {
      readonly type: 'canceled';
      readonly watchId: number;
      /** CANCELED, COMPACTED (compactRevision says where history now starts) or STOPPING. */
      readonly code: string;
      readonly reason: string;
      readonly compactRevision?: number;
      readonly revision: number;
    };

/** One member in GET /cluster/info: where to reach it, as its URLs say. */
export interface ClusterMemberJson {
  readonly id: number;
  readonly host: string;
  readonly peerPort: number;
  readonly clientPort: number;
  readonly clientUrl: string;
  readonly voter: boolean;
}

/** GET /cluster/info. */
export interface ClusterInfoJson {
  readonly clusterId: string;
  /** The leader this node knows of; 0 for none. */
  readonly leader: number;
  readonly members: readonly ClusterMemberJson[];
}

/** GET /admin/alarms; POST /admin/alarms adds `changed` (what it raised or cleared) and the revision. */
export interface AlarmsJson {
  readonly alarms: readonly AlarmJson[];
  readonly changed?: readonly AlarmJson[];
  readonly revision?: number;
}

/** GET /admin/hash: etcd's HashKV, of the store up to `revision`. */
export interface HashKvJson {
  /** The node that hashed. */
  readonly id: number;
  readonly hash: number;
  readonly revision: number;
  readonly compactRevision: number;
  readonly currentRevision: number;
}

/** POST /admin/defragment. */
export interface DefragmentJson {
  readonly id: number;
  readonly beforeBytes: number;
  readonly afterBytes: number;
}
