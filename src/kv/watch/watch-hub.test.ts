/**
 * The watch hub against a model: whatever the interleaving of applies, watcher
 * creations (at any start revision), history catch-up steps, consumers taking (or not
 * taking, so that queues overflow), compactions and snapshot installs on a lagging
 * follower, every watcher receives exactly the events of its range from its start
 * revision on, in revision order, each once, one revision never split across
 * messages; or, if history it still needed was compacted, a prefix of them and then a
 * COMPACTED cancel naming a revision it may restart at.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { deleteArb, keyArb, rangeArb, txnArb, valueArb } from '../testing/arbitraries.js';
import { inRange } from '../mvcc/key-range.js';
import { openTempStore } from '../testing/temp-store.js';
import type { CommandBody, KeyValue, KvEvent } from '../types.js';
import { WatchHub } from './watch-hub.js';
import type { WatchMessage, WatchSpec, Watcher } from './watcher.js';
import type { ApplyItem } from '../mvcc/mvcc-store.js';

type Action =
  | { kind: 'write'; body: CommandBody }
  | { kind: 'compact'; back: number }
  | { kind: 'followerApply'; entries: number }
  | { kind: 'install' }
  | { kind: 'watch'; range: { key: Uint8Array; rangeEnd?: Uint8Array }; start: number; prevKv: boolean; noPut: boolean; noDelete: boolean }
  | { kind: 'step' }
  | { kind: 'take'; which: number };

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .oneof(
        { weight: 4, arbitrary: fc.record({ key: keyArb, value: valueArb }).map(({ key, value }): CommandBody => ({ type: 'put', key, value })) },
        { weight: 1, arbitrary: deleteArb.map((op) => op as CommandBody) },
        { weight: 1, arbitrary: txnArb.map((op) => op as CommandBody) },
      )
      .map((body) => ({ kind: 'write' as const, body })),
  },
  { weight: 1, arbitrary: fc.nat(8).map((back) => ({ kind: 'compact' as const, back })) },
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 4 }).map((entries) => ({ kind: 'followerApply' as const, entries })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'install' as const }) },
  {
    weight: 3,
    arbitrary: fc
      .record({ range: rangeArb, start: fc.integer({ min: -1, max: 30 }), prevKv: fc.boolean(), noPut: fc.boolean(), noDelete: fc.boolean() })
      .map((w) => ({ kind: 'watch' as const, ...w })),
  },
  { weight: 5, arbitrary: fc.constant({ kind: 'step' as const }) },
  { weight: 4, arbitrary: fc.nat(20).map((which) => ({ kind: 'take' as const, which })) },
);

interface Watched {
  readonly watcher: Watcher;
  readonly spec: WatchSpec;
  /** The first revision it must see. */
  readonly from: number;
  readonly received: WatchMessage[];
}

test('every watcher gets exactly its events after its start revision, in order, once, across catch-up, overflow, compaction and snapshot installs', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(actionArb, { minLength: 20, maxLength: 120, size: 'max' }), fc.constantFrom(200, 100_000), async (actions, queueBytesMax) => {
      const leader = openTempStore({ compactionStepRecordsMax: 3 });
      const follower = openTempStore({ compactionStepRecordsMax: 3 });
      try {
        const tasks: (() => void)[] = [];
        const hub = new WatchHub({
          source: follower.store,
          schedule: (task) => tasks.push(task),
          limits: { watcherQueueBytesMax: queueBytesMax, catchUpRecordsPerStep: 2 },
        });
        const log: KvEvent[] = [];
        const entries: ApplyItem[] = [];
        const watched: Watched[] = [];
        const applyOnFollower = (count: number): void => {
          const next = entries.filter((e) => e.index > follower.store.appliedIndex()).slice(0, count);
          if (next.length === 0) return;
          // As the replica applies: previous values only while a watcher asks for them.
          const outcomes = follower.store.applyBatch(next, { prevValues: hub.wantsPrevValues() });
          hub.publish(
            outcomes.flatMap((o) => (o.status === 'skipped' ? [] : o.events)),
            follower.store.currentRevision(),
          );
        };
        const takeFrom = (w: Watched): void => {
          w.received.push(...w.watcher.take());
          hub.taken(w.watcher);
        };
        const leaderApply = (body: CommandBody): void => {
          const item: ApplyItem = { index: entries.length + 1, command: { body } };
          entries.push(item);
          const [outcome] = leader.store.applyBatch([item]);
          if (outcome && outcome.status !== 'skipped') log.push(...outcome.events);
        };

        for (const action of actions) {
          switch (action.kind) {
            case 'write':
              leaderApply(action.body);
              break;
            case 'compact': {
              const target = leader.store.currentRevision() - action.back;
              if (target > leader.store.compactedRevision()) leaderApply({ type: 'compact', revision: target });
              break;
            }
            case 'followerApply':
              applyOnFollower(action.entries);
              break;
            case 'install':
              if (leader.store.appliedIndex() > follower.store.appliedIndex()) {
                const snapshot = leader.store.snapshot();
                follower.store.restore(snapshot.index, snapshot.data);
                hub.restored();
              }
              break;
            case 'watch': {
              const current = follower.store.currentRevision();
              const startRevision = Math.max(action.start, 0);
              const spec: WatchSpec = {
                ...action.range,
                startRevision,
                prevKv: action.prevKv,
                noPut: action.noPut,
                noDelete: action.noDelete,
                progressNotify: false,
              };
              const created = hub.create(spec, { readable: () => {} });
              assert.ok(created.ok, created.ok ? '' : created.error.message);
              watched.push({ watcher: created.value, spec, from: startRevision === 0 ? current + 1 : startRevision, received: [] });
              break;
            }
            case 'step':
              tasks.shift()?.();
              break;
            case 'take': {
              const w = watched[action.which % Math.max(1, watched.length)];
              if (w) takeFrom(w);
              break;
            }
          }
        }
        // Let everything finish: the follower applies the rest, consumers take all.
        applyOnFollower(entries.length);
        for (let rounds = 0; tasks.length > 0 || watched.some((w) => w.watcher.queuedMessages > 0); rounds++) {
          assert.ok(rounds < 10_000, 'the hub did not settle');
          while (tasks.length > 0) tasks.shift()?.();
          for (const w of watched) takeFrom(w);
        }
        for (const w of watched) checkWatcher(w, log, follower.store.currentRevision());
      } finally {
        await leader.cleanup();
        await follower.cleanup();
      }
    }),
    { numRuns: 120 },
  );
});

function checkWatcher(w: Watched, log: readonly KvEvent[], currentRevision: number): void {
  const expected = log.filter(
    (e) => e.kv.modRevision >= w.from && inRange(e.kv.key, w.spec.key, w.spec.rangeEnd) && !(e.type === 'put' ? w.spec.noPut : w.spec.noDelete),
  );
  const got: KvEvent[] = [];
  let lastRevision = 0;
  let canceled: Extract<WatchMessage, { kind: 'canceled' }> | undefined;
  for (const message of w.received) {
    assert.equal(canceled, undefined, 'a message after the cancel');
    assert.ok(message.revision >= lastRevision, 'message revisions go down');
    if (message.kind === 'events') {
      assert.ok(message.events.length > 0, 'an empty events message');
      const first = message.events[0] as KvEvent;
      // One revision is never split: the first revision of a message is above the last of the one before.
      assert.ok(first.kv.modRevision > lastRevision, `revision ${first.kv.modRevision} split or repeated across messages`);
      for (const e of message.events) assert.ok(e.kv.modRevision <= message.revision, 'an event above its message revision');
      got.push(...message.events);
    }
    if (message.kind === 'canceled') canceled = message;
    lastRevision = message.revision;
  }
  const describe = (events: readonly KvEvent[]): string[] => events.map((e) => describeEvent(e, w.spec.prevKv));
  if (canceled) {
    assert.equal(canceled.code, 'COMPACTED');
    assert.deepEqual(describe(got), describe(expected.slice(0, got.length)), 'events before a compaction cancel are not a prefix of the log');
    const nextNeeded = Math.max(w.from, (got[got.length - 1]?.kv.modRevision ?? 0) + 1);
    assert.ok((canceled.compactRevision as number) > nextNeeded, 'canceled although its next revision was not compacted');
  } else {
    assert.deepEqual(describe(got), describe(expected));
    assert.ok(lastRevision <= currentRevision);
  }
}

function describeEvent(e: KvEvent, withPrev: boolean): string {
  const kv = (k: KeyValue): string =>
    `${Buffer.from(k.key).toString('hex')}@${k.modRevision}/${k.createRevision}/${k.version}/${k.lease}=${Buffer.from(k.value).toString('hex')}`;
  return `${e.type} ${kv(e.kv)}${withPrev && e.prevKv ? ` prev ${kv(e.prevKv)}` : ''}`;
}

test('wantsPrevValues: while a watcher that asked for prevKv is not canceled, however it ends', async () => {
  const { store, cleanup } = openTempStore();
  try {
    const hub = new WatchHub({ source: store, schedule: (task) => task() });
    const spec = (prevKv: boolean, startRevision = 0): WatchSpec => ({
      key: new Uint8Array([0x61]),
      startRevision,
      prevKv,
      noPut: false,
      noDelete: false,
      progressNotify: false,
    });
    const create = (s: WatchSpec): Watcher => {
      const created = hub.create(s, { readable: () => {} });
      assert.ok(created.ok);
      return created.value;
    };
    assert.equal(hub.wantsPrevValues(), false);
    const plain = create(spec(false));
    assert.equal(hub.wantsPrevValues(), false);
    const first = create(spec(true));
    const second = create(spec(true));
    assert.equal(hub.wantsPrevValues(), true);
    hub.cancel(first);
    hub.cancel(first);
    assert.equal(hub.wantsPrevValues(), true, 'a second cancel of one watcher counted twice');
    hub.cancel(second);
    assert.equal(hub.wantsPrevValues(), false);
    hub.cancel(plain);

    // One canceled by the hub itself: its start revision is compacted.
    for (let index = 1; index <= 3; index++) store.apply(index, { body: { type: 'put', key: new Uint8Array([0x61]), value: new Uint8Array([index]) } });
    store.apply(4, { body: { type: 'compact', revision: 3 } });
    create(spec(true, 2));
    assert.equal(hub.wantsPrevValues(), false, 'a watcher canceled as compacted still counted');
    create(spec(true));
    hub.closeAll('STOPPING', 'stopping');
    assert.equal(hub.wantsPrevValues(), false);
  } finally {
    await cleanup();
  }
});
