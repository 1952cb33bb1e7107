/** The Keel client library: `import { KeelClient } from 'keel/client'` (src/client/index.ts). */
export { basicAuthorization, KeelClient } from './keel-client.js';
export type { CallOptions, GetOptions, HistoryOptions, KeelClientOptions, MemberAddOptions, PutOptions, ScanOptions } from './keel-client.js';
export type { KeelRecords, RecordReadOptions } from './record-client.js';
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
  FieldResult,
  GetResult,
  Health,
  HistoryResult,
  KeyVersionRecord,
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
  RecordResult,
  Role,
  ScanResult,
  SortOrder,
  SortTarget,
} from './types.js';
export type { WatchBatch, WatchEvent, WatchOptions } from './watch.js';
export type { AlarmMember, AlarmType, DefragmentResult, HashKvResult, SnapshotDownload } from './maintenance-types.js';
export { downloadSnapshot } from './snapshot-download.js';
export type { ClientTlsOptions } from './tls.js';
// Also used by Keel's own tools (the keel command, the test harness):
export { sleep } from './backoff.js';
export { bytesField } from './bytes.js';
export { normalizeEndpoint } from './endpoints.js';
export { EtcdGrpcClient } from './etcd-grpc-client.js';
export type { EtcdKeyValue, EtcdMessage, KeepAliveStream } from './etcd-grpc-client.js';
export { fetchWithTls } from './tls.js';
export type { FetchFunction } from './tls.js';
