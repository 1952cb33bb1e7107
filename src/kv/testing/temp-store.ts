/**
 * Helpers for the key-value store's tests: temporary stores that clean up after
 * themselves, and byte shorthands.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MvccStore, type MvccStoreOptions } from '../mvcc/mvcc-store.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** UTF-8 bytes of `text`, as a plain Uint8Array (what the store returns). */
export const bytes = (text: string): Uint8Array => encoder.encode(text);
export const text = (data: Uint8Array): string => decoder.decode(data);

export function makeTempDir(prefix = 'keel-kv-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(path: string): void {
  rmSync(path, { recursive: true, force: true });
}

/** A store in a fresh temporary directory; `cleanup` closes it and removes the directory. */
export function openTempStore(options: Omit<MvccStoreOptions, 'path'> = {}): { store: MvccStore; path: string; cleanup: () => Promise<void> } {
  const path = makeTempDir();
  const store = MvccStore.open({ sync: 'none', ...options, path });
  return {
    store,
    path,
    cleanup: async () => {
      await store.close();
      removeDir(path);
    },
  };
}

/** Runs `body` with a temporary store, closing and removing it afterwards whatever happens. */
export async function withTempStore<T>(body: (store: MvccStore, path: string) => T | Promise<T>, options: Omit<MvccStoreOptions, 'path'> = {}): Promise<T> {
  const { store, path, cleanup } = openTempStore(options);
  try {
    return await body(store, path);
  } finally {
    await cleanup();
  }
}
