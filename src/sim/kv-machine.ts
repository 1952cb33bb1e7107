import { assert } from '../lib/assert.js';
import type { Entry, LogIndex } from '../raft/types.js';
import { type Command, decodeCommand } from './command.js';
import { Hasher } from './hash.js';

/** What applying one command did, for the node that waits on its request id. */
export interface ApplyResult {
  readonly command: Command;
  /** False for a compare-and-set whose compare failed (it changed nothing). */
  readonly ok: boolean;
  /** True when this (process, seq) had been applied before and was skipped. */
  readonly duplicate: boolean;
}

/**
 * The simulator's replicated state machine: a map from a few keys to numbers, plus the
 * last sequence number applied per client process (thesis §6.3). It is volatile: a
 * restarted node rebuilds it from its snapshot and the committed entries the core
 * hands out again.
 */
export class KvMachine {
  private readonly data = new Map<string, number>();
  private readonly lastSeqByProcess = new Map<number, number>();
  private appliedIndex: LogIndex = 0;

  /** A deliberately wrong machine (puts store value + 1), to test that the checks catch it. */
  constructor(private readonly broken = false) {}

  get applied(): LogIndex {
    return this.appliedIndex;
  }

  get(key: string): number | undefined {
    return this.data.get(key);
  }

  /** Applies the committed entry at applied + 1. Config entries and the leader's empty
   * no-op change nothing but the applied index. */
  apply(entry: Entry): ApplyResult | undefined {
    assert(entry.index === this.appliedIndex + 1, () => `apply ${entry.index} after ${this.appliedIndex}: entries must be applied in order, once`);
    this.appliedIndex = entry.index;
    if (entry.kind !== 'normal' || entry.data.length === 0) return undefined;
    const command = decodeCommand(entry.data);
    const lastSeq = this.lastSeqByProcess.get(command.process) ?? 0;
    if (command.seq <= lastSeq) return { command, ok: true, duplicate: true };
    this.lastSeqByProcess.set(command.process, command.seq);
    switch (command.op) {
      case 'put':
        this.data.set(command.key, this.broken ? command.value + 1 : command.value);
        return { command, ok: true, duplicate: false };
      case 'delete':
        this.data.delete(command.key);
        return { command, ok: true, duplicate: false };
      case 'cas': {
        const ok = this.data.get(command.key) === command.expected;
        if (ok) this.data.set(command.key, command.value);
        return { command, ok, duplicate: false };
      }
      case 'mark':
        return { command, ok: true, duplicate: false };
    }
  }

  /** A fingerprint of the data (not of the sessions): equal on every node at an index. */
  digest(): number {
    const hasher = new Hasher();
    for (const key of [...this.data.keys()].sort()) hasher.string(key).number(this.data.get(key) as number);
    return hasher.digest();
  }

  /** Readable contents, for traces. */
  describe(): string {
    return `{${[...this.data.keys()].sort().map((key) => `${key}=${this.data.get(key)}`).join(' ')}}`;
  }

  encode(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify({
      applied: this.appliedIndex,
      data: [...this.data.entries()],
      sessions: [...this.lastSeqByProcess.entries()],
    }));
  }

  /** The machine as a snapshot left it at `index`. */
  static decode(bytes: Uint8Array, index: LogIndex, broken = false): KvMachine {
    const machine = new KvMachine(broken);
    const value = JSON.parse(new TextDecoder().decode(bytes)) as { applied: number; data: [string, number][]; sessions: [number, number][] };
    assert(value.applied === index, () => `snapshot data was taken at ${value.applied}, but its meta says ${index}`);
    for (const [key, v] of value.data) machine.data.set(key, v);
    for (const [process, seq] of value.sessions) machine.lastSeqByProcess.set(process, seq);
    machine.appliedIndex = index;
    return machine;
  }
}
