/**
 * A snapshot of the store read out of one read view (KvEnv.readView), in the format of
 * codec/snapshot-format.ts and about 1 MiB a chunk: the bytes MvccStore.snapshot()
 * gives at the same applied index, never in memory whole. The index is the one the
 * view's meta table holds, read first, so whoever opened the view need not know it.
 * Read on the event loop a slice at a time (`pace`) for a store in memory, and in a
 * worker thread for one on LMDB (env/snapshot-worker.ts), where nothing else waits.
 */
import { assert } from '../../lib/index.js';
import { SnapshotEncoder } from '../codec/snapshot-format.js';
import type { ReadView, SnapshotStream } from '../env/kv-env.js';
import { META, decodeUint, metaKey } from './store-meta.js';

export interface Pace {
  /** Work this long, then await `between()` before going on. */
  readonly sliceMs: number;
  readonly between: () => Promise<void>;
}

export function streamSnapshotOfView(view: ReadView, pace?: Pace): SnapshotStream {
  let open = true;
  const close = (): void => {
    if (open) view.done();
    open = false;
  };
  try {
    const [first, ...rest] = view.tables;
    assert(first !== undefined && first[0] === 'meta', 'a read view starts with the meta table');
    // The meta table is small (the store's state, alarms, members): read whole for its applied index.
    const meta = [...first[1]];
    const appliedKey = metaKey(META.applied);
    const applied = meta.find(({ key }) => Buffer.compare(key, appliedKey) === 0);
    const index = applied ? decodeUint(applied.value) : 0;
    const tables: (readonly [string, Iterable<{ readonly key: Uint8Array; readonly value: Uint8Array }>])[] = [['meta', meta], ...rest];
    async function* chunks(): AsyncGenerator<Uint8Array> {
      try {
        const encoder = new SnapshotEncoder(index);
        let sliceStart = performance.now();
        for (const [name, entries] of tables) {
          encoder.startTable(name);
          for (const { key, value } of entries) {
            if (!open) throw new Error('the snapshot stream was closed before its end');
            encoder.entry(name, key, value);
            const chunk = encoder.fullChunk();
            if (chunk) yield chunk;
            if (pace && performance.now() - sliceStart >= pace.sliceMs) {
              await pace.between();
              sliceStart = performance.now();
            }
          }
          encoder.endTable();
        }
        yield encoder.finish();
      } finally {
        close();
      }
    }
    return { index, chunks: chunks(), close };
  } catch (error) {
    close();
    throw error;
  }
}
