import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LatencyWindow, latencySamplesMax } from './latency-window.js';

describe('LatencyWindow (the dashboard p99 chart)', () => {
  it('gives the 99th percentile of the window, then starts a new one', () => {
    const window = new LatencyWindow();
    for (let ms = 1; ms <= 100; ms++) window.record(ms);
    assert.deepEqual(window.take(), { count: 100, p99Ms: 99 });
    assert.deepEqual(window.take(), { count: 0, p99Ms: 0 });
    window.record(7);
    assert.deepEqual(window.take(), { count: 1, p99Ms: 7 });
  });

  it('keeps at most latencySamplesMax samples however many requests came, and counts them all', () => {
    const requests = latencySamplesMax * 5;
    // 5% slow requests put the p99 among them; 0.2% leave it with the fast ones. The
    // reservoir keeps a fair sample: a wrong answer would need a sample with a fifth,
    // or five times, its expected share of slow requests (about 10 standard deviations).
    for (const [slowEvery, expected] of [
      [20, 1000],
      [500, 1],
    ] as const) {
      const window = new LatencyWindow();
      for (let i = 0; i < requests; i++) window.record(i % slowEvery === 0 ? 1000 : 1);
      assert.equal((window as unknown as { samples: number[] }).samples.length, latencySamplesMax);
      assert.deepEqual(window.take(), { count: requests, p99Ms: expected });
    }
  });
});
