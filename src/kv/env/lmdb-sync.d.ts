/**
 * lmdb-js's root database has sync(callback) (mdb_env_sync with force, run in a worker
 * thread), which its type declarations omit; this declares it.
 */
import type { Key } from 'lmdb';

declare module 'lmdb' {
  // biome-ignore lint/suspicious/noExplicitAny: the parameters must match lmdb's own declaration to merge with it.
  interface RootDatabase<V = any, K extends Key = Key> {
    sync(callback: (error: unknown) => void): void;
  }
}
