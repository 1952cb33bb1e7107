/**
 * How an LMDB environment makes its commits durable; what each mode promises is in
 * lmdb-env.ts ("Durability"). A type of its own so that the snapshot worker's side
 * (snapshot-apart.ts) names it without importing the environment that starts it.
 */
export type SyncMode = 'relaxed' | 'deferred' | 'full' | 'none';
