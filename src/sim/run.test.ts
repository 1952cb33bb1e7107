import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allFaultKinds } from './options.js';
import { runSimulation } from './run.js';

test('the same seed gives the same run: identical trace and fingerprint', () => {
  for (const [seed, nodes] of [[11, 3], [12, 5], [13, 7]] as const) {
    const a = runSimulation(seed, { nodes, faults: allFaultKinds, trace: true });
    const b = runSimulation(seed, { nodes, faults: allFaultKinds, trace: true });
    assert.equal(a.trace, b.trace);
    assert.equal(a.fingerprint, b.fingerprint);
    assert.ok(a.trace.split('\n').length > 1000, 'the trace tells the run');
    // Tracing only records: the run without it is the same run.
    const quiet = runSimulation(seed, { nodes, faults: allFaultKinds });
    assert.equal(quiet.fingerprint, a.fingerprint);
    assert.equal(quiet.trace, '');
    assert.deepEqual({ ...quiet, trace: '' }, { ...a, trace: '' });
  }
});

test('different seeds give different runs', () => {
  const fingerprints = new Set([1, 2, 3, 4, 5].map((seed) => runSimulation(seed, { nodes: 3 }).fingerprint));
  assert.equal(fingerprints.size, 5);
});

test('a run does client work, survives its faults and passes the liveness phase', () => {
  const result = runSimulation(4, { nodes: 5, faults: allFaultKinds });
  assert.deepEqual(result.violations, []);
  assert.equal(result.linearizability, 'linearizable');
  assert.ok(result.operations > 50, `${result.operations} operations`);
  assert.ok(result.completions.ok > 10, `${result.completions.ok} succeeded`);
  assert.ok(result.stats.crashes > 0, 'nodes crashed');
  assert.ok(result.stats.messagesDropped > 0, 'messages were lost');
  assert.ok(result.stats.livenessSteps !== undefined);
});

test('the trace is bounded by its ring buffer', () => {
  const result = runSimulation(5, { nodes: 3, trace: true, traceLinesMax: 50 });
  const lines = result.trace.split('\n');
  assert.equal(lines.length, 51);
  assert.match(lines[0] ?? '', /earlier lines dropped/);
});

// The checks can fail: each deliberate bug below must be caught, on most seeds.
const sabotages = [
  { name: 'a state machine that stores the wrong value on one node', sabotage: { brokenStateMachine: true }, kind: 'state-machine-safety' },
  { name: 'a runtime that never persists its hard state', sabotage: { skipHardStateWrites: true }, kind: 'persistence' },
  { name: 'reads served locally without ReadIndex', sabotage: { staleReads: true }, kind: 'linearizability' },
  { name: 'writes acknowledged before they commit', sabotage: { ackBeforeCommit: true }, kind: 'lost-write' },
] as const;

for (const { name, sabotage, kind } of sabotages) {
  test(`the checks catch ${name}`, () => {
    const kinds: string[] = [];
    for (let seed = 1; seed <= 10; seed++) {
      const result = runSimulation(seed, { nodes: 3, faults: allFaultKinds, sabotage });
      kinds.push(result.violations[0]?.kind ?? 'none');
    }
    const caught = kinds.filter((k) => k === kind).length;
    assert.ok(caught >= 7, `caught as ${kind} on ${caught} of 10 seeds: ${kinds.join(', ')}`);
  });
}

test('a tampered log on disk is caught after the node restarts from it', () => {
  // Every restarting node finds its last committed entry replaced; replaying it must
  // break state machine safety.
  let caught = 0;
  for (let seed = 1; seed <= 10; seed++) {
    const result = runSimulation(seed, { nodes: 3, faults: ['crash'], sabotage: { tamperLogOnRestart: true } });
    if (result.violations.some((v) => v.kind === 'log-matching' || v.kind === 'state-machine-safety' || v.kind === 'exception')) caught++;
  }
  assert.ok(caught >= 7, `caught on ${caught} of 10 seeds`);
});

test('the targeted schedules reach their windows: changes right after elections and back to back, churn, late responses', () => {
  let refusedEarly = 0;
  let refusedPending = 0;
  let churns = 0;
  let lateCopies = 0;
  for (const seed of [21, 22, 23]) {
    const result = runSimulation(seed, { nodes: 5, faults: ['membership', 'churn', 'late-responses', 'crash'], trace: true, traceLinesMax: 200_000 });
    assert.deepEqual(result.violations, []);
    refusedEarly += result.trace.split('refused NOT_COMMITTED_IN_TERM').length - 1;
    refusedPending += result.trace.split('refused CONFIG_CHANGE_PENDING').length - 1;
    churns += result.trace.split('nemesis churn:').length - 1;
    lateCopies += result.trace.split('\n').filter((line) => /^ *\d+ late /.test(line)).length;
  }
  assert.ok(refusedEarly > 0, 'a change proposed before the new leader committed an entry of its term');
  assert.ok(refusedPending > 0, 'a change proposed while another was pending');
  assert.ok(churns > 3, `${churns} churn events`);
  assert.ok(lateCopies > 10, `${lateCopies} late copies of responses`);
});

test('a long run (--steps) keeps every check over a fault phase many times the default', () => {
  const result = runSimulation(6, { nodes: 3, faultSteps: 30_000 });
  assert.deepEqual(result.violations, []);
  assert.ok(result.steps > 30_000);
  assert.ok(result.stats.leaderlessStepsMax > 0 && result.stats.leaderlessStepsMax < result.steps, `noLeaderMax=${result.stats.leaderlessStepsMax}`);
});
