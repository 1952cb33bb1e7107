import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availability, recoveries, writeGaps } from './metrics.js';
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
  const recorder = recorded(
    [
      [10, 0, 0],
      [10, 0, 0],
      [5, 5, 0],
      [2, 6, 2],
      [10, 0, 0],
      [10, 0, 0],
      [4, 4, 0],
      [9, 1, 0],
      [10, 0, 0],
    ],
    [],
  );
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
  const recorder = recorded(
    [],
    [
      [3_900, 4_300],
      [4_100, 4_600],
      [4_200, 4_450],
      [7_500, 7_800],
    ],
  );
  assert.deepEqual(recoveries(recorder, intervals), [
    { nemesis: 'kill', ms: 450 },
    { nemesis: 'pause', ms: 800 },
  ]);
  assert.deepEqual(
    recoveries(recorded([], [[3_000, 4_500]]), intervals).map((r) => r.ms),
    [null, null],
    'a write invoked during the fault does not count',
  );
});

test('write gaps: the longest stretch without an acknowledged write from each fault to the next, worst per kind', () => {
  const three: FaultInterval[] = [...intervals, { nemesis: 'kill', what: 'kill -9 node 3', startMs: 9_000, endMs: 10_000 }];
  // Writes acknowledged at 1.0, 2.5, 5.2 s (kill: 2.7 s from 2.5 to 5.2, then 0.8 s to the pause),
  // 6.1, 8.0 s (pause: 1.9 s from 6.1 to 8.0), then none until the run ends at 12 s (kill: 3 s).
  const recorder = recorded(
    [],
    [
      [900, 1_000],
      [2_400, 2_500],
      [5_000, 5_200],
      [6_000, 6_100],
      [7_900, 8_000],
    ],
  );
  assert.deepEqual(writeGaps(recorder, three, 12_000), [
    { nemesis: 'kill', longestMs: 3_000 },
    { nemesis: 'pause', longestMs: 1_900 },
  ]);
  assert.deepEqual(
    writeGaps(recorded([], []), intervals, 8_000),
    [
      { nemesis: 'kill', longestMs: 4_000 },
      { nemesis: 'pause', longestMs: 2_000 },
    ],
    'no write at all: the whole window',
  );
});
