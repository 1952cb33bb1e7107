/**
 * The answers' own encoders (response-encoding.ts) against grpc-js's generic
 * serializer: random answers encoded both ways must decode to the same message, and a
 * shape the encoders do not know must be declined and serialized as before.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { loadPackageDefinition, type GrpcObject, type ServiceClientConstructor } from '@grpc/grpc-js';
import { etcdPackageDefinition } from '../../proto/index.js';
import { encodePutResponse, encodeRangeResponse, encodeWatchResponse, withFastResponses } from './response-encoding.js';

const etcdserverpb = loadPackageDefinition(etcdPackageDefinition()).etcdserverpb as GrpcObject;
const kvDefinition = (etcdserverpb.KV as ServiceClientConstructor).service;
const watchDefinition = (etcdserverpb.Watch as ServiceClientConstructor).service;
const generic = { Range: kvDefinition.Range, Put: kvDefinition.Put, Watch: watchDefinition.Watch } as const;

const uint64Decimal = fc.oneof(fc.constant('0'), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map(String));
const safeUint = fc.oneof(fc.constant(0), fc.nat(200), fc.maxSafeNat());
const headerArb = fc.record({ cluster_id: uint64Decimal, member_id: uint64Decimal, revision: safeUint, raft_term: safeUint });
const bytesArb = fc.oneof(fc.constant(new Uint8Array(0)), fc.uint8Array({ minLength: 1, maxLength: 300 }));
const keyValueArb = fc.record({
  key: bytesArb,
  create_revision: safeUint,
  mod_revision: safeUint,
  version: safeUint,
  value: bytesArb,
  lease: safeUint,
});
const rangeArb = fc.record({ header: headerArb, kvs: fc.array(keyValueArb, { maxLength: 20 }), more: fc.boolean(), count: safeUint });
const putArb = fc.record({ header: headerArb, prev_kv: keyValueArb }, { requiredKeys: ['header'] });
const eventArb = fc.record({ type: fc.constantFrom('PUT', 'DELETE'), kv: keyValueArb, prev_kv: keyValueArb }, { requiredKeys: ['type', 'kv'] });
const watchArb = fc.record(
  { header: headerArb, watch_id: safeUint, events: fc.array(eventArb, { maxLength: 8 }), fragment: fc.boolean() },
  { requiredKeys: ['header', 'watch_id'] },
);

function decodedBothWays(method: keyof typeof generic, response: Record<string, unknown>, fast: Buffer | undefined): [unknown, unknown] {
  assert.ok(fast, 'the encoder declined a shape it knows');
  const definition = generic[method];
  assert.ok(definition);
  return [definition.responseDeserialize(fast), definition.responseDeserialize(definition.responseSerialize(response))];
}

const cases = [
  {
    method: 'Range',
    what: 'a Range answer, header ids up to 2^64-1 included',
    arb: rangeArb as fc.Arbitrary<Record<string, unknown>>,
    encode: encodeRangeResponse,
  },
  {
    method: 'Put',
    what: 'a Put answer, with and without a previous key-value',
    arb: putArb as fc.Arbitrary<Record<string, unknown>>,
    encode: encodePutResponse,
  },
  {
    method: 'Watch',
    what: 'a Watch answer with events or none, fragment or not',
    arb: watchArb as fc.Arbitrary<Record<string, unknown>>,
    encode: encodeWatchResponse,
  },
] as const;

for (const { method, what, arb, encode } of cases) {
  test(`${what}, encoded here, decodes to the message grpc-js encodes`, () => {
    fc.assert(
      fc.property(arb, (response) => {
        const [fast, slow] = decodedBothWays(method, response, encode(response));
        assert.deepEqual(fast, slow);
      }),
      { numRuns: 300 },
    );
  });
}

test('fields at their default are left out, as etcd leaves them out', () => {
  const header = { cluster_id: '0', member_id: '0', revision: 0, raft_term: 0 };
  // An empty header is still present (field 1, length 0); nothing else is written.
  assert.deepEqual([...(encodeRangeResponse({ header, kvs: [], more: false, count: 0 }) as Buffer)], [0x0a, 0x00]);
  assert.deepEqual([...(encodePutResponse({ header }) as Buffer)], [0x0a, 0x00]);
});

test('a shape the encoders do not know is declined, and the service serializes it as grpc-js does', () => {
  const header = { cluster_id: '1', member_id: '2', revision: 3, raft_term: 4 };
  const kv = { key: Uint8Array.of(1), create_revision: 1, mod_revision: 2, version: 1, value: Uint8Array.of(2), lease: 0 };
  const declined: Record<string, unknown>[] = [
    { header, kvs: [kv], more: false, count: 1, extra: 1 },
    { header: { ...header, revision: -1 }, kvs: [], more: false, count: 0 },
    { header: { ...header, cluster_id: 'not a number' }, kvs: [], more: false, count: 0 },
    { header, kvs: [{ ...kv, lease: 2 ** 53 }], more: false, count: 1 },
    { header, kvs: [{ ...kv, key: 'a string' }], more: false, count: 1 },
  ];
  const service = withFastResponses('KV', kvDefinition);
  const outcome = (serialize: ((value: unknown) => Buffer) | undefined, response: unknown): unknown => {
    try {
      return serialize?.(response);
    } catch (error) {
      return `threw ${String(error)}`;
    }
  };
  for (const response of declined) {
    assert.equal(
      encodeRangeResponse(response),
      undefined,
      JSON.stringify(response, (_k, v) => (v instanceof Uint8Array ? [...v] : v)),
    );
    assert.deepEqual(outcome(service.Range?.responseSerialize, response), outcome(kvDefinition.Range?.responseSerialize, response));
  }
  assert.equal(encodePutResponse({ header, prev_kv: { ...kv, version: 1.5 } }), undefined);
  // The other methods keep grpc-js's serializer.
  assert.equal(service.Txn?.responseSerialize, kvDefinition.Txn?.responseSerialize);
});

test('an event carried by several answers, twice in one, decodes to the same message in each', () => {
  const header = { cluster_id: '7', member_id: '3', revision: 42, raft_term: 2 };
  const event = { type: 'DELETE', kv: { key: Uint8Array.of(1, 2), create_revision: 0, mod_revision: 42, version: 0, value: new Uint8Array(0), lease: 0 } };
  const answers = [
    { header, watch_id: 1, events: [event] },
    { header, watch_id: 2, events: [event, event] },
  ];
  for (const answer of answers) {
    const [fast, slow] = decodedBothWays('Watch', answer, encodeWatchResponse(answer));
    assert.deepEqual(fast, slow);
  }
  // A created or canceled answer is left to grpc-js.
  const created = { header, watch_id: 1, created: true };
  assert.equal(encodeWatchResponse(created), undefined);
  const service = withFastResponses('Watch', watchDefinition);
  assert.deepEqual(service.Watch?.responseSerialize(created), watchDefinition.Watch?.responseSerialize(created));
});
