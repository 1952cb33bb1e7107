/**
 * The memory environment (memory-env.ts) against LMDB (lmdb-env.ts): the same random
 * steps run on one MvccStore over each — writes of every kind (puts, deletes, txns,
 * leases, alarms, auth changes, with and without sessions) applied alone or in batches,
 * compactions (in small steps), range reads at past revisions, key histories, watch
 * history reads, snapshots restored (each store's own or the other's), a batch that
 * throws half way, defragmentation, flushes and crashes — and every answer must be the
 * same. After every step the two stores' snapshots, which hold every table byte for
 * byte, must be equal too, and so must their HashKV and statistics.
 *
 * A crash of the memory store keeps what its kind says (memory-env.ts): what was last
 * flushed (a power loss), everything committed (a process crash), or nothing (a torn
 * deferred-sync file). The LMDB store plays the same crash by restoring the snapshot
 * taken at that point, so the two must still agree afterwards, and the store resumes
 * from its applied index as a runtime replaying its log does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodeCommand } from '../codec/command.js';
import type { KvEnv, TableRange } from './kv-env.js';
import { openLmdbEnv } from './lmdb-env.js';
import { MemoryDisk, openMemoryEnv, type CrashKind } from './memory-env.js';
import { MvccStore, type StoreSettings } from '../mvcc/mvcc-store.js';
import { makeTempDir, openTempStore, removeDir } from '../testing/temp-store.js';
import type { Command, CommandBody, HistoryRequest, RangeRequest } from '../types.js';
import type { AuthChange } from '../auth/auth-types.js';
import { alarmArb, deleteArb, keyArb, leaseBodyArb, putArb, rangeArb, rangeRequestArb, txnArb } from '../testing/arbitraries.js';
import type { Entry } from '../../raft/types.js';

type Step =
  | { readonly kind: 'write'; readonly command: Command; readonly alone: boolean }
  | { readonly kind: 'compact'; readonly back: number }
  | { readonly kind: 'read'; readonly request: RangeRequest; readonly back: number }
  | { readonly kind: 'history'; readonly request: HistoryRequest; readonly back: number }
  | {
      readonly kind: 'changes';
      readonly range: { key: Uint8Array; rangeEnd?: Uint8Array };
      readonly back: number;
      readonly prevKv: boolean;
      readonly recordsMax: number;
    }
  | { readonly kind: 'snapshot' }
  | { readonly kind: 'restore'; readonly crossed: boolean }
  | { readonly kind: 'torn' }
  | { readonly kind: 'defragment' }
  | { readonly kind: 'flush' }
  | { readonly kind: 'crash'; readonly crash: CrashKind };

const authChangeArb: fc.Arbitrary<AuthChange> = fc.oneof(
  fc.constantFrom('app', 'ops').map((name): AuthChange => ({ op: 'roleAdd', name })),
  fc.constantFrom('app', 'ops').map((role): AuthChange => ({ op: 'roleDelete', role })),
);

const bodyArb: fc.Arbitrary<CommandBody> = fc.oneof(
  { weight: 6, arbitrary: putArb.map((op) => op as CommandBody) },
  { weight: 2, arbitrary: deleteArb.map((op) => op as CommandBody) },
  { weight: 3, arbitrary: txnArb.map((op) => op as CommandBody) },
  { weight: 3, arbitrary: leaseBodyArb },
  { weight: 1, arbitrary: alarmArb },
  { weight: 1, arbitrary: authChangeArb.map((change): CommandBody => ({ type: 'auth', change })) },
);

// A few clients with small sequence numbers: retries, duplicates and evictions (sessionsMax below).
const sessionArb = fc.option(fc.record({ clientId: fc.constantFrom('c1', 'c2', 'c3'), seq: fc.integer({ min: 1, max: 4 }) }), { nil: undefined });

const commandArb: fc.Arbitrary<Command> = fc
  .record({ body: bodyArb, session: sessionArb, timeMs: fc.option(fc.nat(1_000_000), { nil: undefined }) })
  .map(({ body, session, timeMs }) => ({ body, ...(session ? { session } : {}), ...(timeMs !== undefined ? { timeMs } : {}) }));

const historyArb: fc.Arbitrary<HistoryRequest> = fc
  .record({ key: keyArb, order: fc.constantFrom(undefined, 'ascend' as const, 'descend' as const), limit: fc.nat(3), minRevision: fc.nat(12) })
  .map(({ key, order, limit, minRevision }) => ({
    type: 'history',
    key,
    ...(order ? { order } : {}),
    ...(limit ? { limit } : {}),
    ...(minRevision ? { minRevision } : {}),
  }));

const backArb = fc.integer({ min: -1, max: 8 });

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 14, arbitrary: fc.record({ command: commandArb, alone: fc.boolean() }).map((s) => ({ kind: 'write', ...s }) as const) },
  { weight: 1, arbitrary: fc.integer({ min: -1, max: 6 }).map((back) => ({ kind: 'compact', back }) as const) },
  { weight: 3, arbitrary: fc.record({ request: rangeRequestArb, back: backArb }).map((s) => ({ kind: 'read', ...s }) as const) },
  { weight: 2, arbitrary: fc.record({ request: historyArb, back: backArb }).map((s) => ({ kind: 'history', ...s }) as const) },
  {
    weight: 2,
    arbitrary: fc
      .record({ range: rangeArb, back: backArb, prevKv: fc.boolean(), recordsMax: fc.integer({ min: 1, max: 6 }) })
      .map((s) => ({ kind: 'changes', ...s }) as const),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'snapshot' } as const) },
  { weight: 1, arbitrary: fc.boolean().map((crossed) => ({ kind: 'restore', crossed }) as const) },
  { weight: 1, arbitrary: fc.constant({ kind: 'torn' } as const) },
  { weight: 1, arbitrary: fc.constant({ kind: 'defragment' } as const) },
  { weight: 1, arbitrary: fc.constant({ kind: 'flush' } as const) },
  { weight: 2, arbitrary: fc.constantFrom<CrashKind>('power', 'process', 'torn').map((crash) => ({ kind: 'crash', crash }) as const) },
);

const settings: StoreSettings = { sessions: { sessionsMax: 2, sessionTtlEntries: 25 }, compactionStepRecordsMax: 3 };

function entry(index: number, command: Command): Entry {
  return { term: 1, index, kind: 'normal', data: encodeCommand(command) };
}

/** Everything either store says about itself, tables byte for byte included. */
function state(store: MvccStore): unknown {
  return {
    applied: store.appliedIndex(),
    revision: store.currentRevision(),
    compacted: store.compactedRevision(),
    alarms: store.alarms(),
    leases: store.leases(),
    auth: store.authState(),
    members: store.members(),
    hash: store.hashKv(0),
    stats: store.stats(),
    tables: Buffer.from(store.snapshot().data).toString('hex'),
  };
}

/** What the call returned, or the error it threw (by message). */
function outcomeOf<T>(call: () => T): { returned: T } | { threw: string } {
  try {
    return { returned: call() };
  } catch (error) {
    return { threw: (error as Error).message };
  }
}

async function runScenario(steps: readonly Step[]): Promise<void> {
  const onLmdb = openTempStore(settings);
  const disk = new MemoryDisk();
  const lmdb = onLmdb.store;
  let memory = MvccStore.openOn(disk.open(), settings);
  let pending: Command[] = [];
  let lastSnapshot: { lmdb: { index: number; data: Uint8Array }; memory: { index: number; data: Uint8Array } } | undefined;
  const empty = lmdb.snapshot();
  // What the LMDB store returns to when the memory store loses power: its state at the last sync.
  let synced = empty;
  const both = <T>(call: (store: MvccStore) => T, what: string): T => {
    const fromLmdb = outcomeOf(() => call(lmdb));
    assert.deepEqual(
      outcomeOf(() => call(memory)),
      fromLmdb,
      what,
    );
    if ('threw' in fromLmdb) throw new Error(`${what} threw on both stores: ${fromLmdb.threw}`);
    return fromLmdb.returned;
  };
  const applyPending = (): void => {
    if (pending.length === 0) return;
    const first = lmdb.appliedIndex() + 1;
    const entries = pending.map((command, i) => entry(first + i, command));
    pending = [];
    both((store) => store.applyEntries(entries), `apply entries ${first}..${first + entries.length - 1}`);
  };
  try {
    for (const [n, step] of steps.entries()) {
      if (step.kind !== 'write') applyPending();
      const revision = (back: number): number => Math.max(0, lmdb.currentRevision() - back);
      switch (step.kind) {
        case 'write':
          pending.push(step.command);
          if (step.alone) applyPending();
          break;
        case 'compact':
          pending.push({ body: { type: 'compact', revision: revision(step.back) } });
          applyPending();
          break;
        case 'read': {
          const at = revision(step.back);
          both((store) => store.range({ ...step.request, ...(at ? { revision: at } : {}) }), 'range');
          break;
        }
        case 'history': {
          const at = revision(step.back);
          both((store) => store.history({ ...step.request, ...(at ? { revision: at } : {}) }), 'history');
          break;
        }
        case 'changes':
          both(
            (store) =>
              store.changes({ ...step.range, fromRevision: revision(step.back) + 1, prevKv: step.prevKv, recordsMax: step.recordsMax, bytesMax: 1 << 20 }),
            'changes',
          );
          for (const lease of lmdb.leases()) both((store) => store.leaseInfo(lease.id), `lease ${lease.id}`);
          break;
        case 'snapshot':
          lastSnapshot = { lmdb: lmdb.snapshot(), memory: memory.snapshot() };
          break;
        case 'restore': {
          if (lastSnapshot === undefined) break;
          lmdb.restore(lastSnapshot.lmdb.index, lastSnapshot.lmdb.data);
          const restored = step.crossed ? lastSnapshot.lmdb : lastSnapshot.memory;
          memory.restore(restored.index, restored.data);
          break;
        }
        case 'torn': {
          // The second entry leaves a gap: the batch throws after applying the first, which must not stay.
          const next = lmdb.appliedIndex() + 1;
          const entries = [
            entry(next, { body: { type: 'put', key: Buffer.from('torn'), value: Buffer.from('x') } }),
            entry(next + 2, { body: { type: 'noop' } }),
          ];
          const fromLmdb = outcomeOf(() => lmdb.applyEntries(entries));
          assert.ok('threw' in fromLmdb, 'a batch with a gap throws');
          assert.deepEqual(
            outcomeOf(() => memory.applyEntries(entries)),
            fromLmdb,
            'a batch with a gap',
          );
          break;
        }
        case 'defragment':
          await lmdb.defragment();
          await memory.defragment();
          // Defragmentation leaves a durable copy (defragment.ts).
          synced = lmdb.snapshot();
          break;
        case 'flush':
          await lmdb.flush();
          await memory.flush();
          synced = lmdb.snapshot();
          break;
        case 'crash':
          disk.crash(step.crash);
          memory = MvccStore.openOn(disk.open(), settings);
          assert.equal(memory.discardedOnOpen, step.crash === 'torn', 'discarded on open');
          // The LMDB store plays the same crash: back to the last sync, to nothing, or nowhere.
          if (step.crash === 'torn') synced = empty;
          if (step.crash === 'process') synced = lmdb.snapshot();
          lmdb.restore(synced.index, synced.data);
          break;
      }
      assert.deepEqual(state(memory), state(lmdb), `after step ${n} (${step.kind})`);
    }
    await memory.close();
    memory = MvccStore.openOn(disk.open(), settings);
    assert.deepEqual(state(memory), state(lmdb), 'after a clean close and a reopen');
  } finally {
    await memory.close();
    await onLmdb.cleanup();
  }
}

test('the memory environment and LMDB give the same store: every answer, every table byte, through snapshots, torn batches and crashes', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 60, size: 'max' }), runScenario),
    // KEEL_KV_ENV_RUNS raises the count for a longer hunt; the default keeps the suite quick.
    { numRuns: Number(process.env['KEEL_KV_ENV_RUNS'] ?? 60) },
  );
});

type TableStep =
  | { readonly kind: 'put'; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly kind: 'remove'; readonly key: Uint8Array }
  | { readonly kind: 'clear' }
  | { readonly kind: 'range'; readonly range: TableRange }
  | { readonly kind: 'failedTransaction'; readonly puts: readonly Uint8Array[] };

// Short keys over a small alphabet: equal keys, prefixes, and bounds between keys (never empty: LMDB refuses those).
const tableKeyArb = fc.uint8Array({ minLength: 1, maxLength: 3, min: 0, max: 3 });
const tableRangeArb: fc.Arbitrary<TableRange> = fc
  .record({
    start: fc.option(tableKeyArb, { nil: undefined }),
    end: fc.option(tableKeyArb, { nil: undefined }),
    exclusiveStart: fc.boolean(),
    reverse: fc.boolean(),
    limit: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
  })
  .map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined && v !== false)) as TableRange)
  // As callers do (kv-env.ts): reverse ranges name their end, exclusive starts their start.
  .filter((r) => (!r.reverse || r.end !== undefined) && (!r.exclusiveStart || r.start !== undefined));
const tableStepArb: fc.Arbitrary<TableStep> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ key: tableKeyArb, value: fc.uint8Array({ maxLength: 2 }) }).map((s) => ({ kind: 'put', ...s }) as const) },
  { weight: 2, arbitrary: tableKeyArb.map((key) => ({ kind: 'remove', key }) as const) },
  { weight: 1, arbitrary: fc.constant({ kind: 'clear' } as const) },
  { weight: 4, arbitrary: tableRangeArb.map((range) => ({ kind: 'range', range }) as const) },
  { weight: 1, arbitrary: fc.array(tableKeyArb, { maxLength: 3 }).map((puts) => ({ kind: 'failedTransaction', puts }) as const) },
);

/** One table's answer to a step, comparable between environments. */
function runTableStep(env: KvEnv, step: TableStep): unknown {
  const table = env.leaseKeys;
  switch (step.kind) {
    case 'put':
      table.putSync(step.key, step.value);
      return table.get(step.key)?.toString('hex');
    case 'remove':
      return table.removeSync(step.key);
    case 'clear':
      table.clearSync();
      return undefined;
    case 'range':
      return [...table.getRange(step.range)].map(({ key, value }) => [key.toString('hex'), value.toString('hex')]);
    case 'failedTransaction':
      return outcomeOf(() =>
        env.transactionSync(() => {
          for (const key of step.puts) table.putSync(key, Uint8Array.of(9));
          table.clearSync();
          throw new Error('the action failed');
        }),
      );
  }
}

test('a memory table answers gets, counts and ranges (forward, reverse, exclusive, limited) as an LMDB table does', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(tableStepArb, { minLength: 1, maxLength: 40 }), async (steps) => {
      const path = makeTempDir();
      const lmdb = openLmdbEnv({ path, sync: 'none' });
      const memory = openMemoryEnv();
      try {
        for (const [n, step] of steps.entries()) {
          assert.deepEqual(runTableStep(memory, step), runTableStep(lmdb, step), `step ${n} (${step.kind})`);
          assert.equal(memory.leaseKeys.getCount(), lmdb.leaseKeys.getCount(), `count after step ${n}`);
        }
      } finally {
        await lmdb.close();
        await memory.close();
        removeDir(path);
      }
    }),
    { numRuns: 100 },
  );
});

test('a memory disk keeps what each kind of crash leaves, and refuses the lost environment', async () => {
  const disk = new MemoryDisk();
  const put = (env: KvEnv, key: string): void => env.transactionSync(() => env.meta.putSync(Buffer.from(key), Uint8Array.of(1)));
  const keys = (env: KvEnv): string[] => [...env.meta.getRange()].map(({ key }) => key.toString());
  let env = disk.open();
  put(env, 'synced');
  await env.sync();
  put(env, 'unsynced');
  assert.throws(() => disk.open(), /already open/);
  assert.throws(() => env.meta.putSync(new Uint8Array(0), Uint8Array.of(1)), /zero-length key/, 'as LMDB, no empty keys');
  disk.crash('power');
  assert.throws(() => env.meta.get(Buffer.from('synced')), /lost in a crash/);
  env = disk.open();
  assert.deepEqual(keys(env), ['synced'], 'a power loss keeps what was synced');
  put(env, 'committed');
  disk.crash('process');
  env = disk.open();
  assert.deepEqual(keys(env), ['committed', 'synced'], 'a process crash keeps every commit');
  assert.equal(env.discardedOnOpen, false);
  disk.crash('torn');
  env = disk.open();
  assert.deepEqual(keys(env), [], 'a torn deferred-sync file is discarded');
  assert.equal(env.discardedOnOpen, true);
  put(env, 'after');
  await env.close();
  assert.throws(() => env.meta.getCount(), /closed/);
  disk.crash('torn');
  env = disk.open();
  assert.deepEqual(keys(env), ['after'], 'a clean close synced everything; a crash with nothing open loses nothing');
  assert.equal(env.discardedOnOpen, false);
  await env.close();
});

test("a memory environment's file grows to the most ever in use and shrinks only when defragmented", async () => {
  const env = openMemoryEnv();
  assert.deepEqual(env.sizes(), { dbSize: 0, dbSizeInUse: 0 });
  env.transactionSync(() => {
    for (let i = 0; i < 10; i++) env.history.putSync(Uint8Array.of(i), new Uint8Array(99));
  });
  assert.deepEqual(env.sizes(), { dbSize: 1000, dbSizeInUse: 1000 });
  env.transactionSync(() => {
    for (let i = 0; i < 5; i++) env.history.removeSync(Uint8Array.of(i));
  });
  assert.deepEqual(env.sizes(), { dbSize: 1000, dbSizeInUse: 500 });
  assert.equal(env.fileSize(), 1000);
  const copy = await env.copyCompacted();
  // Commits after the copy was taken are not in it.
  env.transactionSync(() => env.history.putSync(Uint8Array.of(42), new Uint8Array(99)));
  const reopened = await copy.swapIn();
  assert.deepEqual(reopened.sizes(), { dbSize: 500, dbSizeInUse: 500 });
  assert.equal(reopened.history.get(Uint8Array.of(42)), undefined);
  await reopened.close();
});

test('a table copies the key and value it is given to put, in a transaction and alone: the caller may reuse their buffers at once', async () => {
  const path = makeTempDir();
  const envs = [openLmdbEnv({ path, sync: 'none' }), openMemoryEnv()];
  try {
    for (const env of envs) {
      // The store writes every record under keys built in buffers it uses again (write-executor.ts).
      const key = Buffer.alloc(12);
      const value = Buffer.alloc(3000);
      const putAll = (): void => {
        for (const n of [1, 2, 3]) {
          key.fill(n);
          value.fill(0x60 + n);
          env.history.putSync(key, n === 3 ? value.subarray(0, 8) : value);
        }
        key.fill(9);
        value.fill(0);
      };
      env.transactionSync(putAll);
      const afterTransaction = [...env.history.getRange()].map(({ key, value }) => [key[0], value.length, value[0]]);
      assert.deepEqual(afterTransaction, [
        [1, 3000, 0x61],
        [2, 3000, 0x62],
        [3, 8, 0x63],
      ]);
      env.transactionSync(() => env.history.clearSync());
      putAll();
      assert.deepEqual(
        [...env.history.getRange()].map(({ key, value }) => [key[0], value.length, value[0]]),
        afterTransaction,
      );
    }
  } finally {
    for (const env of envs) await env.close();
    removeDir(path);
  }
});
