/**
 * etcd's JSON gateway on Keel's REST port: the paths and bodies of etcd's gateway
 * (base64 bytes, 64-bit integers as strings), its error bodies, and refusals of bad
 * input that leave the data untouched. One real node process.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from '../harness/cluster-harness.js';

let cluster: Cluster;
let base: string;

before(async () => {
  cluster = await Cluster.start({ size: 1 });
  base = cluster.url(1);
});
after(async () => cluster?.destroy());

const b64 = (text: string): string => Buffer.from(text).toString('base64');
const text = (base64: string): string => Buffer.from(base64, 'base64').toString('utf8');

async function post(path: string, body: string | object): Promise<{ status: number; json: Record<string, any> }> {
  // etcd's documentation posts with curl -d, which sends no JSON content type.
  const response = await fetch(`${base}${path}`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: response.status, json: (await response.json()) as Record<string, any> };
}

test('put, range, txn and deleterange through the gateway', async () => {
  const put = await post('/v3/kv/put', { key: b64('gw/a'), value: b64('1'), prev_kv: true });
  assert.equal(put.status, 200, JSON.stringify(put.json));
  assert.match(put.json.header.revision, /^\d+$/);
  assert.equal(put.json.header.member_id, '1');
  const second = await post('/v3/kv/put', { key: b64('gw/a'), value: b64('2'), prev_kv: true });
  assert.equal(text(second.json.prev_kv.value), '1');

  const range = await post('/v3/kv/range', { key: b64('gw/'), range_end: b64('gw0') });
  assert.equal(range.status, 200);
  assert.equal(range.json.count, '1');
  assert.equal(text(range.json.kvs[0].key), 'gw/a');
  assert.equal(text(range.json.kvs[0].value), '2');
  assert.equal(range.json.kvs[0].version, '2');

  const txn = await post('/v3/kv/txn', {
    compare: [{ key: b64('gw/a'), target: 'VALUE', result: 'EQUAL', value: b64('2') }],
    success: [{ request_put: { key: b64('gw/b'), value: b64('yes') } }],
    failure: [{ request_range: { key: b64('gw/a') } }],
  });
  assert.equal(txn.status, 200, JSON.stringify(txn.json));
  assert.equal(txn.json.succeeded, true);
  assert.ok(txn.json.responses[0].response_put);

  const deleted = await post('/v3/kv/deleterange', { key: b64('gw/'), range_end: b64('gw0') });
  assert.equal(deleted.json.deleted, '2');
});

test('errors come back as etcd gateway errors, and change nothing', async () => {
  const notJson = await post('/v3/kv/put', '{"key": ');
  assert.equal(notJson.status, 400);
  assert.match(notJson.json.error, /not JSON/);

  const noKey = await post('/v3/kv/put', { value: b64('v') });
  assert.equal(noKey.status, 400);
  assert.equal(noKey.json.message, 'etcdserver: key is not provided');
  assert.equal(noKey.json.code, 3);

  const future = await post('/v3/kv/range', { key: b64('gw/a'), revision: '100000' });
  assert.equal(future.status, 400);
  assert.equal(future.json.error, 'etcdserver: mvcc: required revision is a future revision');

  const huge = await post('/v3/kv/range', { key: b64('gw/a'), revision: '9223372036854775807' });
  assert.equal(huge.status, 400);
  assert.match(huge.json.error, /revision .* is out of range/);

  const untouched = await post('/v3/kv/range', { key: b64('gw/'), range_end: b64('gw0'), count_only: true });
  assert.equal(Number(untouched.json.count ?? '0'), 0, 'no key was written by the refused requests');
});

test('POST /v3/watch streams the watch as newline-separated {"result": ...} objects', async () => {
  const abort = new AbortController();
  const response = await fetch(`${base}/v3/watch`, {
    method: 'POST',
    body: JSON.stringify({ create_request: { key: b64('gw/watched'), prev_kv: true } }),
    signal: abort.signal,
  });
  assert.equal(response.status, 200);
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  let buffered = '';
  const nextLine = async (): Promise<Record<string, any>> => {
    for (;;) {
      const newline = buffered.indexOf('\n');
      if (newline >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        return JSON.parse(line) as Record<string, any>;
      }
      const { value, done } = await reader.read();
      if (done) throw new Error(`the watch stream ended; unread: ${buffered}`);
      buffered += Buffer.from(value).toString('utf8');
    }
  };
  try {
    const created = await nextLine();
    assert.equal(created.result.created, true, JSON.stringify(created));
    await post('/v3/kv/put', { key: b64('gw/watched'), value: b64('one') });
    await post('/v3/kv/put', { key: b64('gw/watched'), value: b64('two') });
    const seen: string[] = [];
    while (seen.length < 2) {
      const { result } = await nextLine();
      for (const event of result.events ?? [])
        seen.push(`${event.type ?? 'PUT'} ${text(event.kv.value)}${event.prev_kv ? ` after ${text(event.prev_kv.value)}` : ''}`);
    }
    assert.deepEqual(seen, ['PUT one', 'PUT two after one']);
  } finally {
    abort.abort();
  }
  const bad = await post('/v3/watch', '{"create_request": ');
  assert.equal(bad.status, 400);
});
