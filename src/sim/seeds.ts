import { allFaultKinds, type SimOptions } from './options.js';
import { runSimulation, type SimResult } from './run.js';

/**
 * How a seed number maps to a run, shared by `npm test` and `keel sim` so that a seed
 * printed by one replays in the other: the cluster size cycles 3, 5, 7 with the seed,
 * every fourth seed gets every fault kind at once, the others a random mix.
 */
export function optionsForSeed(seed: number, overrides: Partial<SimOptions> = {}): Partial<SimOptions> {
  const sizes = [3, 5, 7] as const;
  const nodes = sizes[seed % 3] as 3 | 5 | 7;
  return { nodes, faults: seed % 4 === 0 ? allFaultKinds : undefined, ...overrides };
}

export function runSeed(seed: number, overrides: Partial<SimOptions> = {}): Promise<SimResult> {
  return runSimulation(seed, optionsForSeed(seed, overrides));
}

/** One line per run: what ran, how much work, what went wrong. */
export function summarize(result: SimResult): string {
  const verdict = result.violations.length === 0 ? 'ok' : `${result.violations.length} violation(s): ${result.violations[0]?.kind}`;
  const { ok, fail, info } = result.completions;
  const { leases } = result.stats;
  return (
    `seed ${result.seed} nodes=${result.nodes} steps=${result.steps} ops=${result.operations} (ok ${ok}, fail ${fail}, info ${info}) ` +
    `commit=${result.stats.commitIndexMax} crashes=${result.stats.crashes} noLeaderMax=${result.stats.leaderlessStepsMax} msgs=${result.stats.messagesSent} linearizability=${result.linearizability} ` +
    `leases=${leases.granted}/${leases.renewed}/${leases.expired} watched=${result.stats.watchedRevisions} ` +
    `fingerprint=${result.fingerprint}: ${verdict}`
  );
}

/** The story of a failed run: its parameters, each violation, and the trace (which
 * needs the run to have been made with tracing on). */
export function describeFailure(result: SimResult): string {
  const lines = [
    `FAILED seed ${result.seed} (${result.nodes} nodes): replay with  keel sim --seed ${result.seed} --nodes ${result.nodes} --trace`,
    `  ${result.profile}`,
    ...result.violations.map((v) => `  step ${v.step} ${v.kind}: ${v.message}`),
  ];
  if (result.trace !== '') lines.push('trace (newest last):', result.trace);
  return lines.join('\n');
}
