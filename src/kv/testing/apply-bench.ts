/**
 * Measures how fast the state machine applies puts: one LMDB transaction per entry, and
 * 100 entries per transaction (as a runtime applies a Ready's committed entries). A
 * measurement, not a test: run `npm run bench:kv`. Figures depend on the disk (each
 * 'relaxed' or 'full' commit is an fsync). 'memory' runs the same store on the
 * in-memory environment the simulator uses (memory-env.ts) instead of LMDB.
 *
 *   node dist/kv/testing/apply-bench.js [entries=10000] [environments=relaxed,none,memory]
 */
import { encodeCommand } from '../codec/command.js';
import type { SyncMode } from '../env/sync-mode.js';
import { openMemoryEnv } from '../env/memory-env.js';
import { MvccStore } from '../mvcc/mvcc-store.js';
import { makeTempDir, removeDir } from './temp-store.js';
import type { Entry } from '../../raft/types.js';

const VALUE = new Uint8Array(100).fill(0x61);

function entries(count: number, withSessions: boolean): Entry[] {
  const out: Entry[] = [];
  for (let index = 1; index <= count; index++) {
    const key = new TextEncoder().encode(`bench/key/${index % 10_000}`);
    const data = encodeCommand({
      body: { type: 'put', key, value: VALUE },
      ...(withSessions ? { session: { clientId: `client-${(index - 1) % 100}`, seq: Math.floor((index - 1) / 100) + 1 }, timeMs: index } : {}),
    });
    out.push({ term: 1, index, kind: 'normal', data });
  }
  return out;
}

/** An LMDB sync mode, or the in-memory environment. */
type Environment = SyncMode | 'memory';

async function measure(environment: Environment, batch: number, log: readonly Entry[]): Promise<number> {
  const path = makeTempDir('keel-kv-bench-');
  const store = environment === 'memory' ? MvccStore.openOn(openMemoryEnv()) : MvccStore.open({ path, sync: environment });
  try {
    const started = performance.now();
    for (let i = 0; i < log.length; i += batch) {
      for (const outcome of store.applyEntries(log.slice(i, i + batch))) {
        if (outcome.status !== 'applied' || !outcome.result.ok) throw new Error(`entry ${outcome.index} was not applied: ${JSON.stringify(outcome)}`);
      }
    }
    const seconds = (performance.now() - started) / 1000;
    return log.length / seconds;
  } finally {
    await store.close();
    removeDir(path);
  }
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 10_000);
  const environments = (process.argv[3] ?? 'relaxed,none,memory').split(',') as Environment[];
  console.log(`applying ${count} puts of 100-byte values over 10,000 keys (median of 5 runs, after a warm-up)`);
  await measure('none', 100, entries(count, true)); // warm up the JIT and the file system
  for (const withSessions of [false, true]) {
    const log = entries(count, withSessions);
    for (const environment of environments) {
      for (const batch of [1, 100]) {
        const runs: number[] = [];
        for (let run = 0; run < 5; run++) runs.push(await measure(environment, batch, log));
        const rate = runs.sort((a, b) => a - b)[2] as number;
        console.log(
          `${(environment === 'memory' ? 'memory' : `sync=${environment}`).padEnd(13)} ${`${batch} per txn`.padEnd(12)} ${withSessions ? 'with sessions ' : 'no sessions   '} ${Math.round(rate).toLocaleString('en-US').padStart(9)} applies/s`,
        );
      }
    }
  }
}

await main();
