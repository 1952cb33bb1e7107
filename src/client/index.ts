/** The Keel client library: `import { KeelClient } from 'keel/client'` (src/client/index.ts). */
export { KeelClient } from './keel-client.js';
export type { CallOptions, GetOptions, KeelClientOptions, MemberAddOptions, PutOptions, ScanOptions } from './keel-client.js';
export { KeelClientError } from './errors.js';
export type { Outcome } from './errors.js';
export type { BackoffOptions } from './backoff.js';
export type { Bytes } from './bytes.js';
export type {
  BatchOp,
  BatchOpResult,
  BatchResult,
  ClusterInfo,
  Consistency,
  DeleteResult,
  GetResult,
  Health,
  KeyValueRecord,
  LeaseGrant,
  LeaseList,
  LeaseTimeToLive,
  Member,
  MemberChangeResult,
  MemberList,
  MemberRecord,
  NodeStatus,
  PutResult,
  Role,
  ScanResult,
} from './types.js';
export type { WatchBatch, WatchEvent, WatchOptions } from './watch.js';
export type { AlarmMember, AlarmType, DefragmentResult, HashKvResult, SnapshotDownload } from './maintenance-types.js';
export { downloadSnapshot } from './snapshot-download.js';
