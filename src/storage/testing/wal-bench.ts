/**
 * How long one durable WAL save takes, on the real file system: `npm run bench:wal`.
 * A benchmark, not a test: it prints figures and asserts nothing about time.
 *
 * Saves of one 200-byte entry follow one another, each awaited, as a Ready's write
 * is; once with the event loop otherwise idle, once with it busy in 1 ms slices
 * beside the saves (what a node serving clients and applying entries looks like).
 * A step of a save that needs a turn of the event loop (a write, then an fdatasync)
 * waits behind the busy slices; a single durable write does not (wal.ts, append).
 * The files go to a temporary directory under KEEL_BENCH_DIR (default: /var/tmp,
 * usually a disk rather than memory).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Wal } from '../wal.js';
import { NodeFileSystem } from '../file-system.js';

const saves = 2_000;
const busySliceMs = 1;
const entry = new Uint8Array(200);

async function run(busy: boolean): Promise<{ perSecond: number; p50: number; p99: number }> {
  const dir = mkdtempSync(join(process.env.KEEL_BENCH_DIR ?? '/var/tmp', 'keel-wal-bench-'));
  const { wal } = await Wal.open({ fs: new NodeFileSystem(), dir, log: () => {} });
  await wal.nextSegmentSettled();
  let spinning = busy;
  const spin = (): void => {
    if (!spinning) return;
    const start = performance.now();
    while (performance.now() - start < busySliceMs) {
      // The event loop's other work: serving clients, applying entries.
    }
    setImmediate(spin);
  };
  spin();
  const latencies: number[] = [];
  const start = performance.now();
  try {
    for (let index = 1; index <= saves; index++) {
      const begun = performance.now();
      await wal.save({ entries: [{ index, term: 1, kind: 'normal', data: entry }], hardState: { term: 1, vote: 1, commit: index - 1 } });
      latencies.push(performance.now() - begun);
    }
  } finally {
    spinning = false;
    await wal.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const seconds = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))] as number;
  return { perSecond: saves / seconds, p50: at(0.5), p99: at(0.99) };
}

console.log(`| event loop | saves/s | p50 ms | p99 ms |\n|---|---:|---:|---:|`);
for (const busy of [false, true]) {
  const { perSecond, p50, p99 } = await run(busy);
  console.log(`| ${busy ? `busy in ${busySliceMs} ms slices` : 'idle'} | ${Math.round(perSecond)} | ${p50.toFixed(2)} | ${p99.toFixed(2)} |`);
}
