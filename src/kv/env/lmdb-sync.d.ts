/**
 * What lmdb-js's root database has and its type declarations omit: sync(callback)
 * (mdb_env_sync with force, run in a worker thread) and env.info() (mdb_env_info: the
 * map's size and the last page in use, read without a transaction).
 */
import type { Key } from 'lmdb';

declare module 'lmdb' {
  // biome-ignore lint/suspicious/noExplicitAny: the parameters must match lmdb's own declaration to merge with it.
  interface RootDatabase<V = any, K extends Key = Key> {
    sync(callback: (error: unknown) => void): void;
    readonly env: { info(): { readonly lastPageNumber: number; readonly mapSize: number } };
  }
}
