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
export { MvccStore } from './mvcc-store.js';
export type { ApplyItem, ApplyOutcome, MvccStoreOptions, StoreSettings, StoreStats } from './mvcc-store.js';
export type { SyncMode } from './lmdb-env.js';
export type { EnvSizes, KvEnv } from './kv-env.js';
export { MemoryDisk, openMemoryEnv } from './memory-env.js';
export type { CrashKind } from './memory-env.js';
export type { SessionPolicy } from './sessions.js';
export { defaultSessionPolicy } from './sessions.js';
export { checkLimits, defaultLimits, HARD_LIMITS, LEASE_TTL_MAX_SECONDS, prepareCommand, validateCommand, validateHistoryRequest, validateRangeRequest } from './validate.js';
export type { Limits } from './validate.js';
export { decodeCommand, encodeCommand } from './command.js';
export { decodeResult, encodeResult } from './result-codec.js';
export { KvRequestError, isKvErrorCode, kvError } from './errors.js';
export type { KvError, KvErrorCode, KvResult } from './errors.js';
export { prefixEnd } from './key-range.js';
export { KEY_BYTES_PHYSICAL_MAX } from './key-encoding.js';
export type * from './types.js';
