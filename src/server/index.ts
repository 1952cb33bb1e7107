/**
 * The Node.js shell around the replica: KeelNode wires real I/O to it; users and tokens; etcd's lock and election recipes.
 * This file is what other folders may use of it (scripts/check-imports.mjs).
 */
export { commandAuth } from './auth/caller.js';
export type { Caller, Credentials } from './auth/caller.js';
export { NEEDS_ANYONE, NEEDS_NOTHING, NEEDS_ROOT, NEEDS_USER } from './auth/node-auth.js';
export type { Need, NodeAuth } from './auth/node-auth.js';
export { parseTokenSettings } from './auth/tokens.js';
export { CallerKv } from './concurrency/caller-kv.js';
export { campaign, currentLeader, observe, proclaim, resign } from './concurrency/election.js';
export type { LeaderKey } from './concurrency/election.js';
export { ConcurrencyError } from './concurrency/errors.js';
export { lock, unlock } from './concurrency/mutex.js';
export { namePrefix, oldestUnder, sessionKey } from './concurrency/session-key.js';
export { KeelNode } from './keel-node.js';
export type { ApiNode, AuthNode, KeyValueNode, MaintenanceNode, MembershipNode, NodeIdentity, ObservedNode } from './node-views.js';
export type { Consistency } from './keel-node.js';
export { storedSecretName, writeNewSecretFile } from './peer-secret.js';
export { restoreDataDir } from './restore-data-dir.js';
export { ETCD_API_VERSION, KEEL_VERSION } from './version.js';
export { NODE_RUNTIME_FLAGS } from './node-runtime-flags.js';
