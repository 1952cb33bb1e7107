import type { HistoryEvent } from '../check/index.js';
import type { Prng } from '../lib/index.js';
import type { NodeId } from '../raft/index.js';
import type { Command } from './command.js';
import type { Trace } from './trace.js';

type OperationName = HistoryEvent['f'];

/**
 * One client operation in flight. Writes wait for their command to be applied on the
 * node that took them; reads wait for a ReadState and for that node to apply up to its
 * index. `done` is set when the operation got its completion (ok, fail or info), after
 * which nodes ignore it.
 */
export interface ClientOperation {
  readonly process: number;
  readonly requestId: string;
  readonly f: OperationName;
  readonly key: string;
  /** The invoke's value: the value written, [expected, new] for cas, null otherwise. */
  readonly value: unknown;
  /** The command to propose; undefined for reads. */
  readonly command: Command | undefined;
  readonly node: NodeId;
  readonly invokedAtStep: number;
  readonly deadlineStep: number;
  done: boolean;
  /** How it completed, once done. */
  outcome: 'ok' | 'fail' | 'info' | undefined;
}

export interface WorkloadOptions {
  readonly random: Prng;
  readonly trace: Trace;
  /** Keys "k0".."k{n-1}". Even keys are registers (read/write/cas), odd keys map
   * entries (get/put/delete): the checker models each key as one kind. */
  readonly keysCount: number;
  /** Clients with one operation outstanding each. */
  readonly clientsCount: number;
  /** An operation not completed within this many steps is recorded as "info". */
  readonly operationTimeoutSteps: number;
}

interface Client {
  process: number;
  seq: number;
  current: ClientOperation | undefined;
  /** After a refusal a client waits a little before its next operation, as a real one
   * would (and so the history is not flooded with refusals while there is no leader). */
  idleUntilStep: number;
}

const INVOKE = 200;
const COMPLETE = 201;
const typeCodes = { invoke: 0, ok: 1, fail: 2, info: 3 } as const;

/**
 * The clients of a run: they invent operations on a small key space, and record every
 * invoke and completion as a history for the linearizability checker. A client whose
 * operation ended in "info" (unknown outcome) never issues again under that process
 * id, as in Jepsen: its operation may still take effect at any later time.
 */
export class Workload {
  readonly history: HistoryEvent[] = [];
  readonly counts = { invoked: 0, ok: 0, fail: 0, info: 0 };
  private readonly clients: Client[] = [];
  private nextProcess = 1;
  private nextValue = 1;
  /** Values written per key (recent ones make likely cas expectations). */
  private readonly writtenValues = new Map<string, number[]>();

  constructor(private readonly options: WorkloadOptions) {
    for (let i = 0; i < options.clientsCount; i++) this.clients.push({ process: this.nextProcess++, seq: 0, current: undefined, idleUntilStep: 0 });
  }

  idleClientsCount(now: number): number {
    return this.clients.filter((client) => this.isIdle(client, now)).length;
  }

  /** Starts an operation of an idle client (there must be one) on `node`. */
  invoke(node: NodeId, now: number): ClientOperation {
    const { random, keysCount } = this.options;
    const client = this.clients.find((c) => this.isIdle(c, now));
    if (client === undefined) throw new RangeError('no idle client');
    client.seq += 1;
    const keyNumber = random.int(keysCount);
    const key = `k${keyNumber}`;
    const register = keyNumber % 2 === 0;
    const id = `${client.process}.${client.seq}`;
    const base = { id, process: client.process, seq: client.seq, key };
    const roll = random.int(100);
    let f: OperationName;
    let value: unknown = null;
    let command: Command | undefined;
    if (roll < 40) {
      f = register ? 'read' : 'get';
    } else if (register && roll < 70) {
      f = 'cas';
      const expected = this.likelyValue(key);
      const next = this.nextValue++;
      value = [expected, next];
      command = { op: 'cas', ...base, expected, value: next };
      this.remember(key, next);
    } else if (!register && roll < 55) {
      f = 'delete';
      command = { op: 'delete', ...base };
    } else {
      f = register ? 'write' : 'put';
      const next = this.nextValue++;
      value = next;
      command = { op: 'put', ...base, value: next };
      this.remember(key, next);
    }
    const operation: ClientOperation = {
      process: client.process,
      requestId: id,
      f,
      key,
      value,
      command,
      node,
      invokedAtStep: now,
      deadlineStep: now + this.options.operationTimeoutSteps,
      done: false,
      outcome: undefined,
    };
    return this.start(client, operation, now);
  }

  /** Starts a read of `key` by an idle client (there must be one) on `node`. */
  invokeRead(node: NodeId, key: string, now: number): ClientOperation {
    const client = this.clients.find((c) => this.isIdle(c, now));
    if (client === undefined) throw new RangeError('no idle client');
    client.seq += 1;
    const register = Number(key.slice(1)) % 2 === 0;
    return this.start(
      client,
      {
        process: client.process,
        requestId: `${client.process}.${client.seq}`,
        f: register ? 'read' : 'get',
        key,
        value: null,
        command: undefined,
        node,
        invokedAtStep: now,
        deadlineStep: now + this.options.operationTimeoutSteps,
        done: false,
        outcome: undefined,
      },
      now,
    );
  }

  private start(client: Client, operation: ClientOperation, now: number): ClientOperation {
    client.current = operation;
    this.counts.invoked += 1;
    this.record(operation, 'invoke', operation.value, now);
    return operation;
  }

  /** Completes an operation; `value` is what a read returned (ignored otherwise). */
  complete(operation: ClientOperation, type: 'ok' | 'fail' | 'info', value: unknown, now: number): void {
    if (operation.done) return;
    operation.done = true;
    operation.outcome = type;
    const client = this.clients.find((c) => c.current === operation);
    if (client === undefined) throw new RangeError(`operation ${operation.requestId} has no client`);
    client.current = undefined;
    if (type === 'fail') client.idleUntilStep = now + this.options.random.between(5, 60);
    if (type === 'info') {
      client.process = this.nextProcess++;
      client.seq = 0;
    }
    this.counts[type] += 1;
    const isRead = operation.f === 'read' || operation.f === 'get';
    this.record(operation, type, type === 'ok' && isRead ? value : operation.value, now);
  }

  /** Operations past their deadline at `now`, completed as "info". */
  expire(now: number): ClientOperation[] {
    const expired: ClientOperation[] = [];
    for (const client of this.clients) {
      const operation = client.current;
      if (operation !== undefined && now >= operation.deadlineStep) {
        this.complete(operation, 'info', null, now);
        expired.push(operation);
      }
    }
    return expired;
  }

  pendingOperations(): ClientOperation[] {
    return this.clients.flatMap((client) => (client.current === undefined ? [] : [client.current]));
  }

  /** Completes every open operation as "info" (the end of the run). */
  abandonAll(now: number): void {
    for (const operation of this.pendingOperations()) this.complete(operation, 'info', null, now);
  }

  private isIdle(client: Client, now: number): boolean {
    return client.current === undefined && client.idleUntilStep <= now;
  }

  private likelyValue(key: string): number {
    const { random } = this.options;
    const values = this.writtenValues.get(key);
    if (values === undefined || values.length === 0 || random.chance(0.1)) return random.between(1, Math.max(1, this.nextValue - 1));
    return values[random.int(values.length)] as number;
  }

  private remember(key: string, value: number): void {
    const values = this.writtenValues.get(key) ?? [];
    values.push(value);
    if (values.length > 4) values.shift();
    this.writtenValues.set(key, values);
  }

  private record(operation: ClientOperation, type: HistoryEvent['type'], value: unknown, now: number): void {
    this.history.push({ process: operation.process, type, f: operation.f, key: operation.key, value, time: now });
    this.options.trace.event(
      now,
      type === 'invoke' ? INVOKE : COMPLETE,
      [operation.process, typeCodes[type], operation.node],
      () =>
        `client  p${operation.process} ${type.padEnd(6)} ${operation.f} ${operation.key} ${JSON.stringify(value)}${type === 'invoke' ? ` via n${operation.node} (${operation.requestId})` : ''}`,
    );
  }
}
