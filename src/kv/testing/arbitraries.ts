/**
 * fast-check generators of requests, shared by the model-based test and the codec tests.
 * They produce canonical requests (fields at their default are left out), as
 * decodeCommand() returns them. For tests only.
 */
import fc from 'fast-check';
import { prefixEnd } from '../mvcc/key-range.js';
import type { Command, CommandBody, Compare, RangeRequest, RequestOp, SortOrder, SortTarget } from '../types.js';

export const u8 = (...values: number[]): Uint8Array => new Uint8Array(values);
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

// Keys chosen to stress the encoding: prefixes of each other, zero and 0xff bytes,
// lengths around the 8-byte group boundary.
export const KEYS: readonly Uint8Array[] = [
  ascii('a'),
  ascii('ab'),
  ascii('abc'),
  ascii('b'),
  ascii('ba'),
  ascii('c'),
  u8(0x61, 0x00),
  u8(0x61, 0x00, 0x00),
  u8(0x61, 0xff),
  u8(0xff),
  u8(0xff, 0xff),
  u8(0x00),
  ascii('abcdefgh'),
  ascii('abcdefghi'),
  ascii('abcdefg'),
];

// Half the time one of a few keys, so that keys collide and grow histories.
export const keyArb = fc.oneof(fc.constantFrom(...KEYS.slice(0, 4)), fc.constantFrom(...KEYS));

export const rangeArb: fc.Arbitrary<{ key: Uint8Array; rangeEnd?: Uint8Array }> = fc.oneof(
  { weight: 3, arbitrary: keyArb.map((key) => ({ key })) },
  { weight: 1, arbitrary: keyArb.map((key) => ({ key, rangeEnd: u8(0) })) },
  { weight: 2, arbitrary: keyArb.map((key) => ({ key, rangeEnd: prefixEnd(key) })) },
  {
    weight: 2,
    arbitrary: fc.tuple(keyArb, keyArb).map(([a, b]) => {
      const c = Buffer.compare(a, b);
      if (c === 0) return { key: a };
      return c < 0 ? { key: a, rangeEnd: b } : { key: b, rangeEnd: a };
    }),
  },
);

export const valueArb = fc.oneof(fc.uint8Array({ maxLength: 3 }), fc.uint8Array({ minLength: 8, maxLength: 40 }));

export const putArb: fc.Arbitrary<RequestOp> = fc
  .record({
    key: keyArb,
    value: valueArb,
    lease: fc.constantFrom(0, 0, 0, 7, 9, 11),
    prevKv: fc.boolean(),
    ignore: fc.constantFrom('none', 'none', 'none', 'none', 'value', 'lease'),
  })
  .map(({ key, value, lease, prevKv, ignore }) => ({
    type: 'put',
    key,
    value: ignore === 'value' ? new Uint8Array(0) : value,
    ...(lease !== 0 && ignore !== 'lease' ? { lease } : {}),
    ...(prevKv ? { prevKv: true } : {}),
    ...(ignore === 'value' ? { ignoreValue: true } : {}),
    ...(ignore === 'lease' ? { ignoreLease: true } : {}),
  }));

export const deleteArb: fc.Arbitrary<RequestOp> = fc
  .record({ range: rangeArb, prevKv: fc.boolean() })
  .map(({ range, prevKv }) => ({ type: 'deleteRange', ...range, ...(prevKv ? { prevKv: true } : {}) }));

/** A range request; `revision` is absolute here (txn ops) or patched in at run time. */
export const rangeRequestArb: fc.Arbitrary<RangeRequest> = fc
  .record({
    range: rangeArb,
    limit: fc.constantFrom(0, 0, 1, 2, 3),
    sortOrder: fc.constantFrom<SortOrder>('none', 'none', 'ascend', 'descend'),
    sortTarget: fc.constantFrom<SortTarget>('key', 'key', 'version', 'create', 'mod', 'value'),
    keysOnly: fc.boolean(),
    countOnly: fc.constantFrom(false, false, false, true),
    filter: fc.option(
      fc.record({
        which: fc.constantFrom('minModRevision', 'maxModRevision', 'minCreateRevision', 'maxCreateRevision'),
        at: fc.integer({ min: 1, max: 12 }),
      }),
      { freq: 4 },
    ),
  })
  .map(({ range, limit, sortOrder, sortTarget, keysOnly, countOnly, filter }) => ({
    type: 'range',
    ...range,
    ...(limit ? { limit } : {}),
    ...(sortOrder !== 'none' ? { sortOrder } : {}),
    ...(sortTarget !== 'key' ? { sortTarget } : {}),
    ...(keysOnly ? { keysOnly } : {}),
    ...(countOnly ? { countOnly } : {}),
    ...(filter ? { [filter.which]: filter.at } : {}),
  }));

export const compareArb: fc.Arbitrary<Compare> = fc
  .record({
    range: rangeArb,
    target: fc.constantFrom('version', 'create', 'mod', 'lease', 'value'),
    result: fc.constantFrom('equal', 'notEqual', 'less', 'greater'),
    number: fc.integer({ min: 0, max: 8 }),
    value: valueArb,
  })
  .map(
    ({ range, target, result, number, value }): Compare =>
      target === 'value'
        ? { ...range, target, result, operand: value }
        : { ...range, target: target as 'version' | 'create' | 'mod' | 'lease', result, operand: number },
  );

export const { txnArb, opArb } = fc.letrec<{ txnArb: RequestOp; opArb: RequestOp }>((tie) => ({
  txnArb: fc
    .record({
      compare: fc.array(compareArb, { maxLength: 2 }),
      success: fc.array(tie('opArb'), { maxLength: 3 }),
      failure: fc.array(tie('opArb'), { maxLength: 3 }),
    })
    .map(({ compare, success, failure }) => ({ type: 'txn', compare, success, failure })),
  opArb: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 3, arbitrary: putArb },
    { weight: 2, arbitrary: deleteArb },
    {
      weight: 2,
      arbitrary: fc.tuple(rangeRequestArb, fc.constantFrom(0, 0, 0, 1, 2, 3, 5, 40)).map(([r, revision]) => ({ ...r, ...(revision ? { revision } : {}) })),
    },
    { weight: 1, arbitrary: tie('txnArb') },
  ),
}));

/** Lease ids the put arbitrary also uses, so that puts meet granted, revoked and unknown leases. */
export const leaseIdArb = fc.constantFrom(7, 9, 11);

export const leaseBodyArb: fc.Arbitrary<CommandBody> = fc.oneof(
  fc.record({ id: leaseIdArb, ttl: fc.integer({ min: 1, max: 100 }) }).map(({ id, ttl }): CommandBody => ({ type: 'leaseGrant', id, ttl })),
  leaseIdArb.map((id): CommandBody => ({ type: 'leaseKeepAlive', id })),
  fc
    .record({ id: leaseIdArb, at: fc.option(fc.integer({ min: 1, max: 2 ** 40 }), { nil: undefined }) })
    .map(({ id, at }): CommandBody => ({ type: 'leaseRevoke', id, ...(at !== undefined ? { onlyIfRenewedAt: at } : {}) })),
);
/** Raising or clearing an alarm (NOSPACE refuses puts while active). */
export const alarmArb: fc.Arbitrary<CommandBody> = fc
  .record({
    action: fc.constantFrom('activate' as const, 'deactivate' as const),
    alarm: fc.constantFrom('NOSPACE' as const, 'CORRUPT' as const),
    memberId: fc.nat(3),
  })
  .map((a): CommandBody => ({ type: 'alarm', ...a }));

/** Any command body, with canonical fields. */
export const commandBodyArb: fc.Arbitrary<CommandBody> = fc.oneof(
  putArb.map((op) => op as CommandBody),
  deleteArb.map((op) => op as CommandBody),
  txnArb.map((op) => op as CommandBody),
  fc.nat(1000).map((revision): CommandBody => ({ type: 'compact', revision })),
  fc.constant<CommandBody>({ type: 'noop' }),
  leaseBodyArb,
  alarmArb,
);

/** Any command, with or without a session and a clock. */
export const commandArb: fc.Arbitrary<Command> = fc
  .record({
    body: commandBodyArb,
    session: fc.option(
      fc.record({ clientId: fc.string({ minLength: 1, maxLength: 12 }), seq: fc.integer({ min: 1, max: 2 ** 40 }) }, { noNullPrototype: true }),
      {
        nil: undefined,
      },
    ),
    timeMs: fc.option(fc.nat(), { nil: undefined }),
  })
  .map(({ body, session, timeMs }) => ({ body, ...(session ? { session } : {}), ...(timeMs !== undefined ? { timeMs } : {}) }));
