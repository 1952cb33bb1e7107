import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeConfigDefaults, silentLogger, type Logger } from '../replica/index.js';
import { freePorts, waitFor } from '../harness/index.js';
import { KeelNode } from './keel-node.js';
import { writeNewSecretFile } from './peer-secret.js';

test('a tick the event loop holds back by half an election timeout or more is logged as late; ordinary ticks are not', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'keel-late-tick-'));
  const warnings: { fields: { lateMs?: number; gcMs?: number; background?: string[] }; message: string }[] = [];
  const log: Logger = { ...silentLogger, warn: (fields, message) => warnings.push({ fields, message }) };
  const late = (): typeof warnings => warnings.filter((warning) => warning.message.startsWith('a tick ran late'));
  const secretFile = join(dir, 'secret');
  await writeNewSecretFile(secretFile);
  const [peerPort, clientPort] = (await freePorts(2)) as [number, number];
  const config = {
    ...nodeConfigDefaults,
    id: 1,
    members: [{ id: 1, host: '127.0.0.1', peerPort, clientPort }],
    dataDir: join(dir, 'data'),
    peerSecretFile: secretFile,
  };
  const node = await KeelNode.start(config, log, (error) => assert.fail(String(error)));
  try {
    await waitFor(async () => node.status().role === 'leader', { timeoutMs: 10_000, what: 'the single member to lead' });
    assert.deepEqual(late(), [], 'ticks on an idle event loop are on time');
    // Hold the event loop for most of an election timeout, as a long synchronous task would.
    const holdMs = 0.8 * config.electionTicks * config.tickMs;
    const until = performance.now() + holdMs;
    while (performance.now() < until) {
      // busy: nothing else runs meanwhile
    }
    await waitFor(async () => late().length > 0, { timeoutMs: 5_000, what: 'the late tick to be logged' });
    const lateMs = late()[0]?.fields.lateMs ?? 0;
    assert.ok(lateMs >= holdMs - 2 * config.tickMs, `logged ${lateMs} ms late after a ${holdMs} ms hold`);
    assert.deepEqual(late()[0]?.fields.background, []);
    // A busy loop, not garbage collection, held it.
    const gcMs = late()[0]?.fields.gcMs ?? -1;
    assert.ok(gcMs >= 0 && gcMs < holdMs / 2, `gcMs ${gcMs}`);
  } finally {
    await node.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
