import { test } from 'node:test';
import assert from 'node:assert/strict';
import { prefixEnd } from './key-range.js';
import type { ApplyOutcome, MvccStore } from './mvcc-store.js';
import { bytes, text, withTempStore } from '../testing/temp-store.js';
import type { CommandBody, CommandResult, KeyValue, RangeRequest, ReadResponse } from '../types.js';
import { KEY_BYTES_PHYSICAL_MAX } from '../codec/key-encoding.js';

const ALL = new Uint8Array([0]);

/** Applies bodies at the next indexes; returns the results. */
function applier(store: MvccStore): (body: CommandBody) => CommandResult & { outcome: ApplyOutcome } {
  return (body) => {
    const outcome = store.apply(store.appliedIndex() + 1, { body });
    assert.ok(outcome.status === 'applied');
    return { ...outcome.result, outcome };
  };
}

function read(store: MvccStore, request: Omit<RangeRequest, 'type'>): ReadResponse {
  const result = store.range({ type: 'range', ...request });
  assert.ok(result.ok, result.ok ? '' : result.error.message);
  return result.value;
}

const summary = (kvs: readonly KeyValue[]): string[] =>
  kvs.map((kv) => `${text(kv.key)}=${text(kv.value)}@${kv.createRevision}/${kv.modRevision}/v${kv.version}`);
const put = (key: string, value: string, extra: object = {}): CommandBody => ({ type: 'put', key: bytes(key), value: bytes(value), ...extra });

test('etcd revisions: a new store is at revision 1; each put moves it by one; versions count puts since creation', async () => {
  await withTempStore((store) => {
    const apply = applier(store);
    assert.equal(store.currentRevision(), 1);
    assert.equal(store.appliedIndex(), 0);
    const first = apply(put('a', '1'));
    assert.ok(first.ok && first.revision === 2);
    assert.equal(store.appliedIndex(), 1);
    apply(put('a', '2'));
    apply(put('b', 'x'));
    assert.equal(store.currentRevision(), 4);
    assert.deepEqual(summary(read(store, { key: bytes('a'), rangeEnd: ALL }).kvs), ['a=2@2/3/v2', 'b=x@4/4/v1']);
    // A delete leaves a tombstone; a new put starts a new life: version 1, new create revision.
    const deleted = apply({ type: 'deleteRange', key: bytes('a'), prevKv: true });
    assert.ok(deleted.ok && deleted.response.type === 'deleteRange');
    assert.equal(deleted.response.deleted, 1);
    assert.deepEqual(summary(deleted.response.prevKvs), ['a=2@2/3/v2']);
    assert.equal(read(store, { key: bytes('a') }).count, 0);
    apply(put('a', '3'));
    assert.deepEqual(summary(read(store, { key: bytes('a') }).kvs), ['a=3@6/6/v1']);
    // History: every past state is readable at its revision.
    assert.deepEqual(summary(read(store, { key: bytes('a'), revision: 2 }).kvs), ['a=1@2/2/v1']);
    assert.deepEqual(summary(read(store, { key: bytes('a'), revision: 3 }).kvs), ['a=2@2/3/v2']);
    assert.deepEqual(summary(read(store, { key: bytes('a'), revision: 5 }).kvs), []);
    assert.deepEqual(summary(read(store, { key: bytes('a'), revision: 1 }).kvs), []);
    // A historical read reports the current revision in its header, as etcd does.
    assert.equal(read(store, { key: bytes('a'), revision: 2 }).revision, 6);
    const future = store.range({ type: 'range', key: bytes('a'), revision: 7 });
    assert.ok(!future.ok && future.error.code === 'FUTURE_REV');
    assert.match(future.error.message, /revision 7 is in the future; the current revision is 6/);
  });
});

test('a deleteRange that deletes nothing and a txn of reads leave the revision as it is', async () => {
  await withTempStore((store) => {
    const apply = applier(store);
    apply(put('a', '1'));
    const nothing = apply({ type: 'deleteRange', key: bytes('x'), rangeEnd: bytes('z') });
    assert.ok(nothing.ok && nothing.revision === 2 && nothing.response.type === 'deleteRange' && nothing.response.deleted === 0);
    const reads = apply({ type: 'txn', compare: [], success: [{ type: 'range', key: bytes('a') }], failure: [] });
    assert.ok(reads.ok && reads.revision === 2);
    assert.equal(store.currentRevision(), 2);
  });
});

test('range semantics: single key, prefix, from-key, all keys, limit/more/count, keysOnly, countOnly, sort, filters', async () => {
  await withTempStore((store) => {
    const apply = applier(store);
    for (const [k, v] of [
      ['foo', '1'],
      ['foo/a', '22'],
      ['foo/b', '3'],
      ['fop', '4'],
      ['g', '0'],
    ] as const)
      apply(put(k, v));
    apply(put('foo/a', '2')); // foo/a: version 2, mod 7
    assert.deepEqual(summary(read(store, { key: bytes('foo') }).kvs), ['foo=1@2/2/v1']);
    const prefix = read(store, { key: bytes('foo/'), rangeEnd: prefixEnd(bytes('foo/')) });
    assert.deepEqual(summary(prefix.kvs), ['foo/a=2@3/7/v2', 'foo/b=3@4/4/v1']);
    assert.deepEqual(summary(read(store, { key: bytes('fop'), rangeEnd: ALL }).kvs), ['fop=4@5/5/v1', 'g=0@6/6/v1']);
    assert.equal(read(store, { key: ALL, rangeEnd: ALL }).count, 5);
    const limited = read(store, { key: bytes('f'), rangeEnd: bytes('g'), limit: 2 });
    assert.deepEqual(summary(limited.kvs), ['foo=1@2/2/v1', 'foo/a=2@3/7/v2']);
    assert.equal(limited.count, 4);
    assert.equal(limited.more, true);
    assert.equal(read(store, { key: bytes('f'), rangeEnd: bytes('g'), limit: 4 }).more, false);
    const keysOnly = read(store, { key: bytes('foo'), keysOnly: true });
    assert.equal(keysOnly.kvs[0]?.value.length, 0);
    const countOnly = read(store, { key: bytes('f'), rangeEnd: bytes('g'), countOnly: true, limit: 1 });
    assert.deepEqual([countOnly.kvs.length, countOnly.count, countOnly.more], [0, 4, false]);
    const byValueDesc = read(store, { key: ALL, rangeEnd: ALL, sortTarget: 'value', sortOrder: 'descend' });
    assert.deepEqual(
      byValueDesc.kvs.map((kv) => text(kv.value)),
      ['4', '3', '2', '1', '0'],
    );
    const byKeyDesc = read(store, { key: ALL, rangeEnd: ALL, sortOrder: 'descend', limit: 2 });
    assert.deepEqual(
      byKeyDesc.kvs.map((kv) => text(kv.key)),
      ['g', 'fop'],
    );
    // Sorting on a target with no order given sorts ascending (etcd); ties keep key order.
    const byVersion = read(store, { key: ALL, rangeEnd: ALL, sortTarget: 'version' });
    assert.deepEqual(
      byVersion.kvs.map((kv) => text(kv.key)),
      ['foo', 'foo/b', 'fop', 'g', 'foo/a'],
    );
    // Filters cut kvs but not count (etcd).
    const recent = read(store, { key: ALL, rangeEnd: ALL, minModRevision: 5 });
    assert.deepEqual(
      recent.kvs.map((kv) => text(kv.key)),
      ['foo/a', 'fop', 'g'],
    );
    assert.equal(recent.count, 5);
    const oldCreated = read(store, { key: ALL, rangeEnd: ALL, maxCreateRevision: 3, limit: 1 });
    assert.deepEqual([oldCreated.kvs.map((kv) => text(kv.key)), oldCreated.more], [['foo'], true]);
  });
});

test('binary keys: zero bytes, 0xff bytes, prefixes of each other and the longest allowed key', async () => {
  await withTempStore((store) => {
    const apply = applier(store);
    const keys = [[0x61], [0x61, 0x00], [0x61, 0x00, 0x00], [0x61, 0xff], [0xff, 0xff], [0x00]].map((k) => new Uint8Array(k));
    for (const key of keys) apply({ type: 'put', key, value: key });
    const long = new Uint8Array(KEY_BYTES_PHYSICAL_MAX).fill(0x61);
    apply({ type: 'put', key: long, value: bytes('long') });
    const all = read(store, { key: ALL, rangeEnd: ALL });
    const sorted = [...keys, long].sort(Buffer.compare);
    assert.deepEqual(
      all.kvs.map((kv) => kv.key),
      sorted,
    );
    assert.deepEqual(
      read(store, { key: new Uint8Array([0x61, 0x00]) }).kvs.map((kv) => kv.value),
      [new Uint8Array([0x61, 0x00])],
    );
    const under = read(store, { key: new Uint8Array([0x61]), rangeEnd: prefixEnd(new Uint8Array([0x61])) });
    assert.equal(under.count, 5, 'a, a\\0, a\\0\\0, a\\xff and the long key of a-s');
    const allFf = read(store, { key: new Uint8Array([0xff]), rangeEnd: prefixEnd(new Uint8Array([0xff])) });
    assert.deepEqual(
      allFf.kvs.map((kv) => [...kv.key]),
      [[0xff, 0xff]],
      'prefix 0xff: no end, every key from 0xff on',
    );
  });
});

test('txn: compares pick the branch, on missing keys too; nested txns; ranges see the txn own writes', async () => {
  await withTempStore((store) => {
    const apply = applier(store);
    // "create if absent": version = 0 holds for a missing key.
    const createIfAbsent: CommandBody = {
      type: 'txn',
      compare: [{ key: bytes('lock'), target: 'version', result: 'equal', operand: 0 }],
      success: [{ type: 'put', key: bytes('lock'), value: bytes('me') }],
      failure: [{ type: 'range', key: bytes('lock') }],
    };
    const first = apply(createIfAbsent);
    assert.ok(first.ok && first.response.type === 'txn' && first.response.succeeded && first.revision === 2);
    const second = apply(createIfAbsent);
    assert.ok(second.ok && second.response.type === 'txn' && !second.response.succeeded && second.revision === 2);
    const seen = second.response.responses[0];
    assert.ok(seen?.type === 'range');
    assert.deepEqual(summary(seen.kvs), ['lock=me@2/2/v1']);
    // A value compare on a missing key is false whatever the operator (etcd).
    for (const result of ['equal', 'notEqual', 'less', 'greater'] as const) {
      const r = apply({ type: 'txn', compare: [{ key: bytes('nope'), target: 'value', result, operand: bytes('') }], success: [], failure: [] });
      assert.ok(r.ok && r.response.type === 'txn' && !r.response.succeeded, result);
    }
    // A compare over a range holds only if every key satisfies it.
    apply(put('r/1', 'x'));
    apply(put('r/2', 'y'));
    const everyKey = (operand: number): boolean => {
      const r = apply({
        type: 'txn',
        compare: [{ key: bytes('r/'), rangeEnd: prefixEnd(bytes('r/')), target: 'create', result: 'greater', operand }],
        success: [],
        failure: [],
      });
      assert.ok(r.ok && r.response.type === 'txn');
      return r.response.succeeded;
    };
    assert.equal(everyKey(2), true);
    assert.equal(everyKey(3), false);
    // Nested: compares are evaluated before any write; a range after a put sees it; one revision for all.
    const nested = apply({
      type: 'txn',
      compare: [],
      success: [
        { type: 'put', key: bytes('n/1'), value: bytes('a') },
        {
          type: 'txn',
          compare: [{ key: bytes('n/1'), target: 'version', result: 'equal', operand: 0 }],
          success: [{ type: 'put', key: bytes('n/2'), value: bytes('then') }],
          failure: [{ type: 'put', key: bytes('n/2'), value: bytes('else') }],
        },
        { type: 'range', key: bytes('n/'), rangeEnd: prefixEnd(bytes('n/')) },
      ],
      failure: [],
    });
    assert.ok(nested.ok && nested.response.type === 'txn' && nested.revision === 5);
    const inner = nested.response.responses[1];
    assert.ok(inner?.type === 'txn' && inner.succeeded, 'the nested compare saw the store before the txn');
    const ranged = nested.response.responses[2];
    assert.ok(ranged?.type === 'range');
    assert.deepEqual(summary(ranged.kvs), ['n/1=a@5/5/v1', 'n/2=then@5/5/v1']);
    assert.deepEqual(nested.outcome.status === 'applied' && nested.outcome.events.map((e) => `${e.type} ${text(e.kv.key)}@${e.kv.modRevision}`), [
      'put n/1@5',
      'put n/2@5',
    ]);
  });
});

test('put options: prevKv, ignoreValue, ignoreLease, leases kept on keys', async () => {
  await withTempStore((store) => {
    const apply = applier(store);
    apply({ type: 'leaseGrant', id: 42, ttl: 10 });
    apply({ type: 'leaseGrant', id: 7, ttl: 10 });
    apply(put('k', 'v1', { lease: 42 }));
    const missing = apply({ type: 'put', key: bytes('zz'), value: bytes(''), ignoreValue: true });
    assert.ok(!missing.ok && missing.error.code === 'KEY_NOT_FOUND');
    const keepValue = apply({ type: 'put', key: bytes('k'), value: bytes(''), ignoreValue: true, lease: 7, prevKv: true });
    assert.ok(keepValue.ok && keepValue.response.type === 'put');
    assert.deepEqual(summary(keepValue.response.prevKv ? [keepValue.response.prevKv] : []), ['k=v1@2/2/v1']);
    const kv = read(store, { key: bytes('k') }).kvs[0];
    assert.deepEqual([text(kv?.value ?? bytes('')), kv?.lease, kv?.version], ['v1', 7, 2]);
    apply({ type: 'put', key: bytes('k'), value: bytes('v3'), ignoreLease: true });
    const after = read(store, { key: bytes('k') }).kvs[0];
    assert.deepEqual([text(after?.value ?? bytes('')), after?.lease], ['v3', 7]);
    const noPrev = apply(put('new', 'x', { prevKv: true }));
    assert.ok(noPrev.ok && noPrev.response.type === 'put' && noPrev.response.prevKv === undefined);
  });
});

test('events: one per change in apply order, puts with prevKv, deletes carrying the deleting revision', async () => {
  await withTempStore((store) => {
    const apply = applier(store);
    const created = apply(put('a', '1')).outcome;
    assert.ok(created.status === 'applied');
    assert.deepEqual(created.events, [{ type: 'put', kv: { key: bytes('a'), createRevision: 2, modRevision: 2, version: 1, value: bytes('1'), lease: 0 } }]);
    apply(put('b', '2'));
    const txn = apply({
      type: 'txn',
      compare: [],
      success: [put('c', '3') as never, { type: 'deleteRange', key: bytes('a'), rangeEnd: bytes('c') }],
      failure: [],
    }).outcome;
    assert.ok(txn.status === 'applied');
    assert.deepEqual(
      txn.events.map((e) => [e.type, text(e.kv.key), e.kv.modRevision, e.kv.version, e.prevKv ? text(e.prevKv.value) : null]),
      [
        ['put', 'c', 4, 1, null],
        ['delete', 'a', 4, 0, '1'],
        ['delete', 'b', 4, 0, '2'],
      ],
    );
  });
});

test('without prevValues, events leave out the previous key-values; answers, versions, leases and the stored data are as with them', async () => {
  const bodies: CommandBody[] = [
    { type: 'leaseGrant', id: 9, ttl: 60 },
    put('a', 'one', { lease: 9 }),
    put('b', 'two'),
    put('c', 'three'),
    put('a', 'uno', { prevKv: true }),
    { type: 'put', key: bytes('b'), value: bytes(''), ignoreValue: true, lease: 9 },
    { type: 'deleteRange', key: bytes('a'), rangeEnd: bytes('c'), prevKv: true },
    put('d', 'four', { lease: 9 }),
    { type: 'deleteRange', key: bytes('c') },
    { type: 'leaseRevoke', id: 9 },
  ];
  const run = (prevValues: boolean) =>
    withTempStore((store) => {
      const outcomes = store.applyBatch(
        bodies.map((body, i) => ({ index: i + 1, command: { body } })),
        { prevValues },
      );
      return {
        results: outcomes.map((o) => (o.status === 'applied' ? o.result : o.status)),
        events: outcomes.flatMap((o) => (o.status === 'applied' ? o.events : [])),
        all: read(store, { key: ALL, rangeEnd: ALL, revision: 0 }).kvs,
        history: store.currentRevision(),
        leases: store.leases(),
      };
    });
  const withValues = await run(true);
  const without = await run(false);
  assert.deepEqual(without.results, withValues.results, 'answers differ');
  assert.deepEqual(without.all, withValues.all);
  assert.deepEqual(without.history, withValues.history);
  assert.deepEqual(without.leases, withValues.leases);
  // The answers that asked for the previous key-values still carry their values.
  const deleted = without.results[6] as CommandResult;
  assert.ok(deleted.ok && deleted.response.type === 'deleteRange');
  assert.deepEqual(summary(deleted.response.prevKvs), ['a=uno@2/5/v2', 'b=two@3/6/v2']);
  const described = (events: typeof without.events) =>
    events.map((e) => `${e.type} ${text(e.kv.key)}@${e.kv.modRevision}${e.prevKv ? ` after ${text(e.prevKv.value)}` : ''}`);
  assert.deepEqual(described(withValues.events), [
    'put a@2',
    'put b@3',
    'put c@4',
    'put a@5 after one',
    'put b@6 after two',
    'delete a@7 after uno',
    'delete b@7 after two',
    'put d@8',
    'delete c@9 after three',
    'delete d@10 after four',
  ]);
  assert.deepEqual(
    described(without.events),
    described(withValues.events).map((line) => line.replace(/ after .*/, '')),
  );
});

test('compaction: reads below the compacted revision fail; the state at it and after stays readable', async () => {
  await withTempStore((store) => {
    const apply = applier(store);
    apply(put('a', '1')); // 2
    apply(put('a', '2')); // 3
    apply(put('b', '1')); // 4
    apply({ type: 'deleteRange', key: bytes('b') }); // 5
    apply(put('a', '3')); // 6
    const compacted = apply({ type: 'compact', revision: 5 });
    assert.deepEqual([compacted.ok, compacted.ok && compacted.revision], [true, 6]);
    assert.equal(store.compactedRevision(), 5);
    const old = store.range({ type: 'range', key: bytes('a'), revision: 4 });
    assert.ok(!old.ok && old.error.code === 'COMPACTED');
    assert.match(old.error.message, /revision 4 has been compacted; the oldest readable revision is 5/);
    assert.deepEqual(summary(read(store, { key: ALL, rangeEnd: ALL, revision: 5 }).kvs), ['a=2@2/3/v2']);
    assert.deepEqual(summary(read(store, { key: ALL, rangeEnd: ALL }).kvs), ['a=3@2/6/v3']);
    // Kept: a@3 (latest at 5) and a@6. Dropped: a@2, b@4 and b's tombstone @5.
    assert.equal(store.stats().historyRecords, 2);
    const again = apply({ type: 'compact', revision: 5 });
    assert.ok(!again.ok && again.error.code === 'COMPACTED');
    const future = apply({ type: 'compact', revision: 7 });
    assert.ok(!future.ok && future.error.code === 'FUTURE_REV');
    const inTxn = apply({ type: 'txn', compare: [], success: [put('z', '1') as never, { type: 'range', key: bytes('a'), revision: 3 }], failure: [] });
    assert.ok(!inTxn.ok && inTxn.error.code === 'COMPACTED');
    assert.equal(read(store, { key: bytes('z') }).count, 0, 'the failed txn wrote nothing');
  });
});

test('entries must be applied in order: a gap is a bug in the caller', async () => {
  await withTempStore((store) => {
    store.apply(1, { body: { type: 'noop' } });
    assert.throws(() => store.apply(3, { body: { type: 'noop' } }), /entry 3 after 1/);
    assert.equal(store.appliedIndex(), 1, 'the failed batch changed nothing');
    const outcomes = store.applyEntries([
      { term: 1, index: 2, kind: 'normal', data: new Uint8Array(0) },
      { term: 1, index: 3, kind: 'config', data: new Uint8Array([1, 2, 3]) },
    ]);
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ['applied', 'applied'],
    );
    assert.equal(store.appliedIndex(), 3);
    assert.equal(store.currentRevision(), 1, 'a leader no-op and a config entry change no data');
  });
});
