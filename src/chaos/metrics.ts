/**
 * What a run measured, beyond correctness: availability (the share of operations
 * that succeeded — the cluster answered — per second, and before, during and after
 * faults) and, after each heal, how long until the cluster acknowledged a write again.
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
    const phase = endMs <= first ? phases.before : startMs >= last ? phases.after : intervals.some((i) => startMs < i.endMs && endMs > i.startMs) ? phases.during : undefined;
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
    const first = recorder.okWrites.filter((w) => w.invokedAt >= interval.endMs && w.completedAt < nextStart).reduce((min, w) => Math.min(min, w.completedAt), Infinity);
    return { nemesis: interval.nemesis, ms: first === Infinity ? null : Math.round(first - interval.endMs) };
  });
}
