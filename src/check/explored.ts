/**
 * Lowe's memo (Lowe 2017, §4): the configurations, (set of linearized operations,
 * model state), that the search has already reached. Reaching one again means the
 * same operations remain to be placed from the same state, which was already shown to
 * lead nowhere (else the search would have ended), so that branch is cut. This turns
 * Wing & Gong's exponential search into one bounded by the number of distinct
 * configurations, which for real histories is small.
 */
import type { LinearizedSet } from './linearized-set.js';

interface Configuration {
  readonly state: number;
  readonly linearized: Uint32Array;
  readonly nextInBucket: Configuration | undefined;
}

export class ExploredConfigurations {
  private readonly buckets = new Map<number, Configuration>();

  /** Records (linearized, state); false when it was recorded before. */
  add(linearized: LinearizedSet, state: number): boolean {
    const bucket = bucketOf(linearized.hash, state);
    const first = this.buckets.get(bucket);
    for (let seen = first; seen !== undefined; seen = seen.nextInBucket) {
      if (seen.state === state && linearized.matches(seen.linearized)) return false;
    }
    this.buckets.set(bucket, { state, linearized: linearized.snapshot(), nextInBucket: first });
    return true;
  }
}

/** Mixes the state into the set's hash; kept to 30 bits so Map keys stay small integers. */
function bucketOf(setHash: number, state: number): number {
  return (setHash ^ Math.imul(state + 1, 0x9e3779b1)) & 0x3fffffff;
}
