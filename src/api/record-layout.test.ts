import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { withTempStore, bytes, text } from '../kv/testing/temp-store.js';
import { prefixEnd } from '../kv/mvcc/key-range.js';
import type { MvccStore } from '../kv/mvcc/mvcc-store.js';
import { fieldNameProblem, recordKeyProblem, recordRange, replaceFieldsMax, replaceOps, updateOps } from './record-layout.js';

function txn(store: MvccStore, ops: ReturnType<typeof replaceOps>): void {
  const outcome = store.apply(store.appliedIndex() + 1, { body: { type: 'txn', compare: [], success: ops, failure: [] } });
  assert.ok(outcome.status === 'applied' && outcome.result.ok, JSON.stringify(outcome.status === 'skipped' ? outcome : outcome.result));
}

function allKeys(store: MvccStore): Record<string, string> {
  const read = store.range({ type: 'range', key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]) });
  assert.ok(read.ok);
  return Object.fromEntries(read.value.kvs.map((kv) => [text(kv.key).replace('\0', '#'), text(kv.value)]));
}

const fieldName = fc.stringMatching(/^[A-Za-z0-9_.-]{1,6}$/);

test('replace leaves exactly the new fields of the record, in one valid transaction, and never touches keys beside it', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.dictionary(fieldName, fc.string({ maxLength: 3 }), { maxKeys: 8 }),
      fc.dictionary(fieldName, fc.string({ maxLength: 3 }), { maxKeys: replaceFieldsMax }),
      async (before, after) => {
        await withTempStore((store) => {
          const record = bytes('r');
          // Neighbours: the record's own key, a longer key, the next record, and its prefix end.
          for (const key of ['r', 'r1', 'r\x01', 'q\0x', 's']) txn(store, [{ type: 'put', key: bytes(key), value: bytes('keep') }]);
          if (Object.keys(before).length > 0) txn(store, updateOps(record, new Map(Object.entries(before).map(([k, v]) => [k, bytes(v)]))));
          txn(store, replaceOps(record, new Map(Object.entries(after).map(([k, v]) => [k, bytes(v)]))));
          const expected: Record<string, string> = { r: 'keep', r1: 'keep', 'r\x01': 'keep', 'q#x': 'keep', s: 'keep' };
          for (const [name, value] of Object.entries(after)) expected[`r#${name}`] = value;
          assert.deepEqual(allKeys(store), expected);
        });
      },
    ),
    { numRuns: 40 },
  );
});

test('the record range holds the fields of that record only', () => {
  const { key, rangeEnd } = recordRange(bytes('user/1'));
  assert.deepEqual(key, bytes('user/1\0'));
  assert.deepEqual(rangeEnd, prefixEnd(bytes('user/1\0')));
  assert.deepEqual(rangeEnd, bytes('user/1\x01'));
});

test('field names and record keys: what is refused and why', () => {
  assert.equal(fieldNameProblem('name.first-2_x'), undefined);
  assert.match(fieldNameProblem('') ?? '', /must not be empty/);
  assert.match(fieldNameProblem('a/b') ?? '', /only letters, digits/);
  assert.match(fieldNameProblem('a\0') ?? '', /only letters, digits/);
  assert.match(fieldNameProblem('x'.repeat(129)) ?? '', /the limit is 128/);
  assert.equal(recordKeyProblem(bytes('user/1')), undefined);
  assert.match(recordKeyProblem(bytes('')) ?? '', /empty/);
  assert.match(recordKeyProblem(bytes('a\0b')) ?? '', /0x00/);
  assert.match(recordKeyProblem(bytes('a/fields/b')) ?? '', /may not contain "\/fields\/"/);
});
