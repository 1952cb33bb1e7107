/**
 * Notices the event loop holding a node's ticks back. A tick late by half an election
 * timeout or more means the node's heartbeats (as leader) or its election timer (as
 * follower) were late by as much, which is what makes followers call elections; etcd
 * warns of the same as "leader failed to send out heartbeat on time". The warning
 * says by how much, what the node ran in the background, and how much of the wait was
 * garbage collection (V8's pauses, observed through perf_hooks).
 *
 * GC entries are delivered after the pause that produced them, so a late tick is
 * reported at the tick after it, with the collections of both.
 */
import { PerformanceObserver, performance } from 'node:perf_hooks';
import type { Logger } from '../replica/index.js';

export interface LateTicksOptions {
  readonly tickMs: number;
  /** A tick this much later than due is reported. */
  readonly lateMsMin: number;
  readonly log: Logger;
  /** What the node is doing besides serving (Replica.backgroundWork). */
  readonly background: () => string[];
}

export class LateTicks {
  private lastTickMs = performance.now();
  private gcMs = 0;
  private gcAtLastTick = 0;
  private pending: { readonly lateMs: number; readonly background: string[]; readonly gcBefore: number } | undefined;
  private readonly gc = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) this.gcMs += entry.duration;
  });

  constructor(private readonly options: LateTicksOptions) {
    this.gc.observe({ entryTypes: ['gc'] });
  }

  /** Called at every tick. */
  tick(): void {
    const now = performance.now();
    const lateMs = now - this.lastTickMs - this.options.tickMs;
    this.lastTickMs = now;
    if (this.pending) {
      const { lateMs: late, background, gcBefore } = this.pending;
      this.pending = undefined;
      this.options.log.warn(
        { lateMs: Math.round(late), gcMs: Math.round(this.gcMs - gcBefore), background },
        'a tick ran late: the event loop was held up, heartbeats and timers with it',
      );
    }
    if (lateMs >= this.options.lateMsMin) this.pending = { lateMs, background: this.options.background(), gcBefore: this.gcAtLastTick };
    this.gcAtLastTick = this.gcMs;
  }

  stop(): void {
    this.gc.disconnect();
  }
}
