/** What other folders may use of src/raft/: its only entry point (scripts/check-imports.mjs). */
export { decodeConfigEntry, isVoter, quorumSize } from './config.js';
export { RaftNode } from './node.js';
export type { RaftStatus } from './node.js';
export { defaultRaftConfig, messageTypeNumbers } from './types.js';
export type {
  ClusterConfig,
  ConfigChange,
  Entry,
  EntryKind,
  HardState,
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
