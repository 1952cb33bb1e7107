import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Call } from './models.js';
import { ValueObservers } from './value-observers.js';

const read = (observed: number): Call => ({ f: 'read', known: true, argument: 0, replacement: 0, observed });
const cas = (expected: number, replacement: number): Call => ({ f: 'cas', known: false, argument: expected, replacement, observed: 0 });
const write = (value: number): Call => ({ f: 'write', known: true, argument: value, replacement: 0, observed: 0 });

test('counts the reads and cas operations still looking for each value', () => {
  const calls = [read(1), cas(2, 3), write(3)];
  const observers = new ValueObservers(4, calls);
  assert.deepEqual(
    [0, 1, 2, 3].map((value) => observers.anyLeftFor(value)),
    [false, true, true, false],
  );
  observers.placed(calls[0] as Call);
  assert.equal(observers.anyLeftFor(1), false);
  observers.placed(calls[2] as Call);
  observers.unplaced(calls[0] as Call);
  assert.equal(observers.anyLeftFor(1), true);
});
