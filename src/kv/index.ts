/**
 * The key-value state machine's public surface, for the node runtime and the API
 * adapters. Everything else in kv/ is internal.
 *
 * Runtime, in its Ready loop (raft/types.ts):
 *   const store = MvccStore.open({ path: `${dataDir}/kv` });   // on LMDB
 *   const store = MvccStore.openOn(disk.open());                 // in memory (a MemoryDisk, simulator)
 *   // on start: if the last Raft snapshot is newer than store.appliedIndex(),
 *   //   store.restore(snapshot.meta.index, snapshot.data); then replay the log after it.
 *   const outcomes = store.applyEntries(ready.committedEntries); // results + events per entry
 *   const { index, data } = store.snapshot();                   // to compact the log
 *   store.restore(ready.snapshot.meta.index, ready.snapshot.data);
 * Proposals: prepareCommand(command, limits) validates and encodes; propose the bytes.
 * Reads after ReadIndex: store.range(request) once appliedIndex() >= the read index.
 */
export { MvccStore } from './mvcc/mvcc-store.js';
export type { ApplyItem, ApplyOutcome, MvccStoreOptions, StoreSettings, StoreStats } from './mvcc/mvcc-store.js';
export type { SyncMode } from './env/sync-mode.js';
export type { EnvSizes, KvEnv } from './env/kv-env.js';
export { MemoryDisk, openMemoryEnv } from './env/memory-env.js';
export type { CrashKind } from './env/memory-env.js';
export type { SessionPolicy } from './mvcc/sessions.js';
export { defaultSessionPolicy } from './mvcc/sessions.js';
export {
  checkLimits,
  defaultLimits,
  HARD_LIMITS,
  LEASE_TTL_MAX_SECONDS,
  prepareCommand,
  validateCommand,
  validateHistoryRequest,
  validateRangeRequest,
} from './validate.js';
export type { Limits } from './validate.js';
export { decodeCommand, encodeCommand } from './codec/command.js';
export { decodeResult, encodeResult } from './codec/result-codec.js';
export { KvRequestError, isKvErrorCode, kvError } from './errors.js';
export type { KvError, KvErrorCode, KvResult } from './errors.js';
export { prefixEnd } from './mvcc/key-range.js';
export { KEY_BYTES_PHYSICAL_MAX } from './codec/key-encoding.js';
export type * from './types.js';
export { addsData, noSpaceError } from './alarms.js';
export { leaseAccess, requiredAccess } from './auth/auth-access.js';
export { hasRootRole, isPermitted } from './auth/auth-permissions.js';
export type { KeyAccess } from './auth/auth-permissions.js';
export { ROOT_ROLE } from './auth/auth-types.js';
export type { AuthChange, AuthRole, AuthState, AuthUser, PasswordHash, Permission, PermissionType } from './auth/auth-types.js';
export { decodeSnapshot } from './codec/snapshot-format.js';
export { exportEtcdSnapshot } from './etcd-snapshot/export.js';
export { keelSnapshotIn } from './etcd-snapshot/snapshot-file.js';
export { decodeMemberChange, encodeMemberList } from './members.js';
export type { Member, MemberChange, MemberList } from './members.js';
export { compareBytes, isFromKey } from './mvcc/key-range.js';
export type { KvHash } from './mvcc/mvcc-store.js';
export { snapshotForNewCluster } from './new-cluster-snapshot.js';
export type {
  AlarmMember,
  AlarmType,
  ClientSession,
  Command,
  CommandAuth,
  CommandBody,
  CommandResponse,
  CommandResult,
  Compare,
  CompareNumericTarget,
  CompareResult,
  DeleteRangeRequest,
  DeleteRangeResponse,
  HistoryRequest,
  HistoryResponse,
  KeyValue,
  KeyVersion,
  KvEvent,
  Lease,
  LeaseResponse,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  ReadResponse,
  RequestOp,
  ResponseOp,
  SortOrder,
  SortTarget,
  TxnRequest,
  TxnResponse,
} from './types.js';
export { WatchHub } from './watch/watch-hub.js';
export { eventBytes } from './watch/watcher.js';
export type { WatchMessage, WatchSpec, Watcher } from './watch/watcher.js';
