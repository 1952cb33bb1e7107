/** The end-of-run summary as text lines (for the terminal and for test failure messages). */
import type { ChaosOutcome } from './chaos-run.js';

export function summaryLines(outcome: ChaosOutcome): string[] {
  const percent = (share: number | null): string => (share === null ? 'n/a' : `${(share * 100).toFixed(1)}%`);
  const recoveries = outcome.recoveries.map((r) => r.ms).filter((ms): ms is number => ms !== null);
  const lines = [
    `network: ${outcome.networkDescription}`,
    ...outcome.skippedNemeses.map((s) => `skipped nemesis ${s}`),
    ...outcome.workloads.map(
      (w) =>
        `${w.name}: ok ${w.operations.ok}, fail ${w.operations.fail}, unknown ${w.operations.info}; violations ${w.violations.length}, lost ${w.lostWrites.length}, unexpected ${w.unexpected.length}${w.unchecked.length ? `, unchecked keys ${w.unchecked.length}` : ''}`,
    ),
    `faults: ${outcome.intervals.length} intervals; availability before ${percent(outcome.availability.before)}, during ${percent(outcome.availability.during)}, after ${percent(outcome.availability.after)}`,
    `recovery after heal: ${recoveries.length > 0 ? `max ${Math.max(...recoveries)} ms (each: ${outcome.recoveries.map((r) => (r.ms === null ? 'none before the next fault' : `${r.ms} ms`)).join(', ')})` : 'n/a'}`,
    `longest time without an acknowledged write: ${outcome.writeGaps.length > 0 ? outcome.writeGaps.map((g) => `${g.nemesis} ${g.longestMs} ms`).join(', ') : 'n/a'}`,
    outcome.failures.length === 0 ? 'PASS: no violations, no lost acknowledged writes' : `FAIL: ${outcome.failures.length} problem(s):`,
    ...outcome.failures.slice(0, 20).map((f) => `  ${f}`),
  ];
  return lines;
}
