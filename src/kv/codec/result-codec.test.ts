import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeResult, encodeResult } from './result-codec.js';
import type { CommandResult, KeyValue, ResponseOp } from '../types.js';
import { isKvErrorCode, type KvErrorCode } from '../errors.js';

const kvArb: fc.Arbitrary<KeyValue> = fc.record(
  {
    key: fc.uint8Array({ minLength: 1, maxLength: 8 }),
    createRevision: fc.maxSafeNat(),
    modRevision: fc.maxSafeNat(),
    version: fc.nat(),
    value: fc.uint8Array({ maxLength: 16 }),
    lease: fc.maxSafeNat(),
  },
  { noNullPrototype: true },
);

const { responseArb } = fc.letrec<{ responseArb: ResponseOp }>((tie) => ({
  responseArb: fc.oneof(
    { depthSize: 'small' },
    fc.option(kvArb, { nil: undefined }).map((prevKv): ResponseOp => (prevKv ? { type: 'put', prevKv } : { type: 'put' })),
    fc.record({ deleted: fc.nat(), prevKvs: fc.array(kvArb, { maxLength: 3 }) }).map((r): ResponseOp => ({ type: 'deleteRange', ...r })),
    fc.record({ kvs: fc.array(kvArb, { maxLength: 3 }), count: fc.nat(), more: fc.boolean() }).map((r): ResponseOp => ({ type: 'range', ...r })),
    fc.record({ succeeded: fc.boolean(), responses: fc.array(tie('responseArb'), { maxLength: 3 }) }).map((r): ResponseOp => ({ type: 'txn', ...r })),
  ),
}));

const codes: KvErrorCode[] = ['KEY_EMPTY', 'COMPACTED', 'SESSION_EXPIRED', 'DUPLICATE_KEY', 'BAD_COMMAND'];

const resultArb: fc.Arbitrary<CommandResult> = fc.oneof(
  fc
    .record({ revision: fc.maxSafeNat(), response: responseArb.filter((r) => r.type !== 'range') })
    .map((r): CommandResult => ({ ok: true, ...r }) as CommandResult),
  fc.constantFrom<CommandResult>({ ok: true, revision: 3, response: { type: 'compact' } }, { ok: true, revision: 1, response: { type: 'noop' } }),
  fc.record({ code: fc.constantFrom(...codes), message: fc.string() }, { noNullPrototype: true }).map((error): CommandResult => ({ ok: false, error })),
);

test('results round-trip through their encoding (the session table keeps them so)', () => {
  fc.assert(
    fc.property(resultArb, (result) => {
      assert.deepEqual(decodeResult(encodeResult(result)), result);
    }),
    { numRuns: 1000 },
  );
});

test('error codes outside the known set are refused on decode', () => {
  assert.equal(isKvErrorCode('COMPACTED'), true);
  assert.equal(isKvErrorCode('NOPE'), false);
  const bytes = encodeResult({ ok: false, error: { code: 'COMPACTED', message: 'm' } });
  const tampered = new Uint8Array(bytes);
  tampered[3] = 'X'.charCodeAt(0);
  assert.throws(() => decodeResult(tampered), /unknown error code/);
});
