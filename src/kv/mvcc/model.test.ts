/**
 * Model-based test: random sequences of puts, deletes, transactions (nested, with
 * compares), ranges (with every option, at past revisions), compactions and lease grants,
 * keep-alives, revokes and expiries (current or stale) run against
 * the naive ReferenceModel and against two stores:
 *   A applies each command alone (one LMDB transaction each);
 *   B gets the same commands encoded as Raft entries, applied in random batches, with a
 *     tiny compaction step so compactions run across many entries.
 * Alarms are raised and cleared among them (NOSPACE refuses puts while active).
 * Every result, every event and every read must agree, and at the end the whole state at
 * every readable revision, and HashKV at every hashable revision (B's physical
 * compaction lags A's, and the hash must not see the difference). At every read and at
 * the end, each store's latest index matches its history.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodeCommand } from '../codec/command.js';
import type { MvccStore } from './mvcc-store.js';
import { ReferenceModel } from '../testing/reference-model.js';
import { openTempStore } from '../testing/temp-store.js';
import type { CommandBody, CommandResult, KvEvent, RangeRequest } from '../types.js';
import { alarmArb, deleteArb, leaseBodyArb, leaseIdArb, putArb, rangeRequestArb, txnArb, u8 } from '../testing/arbitraries.js';
import type { KvResult } from '../errors.js';
import type { Entry } from '../../raft/types.js';

type Step =
  | { readonly kind: 'write'; readonly body: CommandBody }
  | { readonly kind: 'compact'; readonly back: number }
  | { readonly kind: 'expire'; readonly id: number; readonly stale: boolean }
  | { readonly kind: 'read'; readonly request: RangeRequest; readonly back: number };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: putArb.map((body) => ({ kind: 'write', body: body as CommandBody }) as const) },
  { weight: 2, arbitrary: deleteArb.map((body) => ({ kind: 'write', body: body as CommandBody }) as const) },
  { weight: 3, arbitrary: txnArb.map((body) => ({ kind: 'write', body: body as CommandBody }) as const) },
  { weight: 1, arbitrary: fc.integer({ min: -1, max: 6 }).map((back) => ({ kind: 'compact', back }) as const) },
  { weight: 3, arbitrary: leaseBodyArb.map((body) => ({ kind: 'write', body }) as const) },
  { weight: 1, arbitrary: fc.record({ id: leaseIdArb, stale: fc.boolean() }).map(({ id, stale }) => ({ kind: 'expire', id, stale }) as const) },
  { weight: 1, arbitrary: alarmArb.map((body) => ({ kind: 'write', body }) as const) },
  { weight: 4, arbitrary: fc.tuple(rangeRequestArb, fc.integer({ min: -1, max: 8 })).map(([request, back]) => ({ kind: 'read', request, back }) as const) },
);

/** Results compare by error code only: the model does not spell messages. */
function normalize(result: CommandResult | KvResult<unknown>): unknown {
  if (!result.ok) return { ok: false, code: result.error.code };
  return result;
}

function readAll(store: MvccStore | ReferenceModel, revision: number): unknown {
  return normalize(store.range({ type: 'range', key: u8(0), rangeEnd: u8(0), revision }));
}

function compareLeases(store: MvccStore, model: ReferenceModel, which: string): void {
  assert.deepEqual(store.leases(), model.leases(), `leases on ${which}`);
  for (const lease of model.leases()) {
    assert.deepEqual(store.leaseInfo(lease.id), { lease, keys: model.keysOfLease(lease.id) }, `lease ${lease.id} and its keys on ${which}`);
  }
}

function compareEverything(a: MvccStore, b: MvccStore, model: ReferenceModel): void {
  compareLeases(a, model, 'A');
  compareLeases(b, model, 'B');
  assert.equal(a.currentRevision(), model.revision);
  assert.equal(b.currentRevision(), model.revision);
  assert.equal(a.compactedRevision(), model.compacted);
  for (let revision = Math.max(1, model.compacted); revision <= model.revision; revision++) {
    const expected = readAll(model, revision);
    assert.deepEqual(readAll(a, revision), expected, `state at revision ${revision} (A)`);
    assert.deepEqual(readAll(b, revision), expected, `state at revision ${revision} (B)`);
    assert.deepEqual(a.hashKv(revision), b.hashKv(revision), `hashKv at revision ${revision}`);
  }
  assert.deepEqual(a.alarms(), b.alarms(), 'alarms');
}

async function runScenario(steps: readonly Step[], batchBreaks: readonly boolean[]): Promise<void> {
  const model = new ReferenceModel();
  const a = openTempStore();
  const b = openTempStore({ compactionStepRecordsMax: 2 });
  try {
    let index = 0;
    let pending: { entry: Entry; expected: { result: unknown; events: readonly KvEvent[] } }[] = [];
    const flushB = (): void => {
      if (pending.length === 0) return;
      const outcomes = b.store.applyEntries(pending.map((p) => p.entry));
      for (const [i, outcome] of outcomes.entries()) {
        assert.ok(outcome.status === 'applied', `B entry ${outcome.index} ${outcome.status}`);
        assert.deepEqual({ result: normalize(outcome.result), events: outcome.events }, pending[i]?.expected, `B entry ${outcome.index}`);
      }
      pending = [];
    };
    const write = (body: CommandBody): void => {
      index++;
      const expected = model.apply(body);
      const outcome = a.store.apply(index, { body });
      assert.ok(outcome.status === 'applied');
      const want = { result: normalize(expected.result), events: expected.events };
      assert.deepEqual({ result: normalize(outcome.result), events: outcome.events }, want, `A entry ${index}: ${body.type}`);
      pending.push({ entry: { term: 1, index, kind: 'normal', data: encodeCommand({ body }) }, expected: want });
      if (batchBreaks[index % batchBreaks.length]) flushB();
    };
    for (const step of steps) {
      switch (step.kind) {
        case 'write':
          write(step.body);
          break;
        case 'compact':
          write({ type: 'compact', revision: Math.max(0, model.revision - step.back) });
          break;
        case 'expire': {
          // The leader's expiry: conditional on the renewal it saw (stale: one a keep-alive replaced).
          const renewed = model.leases().find((lease) => lease.id === step.id)?.renewedIndex ?? 1;
          write({ type: 'leaseRevoke', id: step.id, onlyIfRenewedAt: step.stale ? renewed + 1 : renewed });
          break;
        }
        case 'read': {
          flushB();
          const revision = Math.max(0, model.revision - step.back);
          const request = { ...step.request, ...(revision ? { revision } : {}) };
          const expected = normalize(model.range(request));
          assert.deepEqual(normalize(a.store.range(request)), expected, 'read on A');
          assert.deepEqual(normalize(b.store.range(request)), expected, 'read on B');
          compareLeases(a.store, model, 'A');
          compareLeases(b.store, model, 'B');
          assert.equal(a.store.latestIndexProblem(), undefined, 'latest index of A');
          assert.equal(b.store.latestIndexProblem(), undefined, 'latest index of B');
          break;
        }
      }
    }
    flushB();
    compareEverything(a.store, b.store, model);
    // Physical compaction: once finished, exactly the model's versions remain.
    const hashesBefore = a.store.hashKv(0);
    while (b.store.stats().compactionPending) {
      write({ type: 'noop' });
      flushB();
    }
    assert.deepEqual(b.store.hashKv(0), hashesBefore, 'hashKv once physical compaction has finished');
    assert.equal(a.store.latestIndexProblem(), undefined, 'latest index of A at the end');
    assert.equal(b.store.latestIndexProblem(), undefined, 'latest index of B once physical compaction has finished');
    assert.equal(a.store.stats().compactionPending, false);
    assert.equal(a.store.stats().historyRecords, model.versionCount(), 'history records kept by A');
    assert.equal(b.store.stats().historyRecords, model.versionCount(), 'history records kept by B');
    assert.equal(a.store.stats().byRevisionRecords, model.versionCount(), 'by-revision records kept by A');
  } finally {
    await a.cleanup();
    await b.cleanup();
  }
}

test('model: random puts, deletes, txns, ranges, historical reads, compactions and leases agree with the reference model', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 80, size: 'max' }), fc.array(fc.boolean(), { minLength: 1, maxLength: 7 }), runScenario),
    // KEEL_KV_MODEL_RUNS raises the count for a longer hunt; the default keeps the suite quick.
    { numRuns: Number(process.env['KEEL_KV_MODEL_RUNS'] ?? 150) },
  );
});
