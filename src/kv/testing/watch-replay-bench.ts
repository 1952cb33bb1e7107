/**
 * Measures how fast a watcher that starts at an old revision catches up from the
 * store's history (readChanges through the watch hub, in its bounded steps): over a
 * store of N revisions spread over 1,000 keys, a prefix watcher of every key and of
 * 1% of the keys (the byRevision path), and a watcher of one key (its own history
 * run). A measurement, not a test: `npm run bench:watch`.
 *
 *   node dist/kv/testing/watch-replay-bench.js [revisions=100000]
 */
import { MvccStore, type ApplyItem } from '../mvcc/mvcc-store.js';
import { makeTempDir, removeDir, bytes } from './temp-store.js';
import { WatchHub } from '../watch/watch-hub.js';
import type { WatchSpec } from '../watch/watcher.js';

const VALUE = new Uint8Array(100).fill(0x61);

function fill(store: MvccStore, revisions: number): void {
  for (let from = 1; from <= revisions; from += 1000) {
    const items: ApplyItem[] = [];
    for (let index = from; index < from + 1000 && index <= revisions; index++) {
      items.push({ index, command: { body: { type: 'put', key: bytes(`bench/${String(index % 1000).padStart(4, '0')}`), value: VALUE } } });
    }
    store.applyBatch(items);
  }
}

function catchUp(store: MvccStore, spec: WatchSpec): { events: number; ms: number } {
  const tasks: (() => void)[] = [];
  const hub = new WatchHub({ source: store, schedule: (task) => tasks.push(task) });
  const created = hub.create(spec, { readable: () => {} });
  if (!created.ok) throw new Error(created.error.message);
  const watcher = created.value;
  let events = 0;
  const started = performance.now();
  while (tasks.length > 0 || watcher.queuedMessages > 0) {
    tasks.shift()?.();
    for (const message of watcher.take()) if (message.kind === 'events') events += message.events.length;
    hub.taken(watcher);
  }
  return { events, ms: performance.now() - started };
}

const revisions = Number(process.argv[2] ?? 100_000);
const path = makeTempDir('keel-watch-bench-');
const store = MvccStore.open({ path, sync: 'none' });
try {
  fill(store, revisions);
  const base = { startRevision: 1, noPut: false, noDelete: false, progressNotify: false };
  const cases: [string, WatchSpec][] = [
    ['every key (prefix bench/)', { ...base, key: bytes('bench/'), rangeEnd: bytes('bench0'), prevKv: false }],
    ['every key, with prevKv', { ...base, key: bytes('bench/'), rangeEnd: bytes('bench0'), prevKv: true }],
    ['10 of 1,000 keys (prefix bench/000)', { ...base, key: bytes('bench/000'), rangeEnd: bytes('bench/001'), prevKv: false }],
    ['one key', { ...base, key: bytes('bench/0007'), prevKv: false }],
  ];
  console.log(`catch-up from revision 1 over ${store.currentRevision() - 1} revisions (1,000 keys, 100-byte values)`);
  for (const [name, spec] of cases) {
    const { events, ms } = catchUp(store, spec);
    console.log(
      `${name.padEnd(38)} ${String(events).padStart(7)} events  ${ms.toFixed(0).padStart(6)} ms  ${Math.round(events / (ms / 1000))
        .toLocaleString('en-US')
        .padStart(10)} events/s`,
    );
  }
} finally {
  await store.close();
  removeDir(path);
}
