/**
 * Client mistakes, generated (fast-check), against a real node: every gateway path with
 * bodies made of its request type's own field names holding values of every JSON kind,
 * and the REST key, scan, watch, lease and alarm routes with mangled query strings and
 * bodies. A mistake must never be answered as the server's (no 500, no INTERNAL), the
 * node must stay up, and a refusal must change nothing (the revision stays where it was).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type protobuf from 'protobufjs';
import { etcdProtoRoot } from '../proto/etcd-proto.js';
import { withCluster } from '../harness/cluster-harness.js';
import type { Cluster } from '../harness/cluster-harness.js';
import { http } from '../harness/http.js';

/** Gateway paths and the request type each takes (the services' own table would bring the node's code in). */
const gatewayPaths: ReadonlyArray<readonly [string, string]> = [
  ['/v3/kv/range', 'RangeRequest'],
  ['/v3/kv/put', 'PutRequest'],
  ['/v3/kv/deleterange', 'DeleteRangeRequest'],
  ['/v3/kv/txn', 'TxnRequest'],
  ['/v3/kv/compaction', 'CompactionRequest'],
  ['/v3/lease/grant', 'LeaseGrantRequest'],
  ['/v3/lease/revoke', 'LeaseRevokeRequest'],
  ['/v3/lease/timetolive', 'LeaseTimeToLiveRequest'],
  ['/v3/lease/leases', 'LeaseLeasesRequest'],
  ['/v3/maintenance/alarm', 'AlarmRequest'],
  ['/v3/maintenance/status', 'StatusRequest'],
  ['/v3/maintenance/hash', 'HashKVRequest'],
  ['/v3/cluster/member/list', 'MemberListRequest'],
  ['/v3/auth/status', 'AuthStatusRequest'],
  ['/v3/auth/authenticate', 'AuthenticateRequest'],
  ['/v3/auth/user/get', 'AuthUserGetRequest'],
  ['/v3/auth/role/get', 'AuthRoleGetRequest'],
];

const runsPerProperty = 150;
/** A small body nested deep enough to overflow a JSON parser's stack (it answered 500 once). */
const deeplyNested = `${'{"value":'.repeat(20_000)}1${'}'.repeat(20_000)}`;

async function revision(cluster: Cluster): Promise<number> {
  return ((await http(`${cluster.url(1)}/status`)).body as { revision: number }).revision;
}

/** Sends one request and checks it was not answered as the server's fault; a refusal left the revision alone. */
async function send(cluster: Cluster, path: string, options: Parameters<typeof http>[1]): Promise<void> {
  const before = await revision(cluster);
  const answer = await http(`${cluster.url(1)}${path}`, options);
  const text = JSON.stringify(answer.body);
  assert.ok(
    answer.status < 500 || answer.status === 503,
    `${options?.method ?? 'GET'} ${path} ${JSON.stringify(options?.body)?.slice(0, 300)} -> ${answer.status} ${text.slice(0, 300)}`,
  );
  assert.doesNotMatch(text, /"INTERNAL"|"code":13/, `${path} answered INTERNAL: ${text.slice(0, 300)}`);
  if (answer.status >= 400) assert.equal(await revision(cluster), before, `a refused ${path} changed the store: ${text.slice(0, 200)}`);
}

test('generated client mistakes get 4xx answers that change nothing, on every gateway path and the REST routes', { timeout: 240_000 }, async () => {
  await withCluster({ size: 1 }, async (cluster) => {
    const root = etcdProtoRoot();
    const bodyFor = (typeName: string): fc.Arbitrary<Record<string, unknown>> => {
      const type = root.lookupType(`etcdserverpb.${typeName}`) as protobuf.Type;
      const names = type.fieldsArray.map((f) => f.name);
      const value = fc.oneof(
        fc.jsonValue({ maxDepth: 3 }),
        fc.constantFrom('abc', '-1', '99999999999999999999', '1.5', '', 'YQ==', '%%%'),
        fc.double(),
        fc.integer(),
      );
      return fc.dictionary(fc.constantFrom(...names, 'unknown_field'), value, { maxKeys: 4 });
    };
    const gatewayRequest = fc.constantFrom(...gatewayPaths).chain(([path, typeName]) => bodyFor(typeName).map((body) => ({ path, body })));
    await fc.assert(
      fc.asyncProperty(gatewayRequest, async ({ path, body }) => send(cluster, path, { method: 'POST', body })),
      { numRuns: runsPerProperty },
    );
    const queryValue = fc.oneof(fc.constantFrom('true', 'false', 'maybe', '-1', '1.5', 'abc', '99999999999999999999', '', '%00'), fc.string({ maxLength: 8 }));
    const query = fc.dictionary(
      fc.constantFrom(
        'prevKv',
        'lease',
        'ttl',
        'rev',
        'limit',
        'prefix',
        'start',
        'end',
        'sort',
        'order',
        'keysOnly',
        'countOnly',
        'consistency',
        'keys',
        'noPut',
      ),
      queryValue,
      { maxKeys: 3 },
    );
    const route = fc.constantFrom(
      ['PUT', '/kv/k'],
      ['GET', '/kv/k'],
      ['DELETE', '/kv/k'],
      ['GET', '/kv'],
      ['GET', '/history/k'],
      ['GET', '/leases/1'],
      ['POST', '/leases'],
      ['POST', '/admin/alarms'],
      ['POST', '/batch'],
    ) as fc.Arbitrary<['PUT' | 'GET' | 'DELETE' | 'POST', string]>;
    // Bodies: none, JSON values, raw text, and JSON text as sent with a JSON content type
    // (truncated, or nested far deeper than any request).
    const jsonText = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v).slice(0, -1)),
      fc.constantFrom(100, 20_000, 60_000).map((n) => `${'{"value":'.repeat(n)}1${'}'.repeat(n)}`),
    );
    const restBody = fc.oneof(
      fc.constant({}),
      fc.jsonValue({ maxDepth: 3 }).map((body) => ({ body })),
      fc.string({ maxLength: 16 }).map((body) => ({ body })),
      jsonText.map((body) => ({ body, headers: { 'content-type': 'application/json' } })),
    );
    await fc.assert(
      fc.asyncProperty(route, query, restBody, async ([method, path], params, body) => {
        const search = new URLSearchParams(params as Record<string, string>).toString();
        await send(cluster, `${path}${search ? `?${search}` : ''}`, { method, ...(method === 'GET' ? {} : body) });
      }),
      // Always tried, whatever the draw: mistakes that once answered 500 or were taken silently.
      {
        numRuns: runsPerProperty,
        examples: [
          [['PUT', '/kv/k'], {}, { body: deeplyNested, headers: { 'content-type': 'application/json' } }],
          [['PUT', '/kv/k'], { prevKv: 'maybe' }, { body: 'v' }],
        ],
      },
    );
    // Mistakes that were once taken silently or answered with another number: each refused, naming the field.
    const b64 = (text: string): string => Buffer.from(text).toString('base64');
    const named: ReadonlyArray<readonly [string, string, Record<string, unknown> | string, RegExp]> = [
      ['POST', '/v3/kv/put', { key: b64('k'), value: b64('v'), lease: 'abc' }, /PutRequest\.lease must be a 64-bit integer.*got "abc"/],
      ['POST', '/v3/kv/range', { key: b64('k'), revision: '99999999999999999999' }, /RangeRequest\.revision 99999999999999999999 is out of range/],
      ['POST', '/v3/kv/range', { key: b64('k'), limit: 1.5 }, /RangeRequest\.limit must be a 64-bit integer.*got 1\.5/],
      ['POST', '/v3/kv/range', { key: b64('k'), serializable: 'yes' }, /RangeRequest\.serializable must be true or false/],
      ['POST', '/v3/kv/put', { key: '%%%', value: b64('v') }, /PutRequest\.key must be base64 bytes/],
      ['PUT', '/kv/k?prevKv=maybe', 'v', /prevKv must be true or false, got "maybe"/],
      ['PUT', `/kv/${'k'.repeat(3_100)}`, 'v', /key is 3100 bytes; the limit is 3072 \(keyBytesMax\)/],
      ['PUT', '/kv/k', deeplyNested, /nests deeper than 64 levels/],
    ];
    for (const [method, path, body, message] of named) {
      const before = await revision(cluster);
      const answer = await http(`${cluster.url(1)}${path}`, {
        method: method as 'PUT' | 'POST',
        body,
        ...(path === '/kv/k' && body === deeplyNested ? { headers: { 'content-type': 'application/json' } } : {}),
      });
      assert.ok(answer.status === 400 || answer.status === 413, `${method} ${path}: ${answer.status} ${JSON.stringify(answer.body).slice(0, 200)}`);
      assert.match(JSON.stringify(answer.body).replaceAll('\\"', '"'), message);
      assert.equal(await revision(cluster), before, `${path} changed nothing`);
    }
    const health = await http(`${cluster.url(1)}/health`);
    assert.equal(health.status, 200, 'the node is up and leads');
  });
});
