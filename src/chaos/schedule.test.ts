import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Prng } from '../lib/prng.js';
import { planFaults, Slip } from './schedule.js';

test('fault plan: a quiet start and end, intervals apart by the quiet gap, nemeses in turn', () => {
  const slots = planFaults({ timeSeconds: 20, faultSeconds: 5, quietSeconds: 3 }, 2, false, new Prng(1));
  assert.deepEqual(slots, [
    { startMs: 3_000, endMs: 8_000, nemesis: 0 },
    { startMs: 11_000, endMs: 16_000, nemesis: 1 },
  ]);
  const long = planFaults({ timeSeconds: 600, faultSeconds: 6, quietSeconds: 4 }, 3, false, new Prng(1));
  assert.equal(long[0]?.startMs, 10_000, 'the quiet start is at most 10 s');
  assert.ok((long.at(-1)?.endMs ?? 0) <= 585_000, 'the quiet end is at most 15 s');
  assert.deepEqual(
    long.slice(0, 4).map((s) => s.nemesis),
    [0, 1, 2, 0],
  );
});

test('fault plan: mixed draws nemeses from the seed, the same for the same seed', () => {
  const a = planFaults({ timeSeconds: 300, faultSeconds: 5, quietSeconds: 3 }, 4, true, new Prng(9)).map((s) => s.nemesis);
  const b = planFaults({ timeSeconds: 300, faultSeconds: 5, quietSeconds: 3 }, 4, true, new Prng(9)).map((s) => s.nemesis);
  assert.deepEqual(a, b);
  assert.equal(new Set(a).size, 4, 'every nemesis gets drawn over a long run');
});

test('fault plan: a run too short for one interval has none', () => {
  assert.deepEqual(planFaults({ timeSeconds: 5, faultSeconds: 5, quietSeconds: 3 }, 1, false, new Prng(1)), []);
});

test('slip: a fault that starts late keeps its length, and the rest of the plan and the end move by the delay', () => {
  const [first, second] = planFaults({ timeSeconds: 20, faultSeconds: 5, quietSeconds: 3 }, 1, false, new Prng(1)) as [
    { startMs: number; endMs: number; nemesis: number },
    { startMs: number; endMs: number; nemesis: number },
  ];
  const slip = new Slip();
  assert.equal(slip.startOf(first), 3_000);
  // The nemesis took 2.5 s to put its fault in place (a slow restart): the fault still lasts 5 s.
  assert.equal(slip.healAt(first, 5_500), 10_500);
  slip.healed(first, 10_700);
  assert.equal(slip.startOf(second), 11_000 + 2_700, 'the quiet gap after the late heal is whole');
  assert.equal(slip.endOf(20_000), 22_700, 'the quiet end is whole');
  // A heal on time never moves the plan back.
  slip.healed(second, second.endMs);
  assert.equal(slip.endOf(20_000), 22_700);
});
