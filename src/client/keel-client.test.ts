import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KeelClient } from './keel-client.js';
import type { KeelClientOptions } from './keel-client.js';
import { KeelClientError } from './errors.js';
import { FakeCluster } from './testing/scripted-cluster.js';

/** Small delays, no jitter surprises: the tests check behaviour, never timing. */
function client(cluster: FakeCluster, options: Partial<KeelClientOptions> = {}): KeelClient {
  return new KeelClient({
    endpoints: cluster.endpoints(),
    timeoutMs: 2_000,
    backoff: { initialMs: 1, maxMs: 5 },
    random: () => 0.5,
    ...options,
  });
}

async function rejection(promise: Promise<unknown>): Promise<KeelClientError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof KeelClientError, `expected a KeelClientError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the call to fail');
}

describe('KeelClient against a scripted cluster', () => {
  let cluster: FakeCluster;
  before(async () => {
    cluster = await FakeCluster.start({ nodes: 3, leader: 1 });
  });
  after(async () => {
    await cluster.close();
  });
  beforeEach(() => {
    cluster.leader = 1;
    cluster.faults.length = 0;
    cluster.received.length = 0;
    cluster.applied.length = 0;
    cluster.store.clear();
    cluster.followersForward = false;
  });

  it('puts, gets, deletes and scans text and bytes', async () => {
    const keel = client(cluster);
    const put = await keel.put('greeting', 'hello');
    assert.ok(put.revision > 0);
    const got = await keel.get('greeting');
    assert.equal(got?.value, 'hello');
    assert.equal(got?.key, 'greeting');
    assert.equal(got?.version, 1);
    assert.equal(got?.modRevision, put.revision);
    const binary = new Uint8Array([0, 255, 128, 10]);
    await keel.put('bin', binary);
    assert.deepEqual((await keel.get('bin'))?.valueBytes, binary);
    await keel.put('dir/a', '1');
    await keel.put('dir/b', '2');
    const scan = await keel.scan('dir/');
    assert.deepEqual(
      scan.kvs.map((kv) => [kv.key, kv.value]),
      [
        ['dir/a', '1'],
        ['dir/b', '2'],
      ],
    );
    assert.equal(scan.more, false);
    const limited = await keel.scan('dir/', { limit: 1 });
    assert.equal(limited.kvs.length, 1);
    assert.equal(limited.count, 2);
    assert.equal(limited.more, true);
    const deleted = await keel.delete('greeting');
    assert.equal(deleted.deleted, 1);
    assert.equal(await keel.get('greeting'), undefined);
    assert.equal((await keel.delete('greeting')).deleted, 0);
  });

  it('puts any key in the URL: slashes, spaces, percent signs, unicode, query characters', async () => {
    const keel = client(cluster);
    const keys = ['a/b/c', '/leading', 'trailing/', 'two  spaces', '100%', 'ü→日本', 'q?x=1&y#z', "it's(*)!", 'a/../b', './x'];
    for (const key of keys) await keel.put(key, `value of ${key}`);
    for (const key of keys) assert.equal((await keel.get(key))?.value, `value of ${key}`, key);
    assert.ok(cluster.dataRequests().every((r) => r.url.startsWith('/kv/')));
  });

  it('sends the keys ".", ".." and keys that are not UTF-8 through /batch, since a URL path cannot carry them', async () => {
    const keel = client(cluster);
    const rawKey = new Uint8Array([0x6b, 0xff, 0x00, 0x2f]);
    await keel.put(rawKey, 'raw');
    const raw = await keel.get(rawKey);
    assert.equal(raw?.value, 'raw');
    assert.deepEqual(raw?.keyBytes, rawKey);
    assert.equal((await keel.delete(rawKey)).deleted, 1);
    await keel.put('.', 'dot');
    await keel.put('..', 'dotdot');
    assert.equal((await keel.get('.'))?.value, 'dot');
    assert.equal((await keel.get('..'))?.value, 'dotdot');
    assert.equal((await keel.delete('..')).deleted, 1);
    assert.equal(await keel.get('..'), undefined);
    assert.ok(cluster.dataRequests().every((r) => r.url === '/batch'));
  });

  it('applies a batch and decodes each result', async () => {
    const keel = client(cluster);
    await keel.put('gone', 'x');
    const result = await keel.batch([
      { op: 'set', key: 'k', value: 'v' },
      { op: 'get', key: 'k' },
      { op: 'get', key: 'missing' },
      { op: 'delete', key: 'gone' },
      { op: 'set', key: 'bytes', value: new Uint8Array([0xc3, 0x28]) },
    ]);
    assert.deepEqual(
      result.results.map((r) => r.op),
      ['set', 'get', 'get', 'delete', 'set'],
    );
    const [, get, missing, del] = result.results;
    assert.equal(get?.op === 'get' ? get.kv?.value : undefined, 'v');
    assert.equal(missing?.op === 'get' ? missing.kv : 'not a get', undefined);
    assert.equal(del?.op === 'delete' ? del.deleted : -1, 1);
    assert.deepEqual((await keel.get('bytes'))?.valueBytes, new Uint8Array([0xc3, 0x28]));
  });

  it('passes consistency and revision in the query', async () => {
    const keel = client(cluster);
    await keel.put('k', 'v');
    cluster.received.length = 0;
    await keel.get('k', { consistency: 'serializable', revision: 2 });
    await keel.scan('k', { limit: 5, consistency: 'serializable' });
    const urls = cluster.dataRequests().map((r) => r.url);
    assert.deepEqual(urls, ['/kv/k?consistency=serializable&rev=2', '/kv?prefix=k&limit=5&consistency=serializable']);
  });

  it('finds the leader from a follower endpoint and sends requests there', async () => {
    cluster.leader = 2;
    const keel = new KeelClient({ endpoints: [cluster.url(3)], backoff: { initialMs: 1, maxMs: 5 } });
    await keel.put('k', 'v');
    assert.equal(keel.leaderEndpoint(), cluster.url(2));
    assert.deepEqual(
      cluster.dataRequests().map((r) => r.node),
      [2],
    );
    assert.deepEqual([...keel.endpoints()].sort(), cluster.endpoints().sort(), 'learned every member');
  });

  it('on NOT_LEADER looks for the new leader and retries there with the same session', async () => {
    const keel = client(cluster);
    await keel.put('warm', 'up');
    cluster.leader = 3;
    cluster.received.length = 0;
    await keel.put('k', 'v');
    const writes = cluster.dataRequests();
    assert.deepEqual(
      writes.map((r) => r.node),
      [1, 3],
    );
    assert.equal(writes[0]?.clientId, writes[1]?.clientId);
    assert.equal(writes[0]?.seq, writes[1]?.seq);
    assert.equal(cluster.applied.length, 2);
  });

  it('retries 503s with backoff, then succeeds', async () => {
    const keel = client(cluster);
    for (let i = 0; i < 3; i++) cluster.inject({ kind: 'error', status: 503, code: 'OVERLOADED' });
    await keel.put('k', 'v');
    assert.equal(cluster.dataRequests().length, 4);
    assert.equal(cluster.applied.length, 1);
  });

  it('gives up after `retries` retries with the last error, outcome not-applied', async () => {
    const keel = client(cluster, { retries: 2 });
    for (let i = 0; i < 5; i++) cluster.inject({ kind: 'error', status: 503, code: 'OVERLOADED' });
    const error = await rejection(keel.put('k', 'v'));
    assert.equal(error.code, 'OVERLOADED');
    assert.equal(error.status, 503);
    assert.equal(error.outcome, 'not-applied');
    assert.equal(error.attempts, 3);
    assert.equal(error.retryAfterMs, 1000);
    assert.equal(error.endpoint, cluster.url(1));
    assert.equal(cluster.dataRequests().length, 3);
    assert.equal(cluster.applied.length, 0);
  });

  it('stops retrying when the retry budget is spent', async () => {
    const keel = client(cluster, { retries: 1000, retryBudgetMs: 50, backoff: { initialMs: 20, maxMs: 20 }, random: () => 0.99 });
    for (let i = 0; i < 1000; i++) cluster.inject({ kind: 'error', status: 503, code: 'OVERLOADED' });
    const error = await rejection(keel.put('k', 'v'));
    assert.equal(error.code, 'OVERLOADED');
    assert.ok(error.attempts < 10, `attempts ${error.attempts}`);
  });

  it('applies a write once when the answer is lost to a timeout after it was applied', async () => {
    const keel = client(cluster, { timeoutMs: 200 });
    cluster.inject({ kind: 'apply-then-hang' });
    const put = await keel.put('k', 'v');
    assert.equal(cluster.applied.length, 1, 'applied exactly once');
    assert.equal(put.revision, cluster.applied[0]?.revision, "the retry got the first application's result");
    const [first, second] = cluster.dataRequests();
    assert.equal(first?.clientId, second?.clientId);
    assert.equal(first?.seq, second?.seq);
  });

  it('applies a write once when the connection drops after it was applied', async () => {
    const keel = client(cluster);
    cluster.inject({ kind: 'apply-then-drop' });
    await keel.put('k', 'v');
    assert.equal(cluster.applied.length, 1);
    assert.equal(cluster.dataRequests().length, 2);
  });

  it('applies a write once when the connection drops before it was applied', async () => {
    const keel = client(cluster);
    cluster.inject({ kind: 'drop' });
    await keel.delete('nothing');
    assert.equal(cluster.applied.length, 1);
  });

  it('applies a write once after a 504 whose outcome was unknown', async () => {
    const keel = client(cluster);
    cluster.inject({ kind: 'apply-then-504' });
    cluster.inject({ kind: 'apply-then-504' });
    const result = await keel.batch([{ op: 'set', key: 'a', value: '1' }]);
    assert.equal(cluster.applied.length, 1);
    assert.equal(result.revision, cluster.applied[0]?.revision);
    assert.equal(new Set(cluster.dataRequests().map((r) => `${r.clientId}/${r.seq}`)).size, 1);
  });

  it('reports outcome unknown when every attempt timed out, and retires that session', async () => {
    const keel = client(cluster, { timeoutMs: 100, retries: 1 });
    cluster.inject({ kind: 'apply-then-hang' });
    cluster.inject({ kind: 'hang' });
    const error = await rejection(keel.put('k', 'v'));
    assert.equal(error.code, 'TIMEOUT');
    assert.equal(error.outcome, 'unknown');
    assert.equal(error.attempts, 2);
    const lost = cluster.dataRequests()[0];
    await keel.put('k2', 'v2');
    const next = cluster.dataRequests().at(-1);
    assert.notEqual(next?.clientId, lost?.clientId, 'a write after an unknown outcome uses a fresh session');
    assert.equal(next?.seq, 1);
  });

  it('reports outcome unknown when an earlier attempt may have applied, even if the last was refused', async () => {
    const keel = client(cluster, { timeoutMs: 100, retries: 1 });
    cluster.inject({ kind: 'hang' });
    cluster.inject({ kind: 'error', status: 503, code: 'STOPPING' });
    const error = await rejection(keel.put('k', 'v'));
    assert.equal(error.code, 'STOPPING');
    assert.equal(error.outcome, 'unknown');
  });

  it('does not retry a request the server refused as malformed or too large', async () => {
    const keel = client(cluster);
    cluster.inject({ kind: 'error', status: 413, code: 'VALUE_TOO_LARGE' });
    const error = await rejection(keel.put('k', 'v'));
    assert.equal(error.code, 'VALUE_TOO_LARGE');
    assert.equal(error.status, 413);
    assert.equal(error.outcome, 'not-applied');
    assert.equal(error.attempts, 1);
    assert.equal(cluster.dataRequests().length, 1);
  });

  it('refuses an empty key before sending anything', async () => {
    const keel = client(cluster);
    const error = await rejection(keel.put('', 'v'));
    assert.equal(error.code, 'KEY_EMPTY');
    assert.equal(cluster.dataRequests().length, 0);
  });

  it('numbers the writes of a session 1, 2, 3 and gives concurrent writes separate sessions', async () => {
    const keel = client(cluster);
    await keel.put('a', '1');
    await keel.put('b', '2');
    await keel.delete('a');
    assert.deepEqual(
      cluster.dataRequests().map((r) => r.seq),
      [1, 2, 3],
    );
    assert.equal(new Set(cluster.dataRequests().map((r) => r.clientId)).size, 1);
    assert.ok(cluster.dataRequests()[0]?.clientId?.startsWith(`${keel.clientId}-`));
    cluster.received.length = 0;
    await Promise.all(Array.from({ length: 40 }, (_, i) => keel.put(`c${i}`, String(i))));
    assert.equal(cluster.applied.length, 43, 'no concurrent write was refused as a stale seq');
    const ids = cluster.dataRequests().map((r) => r.clientId);
    assert.equal(new Set(ids).size, 40, 'each in-flight write had its own session');
  });

  it('starts a fresh session when the server forgot the old one and no attempt can have applied', async () => {
    const keel = client(cluster);
    await keel.put('a', '1');
    cluster.sessions.clear();
    await keel.put('b', '2');
    const [, expired, renewed] = cluster.dataRequests();
    assert.equal(expired?.seq, 2);
    assert.equal(renewed?.seq, 1);
    assert.notEqual(renewed?.clientId, expired?.clientId);
    assert.equal(cluster.applied.length, 2);
  });

  it('moves to the next endpoint when one refuses connections', async () => {
    const local = await FakeCluster.start({ nodes: 3, leader: null });
    try {
      await local.stopNode(1);
      const keel = new KeelClient({ endpoints: local.endpoints(), backoff: { initialMs: 1, maxMs: 5 } });
      const answered = await keel.get('k', { consistency: 'serializable' });
      assert.equal(answered, undefined);
      assert.deepEqual(
        local.dataRequests().map((r) => r.node),
        [2],
      );
    } finally {
      await local.close();
    }
  });

  it('fails over when the leader stops answering', async () => {
    const local = await FakeCluster.start({ nodes: 3, leader: 1 });
    try {
      const keel = new KeelClient({ endpoints: local.endpoints(), backoff: { initialMs: 1, maxMs: 5 }, timeoutMs: 1_000 });
      await keel.put('k', '1');
      await local.stopNode(1);
      local.leader = 2;
      await keel.put('k', '2');
      assert.equal(keel.leaderEndpoint(), local.url(2));
      assert.equal((await keel.get('k'))?.value, '2');
    } finally {
      await local.close();
    }
  });

  it('retries reads that time out, on the client or the server', async () => {
    const keel = client(cluster, { timeoutMs: 100 });
    await keel.put('k', 'v');
    cluster.inject({ kind: 'hang' }, { route: 'GET /kv' });
    cluster.inject({ kind: 'error', status: 504, code: 'TIMEOUT' }, { route: 'GET /kv' });
    assert.equal((await keel.get('k'))?.value, 'v');
    assert.equal(cluster.dataRequests().filter((r) => r.method === 'GET').length, 3);
  });

  it('reports a read that never succeeded as not applied', async () => {
    const keel = client(cluster, { retries: 1 });
    cluster.leader = null;
    const error = await rejection(keel.get('k'));
    assert.equal(error.code, 'NO_LEADER');
    assert.equal(error.outcome, 'not-applied');
  });

  it('stops at once when the caller aborts', async () => {
    const keel = client(cluster, { timeoutMs: 5_000 });
    cluster.inject({ kind: 'hang' });
    const controller = new AbortController();
    const pending = keel.put('k', 'v', { signal: controller.signal });
    while (cluster.dataRequests().length === 0) await new Promise((resolve) => setImmediate(resolve));
    controller.abort();
    const error = await rejection(pending);
    assert.equal(error.code, 'ABORTED');
    assert.equal(error.outcome, 'unknown');
  });

  it('answers status, cluster info and health', async () => {
    const keel = client(cluster);
    const status = await keel.status(cluster.url(2));
    assert.equal(status.id, 2);
    assert.equal(status.role, 'follower');
    assert.equal(status.leader, 1);
    const leaderStatus = await keel.status();
    assert.equal(leaderStatus.role, 'leader');
    const info = await keel.clusterInfo();
    assert.equal(info.leader, 1);
    assert.deepEqual(
      info.members.map((m) => m.clientUrl),
      cluster.endpoints(),
    );
    assert.deepEqual(await keel.health(cluster.url(3)), { ok: true, leader: 1, endpoint: cluster.url(3) });
    cluster.leader = null;
    assert.deepEqual(await keel.health(cluster.url(3)), { ok: false, leader: null, endpoint: cluster.url(3) });
  });

  it('asks only the given endpoint for status, once', async () => {
    const local = await FakeCluster.start({ nodes: 2 });
    try {
      await local.stopNode(2);
      const keel = new KeelClient({ endpoints: local.endpoints() });
      const error = await rejection(keel.status(local.url(2)));
      assert.equal(error.code, 'NETWORK_ERROR');
      assert.equal(error.attempts, 1);
      assert.equal(error.endpoint, local.url(2));
    } finally {
      await local.close();
    }
  });
});

describe('KeelClient options', () => {
  it('refuses no endpoints, bad URLs and bad numbers', () => {
    assert.throws(() => new KeelClient({ endpoints: [] }), /at least one endpoint/);
    assert.throws(() => new KeelClient({ endpoints: ['ftp://x'] }), /only http/);
    assert.throws(() => new KeelClient({ endpoints: ['http://a'], timeoutMs: 0 }), /timeoutMs/);
    assert.throws(() => new KeelClient({ endpoints: ['http://a'], retries: -1 }), /retries/);
    assert.throws(() => new KeelClient({ endpoints: ['http://a'], backoff: { initialMs: 10, maxMs: 5 } }), /backoff/);
  });

  it('normalizes endpoints and accepts host:port', () => {
    const keel = new KeelClient({ endpoints: ['127.0.0.1:2379', 'http://127.0.0.1:2380/', 'http://127.0.0.1:2379'] });
    assert.deepEqual(keel.endpoints(), ['http://127.0.0.1:2379', 'http://127.0.0.1:2380']);
  });
});
