/**
 * Nemeses: the faults of a chaos run. Each is started for an interval and stopped
 * (healed) at its end; `start` says what exactly it did, for the report.
 */
import type { Cluster } from '../harness/index.js';
import type { Prng } from '../lib/index.js';
import type { FaultBoard } from './fault-board.js';
import type { ChaosNetwork } from './network.js';

export interface NemesisContext {
  readonly cluster: Cluster;
  readonly network: ChaosNetwork;
  readonly board: FaultBoard;
  readonly random: Prng;
  /** The node the others follow now, if one leads. */
  leader(): Promise<number | undefined>;
  /** The cluster's members now, running or not (member churn removes and adds them). */
  readonly ids: readonly number[];
  /** The nodes' election timeout, in ms (a pause must outlast it). */
  readonly electionTimeoutMs: number;
}

export interface Nemesis {
  readonly name: string;
  /** Why it cannot run here (a missing tool), or undefined. */
  unavailable?(): Promise<string | undefined>;
  /** Injects the fault; returns what it did, in a few words. */
  start(context: NemesisContext): Promise<string>;
  /** Heals it: after this the cluster is whole again. */
  stop(context: NemesisContext): Promise<void>;
}
