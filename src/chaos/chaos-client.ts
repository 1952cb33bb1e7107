/**
 * What the chaos workloads ask of a cluster, one attempt at a time, each answered
 * as an Attempt (ok / fail: certainly not applied / info: unknown), so the same
 * workloads run over the REST API (rest-client.ts) and the etcd v3 gRPC API
 * (grpc-client.ts). `node` says which node the attempt goes to.
 */
import type { Attempt } from './attempt.js';

export interface StoredValue {
  readonly key: string;
  readonly value: string;
  readonly modRevision: number;
}

export interface ChaosClient {
  readonly kind: 'rest' | 'grpc';
  /** A linearizable read; null: absent. */
  read(node: number, key: string): Promise<Attempt<string | null>>;
  write(node: number, key: string, value: string): Promise<Attempt<true>>;
  /** Sets `value` if the key holds `expected` (null: absent); a guard that does not
   * hold is a fail with why = guardFailed. */
  cas(node: number, key: string, expected: string | null, value: string): Promise<Attempt<true>>;
  /** Reads several keys in one transaction (one revision). */
  readAll(node: number, keys: readonly string[]): Promise<Attempt<(StoredValue | null)[]>>;
  /** Sets every pair if every guarded key still has its modRevision, atomically. */
  guardedSet(node: number, guards: readonly StoredValue[], sets: readonly { key: string; value: string }[]): Promise<Attempt<true>>;
  /** Every key under `prefix` (without it), read linearizably; throws when no answer. */
  listPrefix(node: number, prefix: string): Promise<Set<string>>;
  close(): void;
}
