/**
 * `keel start --auto-tls`: the node makes its own certificate (kept under the data
 * directory) and serves TLS on both listeners; clients that skip verification
 * (etcdctl --insecure-skip-tls-verify, keel --insecure-skip-tls-verify) work, clients
 * that verify refuse it. And a bad certificate file at start is an error naming it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mainScript } from '../harness/cluster-harness.js';
import { runKeel } from '../cli/testing/run-keel.js';
import { freePorts } from '../harness/free-ports.js';
import { etcdctl } from './etcdctl.js';
import { waitFor } from '../harness/wait-for.js';
import { fetchWithTls } from '../client/tls.js';
import { writeNewSecretFile } from '../server/peer-secret.js';

let dir: string;
let node: ChildProcess | undefined;
let url: string;
let grpcEndpoint: string;
/** The cluster secret every node needs to authenticate its peers (a one-node cluster too). */
let secretFile: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'keel-auto-tls-'));
  secretFile = join(dir, 'cluster-secret');
  await writeNewSecretFile(secretFile);
  const [peerPort, clientPort, grpcPort] = (await freePorts(3)) as [number, number, number];
  url = `https://127.0.0.1:${clientPort}`;
  grpcEndpoint = `127.0.0.1:${grpcPort}`;
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('KEEL_')));
  node = spawn(
    process.execPath,
    [
      mainScript,
      'start',
      '--id',
      '1',
      '--members',
      `1=127.0.0.1:${peerPort}:${clientPort}:${grpcPort}`,
      '--data-dir',
      join(dir, 'data'),
      '--peer-secret-file',
      secretFile,
      '--auto-tls',
      '--log-level',
      'warn',
    ],
    { env, stdio: 'ignore' },
  );
  const skipVerify = fetchWithTls({ insecureSkipVerify: true });
  await waitFor(
    async () => {
      if (node?.exitCode !== null) throw new Error(`the node exited with ${node?.exitCode}`);
      try {
        return (await skipVerify(`${url}/health`, { signal: AbortSignal.timeout(1_000) })).status === 200;
      } catch {
        return false;
      }
    },
    { timeoutMs: 30_000, what: 'the --auto-tls node to answer over https' },
  );
});
after(async () => {
  if (node && node.exitCode === null) {
    const exited = new Promise((resolve) => node?.once('exit', resolve));
    node.kill('SIGKILL');
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

test('the generated certificate is kept under the data directory, its key 0600', () => {
  assert.equal(statSync(join(dir, 'data', 'auto-tls', 'key.pem')).mode & 0o777, 0o600);
  assert.ok(statSync(join(dir, 'data', 'auto-tls', 'cert.pem')).size > 0);
});

test('clients that skip verification work; clients that verify refuse the certificate', async () => {
  const skip = ['--insecure-transport=false', '--insecure-skip-tls-verify'];
  const put = await etcdctl(grpcEndpoint, [...skip, 'put', 'auto', 'tls']);
  assert.equal(put.code, 0, put.stderr);
  const get = await etcdctl(grpcEndpoint, [...skip, 'get', 'auto', '--print-value-only']);
  assert.equal(get.stdout.trim(), 'tls', get.stderr);
  const plain = await etcdctl(grpcEndpoint, ['get', 'auto'], { timeoutMs: 15_000 });
  assert.notEqual(plain.code, 0, 'a plain-text client must not get through');

  const cli = await runKeel(['get', 'auto', `--endpoints=${url}`, '--insecure-skip-tls-verify']);
  assert.equal(cli.code, 0, cli.stderr);
  assert.match(cli.stdout, /tls/);
  const verifying = await runKeel(['get', 'auto', `--endpoints=${url}`, '--timeout=2000']);
  assert.notEqual(verifying.code, 0);
  assert.match(verifying.stderr, /certificate|NETWORK_ERROR/i);
});

test('a bad certificate file at start is an error naming the file', async () => {
  const bad = join(dir, 'bad-cert.pem');
  writeFileSync(bad, 'not a certificate');
  const [peerPort, clientPort] = (await freePorts(2)) as [number, number];
  const result = await runKeel([
    'start',
    '--id',
    '1',
    '--members',
    `1=127.0.0.1:${peerPort}:${clientPort}`,
    '--data-dir',
    join(dir, 'bad'),
    '--peer-secret-file',
    secretFile,
    '--cert-file',
    bad,
    '--key-file',
    bad,
    '--log-level',
    'silent',
  ]);
  assert.notEqual(result.code, 0);
  assert.ok(result.stderr.includes(bad), result.stderr);
});
