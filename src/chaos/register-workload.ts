/**
 * Registers: clients read, write and compare-and-set a few keys through random nodes,
 * each operation a single attempt with a unique value, recorded for the
 * linearizability checker. A key takes at most `operationsPerKeyMax` operations, then
 * a fresh key replaces it: short per-key histories keep the check fast even with many
 * unknown outcomes (the checker's search grows with those).
 *
 * Compare-and-set is a guarded transaction (REST: POST /batch with "if"; gRPC: Txn).
 */
import { checkOperations, pairOperations, type Operation } from '../check/index.js';
import { pause } from '../harness/index.js';
import { guardFailed } from './attempt.js';
import { clientPauseMs, countsOf } from './workload.js';
import type { Workload, WorkloadContext, WorkloadResult } from './workload.js';

export interface RegisterOptions {
  readonly clients: number;
  readonly keysAtOnce: number;
  readonly operationsPerKeyMax: number;
  /** How long the checker may search one key. */
  readonly checkMsPerKey: number;
}

export const registerDefaults: RegisterOptions = { clients: 5, keysAtOnce: 3, operationsPerKeyMax: 150, checkMsPerKey: 20_000 };

export class RegisterWorkload implements Workload {
  readonly name = 'register';
  private stopped = false;
  private running: Promise<void> | undefined;
  private readonly slots: { key: string; issued: number }[] = [];
  private nextKey = 0;
  /** The last value a client saw per key: what a cas expects. */
  private readonly lastSeen = new Map<string, string>();
  private readonly start0 = Date.now().toString(36);

  constructor(
    private readonly context: WorkloadContext,
    private readonly options: RegisterOptions = registerDefaults,
  ) {
    for (let i = 0; i < options.keysAtOnce; i++) this.slots.push({ key: this.freshKey(), issued: 0 });
  }

  async prepare(): Promise<void> {}

  start(): void {
    this.running = Promise.all(Array.from({ length: this.options.clients }, (_, i) => this.client(this.context.firstProcess + i))).then(() => undefined);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  async check(): Promise<WorkloadResult> {
    const history = this.context.recorder.events.filter((e) => e.key.startsWith(this.prefix));
    const byKey = new Map<string, Operation[]>();
    for (const op of pairOperations(history)) byKey.set(op.key, [...(byKey.get(op.key) ?? []), op]);
    const violations: string[] = [];
    const unchecked: string[] = [];
    const details: string[] = [];
    for (const [key, operations] of byKey) {
      const deadlineMs = performance.now() + this.options.checkMsPerKey;
      const result = checkOperations(operations, { deadline: () => performance.now() > deadlineMs });
      const unknown = operations.filter((o) => o.outcome === 'unknown').length;
      details.push(`${key}: ${operations.length} operations (${unknown} unknown): ${result.status}`);
      if (result.status === 'not linearizable')
        violations.push(
          `${key} is not linearizable: cannot place ${result.operation.f} ${JSON.stringify(result.operation.input)} of process ${result.operation.process}`,
        );
      if (result.status === 'unknown') unchecked.push(`${key}: ${result.reason}`);
    }
    return { name: this.name, operations: countsOf(history), violations, lostWrites: [], unexpected: [], details, history, unchecked };
  }

  private get prefix(): string {
    return `reg-${this.start0}-`;
  }

  private freshKey(): string {
    return `${this.prefix}${this.nextKey++}`;
  }

  private async client(process: number): Promise<void> {
    const { random } = this.context;
    for (let n = 0; !this.stopped; n++) {
      const slot = this.slots[random.int(this.slots.length)] as { key: string; issued: number };
      if (++slot.issued > this.options.operationsPerKeyMax) {
        slot.key = this.freshKey();
        slot.issued = 1;
      }
      const roll = random.int(10);
      if (roll < 4) await this.read(process, slot.key);
      else if (roll < 7) await this.write(process, slot.key, `${process}.${n}`);
      else await this.cas(process, slot.key, this.lastSeen.get(slot.key) ?? null, `${process}.${n}`);
      await pause(clientPauseMs);
    }
  }

  private async read(process: number, key: string): Promise<void> {
    const { recorder, client, pickNode } = this.context;
    const invokedAt = recorder.invoke(process, 'read', key, null);
    const attempt = await client.read(pickNode(), key);
    if (attempt.kind === 'ok' && attempt.value !== null) this.lastSeen.set(key, attempt.value);
    recorder.complete(process, attempt.kind, 'read', key, attempt.kind === 'ok' ? attempt.value : null, invokedAt);
  }

  private async write(process: number, key: string, value: string): Promise<void> {
    const { recorder, client, pickNode } = this.context;
    const invokedAt = recorder.invoke(process, 'write', key, value);
    const attempt = await client.write(pickNode(), key, value);
    if (attempt.kind === 'ok') this.lastSeen.set(key, value);
    recorder.complete(process, attempt.kind, 'write', key, value, invokedAt);
  }

  /** cas(expected, new); expected null means "the key is absent" (version 0). */
  private async cas(process: number, key: string, expected: string | null, value: string): Promise<void> {
    const { recorder, client, pickNode } = this.context;
    const invokedAt = recorder.invoke(process, 'cas', key, [expected, value]);
    const attempt = await client.cas(pickNode(), key, expected, value);
    if (attempt.kind === 'ok') this.lastSeen.set(key, value);
    recorder.complete(process, attempt.kind, 'cas', key, [expected, value], invokedAt, attempt.kind === 'fail' && attempt.why === guardFailed);
  }
}
