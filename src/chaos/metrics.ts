/**
 * What a run measured, beyond correctness: availability (the share of operations
 * that succeeded — the cluster answered — per second, and before, during and after
 * faults), after each heal how long until the cluster acknowledged a write again, and
 * the longest stretch without any acknowledged write, per fault kind.
 */
import type { OutcomeCounts, Recorder } from './recorder.js';

export interface FaultInterval {
  readonly nemesis: string;
  readonly what: string;
  readonly startMs: number;
  /** When the heal finished (the nemesis's stop returned). */
  readonly endMs: number;
}

export interface Availability {
  /** Successful share of operations completed in the phase; null when none completed. */
  readonly before: number | null;
  readonly during: number | null;
  readonly after: number | null;
  readonly perSecond: readonly OutcomeCounts[];
}

export interface Recovery {
  readonly nemesis: string;
  /** From the heal to the first acknowledged write invoked after it; null: none before the next fault. */
  readonly ms: number | null;
}

export function availability(recorder: Recorder, intervals: readonly FaultInterval[]): Availability {
  const first = intervals[0]?.startMs ?? Infinity;
  const last = intervals.at(-1)?.endMs ?? Infinity;
  const phases = { before: { ok: 0, all: 0 }, during: { ok: 0, all: 0 }, after: { ok: 0, all: 0 } };
  recorder.perSecond.forEach((counts, second) => {
    const startMs = second * 1_000;
    const endMs = startMs + 1_000;
    const phase =
      endMs <= first
        ? phases.before
        : startMs >= last
          ? phases.after
          : intervals.some((i) => startMs < i.endMs && endMs > i.startMs)
            ? phases.during
            : undefined;
    if (!phase) return;
    phase.ok += counts.ok;
    phase.all += counts.ok + counts.fail + counts.info;
  });
  const share = (p: { ok: number; all: number }): number | null => (p.all === 0 ? null : p.ok / p.all);
  return { before: share(phases.before), during: share(phases.during), after: share(phases.after), perSecond: recorder.perSecond };
}

export function recoveries(recorder: Recorder, intervals: readonly FaultInterval[]): Recovery[] {
  return intervals.map((interval, i) => {
    const nextStart = intervals[i + 1]?.startMs ?? Infinity;
    const first = recorder.okWrites
      .filter((w) => w.invokedAt >= interval.endMs && w.completedAt < nextStart)
      .reduce((min, w) => Math.min(min, w.completedAt), Infinity);
    return { nemesis: interval.nemesis, ms: first === Infinity ? null : Math.round(first - interval.endMs) };
  });
}

export interface WriteGap {
  readonly nemesis: string;
  /** The longest time without an acknowledged write from the start of one of its faults
   * to the start of the next fault (or the end of the run): the fault and its recovery. */
  readonly longestMs: number;
}

/**
 * The longest stretch without an acknowledged write, per fault kind (the worst of its
 * intervals), in the order the kinds first occurred. What a client waiting to write
 * sees, whether the cluster was refusing, timing out or re-electing.
 */
export function writeGaps(recorder: Recorder, intervals: readonly FaultInterval[], runEndMs: number): WriteGap[] {
  const completions = recorder.okWrites.map((w) => w.completedAt).sort((a, b) => a - b);
  const worst = new Map<string, number>();
  intervals.forEach((interval, i) => {
    const windowEndMs = Math.max(interval.startMs, intervals[i + 1]?.startMs ?? runEndMs);
    const gap = longestGap(completions, interval.startMs, windowEndMs);
    worst.set(interval.nemesis, Math.max(worst.get(interval.nemesis) ?? 0, gap));
  });
  return [...worst].map(([nemesis, longestMs]) => ({ nemesis, longestMs: Math.round(longestMs) }));
}

/** The longest time in [fromMs, toMs) between its ends and the sorted `times` inside it. */
function longestGap(times: readonly number[], fromMs: number, toMs: number): number {
  let previous = fromMs;
  let longest = 0;
  for (const time of times) {
    if (time < fromMs) continue;
    if (time >= toMs) break;
    longest = Math.max(longest, time - previous);
    previous = time;
  }
  return Math.max(longest, toMs - previous);
}
