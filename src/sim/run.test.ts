import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allFaultKinds } from './options.js';
import { runSimulation } from './run.js';

test('the same seed gives the same run: identical trace and fingerprint', async () => {
  for (const [seed, nodes] of [
    [11, 3],
    [12, 5],
    [13, 7],
  ] as const) {
    const a = await runSimulation(seed, { nodes, faults: allFaultKinds, trace: true });
    const b = await runSimulation(seed, { nodes, faults: allFaultKinds, trace: true });
    assert.equal(a.trace, b.trace);
    assert.equal(a.fingerprint, b.fingerprint);
    assert.ok(a.trace.split('\n').length > 1000, 'the trace tells the run');
    // Tracing only records: the run without it is the same run.
    const quiet = await runSimulation(seed, { nodes, faults: allFaultKinds });
    assert.equal(quiet.fingerprint, a.fingerprint);
    assert.equal(quiet.trace, '');
    assert.deepEqual({ ...quiet, trace: '' }, { ...a, trace: '' });
  }
});

test('different seeds give different runs', async () => {
  const fingerprints = new Set<string>();
  for (const seed of [1, 2, 3, 4, 5]) fingerprints.add((await runSimulation(seed, { nodes: 3 })).fingerprint);
  assert.equal(fingerprints.size, 5);
});

test('a run does client work, survives its faults and passes the liveness phase', async () => {
  const result = await runSimulation(4, { nodes: 5, faults: allFaultKinds });
  assert.deepEqual(result.violations, []);
  assert.equal(result.linearizability, 'linearizable');
  assert.ok(result.operations > 50, `${result.operations} operations`);
  assert.ok(result.completions.ok > 10, `${result.completions.ok} succeeded`);
  assert.ok(result.stats.crashes > 0, 'nodes crashed');
  assert.ok(result.stats.messagesDropped > 0, 'messages were lost');
  assert.ok(result.stats.livenessSteps !== undefined);
});

test('the trace is bounded by its ring buffer', async () => {
  const result = await runSimulation(5, { nodes: 3, trace: true, traceLinesMax: 50 });
  const lines = result.trace.split('\n');
  assert.equal(lines.length, 51);
  assert.match(lines[0] ?? '', /earlier lines dropped/);
});

// The checks can fail: each deliberate bug below (a wrapped port or a client's
// shortcut, sabotage.ts) must be caught, on most seeds.
const sabotages = [
  { name: 'a store that stores the wrong value on one node', sabotage: { brokenStateMachine: true }, faults: allFaultKinds, kind: 'state-machine-safety' },
  // The lie shows only across a crash: the schedule crashes nodes and nothing else.
  { name: 'disks that acknowledge syncs they did not do', sabotage: { lyingSyncs: true }, faults: ['crash'], kind: 'persistence' },
  { name: 'reads served locally without ReadIndex', sabotage: { staleReads: true }, faults: allFaultKinds, kind: 'linearizability' },
  { name: 'writes acknowledged before they commit', sabotage: { ackBeforeCommit: true }, faults: allFaultKinds, kind: 'lost-write' },
] as const;

for (const { name, sabotage, faults, kind } of sabotages) {
  test(`the checks catch ${name}`, async () => {
    const kinds: string[] = [];
    for (let seed = 1; seed <= 20; seed++) {
      const result = await runSimulation(seed, { nodes: 3, faults, sabotage });
      kinds.push(result.violations[0]?.kind ?? 'none');
    }
    const caught = kinds.filter((k) => k === kind).length;
    assert.ok(caught >= 14, `caught as ${kind} on ${caught} of 20 seeds: ${kinds.join(', ')}`);
  });
}

test('a tampered log on disk is caught after the node restarts from it', async () => {
  // Every restarting node finds its last committed entry replaced; replaying it must
  // break state machine safety.
  let caught = 0;
  for (let seed = 1; seed <= 10; seed++) {
    const result = await runSimulation(seed, { nodes: 3, faults: ['crash'], sabotage: { tamperLogOnRestart: true } });
    if (result.violations.some((v) => v.kind === 'log-matching' || v.kind === 'state-machine-safety')) caught++;
  }
  assert.ok(caught >= 7, `caught on ${caught} of 10 seeds`);
});

test('the targeted schedules reach their windows: changes right after elections and back to back, churn, late responses', async () => {
  let refusedEarly = 0;
  let refusedPending = 0;
  let churns = 0;
  let lateCopies = 0;
  // Eight seeds: which of them reach a window moves with any change to the schedule's
  // timing (sending a leader's appends at the next Ready moved it off seeds 21-23).
  for (const seed of [21, 22, 23, 24, 25, 26, 27, 28]) {
    const result = await runSimulation(seed, { nodes: 5, faults: ['membership', 'churn', 'late-responses', 'crash'], trace: true, traceLinesMax: 200_000 });
    assert.deepEqual(result.violations, []);
    // The core's refusals (NOT_COMMITTED_IN_TERM, CONFIG_CHANGE_PENDING), as the replica words them.
    refusedEarly += result.trace.split('has not yet committed an entry of its term').length - 1;
    refusedPending += result.trace.split('is not committed yet').length - 1;
    churns += result.trace.split('nemesis churn:').length - 1;
    lateCopies += result.trace.split('\n').filter((line) => /^ *\d+ late /.test(line)).length;
  }
  assert.ok(refusedEarly > 0, 'a change proposed before the new leader committed an entry of its term');
  assert.ok(refusedPending > 0, 'a change proposed while another was pending');
  assert.ok(churns > 3, `${churns} churn events`);
  assert.ok(lateCopies > 10, `${lateCopies} late copies of responses`);
});

test('a long run (--steps) keeps every check over a fault phase many times the default', async () => {
  const result = await runSimulation(6, { nodes: 3, faultSteps: 30_000 });
  assert.deepEqual(result.violations, []);
  assert.ok(result.steps > 30_000);
  assert.ok(result.stats.leaderlessStepsMax > 0 && result.stats.leaderlessStepsMax < result.steps, `noLeaderMax=${result.stats.leaderlessStepsMax}`);
});
