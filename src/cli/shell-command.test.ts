import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { KeelClient } from '../client/keel-client.js';
import { FakeCluster } from '../client/testing/scripted-cluster.js';
import { captureIo } from './cli-io.js';
import { runShell } from './shell-command.js';

describe('keel shell without a terminal', () => {
  let cluster: FakeCluster;
  before(async () => {
    cluster = await FakeCluster.start({ nodes: 3, leader: 1 });
  });
  after(async () => {
    await cluster.close();
  });

  async function shell(lines: string): Promise<{ out: string; err: string; failures: number }> {
    const io = captureIo();
    const client = new KeelClient({ endpoints: cluster.endpoints(), backoff: { initialMs: 1, maxMs: 5 } });
    const failures = await runShell({ client, io, input: Readable.from([lines]), output: new PassThrough(), interactive: false });
    return { out: io.stdout(), err: io.stderr(), failures };
  }

  it('runs each line, without prompts', async () => {
    const result = await shell('set x=hello world\nget x\nset "a b"="c=d"\nscan\ndel x\nget x\n# comment\n\nhelp\n');
    const lines = result.out.split('\n');
    assert.match(lines[0]!, /^OK \(revision \d+\)$/);
    assert.equal(lines[1], 'hello world');
    assert.match(lines[2]!, /^OK/);
    assert.equal(lines[3], 'a b\tc=d');
    assert.equal(lines[4], 'x\thello world');
    assert.equal(lines[5], '(2 keys)');
    assert.equal(lines[6], 'deleted 1');
    assert.equal(lines[7], '(not found)');
    assert.match(result.out, /commands:\n {2}set KEY=VALUE/);
    assert.doesNotMatch(result.out, /keel>/);
    assert.equal(result.err, '');
    assert.equal(result.failures, 0);
  });

  it('stops at exit', async () => {
    const result = await shell('set a=1\nexit\nset b=2\n');
    assert.equal(result.out.split('\n').filter((l) => l.startsWith('OK')).length, 1);
    assert.equal(cluster.store.has('b'), false);
  });

  it('reports bad lines and failed requests, carries on, and counts them', async () => {
    cluster.inject({ kind: 'error', status: 413, code: 'KEY_TOO_LARGE' });
    const result = await shell('nonsense\nset big=1\nget big\nset ok=1\n');
    assert.match(result.err, /error: unknown command "nonsense"/);
    assert.match(result.err, /error: .*KEY_TOO_LARGE/);
    assert.match(result.out, /\(not found\)\nOK/);
    assert.equal(result.failures, 2);
  });

  it('prints the status table', async () => {
    const result = await shell('status\n');
    assert.match(result.out, /^ID\s+ENDPOINT\s+ROLE/);
    assert.equal(result.out.trimEnd().split('\n').length, 4);
  });
});
