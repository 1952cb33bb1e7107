import type { Prng } from '../lib/index.js';
import type { RaftConfig } from '../raft/index.js';
import type { Sabotage } from './sabotage.js';

/** The kinds of trouble a run can be given. */
export type FaultKind =
  | 'drop' // messages lost (0-30%)
  | 'duplicate' // messages delivered twice
  | 'delay' // long and varied delays, which reorder messages
  | 'partition' // symmetric partitions (random halves, an isolated node or leader)
  | 'asymmetric' // one-way link cuts
  | 'partial' // partial connectivity (some pairs cannot talk, bridges)
  | 'crash' // crash, losing what was not fsynced; restart later
  | 'torn' // a crash during a write keeps a prefix of its log records
  | 'pause' // a node stops ticking and processing for a while
  | 'skew' // nodes tick at different rates, and rates change
  | 'membership' // remove and re-add voters, add a learner and promote it
  | 'transfer' // leadership transfers
  | 'snapshot' // frequent compaction, so followers catch up by InstallSnapshot
  | 'churn' // leaders cut off right after bursts of proposals: uncommitted tails, often with one-entry appends
  | 'late-responses'; // late copies of responses: answers to heartbeat rounds and appends long past

export const allFaultKinds: readonly FaultKind[] = [
  'drop',
  'duplicate',
  'delay',
  'partition',
  'asymmetric',
  'partial',
  'crash',
  'torn',
  'pause',
  'skew',
  'membership',
  'transfer',
  'snapshot',
  'churn',
  'late-responses',
];

export interface SimOptions {
  /** Voters at the start (ids 1..nodes); one more node (nodes + 1) waits to be added. */
  readonly nodes: 3 | 5 | 7;
  /** The fault kinds of this run; undefined: a random mix drawn from the seed. */
  readonly faults: readonly FaultKind[] | undefined;
  /** Steps of the fault phase (a node ticks about every 10 steps). */
  readonly faultSteps: number;
  /** Steps the liveness phase may take before the run reports no progress. */
  readonly livenessStepsMax: number;
  readonly trace: boolean;
  /** Trace lines kept (the newest). */
  readonly traceLinesMax: number;
  /** Check the client history with the linearizability checker. */
  readonly checkLinearizability: boolean;
  /** A bound on the checker's work (deadline polls), so a run stays deterministic. */
  readonly checkerPollsMax: number;
  /** Overrides for every node's RaftConfig. */
  readonly raft: Partial<Omit<RaftConfig, 'id'>>;
  readonly sabotage: Sabotage;
}

export const defaultSimOptions: SimOptions = {
  nodes: 5,
  faults: undefined,
  faultSteps: 3000,
  livenessStepsMax: 4000,
  trace: false,
  traceLinesMax: 20_000,
  checkLinearizability: true,
  checkerPollsMax: 200_000,
  raft: {},
  sabotage: {},
};

/** The parameters of one run, drawn from its seed (and fixed by the options). */
export interface Profile {
  readonly faults: ReadonlySet<FaultKind>;
  readonly keysCount: number;
  readonly clientsCount: number;
  /** Chance per step that an idle client starts an operation. */
  readonly operationRate: number;
  readonly operationTimeoutSteps: number;
  readonly fsyncDelayMaxSteps: number;
  readonly snapshotEveryEntries: number;
  /** Each node's ticks are this many steps apart, at the start. */
  readonly tickPeriodsSteps: readonly number[];
  /** The cores' configuration, varied per seed so that small limits (one entry per
   * append, tiny snapshot chunks, one message in flight) and pre-vote / check-quorum
   * on and off all get exercised; options.raft overrides it. */
  readonly raft: Partial<Omit<RaftConfig, 'id'>>;
  /** Steps between two fault events, drawn in [min, max]. */
  readonly faultGapMinSteps: number;
  readonly faultGapMaxSteps: number;
  /** Membership changes go through etcd's member API (replica/membership.ts: the member
   * list and its metadata, one change at a time, removed ids never back, a removed node
   * stops) rather than straight to the core (back to back, removed nodes re-added). */
  readonly memberApi: boolean;
  /** NodeConfig.snapshotLogPercent: 0 keeps snapshots as frequent as snapshotEveryEntries says. */
  readonly snapshotLogPercent: number;
}

export function drawProfile(random: Prng, options: SimOptions): Profile {
  const faults = new Set<FaultKind>(options.faults ?? allFaultKinds.filter(() => random.chance(0.5)));
  const hostsCount = options.nodes + 1;
  const tickPeriodsSteps: number[] = [];
  for (let i = 0; i < hostsCount; i++) tickPeriodsSteps.push(faults.has('skew') ? random.between(7, 14) : 10);
  const electionTicks = random.between(5, 20);
  const raft: Partial<Omit<RaftConfig, 'id'>> = {
    electionTicks,
    heartbeatTicks: random.between(1, Math.min(3, electionTicks - 1)),
    preVote: random.chance(0.75),
    checkQuorum: random.chance(0.75),
    entriesPerMessageMax: random.pick([1, 2, 4, 64]),
    bytesPerMessageMax: random.pick([64, 256, 1024 * 1024]),
    inflightMessagesMax: random.pick([1, 2, 8, 64]),
    snapshotChunkBytesMax: random.pick([16, 64, 512 * 1024]),
    uncommittedBytesMax: random.pick([512, 64 * 1024 * 1024]),
    ...options.raft,
  };
  // Churn leaves uncommitted tails that differ from node to node when appends carry
  // one entry each (followers each got a different prefix of the deposed leader's tail).
  const oneEntryAppends = faults.has('churn') && options.raft.entriesPerMessageMax === undefined && random.chance(0.6);
  const drawn = {
    faults,
    keysCount: random.between(3, 5),
    clientsCount: random.between(2, 8),
    operationRate: 0.02 + random.next() * 0.4,
    operationTimeoutSteps: random.between(300, 800),
    fsyncDelayMaxSteps: random.int(7),
    snapshotEveryEntries: faults.has('snapshot') ? random.between(3, 30) : random.chance(0.5) ? 0 : random.between(50, 200),
    tickPeriodsSteps,
    raft: oneEntryAppends ? { ...raft, entriesPerMessageMax: 1 } : raft,
    faultGapMinSteps: 20,
    faultGapMaxSteps: random.between(100, 400),
    memberApi: faults.has('membership') && random.chance(0.5),
  };
  // Drawn last, so the draws above stay as they were for every seed. A small memory
  // bound makes the log read entries back from the WAL at almost every send and apply.
  const logMemoryBytesMax = options.raft.logMemoryBytesMax ?? random.pick([0, 512, 16 * 1024 * 1024]);
  return { ...drawn, raft: { ...drawn.raft, logMemoryBytesMax }, snapshotLogPercent: random.pick([0, 0, 100]) };
}

export function describeProfile(profile: Profile): string {
  const faults = allFaultKinds.filter((kind) => profile.faults.has(kind));
  return (
    `faults=[${faults.join(',')}] keys=${profile.keysCount} clients=${profile.clientsCount} opRate=${profile.operationRate.toFixed(3)} ` +
    `raft=${JSON.stringify(profile.raft)} snapshotLogPercent=${profile.snapshotLogPercent} timeout=${profile.operationTimeoutSteps} fsyncMax=${profile.fsyncDelayMaxSteps} snapshotEvery=${profile.snapshotEveryEntries} ticks=[${profile.tickPeriodsSteps.join(',')}]${profile.memberApi ? ' memberApi' : ''}`
  );
}
