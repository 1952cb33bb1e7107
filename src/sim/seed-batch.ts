import type { SimOptions } from './options.js';
import { describeFailure, runSeed } from './seeds.js';

/** What a batch of seeds did (for the seed tests). */
export interface BatchOutcome {
  readonly seedsCount: number;
  readonly operationsCount: number;
  /** The first failing seed's story, replayed with tracing on; undefined when all passed. */
  readonly failure: string | undefined;
}

/**
 * Runs seeds start..start+count-1 and stops at the first that breaks a rule; that
 * seed is run again with tracing on (the run is deterministic, so the replay is the
 * same run) to tell its story, of which the newest `traceLinesMax` lines are kept.
 */
export async function runSeedBatch(
  start: number,
  count: number,
  options: { readonly traceLinesMax?: number; readonly overrides?: Partial<SimOptions> } = {},
): Promise<BatchOutcome> {
  let operationsCount = 0;
  for (let seed = start; seed < start + count; seed++) {
    const result = await runSeed(seed, options.overrides);
    operationsCount += result.operations;
    if (result.violations.length > 0) {
      const replay = await runSeed(seed, { ...options.overrides, trace: true, traceLinesMax: options.traceLinesMax ?? 400 });
      return { seedsCount: seed - start + 1, operationsCount, failure: describeFailure(replay) };
    }
  }
  return { seedsCount: count, operationsCount, failure: undefined };
}
