/**
 * A bank: a few accounts with opening balances; clients move amounts between two
 * accounts (read both, then one POST /batch guarded by both accounts' modRevision,
 * so a transfer applies only on the balances it read), and read all accounts in one
 * batch (one revision). Every successful read, and the final read, must show the
 * opening total and no negative balance: a transfer that half-applied, applied twice
 * or was applied on stale balances shows up as a wrong total.
 */
import { pause, waitFor } from '../harness/index.js';
import { guardFailed } from './attempt.js';
import type { Attempt } from './attempt.js';
import type { StoredValue } from './chaos-client.js';
import { clientPauseMs } from './workload.js';
import type { Workload, WorkloadContext, WorkloadResult } from './workload.js';

const accounts = Array.from({ length: 5 }, (_, i) => `bank/${i}`);
const openingBalance = 100;
const total = accounts.length * openingBalance;

export class BankWorkload implements Workload {
  readonly name = 'bank';
  private stopped = false;
  private running: Promise<void> | undefined;
  private readonly counts = { ok: 0, fail: 0, info: 0 };
  private readonly violations: string[] = [];
  private readsChecked = 0;

  constructor(
    private readonly context: WorkloadContext,
    private readonly clients = 3,
  ) {}

  async prepare(): Promise<void> {
    const { client, pickNode } = this.context;
    // One transaction, retried until acknowledged: setting the opening balances twice is harmless before any transfer.
    await waitFor(
      async () => {
        const opened = await client.guardedSet(
          pickNode(),
          [],
          accounts.map((key) => ({ key, value: String(openingBalance) })),
        );
        return opened.kind === 'ok';
      },
      { timeoutMs: 20_000, what: 'the bank accounts to be opened' },
    );
  }

  start(): void {
    this.running = Promise.all(Array.from({ length: this.clients }, () => this.client())).then(() => undefined);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  async check(readNode: number): Promise<WorkloadResult> {
    const final = await waitFor(
      async () => {
        const attempt = await this.context.client.readAll(readNode, accounts);
        return attempt.kind === 'ok' ? attempt.value : undefined;
      },
      { timeoutMs: 30_000, what: 'a final read of the bank accounts' },
    );
    const finalProblem = balanceProblem(final);
    const violations = [...this.violations, ...(finalProblem ? [`final read: ${finalProblem}`] : [])];
    return {
      name: this.name,
      operations: { ...this.counts },
      violations,
      lostWrites: [],
      unexpected: [],
      details: [`${this.readsChecked} reads of all accounts checked (total ${total}); final balances ${final.map((kv) => kv?.value).join(', ')}`],
      history: [],
      unchecked: [],
    };
  }

  private async client(): Promise<void> {
    const { random, recorder } = this.context;
    while (!this.stopped) {
      const node = this.context.pickNode();
      const readAt = recorder.now();
      const read = await this.context.client.readAll(node, accounts);
      recorder.count(read.kind, { write: false, invokedAt: readAt });
      this.counts[read.kind]++;
      if (read.kind === 'ok') {
        this.readsChecked++;
        const problem = balanceProblem(read.value);
        if (problem) this.violations.push(`a read through node ${node}: ${problem}`);
        else if (random.chance(0.7)) {
          const transferAt = recorder.now();
          const transfer = await this.transfer(node, read.value as StoredValue[]);
          recorder.count(transfer.kind === 'fail' && transfer.why === guardFailed ? 'ok' : transfer.kind, {
            write: transfer.kind === 'ok',
            invokedAt: transferAt,
          });
          this.counts[transfer.kind]++;
        }
      }
      await pause(clientPauseMs);
    }
  }

  private transfer(node: number, balances: readonly StoredValue[]): Promise<Attempt<true>> {
    const { random } = this.context;
    const from = balances[random.int(accounts.length)] as StoredValue;
    const others = balances.filter((kv) => kv !== from);
    const to = others[random.int(others.length)] as StoredValue;
    const amount = Math.min(Number(from.value), 1 + random.int(20));
    return this.context.client.guardedSet(
      node,
      [from, to],
      [
        { key: from.key, value: String(Number(from.value) - amount) },
        { key: to.key, value: String(Number(to.value) + amount) },
      ],
    );
  }
}

/** What is wrong with one read of every account, or undefined. */
function balanceProblem(kvs: readonly (StoredValue | null)[]): string | undefined {
  if (kvs.some((kv) => kv === null)) return `an account is missing (${kvs.map((kv) => kv?.value ?? 'absent').join(', ')})`;
  const values = kvs.map((kv) => Number((kv as StoredValue).value));
  const sum = values.reduce((a, b) => a + b, 0);
  if (sum !== total) return `total ${sum}, expected ${total} (balances ${values.join(', ')})`;
  if (values.some((v) => v < 0)) return `a negative balance (${values.join(', ')})`;
  return undefined;
}
