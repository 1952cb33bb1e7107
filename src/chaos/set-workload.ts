/**
 * A set: clients add unique elements (one key each, under one prefix) through random
 * nodes; at the end one linearizable read of the prefix from the healed cluster must
 * hold every element whose add was acknowledged (else: lost) and nothing no client
 * ever tried to add (else: unexpected). An add of unknown outcome may be either way.
 */
import { pause, waitFor } from '../harness/index.js';
import { clientPauseMs } from './workload.js';
import type { Workload, WorkloadContext, WorkloadResult } from './workload.js';

const prefix = 'set/';

export class SetWorkload implements Workload {
  readonly name = 'set';
  private stopped = false;
  private running: Promise<void> | undefined;
  private nextElement = 0;
  private readonly outcomes = new Map<string, 'ok' | 'fail' | 'info'>();

  constructor(
    private readonly context: WorkloadContext,
    private readonly clients = 3,
  ) {}

  async prepare(): Promise<void> {}

  start(): void {
    this.running = Promise.all(Array.from({ length: this.clients }, () => this.client())).then(() => undefined);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  async check(readNode: number): Promise<WorkloadResult> {
    const present = await waitFor(() => this.context.client.listPrefix(readNode, prefix), { timeoutMs: 30_000, what: 'a final read of the set' });
    const lostWrites = [...this.outcomes]
      .filter(([element, outcome]) => outcome === 'ok' && !present.has(element))
      .map(([element]) => `set element ${element} (add acknowledged)`);
    const unexpected = [...present].filter((element) => !this.outcomes.has(element)).map((element) => `set element ${element} (never added)`);
    const failedPresent = [...this.outcomes]
      .filter(([element, outcome]) => outcome === 'fail' && present.has(element))
      .map(([element]) => `set element ${element} is present though its add failed`);
    const counts = { ok: 0, fail: 0, info: 0 };
    for (const outcome of this.outcomes.values()) counts[outcome]++;
    const unknownPresent = [...this.outcomes].filter(([element, outcome]) => outcome === 'info' && present.has(element)).length;
    return {
      name: this.name,
      operations: counts,
      violations: failedPresent,
      lostWrites,
      unexpected,
      details: [
        `final read: ${present.size} elements; ${counts.ok} adds acknowledged, ${counts.info} unknown (${unknownPresent} of them present), ${counts.fail} failed`,
      ],
      history: [],
      unchecked: [],
    };
  }

  private async client(): Promise<void> {
    const { recorder, client, pickNode } = this.context;
    while (!this.stopped) {
      const element = String(this.nextElement++);
      this.outcomes.set(element, 'info');
      const invokedAt = recorder.now();
      const attempt = await client.write(pickNode(), `${prefix}${element}`, element);
      this.outcomes.set(element, attempt.kind);
      recorder.count(attempt.kind, { write: attempt.kind === 'ok', invokedAt });
      await pause(clientPauseMs);
    }
  }
}
