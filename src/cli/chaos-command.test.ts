/**
 * `keel chaos` as a user runs it: on loopback (the mode for users without root, with
 * partitions by fault hooks), a short run with a partition, confined to a block of
 * ports, writes its report, histories and summary and exits 0; an unknown nemesis is
 * refused up front.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freeBasePort } from '../harness/free-ports.js';

const run = promisify(execFile);
const main = new URL('./main.js', import.meta.url).pathname;

test('keel chaos --network loopback --base-port: a short partition run passes, keeps to its ports and leaves a report, histories and a summary', {
  timeout: 120_000,
}, async () => {
  const results = await mkdtemp(join(tmpdir(), 'keel-chaos-cli-'));
  const portCount = 30;
  const basePort = await freeBasePort(portCount, [0]);
  try {
    const { stdout } = await run(
      process.execPath,
      [
        main,
        'chaos',
        '--time',
        '14',
        '--nemesis',
        'partition-halves',
        '--network',
        'loopback',
        '--fault-seconds',
        '4',
        '--quiet-seconds',
        '2',
        '--seed',
        '3',
        '--base-port',
        String(basePort),
        '--port-count',
        String(portCount),
        '--results',
        results,
      ],
      { timeout: 100_000 },
    );
    assert.match(stdout, /network: loopback \(127\.0\.0\.1; asked for\)/);
    assert.match(stdout, /partition-halves: cut/);
    assert.match(stdout, /PASS: no violations, no lost acknowledged writes/);
    assert.match(stdout, /longest time without an acknowledged write: partition-halves \d+ ms/);
    const [dir] = readdirSync(results);
    assert.ok(dir?.endsWith('-seed3'), `one run directory named after its seed (${dir})`);
    const runDir = join(results, dir as string);
    for (const file of ['report.html', 'timeline.html', 'history-register.jsonl', 'summary.json', 'logs/node-1.log'])
      assert.ok(existsSync(join(runDir, file)), `${file} is there`);
    const summary = JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8')) as {
      failures: string[];
      intervals: unknown[];
      workloads: { name: string; operations: { ok: number } }[];
    };
    assert.deepEqual(summary.failures, []);
    assert.ok(summary.intervals.length >= 1);
    assert.deepEqual(
      summary.workloads.map((w) => w.name),
      ['register', 'set', 'bank'],
    );
    // Every port a node served on (its one client port, for HTTP and gRPC, and its peer port) lies in the block the run was given.
    const servingLines = readFileSync(join(runDir, 'logs/node-1.log'), 'utf8')
      .split('\n')
      .filter((line) => line.includes('serving'));
    const served = new Set(servingLines.flatMap((line) => [...line.matchAll(/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]))));
    assert.equal(served.size, 2, `the node log names its two listeners: ${servingLines.join(' | ')}`);
    for (const port of served) assert.ok(port >= basePort && port < basePort + portCount, `port ${port} in ${basePort}..${basePort + portCount - 1}`);
    // The history is the checker's format: keel check-history agrees it is linearizable.
    const checked = await run(process.execPath, [main, 'check-history', join(runDir, 'history-register.jsonl')]);
    assert.match(checked.stdout, /linearizable/i);
  } finally {
    await rm(results, { recursive: true, force: true });
  }
});

test('keel chaos refuses an unknown nemesis, naming the known ones', async () => {
  await assert.rejects(
    run(process.execPath, [main, 'chaos', '--nemesis', 'meteor', '--results', join(tmpdir(), 'keel-chaos-never')]),
    (error: { stderr: string; code: number }) => {
      assert.equal(error.code, 1);
      assert.match(error.stderr, /unknown nemesis "meteor"; known: partition-halves, .*clock-skew, or all/);
      return true;
    },
  );
});
