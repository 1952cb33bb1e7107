/**
 * Watches on a real 3-node cluster, through every way in: the REST API's WebSocket and
 * server-sent events (through the TypeScript client), `keel watch`, Debian's etcdctl
 * and the etcd3 npm client over gRPC. Watchers sit on followers, since every node
 * serves watches from its own applied state.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Etcd3, type IKeyValue } from 'etcd3';
import { Cluster, mainScript } from '../harness/cluster-harness.js';
import { ensureEtcdctl, etcdctl } from './etcdctl.js';
import { RunningProgram, WsWatchStream, type WsMessage } from './watch-clients.js';
import { KeelClient } from '../client/keel-client.js';
import type { WatchBatch } from '../client/watch.js';
import { waitFor } from '../harness/wait-for.js';
import { credentials, loadPackageDefinition, type ClientDuplexStream, type GrpcObject, type ServiceClientConstructor } from '@grpc/grpc-js';
import { etcdPackageDefinition } from '../proto/etcd-proto.js';

let cluster: Cluster;
let client: KeelClient;
let followerUrl: string;

before(async () => {
  await ensureEtcdctl();
  cluster = await Cluster.start({ size: 3, env: { KEEL_WATCH_PROGRESS_NOTIFY_MS: '200' } });
  client = new KeelClient({ endpoints: cluster.nodes.map((n) => n.url) });
  const leader = await cluster.waitForLeader();
  followerUrl = cluster.url(cluster.nodes.find((n) => n.id !== leader.id)?.id as number);
});
after(async () => cluster?.destroy());

const eventsOf = (messages: readonly WsMessage[], watchId: number): Record<string, unknown>[] =>
  messages.filter((m) => m.type === 'events' && m.watchId === watchId).flatMap((m) => m['events'] as Record<string, unknown>[]);

test('server-sent events through the client: history from a revision, then live changes, with prevKv and filters', async () => {
  const first = await client.put('sse/a', '1');
  await client.put('sse/b', '2');
  await client.delete('sse/a');
  const watcher = new KeelClient({ endpoints: [followerUrl] });
  const stop = new AbortController();
  const batches: WatchBatch[] = [];
  const all = (async () => {
    for await (const batch of watcher.watch('sse/', { prefix: true, revision: first.revision, prevKv: true, signal: stop.signal })) batches.push(batch);
  })();
  const deletes: WatchBatch[] = [];
  const onlyDeletes = (async () => {
    for await (const batch of watcher.watch('sse/', { prefix: true, revision: first.revision, noPut: true, signal: stop.signal })) deletes.push(batch);
  })();
  const live = await client.put('sse/a', '3');
  const events = () => batches.flatMap((b) => b.events);
  // Two streams: each is read until it has what it should (the delete-only one may lag the other).
  await waitFor(async () => events().length >= 4 && deletes.length > 0, {
    timeoutMs: 15_000,
    what: 'four events on sse/, and the delete on the delete-only watch',
  });
  stop.abort();
  await Promise.all([all, onlyDeletes]);
  assert.deepEqual(
    events().map((e) => [e.type, e.kv.key, e.kv.value, e.kv.modRevision, e.prevKv?.value]),
    [
      ['put', 'sse/a', '1', first.revision, undefined],
      ['put', 'sse/b', '2', first.revision + 1, undefined],
      ['delete', 'sse/a', '', first.revision + 2, '1'],
      ['put', 'sse/a', '3', live.revision, undefined],
    ],
  );
  assert.deepEqual(
    deletes.flatMap((b) => b.events).map((e) => [e.type, e.kv.key]),
    [['delete', 'sse/a']],
  );
});

test('a key named "ws" is watched over server-sent events like any other', async () => {
  const put = await client.put('ws', 'not the socket');
  const watcher = new KeelClient({ endpoints: [followerUrl] });
  for await (const batch of watcher.watch('ws', { revision: put.revision })) {
    assert.deepEqual(
      batch.events.map((e) => [e.kv.key, e.kv.value]),
      [['ws', 'not the socket']],
    );
    break;
  }
});

test('bad watch requests are refused with a reason, nothing is watched', async () => {
  const badRev = await fetch(`${followerUrl}/watch/k?rev=-3`);
  assert.equal(badRev.status, 400);
  assert.match(await badRev.text(), /rev must be a non-negative integer/);
  const emptyKey = await fetch(`${followerUrl}/watch/`);
  assert.equal(emptyKey.status, 400);
  assert.match(await emptyKey.text(), /KEY_EMPTY/);
  const ws = await WsWatchStream.open(followerUrl);
  try {
    ws.send({ create: { key: 'b', rangeEnd: 'a' } });
    ws.sendText('not json');
    ws.send({ cancel: { watchId: 99 } });
    await ws.until((m) => m.length >= 3, 'three answers');
    assert.equal(ws.messages[0]?.type, 'createFailed');
    assert.equal(ws.messages[0]?.['code'], 'INVALID_RANGE');
    assert.match(String(ws.messages[1]?.['message']), /must be JSON/);
    assert.match(String(ws.messages[2]?.['message']), /no watcher 99/);
  } finally {
    ws.close();
  }
});

test('WebSocket: several watchers on one socket, progress notifications and requests, cancel, a compacted start', async () => {
  const ws = await WsWatchStream.open(followerUrl);
  try {
    ws.send({ create: { key: 'ws/one' } });
    ws.send({ create: { key: 'ws/', prefix: true, prevKv: true, progressNotify: true } });
    await ws.until((m) => m.filter((x) => x.type === 'created').length === 2, 'two watchers created');
    const [one, all] = ws.messages.filter((m) => m.type === 'created').map((m) => m.watchId as number);
    assert.deepEqual([one, all], [0, 1]);
    await client.put('ws/one', 'x');
    const two = await client.put('ws/two', 'y');
    await ws.until((m) => eventsOf(m, all as number).length === 2 && eventsOf(m, one as number).length === 1, 'the events of both watchers');
    assert.deepEqual(
      eventsOf(ws.messages, one as number).map((e) => (e['kv'] as { value: string }).value),
      ['x'],
    );
    // Idle: the progress-notifying watcher hears the current revision.
    await ws.until((m) => m.some((x) => x.type === 'progress' && x.watchId === all && x.revision >= two.revision), 'a progress notification');
    ws.send({ progress: {} });
    await ws.until((m) => m.some((x) => x.type === 'progress' && x.watchId === -1 && x.revision >= two.revision), 'the answer to a progress request');
    const status = (await (await fetch(`${followerUrl}/status`)).json()) as { watchers: number };
    assert.ok(status.watchers >= 2, `/status counts ${status.watchers} watchers`);
    ws.send({ cancel: { watchId: one } });
    await ws.until((m) => m.some((x) => x.type === 'canceled' && x.watchId === one), 'the cancel answer');
    await client.put('ws/one', 'after cancel');
    await ws.until((m) => eventsOf(m, all as number).length === 3, 'the prefix watcher still watching');
    assert.equal(eventsOf(ws.messages, one as number).length, 1, 'a canceled watcher got an event');

    const grpcClient = new Etcd3({ hosts: `http://${cluster.nodes[0]?.grpcEndpoint}` });
    try {
      await grpcClient.kv.compact({ revision: String(two.revision) });
    } finally {
      grpcClient.close();
    }
    ws.send({ create: { key: 'ws/', prefix: true, startRevision: 1, watchId: 7 } });
    await ws.until((m) => m.some((x) => x.type === 'canceled' && x.watchId === 7), 'the compacted answer');
    const canceled = ws.messages.find((x) => x.type === 'canceled' && x.watchId === 7) as WsMessage;
    assert.equal(canceled['code'], 'COMPACTED');
    assert.equal(canceled['compactRevision'], two.revision + 1);
  } finally {
    ws.close();
  }
});

test('keel watch prints history from --rev and then live changes', async () => {
  const first = await client.put('cli/k', 'one');
  const program = new RunningProgram(
    process.execPath,
    [mainScript, 'watch', 'cli/', '--prefix', '--rev', String(first.revision), '--prev-kv', '--endpoints', followerUrl],
    process.env,
    30_000,
  );
  try {
    await program.until((out) => out.includes('PUT\tcli/k\tone\n'), 'the replayed put');
    await client.put('cli/k', 'two');
    await client.delete('cli/k');
    await program.until((out) => out.includes('DELETE\tcli/k\ttwo\n'), 'the live delete');
  } finally {
    await program.stop();
  }
  assert.equal(program.stdout, 'PUT\tcli/k\tone\nPUT\tcli/k\ttwo\tone\nDELETE\tcli/k\ttwo\n');
});

test('etcdctl watch with --rev and --prev-kv, while writes happen', async () => {
  const etcdctlPath = await ensureEtcdctl();
  const first = await client.put('ctl/k', 'v1');
  const follower = cluster.nodes.find((n) => n.url === followerUrl)?.grpcEndpoint as string;
  const program = new RunningProgram(
    etcdctlPath,
    [`--endpoints=${follower}`, 'watch', 'ctl/', '--prefix', `--rev=${first.revision}`, '--prev-kv'],
    { PATH: process.env.PATH ?? '', ETCDCTL_API: '3' },
    30_000,
  );
  try {
    await program.until((out) => out.includes('PUT\nctl/k\nv1\n'), 'the replayed put');
    await client.put('ctl/k', 'v2');
    await client.delete('ctl/k');
    await program.until((out) => out.split('\n').filter((l) => l === 'DELETE').length === 1, 'the live delete');
  } finally {
    await program.stop();
  }
  // etcdctl prints an event's type, then with --prev-kv the previous key and value, then the key and value.
  assert.equal(program.stdout, 'PUT\nctl/k\nv1\nPUT\nctl/k\nv1\nctl/k\nv2\nDELETE\nctl/k\nv2\nctl/k\n\n');
  // A compacted start revision is answered as etcd answers it.
  const current = await client.put('ctl/other', 'x');
  await etcdctl(cluster.grpcEndpoints(), ['compact', String(current.revision)]);
  const refused = await etcdctl(follower, ['watch', 'ctl/k', '--rev=2'], { timeoutMs: 15_000 });
  assert.match(refused.stdout + refused.stderr, /required revision has been compacted/);
  assert.notEqual(refused.code, 0);
});

test('the etcd3 npm client watches a prefix from a revision with previous values', async () => {
  const first = await client.put('npm/a', '1');
  const follower = cluster.nodes.find((n) => n.url === followerUrl)?.grpcEndpoint as string;
  const etcd = new Etcd3({ hosts: `http://${follower}` });
  const seen: string[] = [];
  try {
    const watcher = await etcd.watch().prefix('npm/').startRevision(String(first.revision)).withPreviousKV().create();
    watcher.on('put', (kv: IKeyValue, previous?: IKeyValue) =>
      seen.push(`put ${kv.key.toString()}=${kv.value.toString()} prev=${previous?.value.toString() ?? '-'} @${kv.mod_revision}`),
    );
    watcher.on('delete', (kv: IKeyValue, previous?: IKeyValue) => seen.push(`delete ${kv.key.toString()} prev=${previous?.value.toString() ?? '-'}`));
    const second = await client.put('npm/a', '2');
    await client.delete('npm/a');
    await waitFor(async () => seen.length >= 3, { timeoutMs: 15_000, what: 'three events through etcd3', explain: async () => JSON.stringify(seen) });
    assert.deepEqual(seen, [`put npm/a=1 prev=- @${first.revision}`, `put npm/a=2 prev=1 @${second.revision}`, 'delete npm/a prev=2']);
    await watcher.cancel();
  } finally {
    etcd.close();
  }
});

type GrpcWatchResponse = {
  header: { revision: string };
  watch_id: string;
  created: boolean;
  canceled: boolean;
  cancel_reason: string;
  compact_revision: string;
  events: { type: string; kv: { key: Buffer; value: Buffer; mod_revision: string }; prev_kv: { value: Buffer } | null }[];
};

test('gRPC Watch stream: server-chosen and client-chosen ids, filters, progress request, cancel, a refused duplicate id', async () => {
  const follower = cluster.nodes.find((n) => n.url === followerUrl)?.grpcEndpoint as string;
  const pkg = loadPackageDefinition(etcdPackageDefinition()).etcdserverpb as GrpcObject;
  const Watch = pkg.Watch as ServiceClientConstructor;
  const service = new Watch(follower, credentials.createInsecure());
  const stream = (service as unknown as { Watch(): ClientDuplexStream<object, GrpcWatchResponse> }).Watch();
  const got: GrpcWatchResponse[] = [];
  stream.on('data', (response: GrpcWatchResponse) => got.push(response));
  stream.on('error', () => {});
  const until = (predicate: () => boolean, what: string) =>
    waitFor(async () => predicate(), { timeoutMs: 15_000, what, explain: async () => JSON.stringify(got) });
  try {
    const key = Buffer.from('grpc/k');
    stream.write({ create_request: { key, prev_kv: true } });
    stream.write({ create_request: { key, filters: ['NOPUT'], watch_id: 5, fragment: true } });
    stream.write({ create_request: { key, watch_id: 5 } });
    await until(() => got.length >= 3, 'three create answers');
    assert.deepEqual(
      got.slice(0, 3).map((r) => [r.watch_id, r.created, r.canceled]),
      [
        ['0', true, false],
        ['5', true, false],
        ['-1', true, true],
      ],
    );
    assert.match(got[2]?.cancel_reason ?? '', /watch id 5 is already in use/);
    const put = await client.put('grpc/k', 'v');
    const del = await client.delete('grpc/k');
    await until(() => got.filter((r) => r.events.length > 0).length >= 3, 'the events of both watchers');
    const eventsOf = (id: string) =>
      got.filter((r) => r.watch_id === id).flatMap((r) => r.events.map((e) => `${e.type} ${e.kv.mod_revision} prev=${e.prev_kv?.value.toString() ?? '-'}`));
    assert.deepEqual(eventsOf('0'), [`PUT ${put.revision} prev=-`, `DELETE ${del.revision} prev=v`]);
    assert.deepEqual(eventsOf('5'), [`DELETE ${del.revision} prev=-`]);
    const live = got.find((r) => r.watch_id === '5' && r.events.length > 0) as GrpcWatchResponse;
    assert.ok(Number(live.header.revision) >= del.revision, 'a header revision below its events');
    stream.write({ progress_request: {} });
    await until(() => got.some((r) => r.watch_id === '-1' && !r.created), 'the progress answer');
    const progress = got.find((r) => r.watch_id === '-1' && !r.created) as GrpcWatchResponse;
    assert.ok(Number(progress.header.revision) >= del.revision);
    stream.write({ cancel_request: { watch_id: 5 } });
    await until(() => got.some((r) => r.watch_id === '5' && r.canceled), 'the cancel answer');
  } finally {
    stream.end();
    service.close();
  }
});
