/**
 * How long to wait before the next attempt to reach a peer that is down: exponential
 * in the number of failed attempts, capped, with jitter so that nodes restarted
 * together do not knock on the same peer in lockstep.
 *
 * The ceiling doubles from `minMs` up to `maxMs`; the delay is drawn uniformly from
 * the upper half of the ceiling ("equal jitter"), and never below `minMs`. With the
 * defaults: 50 ms, then 50-100 ms, 100-200 ms, ... up to 1-2 s.
 */
import { assert } from '../lib/index.js';

export interface BackoffOptions {
  readonly minMs: number;
  readonly maxMs: number;
}

export const backoffDefaults: BackoffOptions = { minMs: 50, maxMs: 2000 };

/**
 * @param attempt failed attempts so far (0 for the first retry)
 * @param random a float in [0, 1)
 */
export function backoffDelayMs(attempt: number, options: BackoffOptions, random: number): number {
  assert(Number.isSafeInteger(attempt) && attempt >= 0, () => `attempt must be a non-negative integer, got ${attempt}`);
  assert(options.minMs > 0 && options.maxMs >= options.minMs, () => `backoff needs 0 < minMs <= maxMs, got ${options.minMs}, ${options.maxMs}`);
  assert(random >= 0 && random < 1, () => `random must be in [0, 1), got ${random}`);
  // 2^attempt overflows to Infinity for large attempts; Math.min handles that.
  const ceiling = Math.min(options.maxMs, options.minMs * 2 ** Math.min(attempt, 64));
  return Math.max(options.minMs, Math.round(ceiling / 2 + (random * ceiling) / 2));
}
