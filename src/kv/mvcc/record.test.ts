import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeRecord, encodePutRecord, encodeTombstone, isTombstone } from './record.js';

test('put records round-trip; without values they decode with an empty value', () => {
  fc.assert(
    fc.property(fc.maxSafeNat(), fc.nat(), fc.maxSafeNat(), fc.uint8Array({ maxLength: 40 }), (createRevision, version, lease, value) => {
      const data = encodePutRecord({ createRevision, version, lease, value });
      assert.equal(isTombstone(data), false);
      assert.deepEqual(decodeRecord(data), { tombstone: false, createRevision, version, lease, value });
      assert.deepEqual(decodeRecord(data, false), { tombstone: false, createRevision, version, lease, value: new Uint8Array(0) });
    }),
  );
});

test('tombstones are one byte; anything else is a bug that crashes', () => {
  assert.equal(encodeTombstone().length, 1);
  assert.ok(isTombstone(encodeTombstone()));
  assert.deepEqual(decodeRecord(encodeTombstone()), { tombstone: true });
  assert.throws(() => decodeRecord(new Uint8Array([7])), /unknown history record kind 7/);
  assert.throws(() => isTombstone(new Uint8Array(0)), /empty history record/);
});
