/**
 * A bank: a few accounts with opening balances; clients move amounts between two
 * accounts (read both, then one POST /batch guarded by both accounts' modRevision,
 * so a transfer applies only on the balances it read), and read all accounts in one
 * batch (one revision). Every successful read, and the final read, must show the
 * opening total and no negative balance: a transfer that half-applied, applied twice
 * or was applied on stale balances shows up as a wrong total.
 */
import { describe, http } from '../e2e/http.js';
import { pause, waitFor } from '../e2e/wait-for.js';
import { batchGets, guardFailed, readAttempt, writeAttempt } from './rest-ops.js';
import type { Attempt, BatchKv } from './rest-ops.js';
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
    const url = this.context.pickUrl();
    await waitFor(
      async () => {
        const answer = await http(`${url}/batch`, { method: 'POST', body: { ops: accounts.map((key) => ({ op: 'set', key, value: String(openingBalance) })) } });
        if (answer.status !== 200) throw new Error(`opening balances: ${describe(answer)}`);
        return true;
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

  async check(readUrl: string): Promise<WorkloadResult> {
    const final = await waitFor(async () => {
      const attempt = await this.readAll(readUrl);
      return attempt.kind === 'ok' ? attempt.value : undefined;
    }, { timeoutMs: 30_000, what: 'a final read of the bank accounts' });
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
      const url = this.context.pickUrl();
      const readAt = recorder.now();
      const read = await this.readAll(url);
      recorder.count(read.kind, { write: false, invokedAt: readAt });
      this.counts[read.kind]++;
      if (read.kind === 'ok') {
        this.readsChecked++;
        const problem = balanceProblem(read.value);
        if (problem) this.violations.push(`a read through ${url}: ${problem}`);
        else if (random.chance(0.7)) {
          const transferAt = recorder.now();
          const transfer = await this.transfer(url, read.value as BatchKv[]);
          recorder.count(transfer.kind === 'fail' && transfer.why === guardFailed ? 'ok' : transfer.kind, { write: transfer.kind === 'ok', invokedAt: transferAt });
          this.counts[transfer.kind]++;
        }
      }
      await pause(clientPauseMs);
    }
  }

  private readAll(url: string): Promise<Attempt<(BatchKv | null)[]>> {
    return readAttempt(`${url}/batch`, { method: 'POST', body: { ops: accounts.map((key) => ({ op: 'get', key })) }, timeoutMs: this.context.attemptTimeoutMs }, (answer) =>
      answer.status === 200 ? { kind: 'ok', value: batchGets(answer) } : { kind: 'fail', why: String(answer.status) },
    );
  }

  private transfer(url: string, balances: readonly BatchKv[]): Promise<Attempt<boolean>> {
    const { random } = this.context;
    const from = random.int(accounts.length);
    const to = (from + 1 + random.int(accounts.length - 1)) % accounts.length;
    const fromKv = balances[from] as BatchKv;
    const toKv = balances[to] as BatchKv;
    const amount = Math.min(Number(fromKv.value), 1 + random.int(20));
    const body = {
      if: [
        { key: fromKv.key, modRevision: fromKv.modRevision },
        { key: toKv.key, modRevision: toKv.modRevision },
      ],
      ops: [
        { op: 'set', key: fromKv.key, value: String(Number(fromKv.value) - amount) },
        { op: 'set', key: toKv.key, value: String(Number(toKv.value) + amount) },
      ],
    };
    return writeAttempt(`${url}/batch`, { method: 'POST', body, timeoutMs: this.context.attemptTimeoutMs }, (answer) =>
      (answer.body as { succeeded: boolean }).succeeded ? { kind: 'ok', value: true } : { kind: 'fail', why: guardFailed },
    );
  }
}

/** What is wrong with one read of every account, or undefined. */
function balanceProblem(kvs: readonly (BatchKv | null)[]): string | undefined {
  if (kvs.some((kv) => kv === null)) return `an account is missing (${kvs.map((kv) => kv?.value ?? 'absent').join(', ')})`;
  const values = kvs.map((kv) => Number((kv as BatchKv).value));
  const sum = values.reduce((a, b) => a + b, 0);
  if (sum !== total) return `total ${sum}, expected ${total} (balances ${values.join(', ')})`;
  if (values.some((v) => v < 0)) return `a negative balance (${values.join(', ')})`;
  return undefined;
}
