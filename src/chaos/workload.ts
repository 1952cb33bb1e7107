/**
 * What every chaos workload provides: clients that run until stopped, and a final
 * check once the cluster is whole again.
 */
import type { HistoryEvent } from '../check/index.js';
import type { Prng } from '../lib/index.js';
import type { ChaosClient } from './chaos-client.js';
import type { OutcomeCounts, Recorder } from './recorder.js';

export interface WorkloadContext {
  readonly recorder: Recorder;
  readonly random: Prng;
  /** The client every operation goes through (REST or etcd gRPC). */
  readonly client: ChaosClient;
  /** A running node, chosen at random. */
  readonly pickNode: () => number;
  /** Process numbers in the history start here, so workloads do not share any. */
  readonly firstProcess: number;
}

export interface WorkloadResult {
  readonly name: string;
  readonly operations: OutcomeCounts;
  /** Invariant violations found (non-linearizable keys, bad totals), one line each. */
  readonly violations: readonly string[];
  /** Acknowledged writes the final read does not hold. */
  readonly lostWrites: readonly string[];
  /** Values present that no client ever tried to write. */
  readonly unexpected: readonly string[];
  /** One line per key or check: what was checked and how it came out. */
  readonly details: readonly string[];
  /** The events of this workload, for the history file and the timeline. */
  readonly history: readonly HistoryEvent[];
  /** Checks that could not finish (the checker's deadline), one line each. */
  readonly unchecked: readonly string[];
}

export interface Workload {
  readonly name: string;
  /** One-time set-up before the clients start (e.g. the bank's opening balances). */
  prepare(): Promise<void>;
  /** Starts the clients; they run until stop(). */
  start(): void;
  stop(): Promise<void>;
  /** Reads the final state from the healed cluster (through node `readNode`) and checks everything. */
  check(readNode: number): Promise<WorkloadResult>;
}

export const workloadNames = ['register', 'set', 'bank'] as const;
export type WorkloadName = (typeof workloadNames)[number];

/** Pacing between one client's operations, so a 2-core machine keeps up. */
export const clientPauseMs = 5;

export function countsOf(events: readonly HistoryEvent[]): OutcomeCounts {
  const counts = { ok: 0, fail: 0, info: 0 };
  for (const e of events) if (e.type !== 'invoke') counts[e.type]++;
  return counts;
}
