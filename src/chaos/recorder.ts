/**
 * The run's history as it happens: every operation of every workload, as events in
 * the checker's JSON-lines format (src/check/history.ts) with times in milliseconds
 * since the run began, and per-second counts of outcomes for the availability chart.
 */
import type { HistoryEvent, OperationName } from '../check/index.js';

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
  /** Acknowledged writes of every workload, in completion order. */
  readonly okWrites: { invokedAt: number; completedAt: number }[] = [];
  private readonly startMs = performance.now();

  /** Milliseconds since the run began. */
  now(): number {
    return performance.now() - this.startMs;
  }

  /** Records an invoke; returns its time. */
  invoke(process: number, f: OperationName, key: string, value: unknown): number {
    const time = this.now();
    this.events.push({ process, type: 'invoke', f, key, value, time });
    return time;
  }

  /** `answered`: a fail the cluster decided (a cas whose guard did not hold) — it was
   * available, and counts as served. */
  complete(process: number, type: Completion, f: OperationName, key: string, value: unknown, invokedAt: number, answered = false): void {
    const time = this.now();
    this.events.push({ process, type, f, key, value, time });
    this.count(answered ? 'ok' : type, { write: f !== 'read' && type === 'ok', invokedAt });
  }

  /**
   * Counts a completed operation towards availability (operations outside the
   * register history, set adds and bank transfers, come here directly). An
   * acknowledged write also marks when the cluster was taking writes again.
   */
  count(type: Completion, how: { write: boolean; invokedAt: number }): void {
    const time = this.now();
    if (type === 'ok' && how.write) this.okWrites.push({ invokedAt: how.invokedAt, completedAt: time });
    this.counts[type]++;
    const second = Math.floor(time / 1_000);
    while (this.perSecond.length <= second) this.perSecond.push({ ok: 0, fail: 0, info: 0 });
    (this.perSecond[second] as OutcomeCounts)[type]++;
  }

  /** The history as JSON lines, for the checker (`keel check-history`). */
  jsonLines(events: readonly HistoryEvent[] = this.events): string {
    return `${events.map((e) => JSON.stringify(e)).join('\n')}\n`;
  }
}
