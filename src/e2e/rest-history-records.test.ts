/**
 * End to end, against a real 3-node cluster: historical reads and scans, a key's
 * version history, scans with sort and limit, and records with named fields, through
 * the REST API (any node), the client library and the `keel` command.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KeelClient } from '../client/keel-client.js';
import { EtcdGrpcClient } from '../client/etcd-grpc-client.js';
import { runKeel } from '../cli/testing/run-keel.js';
import { Cluster } from '../harness/cluster-harness.js';
import { errorCode, http } from '../harness/http.js';

describe('REST reads at a revision, key history, sorted scans and records on a real cluster', { timeout: 180_000 }, () => {
  let cluster: Cluster;
  let urls: string[];
  let env: Record<string, string>;
  let keel: KeelClient;
  /** Nodes in turn, so every route is served by followers as well as the leader. */
  let turn = 0;
  const anyNode = (): string => urls[turn++ % urls.length] as string;
  const put = async (key: string, value: string): Promise<number> => {
    const answer = await http(`${anyNode()}/kv/${encodeURIComponent(key)}`, { method: 'PUT', body: value });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    return (answer.body as { revision: number }).revision;
  };

  before(async () => {
    cluster = await Cluster.start({ size: 3 });
    urls = cluster.nodes.map((node) => node.url);
    env = { KEEL_ENDPOINTS: urls.join(',') };
    keel = new KeelClient({ endpoints: urls });
  });
  after(async () => {
    await cluster?.destroy();
  });

  it('GET /kv/{key}?rev=N and scans at a revision; a future revision is 400 FUTURE_REV and a compacted one 410 COMPACTED', async () => {
    const r1 = await put('rev/a', 'one');
    await put('rev/b', 'x');
    const r3 = await put('rev/a', 'two');
    const old = await http(`${anyNode()}/kv/rev/a?rev=${r1}`);
    assert.equal(old.status, 200);
    assert.equal((old.body as { value: string }).value, 'one');
    const scanOld = await http(`${anyNode()}/kv?prefix=rev/&rev=${r1}`);
    assert.deepEqual(
      (scanOld.body as { kvs: { key: string }[] }).kvs.map((kv) => kv.key),
      ['rev/a'],
    );
    const future = await http(`${anyNode()}/kv/rev/a?rev=${r3 + 1000}`);
    assert.equal(future.status, 400);
    assert.equal(errorCode(future), 'FUTURE_REV');
    assert.match(JSON.stringify(future.body), /is in the future; the current revision is \d+/);
    const grpc = new EtcdGrpcClient(cluster.nodes[0]!.grpcEndpoint);
    try {
      await grpc.call('Compact', { revision: r3 });
    } finally {
      grpc.close();
    }
    for (const path of [`/kv/rev/a?rev=${r1}`, `/kv?prefix=rev/&rev=${r1}`, `/history/rev/a?rev=${r1}`]) {
      const gone = await http(`${anyNode()}${path}`);
      assert.equal(gone.status, 410, path);
      assert.equal(errorCode(gone), 'COMPACTED');
      assert.match(JSON.stringify(gone.body), new RegExp(`revision ${r1} has been compacted; the oldest readable revision is ${r3}`));
    }
    // After compaction the history starts at the version visible at the compacted revision.
    const kept = await keel.history('rev/a');
    assert.deepEqual(
      kept.versions.map((v) => (v.type === 'put' ? v.value : 'delete')),
      ['two'],
    );
    assert.equal(kept.compactRevision, r3);
  });

  it('GET /history/{key}: puts and deletions, newest or oldest first, limit and pages; the client and keel history agree', async () => {
    const revisions = [await put('h/k', 'v1'), await put('h/k', 'v2')];
    const deleted = await http(`${anyNode()}/kv/h/k`, { method: 'DELETE' });
    revisions.push((deleted.body as { revision: number }).revision);
    revisions.push(await put('h/k', 'v3'));
    await put('h/k2', 'neighbour');
    const newest = await http(`${anyNode()}/history/h/k`);
    assert.equal(newest.status, 200);
    const body = newest.body as { key: string; versions: Array<Record<string, unknown>>; more: boolean };
    assert.equal(body.key, 'h/k');
    assert.deepEqual(body.versions, [
      { type: 'put', value: 'v3', createRevision: revisions[3], modRevision: revisions[3], version: 1, lease: 0 },
      { type: 'delete', modRevision: revisions[2] },
      { type: 'put', value: 'v2', createRevision: revisions[0], modRevision: revisions[1], version: 2, lease: 0 },
      { type: 'put', value: 'v1', createRevision: revisions[0], modRevision: revisions[0], version: 1, lease: 0 },
    ]);
    assert.equal(body.more, false);
    const page = await keel.history('h/k', { order: 'ascend', limit: 2, consistency: 'serializable' });
    assert.deepEqual(
      page.versions.map((v) => v.modRevision),
      [revisions[0], revisions[1]],
    );
    assert.equal(page.more, true);
    const next = await keel.history('h/k', { order: 'ascend', limit: 2, minRevision: (revisions[1] as number) + 1 });
    assert.deepEqual(
      next.versions.map((v) => v.type),
      ['delete', 'put'],
    );
    assert.equal(next.more, false);
    const cli = await runKeel(['history', 'h/k', '--limit', '3'], { env });
    assert.equal(cli.code, 0, cli.stderr);
    const lines = cli.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^REVISION\s+EVENT\s+VERSION\s+CREATED\s+VALUE$/);
    assert.match(lines[1]!, new RegExp(`^\\s*${revisions[3]}\\s+put\\s+1\\s+${revisions[3]}\\s+v3$`));
    assert.match(lines[2]!, new RegExp(`^\\s*${revisions[2]}\\s+delete$`));
    assert.equal(lines.length, 4);
    assert.match(cli.stderr, new RegExp(`more with --rev ${(revisions[1] as number) - 1}`));
    for (const [query, pattern] of [
      ['limit=0', /limit must be between 1 and 1000/],
      ['limit=1001', /limit must be between 1 and 1000/],
      ['order=sideways', /order must be ascend or descend/],
      ['rev=-1', /rev must be a non-negative integer/],
    ] as const) {
      const bad = await http(`${anyNode()}/history/h/k?${query}`);
      assert.equal(bad.status, 400, query);
      assert.match(JSON.stringify(bad.body), pattern);
    }
  });

  it('scans: prefix and [start, end) ranges, sort by target and order, limit with more and count, keysOnly, countOnly', async () => {
    await put('s/b', '2');
    await put('s/a', '3');
    await put('s/c', '1');
    await put('s/a', '4'); // s/a: version 2, the latest mod revision
    const keysOf = async (query: string): Promise<{ keys: string[]; count: number; more: boolean; values: (string | undefined)[] }> => {
      const answer = await http(`${anyNode()}/kv?${query}`);
      assert.equal(answer.status, 200, `${query}: ${JSON.stringify(answer.body)}`);
      const body = answer.body as { kvs: { key: string; value?: string }[]; count: number; more: boolean };
      return { keys: body.kvs.map((kv) => kv.key), count: body.count, more: body.more, values: body.kvs.map((kv) => kv.value) };
    };
    assert.deepEqual((await keysOf('prefix=s/')).keys, ['s/a', 's/b', 's/c']);
    assert.deepEqual((await keysOf('prefix=s/&order=descend')).keys, ['s/c', 's/b', 's/a']);
    assert.deepEqual((await keysOf('prefix=s/&sort=value')).keys, ['s/c', 's/b', 's/a']);
    assert.deepEqual((await keysOf('prefix=s/&sort=mod&order=descend')).keys, ['s/a', 's/c', 's/b']);
    assert.deepEqual((await keysOf('prefix=s/&sort=version&order=descend&limit=1')).keys, ['s/a']);
    const limited = await keysOf('prefix=s/&sort=create&limit=2');
    assert.deepEqual(limited.keys, ['s/b', 's/a']);
    assert.equal(limited.count, 3);
    assert.equal(limited.more, true);
    assert.deepEqual((await keysOf('start=s/b&end=s/c')).keys, ['s/b']);
    assert.deepEqual((await keysOf('start=s/b')).keys.slice(0, 2), ['s/b', 's/c']);
    assert.deepEqual((await keysOf('prefix=s/&keysOnly=true')).values, [undefined, undefined, undefined]);
    const counted = await keysOf('prefix=s/&countOnly=true');
    assert.deepEqual([counted.keys, counted.count], [[], 3]);
    for (const [query, pattern] of [
      ['prefix=s/&sort=size', /sort must be one of key, version, create, mod, value/],
      ['prefix=s/&order=up', /order must be one of none, ascend, descend/],
      ['start=s/c&end=s/a', /must sort after start/],
      ['prefix=s/&start=s/a', /either prefix or start\/end/],
      ['prefix=s/&keysOnly=yes', /keysOnly must be true or false/],
    ] as const) {
      const bad = await http(`${anyNode()}/kv?${query}`);
      assert.equal(bad.status, 400, query);
      assert.match(JSON.stringify(bad.body), pattern);
    }
    const sorted = await keel.scan('s/', { sortBy: 'value', order: 'descend', limit: 2 });
    assert.deepEqual(
      sorted.kvs.map((kv) => kv.key),
      ['s/a', 's/b'],
    );
    assert.equal(sorted.more, true);
    const cli = await runKeel(['scan', 's/', '--sort-by', 'mod', '--order', 'descend', '--keys-only'], { env });
    assert.equal(cli.stdout, 's/a\ns/c\ns/b\n', cli.stderr);
    const count = await runKeel(['scan', 's/', '--count-only'], { env });
    assert.equal(count.stdout, '3\n');
    const range = await runKeel(['scan', 's/a', '--end', 's/c'], { env });
    assert.equal(range.stdout, 's/a\t4\ns/b\t2\n');
  });

  it('records: set and read fields one at a time or whole, replace atomically, delete a field or the record; bad names refused', async () => {
    const set = await http(`${anyNode()}/records/user/1`, { method: 'PATCH', body: { fields: { name: 'Ada', born: 1815, title: 'countess' } } });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    const setRevision = (set.body as { revision: number }).revision;
    const whole = await http(`${anyNode()}/records/user/1`);
    assert.deepEqual(whole.body, {
      key: 'user/1',
      fields: { born: '1815', name: 'Ada', title: 'countess' },
      modRevision: setRevision,
      more: false,
      revision: (whole.body as { revision: number }).revision,
    });
    // One write, one revision: every field was set by the same transaction.
    const field = await http(`${anyNode()}/records/user/1/fields/name`);
    assert.equal(field.status, 200);
    assert.equal((field.body as { value: string; modRevision: number }).value, 'Ada');
    assert.equal((field.body as { modRevision: number }).modRevision, setRevision);
    const one = await http(`${anyNode()}/records/user/1/fields/title`, { method: 'PUT', body: 'mathematician' });
    assert.equal(one.status, 200);
    assert.equal((await keel.records.getField('user/1', 'title'))?.value, 'mathematician');
    assert.equal((await keel.records.getField('user/1', 'title'))?.version, 2);
    // PATCH with null removes a field; the others stay.
    await keel.records.set('user/1', { born: null, lang: 'en' });
    assert.deepEqual((await keel.records.get('user/1'))?.fields, { lang: 'en', name: 'Ada', title: 'mathematician' });
    // Replace: exactly these fields afterwards, in one transaction.
    const replaced = await keel.records.replace('user/1', { name: 'Ada Lovelace', note: 'engine' });
    assert.deepEqual((await keel.records.get('user/1'))?.fields, { name: 'Ada Lovelace', note: 'engine' });
    const before = await keel.records.get('user/1', { revision: replaced.revision - 1 });
    assert.deepEqual(before?.fields, { lang: 'en', name: 'Ada', title: 'mathematician' }, 'the record as it was just before the replace');
    // A neighbouring record and a key that shares the prefix are untouched.
    await keel.put('user/10', 'plain key');
    await keel.records.set('user/1x', { a: '1' });
    assert.deepEqual(Object.keys((await keel.records.get('user/1'))?.fields ?? {}), ['name', 'note']);
    const deletedField = await keel.records.deleteField('user/1', 'note');
    assert.equal(deletedField.deleted, 1);
    const cliSet = await runKeel(['record', 'set', 'user/2', 'name=Grace', 'lang=COBOL'], { env });
    assert.equal(cliSet.code, 0, cliSet.stderr);
    assert.equal((await runKeel(['record', 'get', 'user/2'], { env })).stdout, 'lang\tCOBOL\nname\tGrace\n');
    assert.equal((await runKeel(['record', 'get', 'user/2', 'name'], { env })).stdout, 'Grace\n');
    const cliDel = await runKeel(['record', 'del', 'user/2'], { env });
    assert.match(cliDel.stdout, /^deleted 2 fields/);
    const missing = await runKeel(['record', 'get', 'user/2'], { env });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /record not found: user\/2/);
    assert.equal(await keel.records.get('user/2'), undefined);
    assert.equal((await http(`${anyNode()}/records/user/2`)).status, 404);
    assert.equal(errorCode(await http(`${anyNode()}/records/user/1/fields/nope`)), 'FIELD_NOT_FOUND');
    const shell = await runKeel(['shell'], { env, stdin: 'record set cfg color=blue size=3\nrecord get cfg\nrecord get cfg size\nhistory cfg\n' });
    assert.equal(shell.code, 0, shell.stderr);
    assert.match(shell.stdout, /OK \(revision \d+\)\ncolor\tblue\nsize\t3\n3\n\(no history\)\n/);
    // Bad input: a clear 400 and nothing written.
    const revision = (await keel.status()).revision;
    for (const [method, path, body, pattern] of [
      ['PATCH', '/records/user/1', { fields: { 'bad name': 'x' } }, /may hold only letters, digits/],
      ['PATCH', '/records/user/1', { fields: {} }, /at least one field/],
      ['PATCH', '/records/user/1', { nope: 1 }, /the body must be JSON \{"fields"/],
      ['PUT', '/records/user/1', { fields: { a: null } }, /a whole record holds values only/],
      ['PUT', '/records/a%00b', { fields: { a: '1' } }, /may not contain the byte 0x00/],
      ['PUT', '/records/user/1/fields/', 'x', /field name must not be empty/],
      ['PATCH', '/records/user/1', { fields: Object.fromEntries(Array.from({ length: 129 }, (_, i) => [`f${i}`, 'x'])) }, /at most 128/],
      ['PUT', '/records/user/1', { fields: Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`f${i}`, 'x'])) }, /at most 63/],
    ] as const) {
      const bad = await http(`${anyNode()}${path}`, { method, body });
      assert.equal(bad.status, 400, `${method} ${path}: ${JSON.stringify(bad.body)}`);
      assert.match((bad.body as { error: { message: string } }).error.message, pattern);
    }
    assert.equal((await keel.status()).revision, revision, 'refused requests changed nothing');
  });
});
