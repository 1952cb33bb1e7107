/**
 * Random histories that are linearizable by construction: clients on many processes
 * invoke operations at random moments, each operation takes effect on a sequential
 * model at one random moment between its invoke and its completion, and the
 * completion reports what the model did. The checker must accept every one; tests then
 * break them on purpose, and the benchmark feeds big ones to the CLI.
 */
import { Prng } from '../lib/index.js';
import type { HistoryEvent, OperationName } from './history.js';

export interface RandomHistoryOptions {
  readonly seed: number;
  /** Operations to invoke in all. */
  readonly operations: number;
  readonly processes: number;
  readonly keys: readonly string[];
  readonly kind: 'register' | 'key-value';
  /** Values written are drawn from 0 to valueRange - 1. Without it every write
   * writes a value never written before (a small range makes the search harder). */
  readonly valueRange?: number;
  /** The chance that an operation fails without taking effect. */
  readonly failChance?: number;
  /** The chance that an operation completes with "info": it then takes effect or not,
   * at even odds. */
  readonly unknownChance?: number;
}

type Fate = 'ok' | 'fail' | 'info';

interface Pending {
  readonly f: OperationName;
  readonly key: string;
  readonly input: unknown;
  fate: Fate;
  /** Whether the moment it takes effect (or not) has passed. */
  settled: boolean;
  result: unknown;
}

export function randomHistory(options: RandomHistoryOptions): HistoryEvent[] {
  return new HistoryGenerator(options).run();
}

class HistoryGenerator {
  private readonly prng: Prng;
  private readonly events: HistoryEvent[] = [];
  private readonly pending: (Pending | undefined)[];
  private readonly values = new Map<string, unknown>();
  private invoked = 0;
  private busy = 0;
  private freshValue = 0;

  constructor(private readonly options: RandomHistoryOptions) {
    this.prng = new Prng(options.seed);
    this.pending = new Array<Pending | undefined>(options.processes).fill(undefined);
  }

  run(): HistoryEvent[] {
    while (this.invoked < this.options.operations || this.busy > 0) {
      const process = this.prng.int(this.options.processes);
      const operation = this.pending[process];
      if (operation === undefined) this.maybeInvoke(process);
      else if (!operation.settled) this.settle(operation);
      else this.complete(process, operation);
    }
    return this.events;
  }

  private maybeInvoke(process: number): void {
    if (this.invoked === this.options.operations) return;
    const key = this.prng.pick(this.options.keys);
    const f = this.pickOperation();
    const operation: Pending = { f, key, input: this.inputFor(f, key), fate: this.pickFate(), settled: false, result: null };
    this.pending[process] = operation;
    this.invoked += 1;
    this.busy += 1;
    this.events.push({ process, type: 'invoke', f, key, value: operation.input });
  }

  private pickOperation(): OperationName {
    const roll = this.prng.next();
    if (this.options.kind === 'register') return roll < 0.5 ? 'read' : roll < 0.8 ? 'write' : 'cas';
    return roll < 0.5 ? 'get' : roll < 0.9 ? 'put' : 'delete';
  }

  private pickFate(): Fate {
    const roll = this.prng.next();
    const failChance = this.options.failChance ?? 0;
    if (roll < failChance) return 'fail';
    return roll < failChance + (this.options.unknownChance ?? 0) ? 'info' : 'ok';
  }

  private inputFor(f: OperationName, key: string): unknown {
    if (f === 'write' || f === 'put') return this.newValue();
    if (f !== 'cas') return null;
    // Expect the current value half the time, so that many cas operations succeed.
    const expected = this.prng.chance(0.5) ? this.valueOf(key) : this.newValue();
    return [expected, this.newValue()];
  }

  private newValue(): number {
    const range = this.options.valueRange;
    if (range !== undefined) return this.prng.int(range);
    this.freshValue += 1;
    return this.freshValue;
  }

  private valueOf(key: string): unknown {
    return this.values.get(key) ?? null;
  }

  /** The moment the operation takes effect on the model, or does not. */
  private settle(operation: Pending): void {
    operation.settled = true;
    if (operation.fate === 'fail' || (operation.fate === 'info' && this.prng.chance(0.5))) return;
    if (operation.f === 'cas' && (operation.input as unknown[])[0] !== this.valueOf(operation.key)) {
      // The comparison failed, so the cas had no effect: report that as a failure.
      if (operation.fate === 'ok') operation.fate = 'fail';
      return;
    }
    operation.result = this.apply(operation);
  }

  private apply(operation: Pending): unknown {
    switch (operation.f) {
      case 'read':
      case 'get':
        return this.valueOf(operation.key);
      case 'cas':
        this.values.set(operation.key, (operation.input as unknown[])[1]);
        return operation.input;
      case 'delete':
        this.values.delete(operation.key);
        return null;
      default:
        this.values.set(operation.key, operation.input);
        return operation.input;
    }
  }

  private complete(process: number, operation: Pending): void {
    const { f, key, fate } = operation;
    const value = fate === 'ok' ? operation.result : operation.input;
    this.events.push({ process, type: fate, f, key, value });
    this.pending[process] = undefined;
    this.busy -= 1;
  }
}
