/**
 * The consensus core: a pure state machine fed ticks and messages, handing out Readys (thesis §10.2.1).
 * This file is what other folders may use of it (scripts/check-imports.mjs).
 */
export { decodeConfigEntry, isVoter, quorumSize } from './config.js';
export { entryBytes, pastLimits } from './log.js';
export { RaftNode } from './node.js';
export { TermRuns } from './term-runs.js';
export type { RaftStatus } from './node.js';
export { defaultRaftConfig, messageTypeNumbers } from './types.js';
export type {
  ClusterConfig,
  ConfigChange,
  Entry,
  EntryKind,
  HardState,
  LeaseRenewRequest,
  LeaseRenewResponse,
  LogReader,
  LogIndex,
  Message,
  MessageType,
  NodeId,
  Outcome,
  PersistedState,
  RaftConfig,
  RandomSource,
  Ready,
  ReceivedSnapshotChunk,
  Role,
  Snapshot,
  SnapshotData,
  SnapshotMeta,
  Term,
} from './types.js';
