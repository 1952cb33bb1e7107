/**
 * The run's history as it happens: every operation of every workload, as events in
 * the checker's JSON-lines format (src/check/history.ts) with times in milliseconds
 * since the run began, and per-second counts of outcomes for the availability chart.
 */
import type { HistoryEvent, OperationName } from '../check/history.js';

export type Completion = 'ok' | 'fail' | 'info';

export interface OutcomeCounts {
  ok: number;
  fail: number;
  info: number;
}

export class Recorder {
  readonly events: HistoryEvent[] = [];
  readonly counts: OutcomeCounts = { ok: 0, fail: 0, info: 0 };
  /** Completions per second since the start (index: whole seconds). */
  readonly perSecond: OutcomeCounts[] = [];
  private readonly startMs = performance.now();

  /** Milliseconds since the run began. */
  now(): number {
    return performance.now() - this.startMs;
  }

  invoke(process: number, f: OperationName, key: string, value: unknown): void {
    this.events.push({ process, type: 'invoke', f, key, value, time: this.now() });
  }

  complete(process: number, type: Completion, f: OperationName, key: string, value: unknown): void {
    const time = this.now();
    this.events.push({ process, type, f, key, value, time });
    this.count(type, time);
  }

  /** An operation outside the register history (set adds, bank transfers) still counts
   * towards availability. */
  count(type: Completion, time = this.now()): void {
    this.counts[type]++;
    const second = Math.floor(time / 1_000);
    while (this.perSecond.length <= second) this.perSecond.push({ ok: 0, fail: 0, info: 0 });
    (this.perSecond[second] as OutcomeCounts)[type]++;
  }

  /** The history as JSON lines, for the checker (`keel check-history`). */
  jsonLines(events: readonly HistoryEvent[] = this.events): string {
    return events.map((e) => JSON.stringify(e)).join('\n') + '\n';
  }
}
