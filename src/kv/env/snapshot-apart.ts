/**
 * A snapshot of an LMDB store read out in a worker thread (snapshot-worker.ts): the
 * reading of every record, the encoding and its garbage happen there, off the event
 * loop and out of its heap. Measured before this, on the event loop in 5 ms slices: at
 * 300-500 MB a copy took 6-12 s of slices, and a third of each node's main-thread CPU
 * went to copying values out of LMDB and allocating buffers for them.
 */
import { Worker } from 'node:worker_threads';
import type { SnapshotStream } from './kv-env.js';
import type { SyncMode } from './sync-mode.js';

type FromWorker =
  | { readonly type: 'index'; readonly index: number }
  | { readonly type: 'chunk'; readonly data: Uint8Array }
  | { readonly type: 'end' }
  | { readonly type: 'error'; readonly message: string };

/** Starts the worker; resolves once its read view is open and it has said at which index. */
export function streamSnapshotInWorker(path: string, sync: SyncMode): Promise<SnapshotStream> {
  const worker = new Worker(new URL('./snapshot-worker.js', import.meta.url), { workerData: { path, sync } });
  const arrived: FromWorker[] = [];
  let waiting: (() => void) | undefined;
  let failure: Error | undefined;
  let closed = false;
  const wakeUp = (): void => {
    const wake = waiting;
    waiting = undefined;
    wake?.();
  };
  worker.on('message', (message: FromWorker) => {
    arrived.push(message);
    wakeUp();
  });
  worker.on('error', (error) => {
    failure ??= error;
    wakeUp();
  });
  worker.on('exit', (code) => {
    failure ??= new Error(`the snapshot worker exited (code ${code}) before the end of the snapshot`);
    wakeUp();
  });
  const next = async (): Promise<FromWorker> => {
    for (;;) {
      const message = arrived.shift();
      if (message?.type === 'error') throw new Error(`snapshot worker: ${message.message}`);
      if (message) return message;
      if (failure) throw failure;
      await new Promise<void>((resolve) => (waiting = resolve));
    }
  };
  const close = (): void => {
    if (closed) return;
    closed = true;
    void worker.terminate();
  };
  async function* chunks(): AsyncGenerator<Uint8Array> {
    try {
      for (;;) {
        const message = await next();
        if (message.type === 'end') return;
        if (message.type !== 'chunk') throw new Error(`snapshot worker: unexpected ${message.type} message`);
        worker.postMessage({ type: 'more' });
        yield message.data;
      }
    } finally {
      close();
    }
  }
  return (async () => {
    try {
      const first = await next();
      if (first.type !== 'index') throw new Error(`snapshot worker: a ${first.type} message before the index`);
      return { index: first.index, chunks: chunks(), close };
    } catch (error) {
      close();
      throw error;
    }
  })();
}
