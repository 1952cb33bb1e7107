import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Command, CommanderError } from 'commander';
import { FakeCluster } from '../client/testing/scripted-cluster.js';
import { captureIo } from './cli-io.js';
import type { CapturedIo } from './cli-io.js';
import { registerClientCommands } from './client-commands.js';

/** Runs `keel ARGS` in-process with its output captured. */
async function keel(args: readonly string[], env: Record<string, string>, stdin?: Uint8Array): Promise<CapturedIo> {
  const io = captureIo(env, stdin);
  const program = new Command('keel').exitOverride();
  program.configureOutput({ writeOut: (text) => io.out(text), writeErr: (text) => io.err(text) });
  registerClientCommands(program, io);
  for (const command of program.commands) command.exitOverride().configureOutput({ writeOut: (t) => io.out(t), writeErr: (t) => io.err(t) });
  await program.parseAsync(args, { from: 'user' });
  return io;
}

describe('keel client commands', () => {
  let cluster: FakeCluster;
  let env: Record<string, string>;
  before(async () => {
    cluster = await FakeCluster.start({ nodes: 3, leader: 2 });
    env = { KEEL_ENDPOINTS: cluster.endpoints().join(',') };
  });
  after(async () => {
    await cluster.close();
  });
  beforeEach(() => {
    cluster.store.clear();
    cluster.faults.length = 0;
    cluster.leader = 2;
  });

  it('put then get prints the value, get --json the record', async () => {
    const put = await keel(['put', 'greeting', 'hello'], env);
    assert.match(put.stdout(), /^OK \(revision \d+\)\n$/);
    assert.equal(put.exitCode(), 0);
    const get = await keel(['get', 'greeting'], env);
    assert.equal(get.stdout(), 'hello\n');
    const json = JSON.parse((await keel(['get', 'greeting', '--json'], env)).stdout());
    assert.equal(json.key, 'greeting');
    assert.equal(json.value, 'hello');
    assert.equal(json.version, 1);
    assert.equal(typeof json.revision, 'number');
  });

  it('get --raw prints the exact bytes; put - reads the value from stdin', async () => {
    const bytes = new Uint8Array([0, 1, 2, 0xff, 0x0a]);
    await keel(['put', 'blob', '-'], env, bytes);
    assert.deepEqual((await keel(['get', 'blob', '--raw'], env)).stdoutBytes(), bytes);
    assert.equal(JSON.parse((await keel(['get', 'blob', '--json'], env)).stdout()).valueBase64, Buffer.from(bytes).toString('base64'));
  });

  it('get of a missing key exits 1 with a message on stderr', async () => {
    const io = await keel(['get', 'absent'], env);
    assert.equal(io.exitCode(), 1);
    assert.equal(io.stdout(), '');
    assert.match(io.stderr(), /key not found: absent/);
  });

  it('get passes --consistency and --rev', async () => {
    await keel(['put', 'k', 'v'], env);
    cluster.received.length = 0;
    await keel(['get', 'k', '--consistency', 'serializable', '--rev', '2'], env);
    assert.ok(cluster.dataRequests().some((r) => r.url === '/kv/k?consistency=serializable&rev=2'));
  });

  it('del prints how many keys went', async () => {
    await keel(['put', 'k', 'v'], env);
    assert.match((await keel(['del', 'k'], env)).stdout(), /^deleted 1 \(revision \d+\)\n$/);
    assert.equal(JSON.parse((await keel(['delete', 'k', '--json'], env)).stdout()).deleted, 0);
  });

  it('scan prints key<TAB>value lines and notes when more keys exist', async () => {
    for (const [k, v] of [
      ['app/a', '1'],
      ['app/b', 'two\nlines'],
      ['other', 'x'],
    ])
      await keel(['put', k!, v!], env);
    const all = await keel(['scan', 'app/'], env);
    assert.equal(all.stdout(), 'app/a\t1\napp/b\ttwo\\nlines\n');
    assert.equal(all.stderr(), '');
    const limited = await keel(['scan', '--limit', '1'], env);
    assert.equal(limited.stdout(), 'app/a\t1\n');
    assert.match(limited.stderr(), /1 of 3 keys shown/);
    const json = JSON.parse((await keel(['scan', 'app/', '--json'], env)).stdout());
    assert.deepEqual(
      json.kvs.map((kv: { key: string }) => kv.key),
      ['app/a', 'app/b'],
    );
    assert.equal(json.count, 2);
    assert.equal(json.more, false);
  });

  it('status shows every node, its role and health', async () => {
    const io = await keel(['status'], env);
    const lines = io.stdout().trimEnd().split('\n');
    assert.match(lines[0]!, /^ID\s+ENDPOINT\s+ROLE\s+TERM\s+LEADER\s+COMMIT\s+APPLIED\s+REVISION\s+HEALTH$/);
    assert.equal(lines.length, 4);
    assert.match(lines[2]!, new RegExp(`^2\\s+${cluster.url(2)}\\s+leader\\s+3\\s+2\\s+\\d+\\s+\\d+\\s+\\d+\\s+ok$`));
    assert.match(lines[1]!, /follower/);
    const json = JSON.parse((await keel(['status', '--json'], env)).stdout());
    assert.deepEqual(
      json.map((n: { id: number; role: string }) => [n.id, n.role]),
      [
        [1, 'follower'],
        [2, 'leader'],
        [3, 'follower'],
      ],
    );
  });

  it('members lists the cluster and marks the leader', async () => {
    const io = await keel(['members'], env);
    const lines = io.stdout().trimEnd().split('\n');
    assert.match(lines[0]!, /^ID\s+CLIENT-URL\s+PEER\s+KIND\s+LEADER$/);
    assert.match(lines[2]!, /^2\s+\S+\s+127\.0\.0\.1:\d+\s+voter\s+leader$/);
    assert.equal(JSON.parse((await keel(['members', '--json'], env)).stdout()).leader, 2);
  });

  it('--endpoints overrides KEEL_ENDPOINTS', async () => {
    const io = await keel(['put', 'k', 'v', '--endpoints', cluster.url(3)], { KEEL_ENDPOINTS: 'http://127.0.0.1:1' });
    assert.equal(io.exitCode(), 0, io.stderr());
  });

  it('a refused request exits 3 and says why', async () => {
    cluster.inject({ kind: 'error', status: 413, code: 'VALUE_TOO_LARGE' });
    const io = await keel(['put', 'k', 'v'], env);
    assert.equal(io.exitCode(), 3);
    assert.match(io.stderr(), /^keel put: .*VALUE_TOO_LARGE/);
  });

  it('a write whose outcome is unknown exits 4 and says so', async () => {
    for (let i = 0; i < 9; i++) cluster.inject({ kind: 'hang' }); // the first try and 8 retries
    const io = await keel(['put', 'k', 'v', '--timeout', '100'], { KEEL_ENDPOINTS: cluster.url(2) });
    assert.equal(io.exitCode(), 4, io.stderr());
    assert.match(io.stderr(), /may or may not have been applied/);
  });

  it('no reachable node: status prints the table and exits 3', async () => {
    const io = await keel(['status', '--endpoints', 'http://127.0.0.1:1'], {});
    assert.equal(io.exitCode(), 3);
    assert.match(io.stdout(), /unreachable\s+-\s+-\s+-\s+-\s+-\s+down/);
    assert.match(io.stderr(), /no node answered/);
  });

  it('a bad endpoint is a usage error (exit 2)', async () => {
    const io = await keel(['get', 'k', '--endpoints', 'ftp://x'], {});
    assert.equal(io.exitCode(), 2);
    assert.match(io.stderr(), /only http/);
  });

  it('usage mistakes are refused by the parser', async () => {
    await assert.rejects(keel(['get'], env), (e: unknown) => e instanceof CommanderError && e.code === 'commander.missingArgument');
    await assert.rejects(
      keel(['get', 'k', '--consistency', 'eventual'], env),
      (e: unknown) => e instanceof CommanderError && e.code === 'commander.invalidArgument',
    );
    await assert.rejects(keel(['scan', '--limit', '0'], env), (e: unknown) => e instanceof CommanderError && e.code === 'commander.invalidArgument');
    await assert.rejects(keel(['get', 'k', '--rev', 'x'], env), (e: unknown) => e instanceof CommanderError);
  });
});
