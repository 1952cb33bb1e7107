/**
 * One replica of the cluster: the consensus core, its durable storage, the key-value state machine and the Ready loop that drives them, all I/O through injected ports.
 * This file is what other folders may use of it (scripts/check-imports.mjs).
 */
export { clientScheme, clientTlsEnabled, nodeConfigDefaults, selfAddress } from './config.js';
export type { MemberAddress, NodeConfig } from './config.js';
export { KeelError } from './errors.js';
export type { KeelErrorCode } from './errors.js';
export { silentLogger } from './logger.js';
export type { Logger } from './logger.js';
export { peerMap } from './member-metadata.js';
export type { MemberAddRequest, MembershipResult } from './membership.js';
export type { NodeLeases } from './node-leases.js';
export type { DiskSpaceView } from './ports.js';
export { Replica } from './replica.js';
export type { Consistency, InspectedCore, LogTailEntry, MessageListener, ReplicaCounters, ReplicaStatus } from './replica.js';
export { NO_WATCH_ID } from './watch-session.js';
export type { StreamMessage, StreamOutput, WatchCreateRequest, WatchSession, WatchSessionOptions } from './watch-session.js';
