import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FaultHooks, FaultRulesError, parseFaultRules } from './fault-hooks.js';
import type { FaultRule } from './fault-hooks.js';
import { Prng } from '../lib/prng.js';

test('fault hooks: no rules, every message passes at once', () => {
  const faults = new FaultHooks(new Prng(1));
  assert.deepEqual(faults.decide('out', 2), { drop: false, delayMs: 0 });
  assert.deepEqual(faults.decide('in', 2), { drop: false, delayMs: 0 });
});

test('fault hooks: isolation blocks both directions for one peer only; heal restores', () => {
  const faults = new FaultHooks(new Prng(1));
  faults.set([{ peer: 2, direction: 'both', dropFraction: 1 }]);
  assert.deepEqual(faults.decide('out', 2), { drop: true });
  assert.deepEqual(faults.decide('in', 2), { drop: true });
  assert.deepEqual(faults.decide('out', 3), { drop: false, delayMs: 0 });
  faults.heal();
  assert.deepEqual(faults.decide('out', 2), { drop: false, delayMs: 0 });
  assert.deepEqual(faults.get(), { rules: [], counters: { droppedIn: 1, droppedOut: 1, delayedIn: 0, delayedOut: 0 } });
});

test('fault hooks: one-way blocks, wildcard peers, delays that add up', () => {
  const faults = new FaultHooks(new Prng(1));
  faults.set([
    { peer: 2, direction: 'in', dropFraction: 1 },
    { peer: '*', direction: 'out', delayMs: 30 },
    { peer: 3, direction: 'out', delayMs: 20 },
  ]);
  assert.deepEqual(faults.decide('in', 2), { drop: true });
  assert.deepEqual(faults.decide('out', 2), { drop: false, delayMs: 30 });
  assert.deepEqual(faults.decide('out', 3), { drop: false, delayMs: 50 });
  assert.deepEqual(faults.decide('in', 3), { drop: false, delayMs: 0 });
  assert.deepEqual(faults.get().counters, { droppedIn: 1, droppedOut: 0, delayedIn: 0, delayedOut: 2 });
});

test('fault hooks: a drop fraction is honoured roughly, and exactly the same way for the same seed', () => {
  const run = (seed: number): boolean[] => {
    const faults = new FaultHooks(new Prng(seed));
    faults.set([{ peer: 2, direction: 'out', dropFraction: 0.3 }]);
    return Array.from({ length: 10_000 }, () => faults.decide('out', 2).drop);
  };
  const drops = run(7).filter(Boolean).length;
  assert.ok(drops > 2700 && drops < 3300, `dropped ${drops} of 10000 at 0.3`);
  assert.deepEqual(run(7), run(7));
  assert.notDeepEqual(run(7), run(8));
});

test('fault hooks: the state is plain JSON and set() takes it back', () => {
  const faults = new FaultHooks(new Prng(1));
  const rules: FaultRule[] = [
    { peer: 2, direction: 'both', dropFraction: 0.5, delayMs: 10 },
    { peer: '*', direction: 'in' },
  ];
  faults.set(rules);
  const state = JSON.parse(JSON.stringify(faults.get())) as ReturnType<FaultHooks['get']>;
  assert.deepEqual(state.rules, rules);
  const other = new FaultHooks(new Prng(1));
  other.set(state.rules);
  assert.deepEqual(other.get().rules, rules);
});

test('fault hooks: bad rules are refused with a message naming the rule and field, and the old rules stay', () => {
  const faults = new FaultHooks(new Prng(1));
  faults.set([{ peer: 2, direction: 'out', dropFraction: 1 }]);
  const refused = (value: unknown, pattern: RegExp): void => {
    assert.throws(
      () => faults.set(value),
      (error: unknown) => error instanceof FaultRulesError && pattern.test(error.message),
    );
  };
  refused({}, /must be an array/);
  refused([null], /fault rule 0: must be an object/);
  refused([{ peer: 0, direction: 'out' }], /fault rule 0: peer must be a node id/);
  refused([{ peer: 2, direction: 'sideways' }], /direction must be/);
  refused([{ peer: 2, direction: 'in', dropFraction: 1.5 }], /dropFraction must be a number in \[0, 1\]/);
  refused([{ peer: 2, direction: 'in', delayMs: -1 }], /delayMs must be an integer/);
  refused([{ peer: 2, direction: 'in', delayMs: 3_600_000 }], /delayMs must be an integer in \[0, 60000\]/);
  refused(
    [
      { peer: 2, direction: 'in' },
      { peer: 2, direction: 'in', jitter: 3 },
    ],
    /fault rule 1: unknown field jitter/,
  );
  refused(new Array(257).fill({ peer: 2, direction: 'in' }), /at most 256/);
  assert.deepEqual(faults.get().rules, [{ peer: 2, direction: 'out', dropFraction: 1 }]);
  assert.deepEqual(parseFaultRules([]), []);
});
