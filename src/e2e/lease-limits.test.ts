/**
 * Lease limits and etcd's lease errors over gRPC, on one real node started with tiny
 * limits (KEEL_LEASES_MAX=2, KEEL_LEASE_KEEPALIVE_STREAMS_MAX=1): refusals name the
 * limit, change nothing, and lift once there is room again.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { credentials, loadPackageDefinition, status } from '@grpc/grpc-js';
import type { Client, ClientDuplexStream, GrpcObject, ServiceClientConstructor, ServiceError } from '@grpc/grpc-js';
import { etcdPackageDefinition } from '../proto/etcd-proto.js';
import { Cluster } from '../harness/cluster-harness.js';
import { describe, errorCode, http } from '../harness/http.js';
import { waitFor } from '../harness/wait-for.js';

type Message = Record<string, unknown>;
type Unary = (request: Message, options: { deadline: number }, callback: (error: ServiceError | null, response: Message) => void) => void;

let cluster: Cluster;
let lease: Client;

before(async () => {
  cluster = await Cluster.start({ size: 1, env: { KEEL_LEASES_MAX: '2', KEEL_LEASE_KEEPALIVE_STREAMS_MAX: '1' } });
  const pkg = loadPackageDefinition(etcdPackageDefinition()).etcdserverpb as GrpcObject;
  lease = new (pkg.Lease as ServiceClientConstructor)(cluster.nodes[0]?.grpcEndpoint as string, credentials.createInsecure());
});
after(async () => {
  lease?.close();
  await cluster?.destroy();
});

function call(method: string, request: Message): Promise<Message> {
  const unary = (lease as unknown as Record<string, Unary>)[method] as Unary;
  return new Promise((resolve, reject) =>
    unary.call(lease, request, { deadline: Date.now() + 10_000 }, (error, response) => (error ? reject(error) : resolve(response))),
  );
}

const grpcError =
  (code: status, message: RegExp) =>
  (error: unknown): boolean =>
    (error as ServiceError).code === code && message.test((error as ServiceError).details);

/** One keep-alive on an open stream: its answer, or the stream's error. */
function keepAlive(stream: ClientDuplexStream<Message, Message>, id: string): Promise<Message> {
  return new Promise((resolve, reject) => {
    stream.once('data', resolve);
    stream.once('error', reject);
    stream.write({ ID: id });
  });
}

test('leasesMax: a grant beyond it is refused by name (REST 429, gRPC RESOURCE_EXHAUSTED) until a lease goes', async () => {
  const url = cluster.url(1);
  const first = await http(`${url}/leases`, { method: 'POST', body: { ttl: 60 } });
  const second = await call('LeaseGrant', { TTL: '60' });
  assert.equal(first.status, 200, describe(first));
  const third = await http(`${url}/leases`, { method: 'POST', body: { ttl: 60 } });
  assert.deepEqual([third.status, errorCode(third)], [429, 'TOO_MANY_LEASES'], describe(third));
  assert.match(describe(third), /leasesMax/);
  await assert.rejects(call('LeaseGrant', { TTL: '60' }), grpcError(status.RESOURCE_EXHAUSTED, /leasesMax/));
  assert.equal(((await http(`${url}/leases`)).body as { leases: unknown[] }).leases.length, 2);
  await call('LeaseRevoke', { ID: second.ID });
  const again = await call('LeaseGrant', { TTL: '60' });
  assert.match(String(again.ID), /^\d+$/);
  await call('LeaseRevoke', { ID: again.ID });
  await http(`${url}/leases/${(first.body as { id: number }).id}`, { method: 'DELETE' });
});

test("etcd's lease errors over gRPC: too large TTL, taken id, unknown lease", async () => {
  await assert.rejects(call('LeaseGrant', { TTL: '9000000001' }), grpcError(status.OUT_OF_RANGE, /^etcdserver: too large lease TTL$/));
  const granted = await call('LeaseGrant', { TTL: '30', ID: '4242' });
  assert.deepEqual([granted.ID, granted.TTL], ['4242', '30']);
  await assert.rejects(call('LeaseGrant', { TTL: '30', ID: '4242' }), grpcError(status.FAILED_PRECONDITION, /^etcdserver: lease already exists$/));
  await call('LeaseRevoke', { ID: '4242' });
  await assert.rejects(call('LeaseRevoke', { ID: '4242' }), grpcError(status.NOT_FOUND, /^etcdserver: requested lease not found$/));
  // A TTL under the minimum is raised to it (one node, 20 ms ticks: 1 s).
  const short = await call('LeaseGrant', { TTL: '0' });
  assert.equal(short.TTL, '1');
  await call('LeaseRevoke', { ID: short.ID });
});

test('leaseKeepAliveStreamsMax: one stream more is refused; closing one makes room', async () => {
  const granted = await call('LeaseGrant', { TTL: '60' });
  const id = String(granted.ID);
  const open = (): ClientDuplexStream<Message, Message> =>
    (lease as unknown as { LeaseKeepAlive: () => ClientDuplexStream<Message, Message> }).LeaseKeepAlive();
  const first = open();
  const answer = await keepAlive(first, id);
  assert.deepEqual([answer.ID, answer.TTL], [id, '60']);
  const unknown = await keepAlive(first, '999');
  assert.deepEqual([unknown.ID, unknown.TTL], ['999', '0'], 'an unknown lease answers TTL 0, as in etcd');
  const second = open();
  await assert.rejects(keepAlive(second, id), grpcError(status.RESOURCE_EXHAUSTED, /leaseKeepAliveStreamsMax/));
  first.end();
  await waitFor(
    async () => {
      const retry = open();
      try {
        return (await keepAlive(retry, id)).TTL === '60';
      } catch {
        return false;
      } finally {
        retry.end();
      }
    },
    { timeoutMs: 10_000, what: 'a keep-alive stream to be accepted once the first closed' },
  );
  await call('LeaseRevoke', { ID: id });
});
