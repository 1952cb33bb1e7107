import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDefaults, backoffDelayMs } from './backoff.js';

test('backoff: grows exponentially from the minimum and stays within [minMs, maxMs]', () => {
  const low = (attempt: number): number => backoffDelayMs(attempt, backoffDefaults, 0);
  const high = (attempt: number): number => backoffDelayMs(attempt, backoffDefaults, 0.999999);
  assert.equal(low(0), 50);
  assert.equal(high(0), 50);
  assert.deepEqual([1, 2, 3].map(low), [50, 100, 200]);
  assert.deepEqual([1, 2, 3].map(high), [100, 200, 400]);
  for (const attempt of [6, 10, 100, 10_000]) {
    assert.equal(low(attempt), 1000);
    assert.equal(high(attempt), 2000);
  }
});

test('backoff: jitter spreads the delay over the upper half of the ceiling', () => {
  const delays = new Set<number>();
  for (let i = 0; i < 100; i++) delays.add(backoffDelayMs(8, backoffDefaults, i / 100));
  assert.ok(delays.size > 50);
  for (const delay of delays) assert.ok(delay >= 1000 && delay <= 2000);
});
