import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runSeedBatch } from './seed-batch.js';

// Seeds 1..200 with every node running the production replica (replica-host.ts): its
// Ready loop, WAL on the fault-injecting file system, MVCC store on the memory
// environment, pending requests and sessions. Replay a failure with:
// npm run sim -- --host replica --seed N --trace
test('simulator on the production replica: seeds 1..200 keep every safety and liveness check', async () => {
  const outcome = await runSeedBatch(1, 200, { overrides: { host: 'replica' } });
  assert.equal(outcome.failure, undefined, outcome.failure);
  assert.ok(outcome.operationsCount > 200 * 50, `only ${outcome.operationsCount} client operations`);
});
