/**
 * When faults happen in a run of `timeSeconds`: a quiet start (the "before" of the
 * availability figures), then fault intervals separated by quiet ones, then a quiet
 * end long enough to measure recovery ("after"). Each fault interval takes the next
 * nemesis of the list, or, when mixed, one drawn at random.
 *
 * The plan is a plan: a nemesis may take a while to put its fault in place or to heal
 * it (a restart, a member change). `Slip` keeps every fault at its set length and
 * shifts what follows instead, so no fault is squeezed below what it was meant to
 * exercise (a pause barely longer than an election timeout tests little).
 */
import type { Prng } from '../lib/index.js';

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

/** How late the run is against its plan, and so when each slot really starts and ends. */
export class Slip {
  private slipMs = 0;

  /** When `slot`'s fault should start, after the delays so far. */
  startOf(slot: FaultSlot): number {
    return slot.startMs + this.slipMs;
  }

  /** When `slot`'s fault should be healed, given the time it was in place: its full length later. */
  healAt(slot: FaultSlot, inPlaceMs: number): number {
    return inPlaceMs + (slot.endMs - slot.startMs);
  }

  /** Records when `slot`'s heal finished; later slots and the run's end move by the delay. */
  healed(slot: FaultSlot, healedMs: number): void {
    this.slipMs = Math.max(this.slipMs, healedMs - slot.endMs);
  }

  /** When a run planned for `totalMs` ends, keeping its quiet end whole. */
  endOf(totalMs: number): number {
    return totalMs + this.slipMs;
  }
}
