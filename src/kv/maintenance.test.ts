/**
 * The store's maintenance operations: alarms and the writes NOSPACE refuses, HashKV,
 * defragmentation, and a snapshot rewritten to seed a new cluster.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MvccStore, type ApplyItem, type DefragmentResult } from './mvcc/mvcc-store.js';
import { heldEntriesMax } from './mvcc/copy-catch-up.js';
import { openMemoryEnv } from './env/memory-env.js';
import { snapshotForNewCluster } from './new-cluster-snapshot.js';
import { bytes, makeTempDir, removeDir, text, withTempStore } from './testing/temp-store.js';
import type { Command, CommandBody, CommandResult, DeleteRangeRequest, PutRequest } from './types.js';

const put = (key: string, value: string): PutRequest => ({ type: 'put', key: bytes(key), value: bytes(value) });
const del = (key: string): DeleteRangeRequest => ({ type: 'deleteRange', key: bytes(key) });
const noSpace: CommandBody = { type: 'alarm', action: 'activate', alarm: 'NOSPACE', memberId: 2 };
const disarm: CommandBody = { type: 'alarm', action: 'deactivate', alarm: 'NOSPACE', memberId: 2 };

/** Applies commands at the next index; `log`, if given, records them (a Raft log's stand-in). */
function applier(store: MvccStore, log?: ApplyItem[]): (body: CommandBody, session?: Command['session']) => CommandResult {
  return (body, session) => {
    const item: ApplyItem = { index: store.appliedIndex() + 1, command: { body, ...(session ? { session } : {}) } };
    log?.push(item);
    const outcome = store.apply(item.index, item.command);
    assert.ok(outcome.status === 'applied', `entry ${outcome.index} was ${outcome.status}`);
    return outcome.result;
  };
}

const code = (result: CommandResult): string => (result.ok ? 'ok' : result.error.code);
const value = (store: MvccStore, key: string): string | undefined => {
  const read = store.range({ type: 'range', key: bytes(key) });
  assert.ok(read.ok);
  const kv = read.value.kvs[0];
  return kv ? text(kv.value) : undefined;
};

test('NOSPACE refuses every write that adds data, allows deletes, compaction and reads, until disarmed', async () => {
  await withTempStore((store) => {
    const apply = applier(store);
    apply(put('a', '1'));
    apply(put('b', '1'));
    const raised = apply(noSpace);
    assert.deepEqual(raised, { ok: true, revision: 3, response: { type: 'alarm', alarms: [{ memberId: 2, alarm: 'NOSPACE' }] } });
    assert.deepEqual(store.alarms(), [{ memberId: 2, alarm: 'NOSPACE' }]);

    const refused = apply(put('a', '2'));
    assert.deepEqual(refused, { ok: false, error: { code: 'NO_SPACE', message: 'etcdserver: mvcc: database space exceeded' } });
    const txnWithPutInFailure: CommandBody = { type: 'txn', compare: [], success: [del('b')], failure: [put('c', '1')] };
    assert.equal(code(apply(txnWithPutInFailure)), 'NO_SPACE', 'a put in either branch counts, as in etcd');
    assert.equal(value(store, 'a'), '1');
    assert.equal(value(store, 'b'), '1');
    assert.equal(store.currentRevision(), 3);

    assert.equal(code(apply(del('a'))), 'ok');
    assert.equal(code(apply({ type: 'txn', compare: [], success: [del('b')], failure: [] })), 'ok');
    assert.equal(code(apply({ type: 'compact', revision: 4 })), 'ok');
    assert.equal(store.currentRevision(), 5);

    const cleared = apply(disarm);
    assert.deepEqual(cleared.ok && cleared.response, { type: 'alarm', alarms: [{ memberId: 2, alarm: 'NOSPACE' }] });
    assert.deepEqual(store.alarms(), []);
    const again = apply(disarm);
    assert.deepEqual(again.ok && again.response, { type: 'alarm', alarms: [] }, 'clearing an alarm that is not active changes nothing');
    assert.equal(code(apply(put('a', '3'))), 'ok');
    assert.equal(value(store, 'a'), '3');
  });
});

test('a CORRUPT alarm does not refuse writes; alarms list by member then type', async () => {
  await withTempStore((store) => {
    const apply = applier(store);
    apply({ type: 'alarm', action: 'activate', alarm: 'CORRUPT', memberId: 3 });
    apply({ type: 'alarm', action: 'activate', alarm: 'NOSPACE', memberId: 3 });
    apply({ type: 'alarm', action: 'activate', alarm: 'CORRUPT', memberId: 1 });
    apply({ type: 'alarm', action: 'activate', alarm: 'CORRUPT', memberId: 1 });
    assert.deepEqual(store.alarms(), [
      { memberId: 1, alarm: 'CORRUPT' },
      { memberId: 3, alarm: 'CORRUPT' },
      { memberId: 3, alarm: 'NOSPACE' },
    ]);
    apply({ type: 'alarm', action: 'deactivate', alarm: 'NOSPACE', memberId: 3 });
    assert.equal(code(apply(put('k', 'v'))), 'ok');
  });
});

test('alarms survive a reopen and travel in snapshots', async () => {
  const dir = makeTempDir();
  const copyDir = makeTempDir();
  try {
    const store = MvccStore.open({ path: dir, sync: 'none' });
    applier(store)(noSpace);
    const snapshot = store.snapshot();
    await store.close();
    const reopened = MvccStore.open({ path: dir, sync: 'none' });
    assert.deepEqual(reopened.alarms(), [{ memberId: 2, alarm: 'NOSPACE' }]);
    assert.equal(code(applier(reopened)(put('a', '1'))), 'NO_SPACE');
    await reopened.close();
    const copy = MvccStore.open({ path: copyDir, sync: 'none' });
    copy.restore(snapshot.index, snapshot.data);
    assert.deepEqual(copy.alarms(), [{ memberId: 2, alarm: 'NOSPACE' }]);
    await copy.close();
  } finally {
    removeDir(dir);
    removeDir(copyDir);
  }
});

test('HashKV: a revision keeps its hash as later writes come; any change of content changes it', async () => {
  await withTempStore(async (store) => {
    await withTempStore((other) => {
      const apply = applier(store);
      const applyOther = applier(other);
      for (let i = 0; i < 20; i++) {
        apply(put(`k${i % 7}`, `v${i}`));
        applyOther(put(`k${i % 7}`, `v${i}`));
      }
      const at21 = store.hashKv(0);
      assert.ok(at21.ok);
      assert.deepEqual(at21.value.revision, 21);
      assert.deepEqual(other.hashKv(21), at21, 'same commands, same hash');

      apply(put('k1', 'changed'));
      applyOther(put('k1', 'different'));
      assert.deepEqual(store.hashKv(21), at21, 'a later write leaves the hash of an earlier revision');
      const a = store.hashKv(22);
      const b = other.hashKv(22);
      assert.ok(a.ok && b.ok);
      assert.notEqual(a.value.hash, b.value.hash, 'one value differs, the hashes differ');

      apply({ type: 'compact', revision: 15 });
      const compacted = store.hashKv(0);
      assert.ok(compacted.ok);
      assert.equal(compacted.value.compactRevision, 15);
      assert.notEqual(compacted.value.hash, a.value.hash, 'history dropped by compaction is no longer covered');
      const tooOld = store.hashKv(14);
      assert.ok(!tooOld.ok && tooOld.error.code === 'COMPACTED');
      const future = store.hashKv(23);
      assert.ok(!future.ok && future.error.code === 'FUTURE_REV');
    });
  });
});

test('defragment gives the free pages back to the file system and keeps every record', async () => {
  await withTempStore(async (store) => {
    const apply = applier(store);
    const big = 'x'.repeat(2000);
    for (let i = 0; i < 400; i++) apply(put(`key/${i}`, big));
    for (let i = 0; i < 400; i += 2) apply(del(`key/${i}`));
    apply({ type: 'compact', revision: store.currentRevision() });
    while (store.stats().compactionPending) apply({ type: 'noop' });
    const before = store.sizes();
    const hashBefore = store.hashKv(0);
    const answers = {
      revision: store.currentRevision(),
      applied: store.appliedIndex(),
      all: store.range({ type: 'range', key: bytes('key/'), rangeEnd: bytes('key0') }),
    };

    const { beforeBytes, afterBytes } = await store.defragment();
    assert.equal(beforeBytes, before.dbSize);
    assert.ok(afterBytes < beforeBytes / 2, `the file shrank from ${beforeBytes} to ${afterBytes} bytes`);
    assert.ok(afterBytes >= store.sizes().dbSizeInUse, 'what is in use fits in the file');
    assert.deepEqual(
      { revision: store.currentRevision(), applied: store.appliedIndex(), all: store.range({ type: 'range', key: bytes('key/'), rangeEnd: bytes('key0') }) },
      answers,
    );
    assert.deepEqual(store.hashKv(0), hashBefore);
    assert.equal(code(apply(put('after', 'defrag'))), 'ok');
    assert.equal(value(store, 'after'), 'defrag');
  });
});

interface DefragmentScene {
  readonly open: () => MvccStore;
  readonly fill: (apply: ReturnType<typeof applier>, store: MvccStore) => void;
  /** Applied while the copy is written. */
  readonly during: (apply: ReturnType<typeof applier>) => void;
  /** Whether the log still holds what the copy lacks (a snapshot may have compacted it). */
  readonly logHoldsThem?: boolean;
  /** Applied each time the copy asks the log for entries (the n-th time: call n), as writes go on while it catches up. */
  readonly whileCatchingUp?: (call: number, apply: ReturnType<typeof applier>) => void;
}

/** A store written as `fill` says, then defragmented while more is applied; its state is compared with the same writes on a store left alone. */
async function defragmentWhileApplying(scene: DefragmentScene): Promise<{
  defragmented: MvccStore;
  control: MvccStore;
  heldApplies: number;
  redoAsked: number;
  result: DefragmentResult;
}> {
  const { open, fill, during, logHoldsThem = true, whileCatchingUp } = scene;
  const defragmented = open();
  const control = open();
  const log: ApplyItem[] = [];
  fill(applier(defragmented, log), defragmented);
  fill(applier(control), control);
  let heldApplies = 0;
  let redoAsked = 0;
  const run = defragmented.defragment({
    hold: async (swap) => {
      heldApplies = defragmented.appliedIndex();
      return swap();
    },
    redo: (after, through) => {
      redoAsked++;
      const items = log.filter((item) => item.index > after && item.index <= through);
      whileCatchingUp?.(redoAsked, applier(defragmented, log));
      whileCatchingUp?.(redoAsked, applier(control));
      return logHoldsThem ? items : undefined;
    },
  });
  // The copy is being written: the store goes on applying.
  during(applier(defragmented, log));
  during(applier(control));
  const result = await run;
  return { defragmented, control, heldApplies, redoAsked, result };
}

const fillWithGarbage = (apply: ReturnType<typeof applier>, store: MvccStore): void => {
  for (let i = 0; i < 200; i++) apply(put(`key/${i}`, 'x'.repeat(1000)));
  for (let i = 0; i < 200; i += 2) apply(del(`key/${i}`));
  apply({ type: 'compact', revision: store.currentRevision() });
  while (store.stats().compactionPending) apply({ type: 'noop' });
};
const writeMore = (apply: ReturnType<typeof applier>): void => {
  for (let i = 0; i < 50; i++) apply(put(`late/${i}`, `v${i}`), { clientId: 'late-writer', seq: i + 1 });
  apply(del('key/1'));
  apply({ type: 'leaseGrant', id: 7, ttl: 60 });
};

test('entries applied while the copy is written are applied to it again: the defragmented store equals one left alone (in memory, where the copy is taken at the call)', async () => {
  const { defragmented, control, heldApplies } = await defragmentWhileApplying({
    open: () => MvccStore.openOn(openMemoryEnv()),
    fill: fillWithGarbage,
    during: writeMore,
  });
  assert.equal(heldApplies, control.appliedIndex(), 'the swap came after the applies made during the copy');
  assert.deepEqual(defragmented.hashKv(0), control.hashKv(0));
  assert.equal(defragmented.appliedIndex(), control.appliedIndex());
  assert.equal(defragmented.currentRevision(), control.currentRevision());
  assert.deepEqual(defragmented.leases(), control.leases());
  // The session table came through: a retry of the last write is a duplicate, not a second write.
  const retry = defragmented.apply(defragmented.appliedIndex() + 1, { body: put('late/49', 'v49'), session: { clientId: 'late-writer', seq: 50 } });
  assert.equal(retry.status, 'duplicate');
  assert.ok(defragmented.sizes().dbSize < control.sizes().dbSize, 'the file shrank');
});

test('on LMDB too, the writes made while the copy is written are all there after the swap', async () => {
  const dirs = [makeTempDir(), makeTempDir()];
  let opened = 0;
  const { defragmented, control } = await defragmentWhileApplying({
    open: () => MvccStore.open({ path: dirs[opened++] as string }),
    fill: fillWithGarbage,
    during: writeMore,
  });
  try {
    assert.deepEqual(defragmented.hashKv(0), control.hashKv(0));
    assert.equal(defragmented.currentRevision(), control.currentRevision());
    assert.deepEqual(defragmented.leases(), control.leases());
    assert.equal(defragmented.latestIndexProblem(), undefined, 'the copy carries the latest index, kept up through the catch-up');
  } finally {
    await defragmented.close();
    await control.close();
    for (const dir of dirs) removeDir(dir);
  }
});

test('however much is written during the copy, it is applied to the copy again from the log; a log that lost it means a second copy inside the hold, and nothing is lost', async () => {
  const huge = 'y'.repeat(1024 * 1024);
  const bigWrites = (apply: ReturnType<typeof applier>): void => {
    for (let i = 0; i < 80; i++) apply(put(`big/${i % 4}`, huge));
  };
  for (const logHoldsThem of [true, false]) {
    const { defragmented, control, redoAsked } = await defragmentWhileApplying({
      open: () => MvccStore.openOn(openMemoryEnv()),
      fill: fillWithGarbage,
      during: bigWrites,
      logHoldsThem,
    });
    assert.equal(redoAsked, 1);
    assert.deepEqual(defragmented.hashKv(0), control.hashKv(0), `log holds them: ${logHoldsThem}`);
    assert.equal(defragmented.currentRevision(), control.currentRevision());
    assert.equal(defragmented.appliedIndex(), control.appliedIndex());
  }
});

const putMany =
  (count: number, prefix: string) =>
  (apply: ReturnType<typeof applier>): void => {
    for (let i = 0; i < count; i++) apply(put(`${prefix}/${i % 50}`, `v${i}`));
  };

test('the copy catches up outside the hold, in rounds, while writes go on: the hold applies only the last entries (in memory and on LMDB)', async () => {
  const dirs = [makeTempDir(), makeTempDir()];
  let opened = 0;
  const opens = [() => MvccStore.openOn(openMemoryEnv()), () => MvccStore.open({ path: dirs[opened++] as string })];
  try {
    for (const open of opens) {
      const writes = [putMany(400, 'round1'), putMany(100, 'round2')];
      const { defragmented, control, redoAsked, result } = await defragmentWhileApplying({
        open,
        fill: fillWithGarbage,
        during: putMany(600, 'copy'),
        whileCatchingUp: (call, apply) => writes[call - 1]?.(apply),
      });
      // Round 1 applies the 600 written during the copy, round 2 the 400 written
      // during round 1; the 100 written during round 2 are few enough for the hold.
      assert.equal(redoAsked, 3);
      assert.deepEqual({ caughtUp: result.caughtUpEntries, held: result.heldEntries }, { caughtUp: 1000, held: 100 });
      assert.ok(result.heldEntries <= heldEntriesMax);
      assert.deepEqual(defragmented.hashKv(0), control.hashKv(0));
      assert.equal(defragmented.appliedIndex(), control.appliedIndex());
      assert.ok(result.afterBytes < result.beforeBytes, 'the file shrank');
      await defragmented.close();
      await control.close();
    }
  } finally {
    for (const dir of dirs) removeDir(dir);
  }
});

test('a store written faster than the copy catches up is still defragmented: after its last round the hold takes what is left', async () => {
  const { defragmented, control, redoAsked, result } = await defragmentWhileApplying({
    open: () => MvccStore.openOn(openMemoryEnv()),
    fill: fillWithGarbage,
    during: putMany(300, 'copy'),
    // Every round brings as many new entries as it applied.
    whileCatchingUp: (call, apply) => (call <= 8 ? putMany(300, `round${call}`)(apply) : undefined),
  });
  assert.equal(redoAsked, 9, 'eight rounds, then the hold');
  assert.deepEqual({ caughtUp: result.caughtUpEntries, held: result.heldEntries }, { caughtUp: 2400, held: 300 });
  assert.deepEqual(defragmented.hashKv(0), control.hashKv(0));
});

test('a log that loses the entries while the copy catches up (a snapshot replaced it) means a second copy inside the hold, and nothing is lost', async () => {
  const defragmented = MvccStore.openOn(openMemoryEnv());
  const control = MvccStore.openOn(openMemoryEnv());
  const log: ApplyItem[] = [];
  fillWithGarbage(applier(defragmented, log), defragmented);
  fillWithGarbage(applier(control), control);
  let asked = 0;
  const run = defragmented.defragment({
    redo: (after, through) => {
      asked++;
      const items = log.filter((item) => item.index > after && item.index <= through);
      // The first answer ends short; then the log holds nothing from there.
      return asked === 1 ? items.slice(0, items.length / 2) : undefined;
    },
  });
  putMany(600, 'copy')(applier(defragmented, log));
  putMany(600, 'copy')(applier(control));
  const result = await run;
  assert.equal(asked, 2, 'the round that ended short is the last; the hold asks once more');
  assert.equal(result.caughtUpEntries, 300);
  assert.equal(result.heldEntries, 0, 'the second copy, taken inside the hold, needs nothing applied again');
  assert.deepEqual(defragmented.hashKv(0), control.hashKv(0));
  assert.equal(defragmented.appliedIndex(), control.appliedIndex());
});

test('a snapshot rewritten for a new cluster keeps the key space, takes the new index, and drops sessions and alarms', async () => {
  await withTempStore(async (store) => {
    const apply = applier(store);
    apply(put('a', '1'), { clientId: 'client', seq: 1 });
    apply(put('b', '2'));
    apply(noSpace);
    const taken = store.snapshot();
    assert.equal(taken.index, 3);
    const seeded = snapshotForNewCluster(taken.data, 1);
    await withTempStore((fresh) => {
      fresh.restore(1, seeded);
      assert.equal(fresh.appliedIndex(), 1);
      assert.equal(fresh.currentRevision(), store.currentRevision());
      assert.deepEqual(fresh.hashKv(0), store.hashKv(0));
      assert.deepEqual(fresh.alarms(), []);
      assert.equal(fresh.stats().sessions, 0);
      assert.equal(value(fresh, 'a'), '1');
      assert.equal(code(applier(fresh)(put('c', '3'))), 'ok');
    });
    const corrupt = Uint8Array.from(taken.data);
    corrupt[20] = (corrupt[20] as number) ^ 0xff;
    assert.throws(() => snapshotForNewCluster(corrupt, 1), /checksum mismatch/);
    assert.throws(() => snapshotForNewCluster(new Uint8Array(10), 1), /bad magic/);
  });
});
