/**
 * The peer transport: Raft messages between the members of one cluster over persistent TCP (or TLS) connections, with fault hooks for tests.
 * This file is what other folders may use of it (scripts/check-imports.mjs).
 */
export { FaultRulesError } from './fault-hooks.js';
export type { FaultHooks, FaultRule } from './fault-hooks.js';
export { Transport, clusterSecretBytes } from './transport.js';
export type { PeerTlsOptions, TransportStats } from './transport.js';
