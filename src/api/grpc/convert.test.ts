import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { rangeFromMessage, txnFromMessage } from './convert.js';
import { type GrpcError, kvErrorToGrpc, toGrpcError } from './errors.js';
import { KeelError } from '../../replica/errors.js';

const key = Buffer.from('k');

test('a range request maps field for field; a sort target without an order sorts ascending, as in etcd', () => {
  const range = rangeFromMessage({ key, range_end: Buffer.alloc(0), limit: '5', revision: '-1', sort_order: 'NONE', sort_target: 'MOD', keys_only: true });
  assert.equal(range.limit, 5);
  assert.equal(range.revision, 0, 'a revision <= 0 reads the newest');
  assert.equal(range.sortOrder, 'ascend');
  assert.equal(range.sortTarget, 'mod');
  assert.equal(range.keysOnly, true);
  assert.equal(range.rangeEnd, undefined, 'an empty range_end means the key alone');
});

test('a negative limit means no limit, as in etcd', () => {
  assert.equal(rangeFromMessage({ key, limit: '-1' }).limit, 0);
  assert.equal(rangeFromMessage({ key, limit: -7 }).limit, 0);
});

test('integers out of range or negative are refused by name, never rounded', () => {
  assert.throws(
    () => rangeFromMessage({ key, min_mod_revision: '-1' }),
    (e: GrpcError) => e.code === status.INVALID_ARGUMENT && /min_mod_revision must not be negative/.test(e.message),
  );
  assert.throws(() => rangeFromMessage({ key, limit: '9007199254740993' }), /limit 9007199254740993 is out of range/);
  assert.throws(() => rangeFromMessage({ key, revision: '9007199254740993' }), /revision 9007199254740993 is out of range/);
});

test('txn operations and compares map from their oneofs', () => {
  const txn = txnFromMessage({
    compare: [
      { key, target: 'VALUE', result: 'NOT_EQUAL', target_union: 'value', value: Buffer.from('x') },
      { key, target: 'LEASE', result: 'GREATER', lease: '7' },
    ],
    success: [{ request: 'request_put', request_put: { key, value: Buffer.from('v'), lease: '0' } }],
    failure: [{ request: 'request_txn', request_txn: { compare: [], success: [], failure: [] } }],
  });
  assert.deepEqual(
    txn.compare.map((c) => [c.target, c.result]),
    [
      ['value', 'notEqual'],
      ['lease', 'greater'],
    ],
  );
  assert.equal(txn.compare[1]?.operand, 7);
  assert.equal(txn.success[0]?.type, 'put');
  assert.equal(txn.failure[0]?.type, 'txn');
  assert.throws(() => txnFromMessage({ success: [{}] }), /a txn operation must hold/);
});

test('errors carry the gRPC codes and messages etcd clients depend on', () => {
  const compacted = kvErrorToGrpc({ code: 'COMPACTED', message: 'revision 3 is compacted' });
  assert.deepEqual([compacted.code, compacted.message], [status.OUT_OF_RANGE, 'etcdserver: mvcc: required revision has been compacted']);
  const noLeader = toGrpcError(new KeelError('NO_LEADER', 'no leader is known'));
  assert.deepEqual([noLeader.code, noLeader.message], [status.UNAVAILABLE, 'etcdserver: no leader']);
  const own = kvErrorToGrpc({ code: 'INVALID_RANGE', message: 'range_end is before key' });
  assert.equal(own.message, 'etcdserver: range_end is before key');
  assert.equal(toGrpcError(new Error('boom')).code, status.INTERNAL);
});
