/**
 * A worker thread's entry: reads the node's LMDB environment out as a snapshot
 * (mvcc/view-snapshot.ts) and posts it to the thread that started it
 * (snapshot-apart.ts), a chunk at a time, while that thread's event loop goes on
 * serving. LMDB lets another thread of the process open the same environment and hold
 * a read transaction of its own: its view is the store as of the last commit, which
 * later commits on the event loop do not change.
 *
 * Messages out: { type: 'index', index } first, then { type: 'chunk', data } (the bytes
 * moved, not copied), then { type: 'end' }; or { type: 'error', message }. In: { type:
 * 'more' } for each chunk taken: at most chunksAhead chunks are posted and not yet
 * taken, so a slow disk on the other side holds the worker, not memory.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openLmdbReader } from './lmdb-env.js';
import type { SyncMode } from './sync-mode.js';
import { streamSnapshotOfView } from '../mvcc/view-snapshot.js';

const chunksAhead = 4;

const port = parentPort;
if (port) void run(port, workerData as { readonly path: string; readonly sync: SyncMode });

async function run(out: NonNullable<typeof parentPort>, options: { readonly path: string; readonly sync: SyncMode }): Promise<void> {
  let credit = chunksAhead;
  let wake: (() => void) | undefined;
  out.on('message', (message: { readonly type?: string }) => {
    if (message.type !== 'more') return;
    credit++;
    wake?.();
  });
  const reader = openLmdbReader(options.path, options.sync);
  try {
    const stream = streamSnapshotOfView(reader.readView());
    out.postMessage({ type: 'index', index: stream.index });
    for await (const chunk of stream.chunks) {
      while (credit === 0) await new Promise<void>((resolve) => (wake = resolve));
      credit--;
      // Chunks are plain Uint8Arrays of their own buffers (never Node's pooled ones): moved.
      out.postMessage({ type: 'chunk', data: chunk }, [chunk.buffer as ArrayBuffer]);
    }
    out.postMessage({ type: 'end' });
  } catch (error) {
    out.postMessage({ type: 'error', message: error instanceof Error ? error.message : String(error) });
  } finally {
    await reader.close();
    out.close();
  }
}
