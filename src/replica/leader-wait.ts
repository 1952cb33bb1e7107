/**
 * Requests that met no known leader wait here, for a bounded time, for one to be
 * elected. While an election runs (thesis §3.4: a leader lost, or a cluster just
 * started) a follower knows no leader for up to a couple of election timeouts; a
 * request refused at once in that window would only be retried by its client. etcd
 * behaves the same way: its followers retry a ReadIndex until a leader answers or
 * the request times out. Nothing was proposed before the wait, so a request that
 * still finds no leader at its deadline fails with NO_LEADER and did not apply.
 */
import { KeelError } from './errors.js';

interface Waiter {
  readonly deadlineMs: number;
  readonly resolve: () => void;
  readonly reject: (error: KeelError) => void;
}

export class LeaderWait {
  private readonly waiting = new Set<Waiter>();

  get size(): number {
    return this.waiting.size;
  }

  /** Resolves when a leader is known; NO_LEADER (not applied) once `deadlineMs` passes without one. */
  wait(deadlineMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.add({ deadlineMs, resolve, reject });
    });
  }

  /** A leader is known: every request waiting goes on. */
  leaderKnown(): void {
    for (const waiter of this.waiting) waiter.resolve();
    this.waiting.clear();
  }

  expire(nowMs: number): void {
    for (const waiter of this.waiting) {
      if (waiter.deadlineMs <= nowMs) {
        this.waiting.delete(waiter);
        waiter.reject(new KeelError('NO_LEADER', 'no leader was elected in time; the request was not applied: retry shortly'));
      }
    }
  }

  rejectAll(error: KeelError): void {
    for (const waiter of this.waiting) waiter.reject(error);
    this.waiting.clear();
  }
}
