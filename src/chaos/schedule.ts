/**
 * When faults happen in a run of `timeSeconds`: a quiet start (the "before" of the
 * availability figures), then fault intervals separated by quiet ones, then a quiet
 * end long enough to measure recovery ("after"). Each fault interval takes the next
 * nemesis of the list, or, when mixed, one drawn at random.
 */
import type { Prng } from '../lib/prng.js';

export interface ScheduleOptions {
  readonly timeSeconds: number;
  readonly faultSeconds: number;
  readonly quietSeconds: number;
}

export interface FaultSlot {
  readonly startMs: number;
  readonly endMs: number;
  /** Index into the nemesis list. */
  readonly nemesis: number;
}

export function planFaults(options: ScheduleOptions, nemesisCount: number, mixed: boolean, random: Prng): FaultSlot[] {
  const totalMs = options.timeSeconds * 1_000;
  const beforeMs = clamp(totalMs * 0.15, 2_000, 10_000);
  const afterMs = clamp(totalMs * 0.2, 3_000, 15_000);
  const slots: FaultSlot[] = [];
  for (let start = beforeMs; start + options.faultSeconds * 1_000 <= totalMs - afterMs; start += (options.faultSeconds + options.quietSeconds) * 1_000) {
    const nemesis = mixed ? random.int(nemesisCount) : slots.length % nemesisCount;
    slots.push({ startMs: start, endMs: start + options.faultSeconds * 1_000, nemesis });
  }
  return slots;
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}
