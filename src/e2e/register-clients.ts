/**
 * Clients that read and write a few keys as registers through random nodes and record
 * what they saw as a history for the linearizability checker (src/check): an invoke
 * before each request and, after it, "ok" (with what a read returned), "fail" (the
 * write certainly did not apply: the node said so) or "info" (unknown: a timeout, no
 * answer, or an error that may have applied). Nothing is retried: each attempt is its
 * own operation, which is what lets the checker judge it.
 */
import type { HistoryEvent } from '../check/index.js';
import { HttpUnreachable, http } from '../harness/index.js';

export interface RegisterClientsOptions {
  readonly clients: number;
  readonly keys: readonly string[];
  readonly pickUrl: () => string;
  readonly attemptTimeoutMs: number;
  /** Operations issued at most, over all clients (the run also ends on stop()). */
  readonly operationsMax: number;
}

export class RegisterClients {
  readonly events: HistoryEvent[] = [];
  private readonly counts = { ok: 0, fail: 0, info: 0 };
  private issued = 0;
  private stopped = false;
  private readonly done: Promise<void>;
  private readonly start = performance.now();

  constructor(private readonly options: RegisterClientsOptions) {
    this.done = Promise.all(Array.from({ length: options.clients }, (_, process) => this.run(process))).then(() => undefined);
    this.done.catch(() => {});
  }

  /** Operations completed with a known outcome ("ok"), so far. */
  get okCount(): number {
    return this.counts.ok;
  }

  async stop(): Promise<{ ok: number; fail: number; info: number }> {
    this.stopped = true;
    await this.done;
    return { ...this.counts };
  }

  private async run(process: number): Promise<void> {
    const { keys } = this.options;
    for (let n = 0; !this.stopped && this.issued < this.options.operationsMax; n++) {
      this.issued++;
      const key = keys[Math.floor(Math.random() * keys.length)] as string;
      if (Math.random() < 0.5) await this.read(process, key);
      else await this.write(process, key, `${process}-${n}`);
    }
  }

  private async write(process: number, key: string, value: string): Promise<void> {
    this.record({ process, type: 'invoke', f: 'write', key, value });
    try {
      const answer = await http(`${this.options.pickUrl()}/kv/${key}`, { method: 'PUT', body: value, timeoutMs: this.options.attemptTimeoutMs });
      const outcome = (answer.body as { error?: { outcome?: unknown } } | undefined)?.error?.outcome;
      if (answer.status === 200) this.record({ process, type: 'ok', f: 'write', key, value });
      else if (outcome === 'not-applied') this.record({ process, type: 'fail', f: 'write', key, value });
      else this.record({ process, type: 'info', f: 'write', key, value });
    } catch (error) {
      if (!(error instanceof HttpUnreachable)) throw error;
      // The request may have reached the node before it went away.
      this.record({ process, type: 'info', f: 'write', key, value });
    }
  }

  private async read(process: number, key: string): Promise<void> {
    this.record({ process, type: 'invoke', f: 'read', key, value: null });
    try {
      const answer = await http(`${this.options.pickUrl()}/kv/${key}`, { timeoutMs: this.options.attemptTimeoutMs });
      if (answer.status === 200) this.record({ process, type: 'ok', f: 'read', key, value: (answer.body as { value: string }).value });
      else if (answer.status === 404) this.record({ process, type: 'ok', f: 'read', key, value: null });
      else this.record({ process, type: 'fail', f: 'read', key, value: null });
    } catch (error) {
      if (!(error instanceof HttpUnreachable)) throw error;
      // A read changes nothing: one without an answer simply did not happen.
      this.record({ process, type: 'fail', f: 'read', key, value: null });
    }
  }

  private record(event: Omit<HistoryEvent, 'time'>): void {
    if (event.type !== 'invoke') this.counts[event.type as 'ok' | 'fail' | 'info']++;
    this.events.push({ ...event, time: performance.now() - this.start });
  }
}
