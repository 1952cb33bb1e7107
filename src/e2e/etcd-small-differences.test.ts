/**
 * The small differences etcd clients met on Keel, each now answered as etcd answers it
 * (or, for the watch at the compacted revision, as docs/reference/etcd-compatibility.md
 * says Keel answers on purpose): values up to etcd's 1.5 MiB request limit and etcd's
 * error just over it, a negative Range limit, a range whose end is before its key, a
 * watch on the empty key, and watch `fragment`. Over gRPC (grpc-js with Keel's .proto,
 * as etcd's clients send) and the JSON gateway, on one real node.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { credentials, loadPackageDefinition, status } from '@grpc/grpc-js';
import type { Client, ClientDuplexStream, GrpcObject, ServiceClientConstructor, ServiceError } from '@grpc/grpc-js';
import { etcdPackageDefinition } from '../proto/etcd-proto.js';
import { Cluster } from '../harness/cluster-harness.js';
import { waitFor } from '../harness/wait-for.js';

type Message = Record<string, any>;
type Unary = (request: Message, options: { deadline: number }, callback: (error: ServiceError | null, response: Message) => void) => void;

const requestBytesMax = 1536 * 1024;
const callTimeoutMs = 20_000;
let cluster: Cluster;
let kv: Client;
let watchClient: Client;

before(async () => {
  cluster = await Cluster.start({ size: 1 });
  const pkg = loadPackageDefinition(etcdPackageDefinition()).etcdserverpb as GrpcObject;
  const endpoint = cluster.nodes[0]?.grpcEndpoint as string;
  const options = { 'grpc.max_send_message_length': -1, 'grpc.max_receive_message_length': -1 };
  kv = new (pkg.KV as ServiceClientConstructor)(endpoint, credentials.createInsecure(), options);
  watchClient = new (pkg.Watch as ServiceClientConstructor)(endpoint, credentials.createInsecure(), options);
});
after(async () => {
  kv?.close();
  watchClient?.close();
  await cluster?.destroy();
});

function call(method: string, request: Message): Promise<Message> {
  const unary = (kv as unknown as Record<string, Unary>)[method] as Unary;
  return new Promise((resolve, reject) =>
    unary.call(kv, request, { deadline: Date.now() + callTimeoutMs }, (error, response) => (error ? reject(error) : resolve(response))),
  );
}

const key = (text: string): Buffer => Buffer.from(text);

async function gateway(path: string, body: object): Promise<{ status: number; json: Message }> {
  const response = await fetch(`${cluster.url(1)}${path}`, { method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(callTimeoutMs) });
  return { status: response.status, json: (await response.json()) as Message };
}

/** A watch stream and every response it has sent so far. */
function openWatch(): { stream: ClientDuplexStream<Message, Message>; responses: Message[] } {
  const stream = (watchClient as unknown as { Watch(): ClientDuplexStream<Message, Message> }).Watch();
  const responses: Message[] = [];
  stream.on('data', (response: Message) => responses.push(response));
  stream.on('error', () => {});
  return { stream, responses };
}

test("a value up to etcd's 1.5 MiB request limit is taken; just over it, etcd's INVALID_ARGUMENT over gRPC and the gateway", async () => {
  const large = Buffer.alloc(requestBytesMax - 4 * 1024, 'v');
  await call('Put', { key: key('big/ok'), value: large });
  const read = await call('Range', { key: key('big/ok') });
  assert.equal((read.kvs[0].value as Buffer).length, large.length);

  const over = Buffer.alloc(requestBytesMax + 1024, 'v');
  await assert.rejects(
    call('Put', { key: key('big/over'), value: over }),
    (error: ServiceError) => error.code === status.INVALID_ARGUMENT && error.details === 'etcdserver: request is too large',
  );
  const viaGateway = await gateway('/v3/kv/put', { key: key('big/over').toString('base64'), value: over.toString('base64') });
  assert.deepEqual([viaGateway.status, viaGateway.json.code, viaGateway.json.message], [400, status.INVALID_ARGUMENT, 'etcdserver: request is too large']);
  const none = await call('Range', { key: key('big/over') });
  assert.equal(none.kvs.length, 0, 'the refused put wrote nothing');
});

test('a negative Range limit means no limit; a range whose end is before its key is empty', async () => {
  for (const name of ['lim/a', 'lim/b', 'lim/c']) await call('Put', { key: key(name), value: key('1') });
  const all = await call('Range', { key: key('lim/'), range_end: key('lim0'), limit: '-1' });
  assert.deepEqual(
    all.kvs.map((kv: Message) => kv.key.toString()),
    ['lim/a', 'lim/b', 'lim/c'],
  );
  assert.equal(all.more, false);

  const backwards = await call('Range', { key: key('lim/c'), range_end: key('lim/a') });
  assert.deepEqual([backwards.kvs.length, backwards.count], [0, '0']);
  assert.ok(Number(backwards.header.revision) > 0, 'answered at the current revision');
  // The revision checks still apply.
  await assert.rejects(
    call('Range', { key: key('lim/c'), range_end: key('lim/a'), revision: '100000' }),
    (error: ServiceError) => error.code === status.OUT_OF_RANGE,
  );
});

test('a watch on the empty key with range_end "\\0" sees every key', async () => {
  const { stream, responses } = openWatch();
  try {
    stream.write({ create_request: { key: Buffer.alloc(0), range_end: Buffer.from([0]) } });
    await waitFor(async () => responses.some((r) => r.created === true && r.canceled !== true), { timeoutMs: callTimeoutMs, what: 'the watch created' });
    await call('Put', { key: key('anywhere/at-all'), value: key('x') });
    await waitFor(async () => responses.some((r) => r.events?.length > 0), { timeoutMs: callTimeoutMs, what: 'the event' });
    const event = responses.find((r) => r.events?.length > 0)?.events[0] as Message;
    assert.equal(event.kv.key.toString(), 'anywhere/at-all');
  } finally {
    stream.end();
  }
});

test('watch fragment: a large catch-up comes in marked pieces that join into every event', async () => {
  const value = Buffer.alloc(700 * 1024, 'f');
  const first = await call('Put', { key: key('frag/a'), value });
  await call('Put', { key: key('frag/b'), value });
  await call('Put', { key: key('frag/c'), value });
  const { stream, responses } = openWatch();
  try {
    stream.write({ create_request: { key: key('frag/'), range_end: key('frag0'), start_revision: first.header.revision, fragment: true } });
    const joined = (): string[] => responses.flatMap((r) => (r.events ?? []).map((e: Message) => e.kv.key.toString()));
    await waitFor(async () => joined().length >= 3, { timeoutMs: callTimeoutMs, what: 'the three events' });
    assert.deepEqual(joined(), ['frag/a', 'frag/b', 'frag/c']);
    const withEvents = responses.filter((r) => r.events?.length > 0);
    assert.ok(withEvents.length >= 2, `the 2.1 MB catch-up was split (${withEvents.length} message)`);
    assert.deepEqual(
      withEvents.map((r) => r.fragment),
      withEvents.map((_, i) => i < withEvents.length - 1),
      'every piece but the last is marked fragment',
    );
  } finally {
    stream.end();
  }
});

test('a watch starting at the compacted revision is canceled with the first revision Keel can replay (a documented difference)', async () => {
  await call('Put', { key: key('cmp/a'), value: key('1') });
  const second = await call('Put', { key: key('cmp/a'), value: key('2') });
  const compactAt = Number(second.header.revision);
  await call('Compact', { revision: compactAt });
  const { stream, responses } = openWatch();
  try {
    stream.write({ create_request: { key: key('cmp/a'), start_revision: compactAt } });
    await waitFor(async () => responses.some((r) => r.canceled === true), { timeoutMs: callTimeoutMs, what: 'the cancel' });
    const canceled = responses.find((r) => r.canceled === true) as Message;
    assert.equal(Number(canceled.compact_revision), compactAt + 1);
  } finally {
    stream.end();
  }
});
