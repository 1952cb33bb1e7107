import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backoffCeilingMs, backoffDelayMs, backoffPolicy, sleep } from './backoff.js';

describe('backoff', () => {
  const policy = backoffPolicy({ initialMs: 50, maxMs: 1_000, multiplier: 2 });

  it('doubles the ceiling per retry up to the maximum', () => {
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 6, 100].map((n) => backoffCeilingMs(policy, n)),
      [50, 100, 200, 400, 800, 1000, 1000, 1000],
    );
  });

  it('draws each delay uniformly below the ceiling (full jitter)', () => {
    assert.equal(
      backoffDelayMs(policy, 3, () => 0),
      0,
    );
    assert.equal(
      backoffDelayMs(policy, 3, () => 0.5),
      200,
    );
    assert.equal(
      backoffDelayMs(policy, 3, () => 0.999999),
      399,
    );
  });

  it('fills in defaults and refuses a policy that cannot work', () => {
    assert.deepEqual(backoffPolicy(undefined), { initialMs: 50, maxMs: 2000, multiplier: 2 });
    assert.deepEqual(backoffPolicy({ maxMs: 300 }), { initialMs: 50, maxMs: 300, multiplier: 2 });
    assert.throws(() => backoffPolicy({ initialMs: -1 }), RangeError);
    assert.throws(() => backoffPolicy({ multiplier: 0.5 }), RangeError);
    assert.throws(() => backoffPolicy({ initialMs: 100, maxMs: 10 }), RangeError);
  });

  it('sleeps until aborted', async () => {
    const controller = new AbortController();
    const pending = sleep(60_000, controller.signal);
    controller.abort(new Error('stop'));
    await assert.rejects(pending, /stop/);
    await assert.rejects(sleep(1, controller.signal), /stop/);
    await sleep(0);
  });
});
