import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeCommand } from './codec/command.js';
import type { KvErrorCode } from './errors.js';
import { bytes, withTempStore } from './testing/temp-store.js';
import type { Command, CommandBody, PutRequest, RequestOp, TxnRequest } from './types.js';
import { checkLimits, defaultLimits, HARD_LIMITS, prepareCommand, validateCommand, validateRangeRequest } from './validate.js';

const put = (key: string | Uint8Array, value: Uint8Array = bytes('v')): PutRequest => ({ type: 'put', key: typeof key === 'string' ? bytes(key) : key, value });
const txn = (success: RequestOp[], failure: RequestOp[] = []): TxnRequest => ({ type: 'txn', compare: [], success, failure });

function codeOf(command: Command | CommandBody): KvErrorCode | undefined {
  const c: Command = 'body' in command ? command : { body: command };
  return validateCommand(c, defaultLimits)?.code;
}

test('each problem has its stable code', () => {
  const cases: [KvErrorCode, CommandBody | Command][] = [
    ['KEY_EMPTY', { type: 'put', key: new Uint8Array(0), value: bytes('v') }],
    ['KEY_EMPTY', { type: 'deleteRange', key: new Uint8Array(0) }],
    ['KEY_TOO_LARGE', { type: 'put', key: new Uint8Array(defaultLimits.keyBytesMax + 1).fill(97), value: bytes('v') }],
    ['KEY_TOO_LARGE', { type: 'deleteRange', key: bytes('a'), rangeEnd: new Uint8Array(defaultLimits.keyBytesMax + 1).fill(98) }],
    ['VALUE_TOO_LARGE', { type: 'put', key: bytes('a'), value: new Uint8Array(defaultLimits.valueBytesMax + 1) }],
    ['TOO_MANY_OPS', txn(Array.from({ length: 129 }, (_, i) => put(`k${i}`)))],
    ['TXN_TOO_DEEP', Array.from({ length: 9 }).reduce<TxnRequest>((inner) => txn([inner]), txn([]))],
    ['INVALID_RANGE', { type: 'deleteRange', key: bytes('b'), rangeEnd: bytes('a') }],
    ['INVALID_RANGE', { type: 'deleteRange', key: bytes('b'), rangeEnd: bytes('b') }],
    ['INVALID_ARGUMENT', { type: 'put', key: bytes('a'), value: bytes('v'), lease: -1 }],
    ['INVALID_ARGUMENT', { type: 'compact', revision: 0 }],
    ['INVALID_ARGUMENT', txn([{ type: 'range', key: bytes('a'), limit: 1.5 }])],
    ['DUPLICATE_KEY', txn([put('a'), put('a')])],
    ['DUPLICATE_KEY', txn([put('a'), { type: 'deleteRange', key: bytes('a'), rangeEnd: bytes('b') }])],
    ['DUPLICATE_KEY', txn([txn([put('a')]), put('a')])],
    // An earlier nested txn puts what a later one deletes (etcd lets this one through).
    ['DUPLICATE_KEY', txn([txn([], [put('a')]), txn([{ type: 'deleteRange', key: bytes('a') }])])],
    ['DUPLICATE_KEY', txn([{ type: 'deleteRange', key: bytes('a'), rangeEnd: bytes('c') }, txn([put('b')])])],
    ['VALUE_PROVIDED', { type: 'put', key: bytes('a'), value: bytes('v'), ignoreValue: true }],
    ['LEASE_PROVIDED', { type: 'put', key: bytes('a'), value: bytes(''), lease: 5, ignoreLease: true }],
    ['INVALID_SESSION', { body: { type: 'noop' }, session: { clientId: '', seq: 1 } }],
    ['INVALID_SESSION', { body: { type: 'noop' }, session: { clientId: 'c', seq: 0 } }],
    ['INVALID_SESSION', { body: { type: 'noop' }, session: { clientId: 'x'.repeat(257), seq: 1 } }],
    ['BAD_COMMAND', { type: 'frobnicate' } as unknown as CommandBody],
  ];
  for (const [code, command] of cases) assert.equal(codeOf(command), code, `${code}: ${JSON.stringify(command).slice(0, 80)}`);
});

test('valid commands pass, including the etcd-allowed overlaps', () => {
  assert.equal(codeOf(put('a')), undefined);
  assert.equal(codeOf({ type: 'put', key: new Uint8Array(defaultLimits.keyBytesMax).fill(97), value: new Uint8Array(defaultLimits.valueBytesMax) }), undefined);
  assert.equal(codeOf(txn(Array.from({ length: 128 }, (_, i) => put(`k${i}`)))), undefined);
  // The two branches of one nested txn exclude each other, so both may put the same key.
  assert.equal(codeOf(txn([{ type: 'txn', compare: [], success: [put('a')], failure: [put('a')] }])), undefined);
  assert.equal(codeOf(txn([{ type: 'txn', compare: [], success: [put('a')], failure: [{ type: 'deleteRange', key: bytes('a') }] }])), undefined);
  // Success and failure of the top-level txn are checked apart.
  assert.equal(codeOf(txn([put('a')], [put('a')])), undefined);
  // Overlapping deletes are fine; so is a range with rangeEnd [0] ("every key from key on").
  assert.equal(
    codeOf(
      txn([
        { type: 'deleteRange', key: bytes('a'), rangeEnd: bytes('c') },
        { type: 'deleteRange', key: bytes('b'), rangeEnd: new Uint8Array([0]) },
      ]),
    ),
    undefined,
  );
  assert.equal(codeOf({ type: 'put', key: bytes('a'), value: new Uint8Array(0), ignoreValue: true, ignoreLease: true }), undefined);
});

test('messages name the problem, the size and the limit', () => {
  const key = new Uint8Array(5000).fill(97);
  const error = validateCommand({ body: { type: 'put', key, value: bytes('v') } }, { ...defaultLimits, keyBytesMax: 4096 });
  assert.equal(error?.message, 'put: key is 5000 bytes; the limit is 4096 (keyBytesMax)');
  const nested = validateCommand({ body: txn([put('a'), { type: 'put', key: bytes('b'), value: new Uint8Array(1.5 * 2 ** 20 + 1) }]) });
  assert.equal(nested?.message, 'txn.success[1] put: value is 1572865 bytes; the limit is 1572864 (valueBytesMax)');
  assert.match(validateCommand({ body: txn([put('a'), put('a')]) })?.message ?? '', /txn.success: key "a" is changed more than once/);
});

test('prepareCommand encodes valid commands and refuses those over requestBytesMax', () => {
  const ok = prepareCommand({ body: { type: 'put', key: bytes('k'), value: bytes('v') } });
  assert.ok(ok.ok);
  const decoded = decodeCommand(ok.value);
  assert.ok(decoded.ok && decoded.value.body.type === 'put');
  const big = prepareCommand({ body: txn(Array.from({ length: 3 }, (_, i) => put(`k${i}`, new Uint8Array(600 * 1024)))) });
  assert.ok(!big.ok && big.error.code === 'REQUEST_TOO_LARGE');
  assert.match(big.error.message, /request is \d+ bytes encoded; the limit is 1572864 \(requestBytesMax\)/);
  const bad = prepareCommand({ body: { type: 'put', key: bytes(''), value: bytes('v') } });
  assert.ok(!bad.ok && bad.error.code === 'KEY_EMPTY');
});

test('range requests are checked the same way', () => {
  assert.equal(validateRangeRequest({ type: 'range', key: bytes('') })?.code, 'KEY_EMPTY');
  assert.equal(validateRangeRequest({ type: 'range', key: bytes('a'), limit: -1 })?.code, 'INVALID_ARGUMENT');
  assert.equal(validateRangeRequest({ type: 'range', key: bytes('a'), sortOrder: 'sideways' as never })?.code, 'INVALID_ARGUMENT');
  assert.equal(validateRangeRequest({ type: 'range', key: bytes('a'), rangeEnd: new Uint8Array([0]) }), undefined);
});

test('configured limits must lie within the hard limits the state machine enforces', () => {
  checkLimits(defaultLimits);
  assert.throws(() => checkLimits({ ...defaultLimits, keyBytesMax: 4096 }), /keyBytesMax = 4096 must be an integer in \[1, 3567\]/);
  assert.throws(() => checkLimits({ ...defaultLimits, txnOpsMax: 0 }), /txnOpsMax/);
  assert.ok(HARD_LIMITS.keyBytesMax >= defaultLimits.keyBytesMax);
});

test('bad input applied through the log changes nothing and bumps no revision', async () => {
  await withTempStore((store) => {
    store.apply(1, { body: { type: 'put', key: bytes('a'), value: bytes('1') } });
    const before = store.range({ type: 'range', key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]) });
    const bad: CommandBody[] = [
      { type: 'put', key: new Uint8Array(0), value: bytes('v') },
      { type: 'put', key: new Uint8Array(HARD_LIMITS.keyBytesMax + 1), value: bytes('v') },
      txn([put('b'), put('b')]),
      txn([put('c'), { type: 'put', key: bytes('zz'), value: bytes(''), ignoreValue: true }]),
      txn([put('d'), { type: 'range', key: bytes('a'), revision: 99 }]),
      { type: 'compact', revision: 50 },
      { type: 'deleteRange', key: bytes('b'), rangeEnd: bytes('a') },
    ];
    const codes = bad.map((body, i) => {
      const outcome = store.apply(i + 2, { body });
      assert.ok(outcome.status === 'applied' && !outcome.result.ok);
      assert.deepEqual(outcome.events, []);
      return outcome.result.error.code;
    });
    assert.deepEqual(codes, ['KEY_EMPTY', 'KEY_TOO_LARGE', 'DUPLICATE_KEY', 'KEY_NOT_FOUND', 'FUTURE_REV', 'FUTURE_REV', 'INVALID_RANGE']);
    assert.equal(store.currentRevision(), 2);
    assert.equal(store.appliedIndex(), bad.length + 1, 'rejected entries still advance the applied index');
    assert.deepEqual(store.range({ type: 'range', key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]) }), before);
    // An entry whose bytes are not a command is refused the same way.
    const [outcome] = store.applyEntries([{ term: 1, index: bad.length + 2, kind: 'normal', data: new Uint8Array([1, 0, 42]) }]);
    assert.ok(outcome?.status === 'applied' && !outcome.result.ok && outcome.result.error.code === 'BAD_COMMAND');
    assert.equal(store.currentRevision(), 2);
  });
});
