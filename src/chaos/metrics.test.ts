import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availability, recoveries } from './metrics.js';
import type { FaultInterval } from './metrics.js';
import type { Recorder } from './recorder.js';

/** A recorder's figures, as the metrics read them. */
function recorded(perSecond: [number, number, number][], okWrites: [number, number][]): Recorder {
  return {
    perSecond: perSecond.map(([ok, fail, info]) => ({ ok, fail, info })),
    okWrites: okWrites.map(([invokedAt, completedAt]) => ({ invokedAt, completedAt })),
  } as unknown as Recorder;
}

const intervals: FaultInterval[] = [
  { nemesis: 'kill', what: 'kill -9 node 1', startMs: 2_000, endMs: 4_000 },
  { nemesis: 'pause', what: 'SIGSTOP node 2', startMs: 6_000, endMs: 7_000 },
];

test('availability: the served share before, during and after the faults', () => {
  const recorder = recorded([[10, 0, 0], [10, 0, 0], [5, 5, 0], [2, 6, 2], [10, 0, 0], [10, 0, 0], [4, 4, 0], [9, 1, 0], [10, 0, 0]], []);
  const figures = availability(recorder, intervals);
  assert.equal(figures.before, 1);
  // Seconds 2, 3 and 6 overlap an interval; 4 and 5 are between them (neither phase).
  assert.equal(figures.during, (5 + 2 + 4) / (10 + 10 + 8));
  assert.equal(figures.after, (9 + 10) / 20);
});

test('availability: no operations in a phase is n/a, not 0', () => {
  assert.equal(availability(recorded([[3, 0, 0]], []), intervals).during, null);
});

test('recovery: from each heal to the first acknowledged write invoked after it, before the next fault', () => {
  const recorder = recorded([], [[3_900, 4_300], [4_100, 4_600], [4_200, 4_450], [7_500, 7_800]]);
  assert.deepEqual(recoveries(recorder, intervals), [
    { nemesis: 'kill', ms: 450 },
    { nemesis: 'pause', ms: 800 },
  ]);
  assert.deepEqual(recoveries(recorded([], [[3_000, 4_500]]), intervals).map((r) => r.ms), [null, null], 'a write invoked during the fault does not count');
});
