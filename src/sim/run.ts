import { checkHistory } from '../check/index.js';
import { AssertionError, Prng } from '../lib/index.js';
import { type LogIndex, defaultRaftConfig } from '../raft/index.js';
import { ReplicaHost } from './replica-host.js';
import { settleMicrotasks } from './settle.js';
import { Nemesis } from './nemesis.js';
import { calmNetwork, SimNetwork } from './network.js';
import { defaultSimOptions, describeProfile, drawProfile, type Profile, type SimOptions } from './options.js';
import { SafetyMonitor, type Violation } from './safety.js';
import { Trace } from './trace.js';
import { type ClientOperation, Workload } from './workload.js';
import { WatchMonitor } from './watch-monitor.js';
import { LeaseClients, type LeaseNode } from './lease-clients.js';

export interface SimResult {
  readonly seed: number;
  readonly nodes: number;
  /** The run's parameters drawn from the seed, readable. */
  readonly profile: string;
  /** Client operations invoked, and how they ended. */
  readonly operations: number;
  readonly completions: { readonly ok: number; readonly fail: number; readonly info: number };
  readonly steps: number;
  readonly violations: readonly Violation[];
  readonly linearizability: 'linearizable' | 'not linearizable' | 'unknown' | 'skipped';
  /** A hash of every event of the run: equal for two runs of one seed. */
  readonly fingerprint: string;
  /** The readable trace (empty unless tracing was on). */
  readonly trace: string;
  readonly stats: {
    readonly messagesSent: number;
    readonly messagesDropped: number;
    readonly crashes: number;
    readonly commitIndexMax: LogIndex;
    /** The longest stretch of steps without a leader that had heard from a majority
     * within an election timeout (availability under the run's faults). */
    readonly leaderlessStepsMax: number;
    /** Steps the liveness phase took to commit a new entry on a majority. */
    readonly livenessSteps: number | undefined;
    /** Leases granted, renewals acknowledged and expiries seen (lease-clients.ts). */
    readonly leases: { readonly granted: number; readonly renewed: number; readonly expired: number };
    /** Revisions the watchers delivered and agreed on (watch-monitor.ts). */
    readonly watchedRevisions: number;
  };
}

const LIVENESS = 600;

/** A simulated machine: the production replica on simulated ports. */
export type Host = ReplicaHost;

/**
 * Runs one seed: every node drives the production replica (replica-host.ts); after
 * each step the promises it started settle (settle.ts), so the same seed and options
 * always give the same result.
 */
export function runSimulation(seed: number, overrides: Partial<SimOptions> = {}): Promise<SimResult> {
  return new Simulation(seed, { ...defaultSimOptions, ...overrides }).run();
}

/**
 * An in-process cluster of production replicas over a simulated network and disks,
 * driven by one global step counter. Each step: scheduled faults, new client
 * operations, message arrivals, ticks, then the fsyncs and deferred tasks due (each
 * replica's Ready loop) until the promises they start settle; the safety monitor
 * checks after every input. A fault phase is followed by a liveness phase (everything healed and
 * restarted) that must commit a new entry on a majority and serve a final read of every
 * key; then the client history is checked for linearizability.
 */
class Simulation {
  private readonly trace: Trace;
  private readonly monitor: SafetyMonitor;
  private readonly network: SimNetwork;
  private readonly workload: Workload;
  private readonly watches: WatchMonitor;
  private readonly leaseClients: LeaseClients;
  private readonly hosts: Host[] = [];
  private readonly nemesis: Nemesis;
  private readonly profile: Profile;
  private readonly clientRandom: Prng;
  private crashesCount = 0;
  /** Where each command was applied (first time), by request id, and the reverse. */
  private readonly appliedIndexById = new Map<string, LogIndex>();
  /** Writes acknowledged to a client. */
  private readonly acknowledged: string[] = [];
  private markSeq = 0;
  private liveness:
    | {
        phase: 'probe' | 'drain' | 'reads' | 'done';
        startStep: number;
        markId: string | undefined;
        markProposedAt: number;
        doneAt: number | undefined;
        reads: ClientOperation[];
        readKeysLeft: string[];
      }
    | undefined;

  constructor(
    private readonly seed: number,
    private readonly options: SimOptions,
  ) {
    const root = new Prng(seed);
    const profileRandom = root.fork();
    const networkRandom = root.fork();
    const workloadRandom = root.fork();
    const nemesisRandom = root.fork();
    this.clientRandom = root.fork();
    const hostRandoms = Array.from({ length: options.nodes + 1 }, () => root.fork());
    const leaseRandom = root.fork();
    this.profile = drawProfile(profileRandom, options);
    this.trace = new Trace(options.trace, options.traceLinesMax);
    this.monitor = new SafetyMonitor(this.trace, {
      checkQuorumElectionTicks: this.profile.raft.checkQuorum === false ? undefined : (this.profile.raft.electionTicks ?? defaultRaftConfig.electionTicks),
    });
    const hostsCount = options.nodes + 1;
    this.network = new SimNetwork({ idMax: hostsCount, random: networkRandom, trace: this.trace, inFlightMessagesMax: 200_000 });
    this.workload = new Workload({
      random: workloadRandom,
      trace: this.trace,
      keysCount: this.profile.keysCount,
      clientsCount: this.profile.clientsCount,
      operationTimeoutSteps: this.profile.operationTimeoutSteps,
    });
    const report = (kind: Violation['kind'], message: string): void => this.monitor.report(kind, message);
    this.leaseClients = new LeaseClients({
      random: leaseRandom,
      trace: this.trace,
      report,
      ttlSeconds: 1,
      liveLeasesMax: 3,
      grantRate: 0.005,
      keptAliveChance: 0.5,
    });
    this.watches = new WatchMonitor({ report, now: () => this.monitor.now, leaseKeyDeleted: (key, step) => this.leaseClients.keyDeleted(key, step) });
    this.trace.note(0, () => `seed ${seed} nodes=${options.nodes} (+ spare n${hostsCount}) ${describeProfile(this.profile)}`);
    const voters = Array.from({ length: options.nodes }, (_, i) => i + 1);
    const allIds = Array.from({ length: hostsCount }, (_, i) => i + 1);
    for (let id = 1; id <= hostsCount; id++) {
      const host = new ReplicaHost({
        id,
        raftConfig: { ...defaultRaftConfig, ...this.profile.raft, id },
        trace: this.trace,
        monitor: this.monitor,
        watches: this.watches,
        network: this.network,
        fsyncDelayMaxSteps: this.profile.fsyncDelayMaxSteps,
        snapshotEveryEntries: this.profile.snapshotEveryEntries,
        snapshotLogPercent: this.profile.snapshotLogPercent,
        inboxMessagesMax: 10_000,
        sabotage: options.sabotage,
        voters: id <= options.nodes ? voters : [],
        allIds,
        random: hostRandoms[id - 1] as Prng,
        requestTimeoutSteps: this.profile.operationTimeoutSteps,
        complete: (operation, type, value) => this.complete(operation, type, value),
        onApply: (requestId, index) => this.appliedAt(requestId, index),
      });
      host.tickPeriodSteps = this.profile.tickPeriodsSteps[id - 1] as number;
      host.nextTickStep = hostRandoms[id - 1]?.int(host.tickPeriodSteps) ?? 0;
      this.hosts.push(host);
    }
    this.nemesis = new Nemesis({
      hosts: this.hosts,
      network: this.network,
      trace: this.trace,
      random: nemesisRandom,
      profile: this.profile,
      crash: (host, now, torn) => this.crash(host, now, torn),
      restart: (host, now) => host.restart(now),
      observe: (host) => {
        if (host.core !== undefined) this.monitor.observe(host.id, host.core);
      },
    });
  }

  /** After each step, the promises it started settle before the next. */
  async run(): Promise<SimResult> {
    let now = 0;
    for (; now < this.stepsMax(); now++) {
      this.guarded(now, () => this.step(now));
      await this.settle(now);
      if (this.finished()) break;
    }
    return this.result(now);
  }

  private stepsMax(): number {
    return this.options.faultSteps + this.options.livenessStepsMax;
  }

  private finished(): boolean {
    return !this.monitor.ok || this.liveness?.phase === 'done';
  }

  private guarded(now: number, action: () => void): void {
    this.monitor.now = now;
    try {
      action();
    } catch (error) {
      const text = error instanceof Error ? (error.stack ?? error.message).split('\n').slice(0, 8).join('\n') : String(error);
      this.monitor.report('exception', `${error instanceof AssertionError ? 'assertion failed' : 'exception'}: ${text}`);
    }
  }

  /** Releases due fsyncs and deferred tasks, and lets what they start settle, until the hosts are quiet; then the monitor checks every core. */
  private async settle(now: number): Promise<void> {
    const roundsMax = 1000;
    for (let round = 0; ; round++) {
      let busy = false;
      this.guarded(now, () => {
        for (const host of this.hosts) if (host.pump(now)) busy = true;
      });
      await settleMicrotasks();
      if (!busy) break;
      if (round === roundsMax) {
        this.monitor.report('exception', `the replicas did not go quiet within ${roundsMax} rounds of step ${now}`);
        break;
      }
    }
    this.guarded(now, () => {
      for (const host of this.hosts) host.observe();
    });
  }

  private result(now: number): SimResult {
    const { livenessStepsMax } = this.options;
    if (this.monitor.ok && this.liveness?.phase !== 'done') {
      const phase = this.liveness?.phase ?? 'fault';
      this.monitor.report(
        'liveness',
        `no progress within ${livenessStepsMax} steps after the faults stopped (stuck in ${phase}: ${this.describeLivenessState()})`,
      );
    }
    this.workload.abandonAll(now);
    if (this.monitor.ok) this.checkNoAcknowledgedWriteLost();
    if (this.monitor.ok) this.watches.checkComplete();
    const linearizability = this.checkLinearizability();
    const stats = this.network.stats;
    return {
      seed: this.seed,
      nodes: this.options.nodes,
      profile: describeProfile(this.profile),
      operations: this.workload.counts.invoked,
      completions: { ok: this.workload.counts.ok, fail: this.workload.counts.fail, info: this.workload.counts.info },
      steps: now,
      violations: this.monitor.violations,
      linearizability,
      fingerprint: this.trace.fingerprint(),
      trace: this.options.trace ? this.trace.text() : '',
      stats: {
        messagesSent: stats.sentCount,
        messagesDropped: stats.droppedCount,
        crashes: this.crashesCount,
        commitIndexMax: Math.max(0, ...this.hosts.map((host) => host.core?.status().commit ?? 0)),
        leaderlessStepsMax: this.monitor.longestLeaderlessSteps(),
        livenessSteps: this.liveness?.doneAt === undefined ? undefined : this.liveness.doneAt - this.liveness.startStep,
        leases: { ...this.leaseClients.counts },
        watchedRevisions: this.watches.revisionsCount,
      },
    };
  }

  private step(now: number): void {
    // A node whose removal applied stops, as a removed etcd member exits.
    for (const host of this.hosts) if (host.removedFromCluster && host.alive) this.crash(host, now, false);
    if (now < this.options.faultSteps) {
      this.nemesis.step(now);
      this.startClientOperations(now);
      this.leaseClients.step(
        now,
        this.hosts.map((host) => host.leaseNode()).filter((node): node is LeaseNode => node !== undefined),
      );
    } else {
      if (now === this.options.faultSteps) this.startLiveness(now);
      this.stepLiveness(now);
    }
    for (const message of this.network.arrivals(now)) {
      const sender = this.hosts[message.from - 1];
      if (sender !== undefined) this.monitor.delivered(message, sender.disk);
      const host = this.hosts[message.to - 1];
      if (host === undefined) {
        this.monitor.report('ready-contract', `node ${message.from} sent ${message.type} to unknown node ${message.to}`);
        continue;
      }
      host.receive(message, now);
    }
    for (const host of this.hosts) host.tickIfDue(now);
    for (const operation of this.workload.expire(now)) this.hosts[operation.node - 1]?.forgetDone();
  }

  private startClientOperations(now: number): void {
    if (this.workload.idleClientsCount(now) === 0 || !this.clientRandom.chance(this.profile.operationRate)) return;
    const running = this.hosts.filter((host) => host.alive && !host.paused);
    if (running.length === 0) return;
    // Clients mostly go to nodes that know a leader (a real client moves on from a
    // node that cannot help), sometimes to any node, so refusals are tested too.
    const helpful = running.filter((host) => (host.core?.status().leader ?? 0) !== 0);
    const host = this.clientRandom.pick(helpful.length > 0 && this.clientRandom.chance(0.8) ? helpful : running);
    const operation = this.workload.invoke(host.id, now);
    host.submit(operation);
  }

  private complete(operation: ClientOperation, type: 'ok' | 'fail' | 'info', value: unknown): void {
    if (operation.done) return;
    if (type === 'ok' && operation.command !== undefined) this.acknowledged.push(operation.requestId);
    this.workload.complete(operation, type, value, this.monitor.now);
  }

  /** A command applied (first time) at `index` or, on a production replica, by it. */
  private appliedAt(id: string, index: LogIndex): void {
    if (!this.appliedIndexById.has(id)) this.appliedIndexById.set(id, index);
  }

  private crash(host: Host, now: number, torn: boolean): void {
    this.crashesCount += 1;
    for (const operation of host.crash(now, torn)) this.workload.complete(operation, 'info', null, now);
  }

  // ---------------------------------------------------------------------------
  // Liveness phase
  // ---------------------------------------------------------------------------

  private startLiveness(now: number): void {
    this.nemesis.stop();
    this.network.heal();
    this.network.conditions = calmNetwork;
    for (const host of this.hosts) {
      if (!host.alive && !host.removedFromCluster) host.restart(now);
      else if (host.paused) host.resume(now);
    }
    this.liveness = { phase: 'probe', startStep: now, markId: undefined, markProposedAt: now, doneAt: undefined, reads: [], readKeysLeft: [] };
    this.trace.event(now, LIVENESS, [0], () => 'liveness: network healed, all nodes running; waiting for a new entry to commit on a majority');
  }

  private stepLiveness(now: number): void {
    const liveness = this.liveness;
    if (liveness === undefined) return;
    switch (liveness.phase) {
      case 'probe': {
        if (liveness.markId !== undefined && this.markCommittedOnMajority(liveness.markId)) {
          liveness.phase = 'drain';
          this.trace.event(
            now,
            LIVENESS,
            [1],
            () => `liveness: ${liveness.markId} committed on a majority after ${now - liveness.startStep} steps; draining client operations`,
          );
          return;
        }
        // (Re)propose a probe through the current leader when there is none yet or the
        // last one has had ample time (it may have been lost with a deposed leader).
        const leader = this.leader();
        if (leader === undefined) return;
        if (liveness.markId !== undefined && now - liveness.markProposedAt < 300) return;
        this.markSeq += 1;
        const id = `mark.${this.markSeq}`;
        const outcome = leader.proposeMark(id, 0, this.markSeq);
        if (!outcome.ok) return;
        liveness.markId = id;
        liveness.markProposedAt = now;
        this.trace.event(now, LIVENESS, [2], () => `liveness: proposed ${id} via leader n${leader.id} ${outcome.detail}`);
        return;
      }
      case 'drain':
        if (this.workload.pendingOperations().length > 0) return;
        liveness.phase = 'reads';
        liveness.readKeysLeft = Array.from({ length: this.profile.keysCount }, (_, i) => `k${i}`);
        return;
      case 'reads': {
        // One final read of every key through the leader: each must succeed; one that
        // did not (the leader may just have changed) is tried again.
        for (const read of liveness.reads) if (read.done && read.outcome !== 'ok') liveness.readKeysLeft.push(read.key);
        liveness.reads = liveness.reads.filter((read) => !read.done);
        const leader = this.leader();
        while (leader !== undefined && liveness.readKeysLeft.length > 0 && this.workload.idleClientsCount(now) > 0) {
          const key = liveness.readKeysLeft.shift() as string;
          const operation = this.workload.invokeRead(leader.id, key, now);
          liveness.reads.push(operation);
          leader.submit(operation);
        }
        if (liveness.reads.length === 0 && liveness.readKeysLeft.length === 0) {
          liveness.phase = 'done';
          liveness.doneAt = now;
          this.trace.event(now, LIVENESS, [3], () => `liveness: done after ${now - liveness.startStep} steps`);
        }
        return;
      }
      case 'done':
        return;
    }
  }

  private markCommittedOnMajority(markId: string): boolean {
    const index = this.appliedIndexById.get(markId);
    const leader = this.leader();
    if (index === undefined || leader?.core === undefined) return false;
    const { voters } = leader.core.status().config;
    let count = 0;
    for (const id of voters) {
      const core = this.hosts[id - 1]?.core;
      if (core !== undefined && core.status().commit >= index) count += 1;
    }
    return count >= Math.floor(voters.length / 2) + 1;
  }

  private describeLivenessState(): string {
    const nodes = this.hosts.map((host) => {
      if (host.core === undefined) return `n${host.id} down`;
      const s = host.core.status();
      const peers = s.peers.map((p) => `${p.id}:${p.state} match=${p.match} next=${p.next}`).join(', ');
      return `n${host.id} ${s.role} t${s.term} commit=${s.commit} last=${s.lastIndex} voters=[${s.config.voters.join(',')}] learners=[${s.config.learners.join(',')}]${host.paused ? ' paused' : ''}${peers ? ` peers {${peers}}` : ''}`;
    });
    const pending = this.workload.pendingOperations().map((op) => `${op.requestId}@n${op.node}`);
    return `${nodes.join('; ')}; pending operations: ${pending.join(' ') || 'none'}`;
  }

  /** The running leader with the highest term, if any. */
  private leader(): Host | undefined {
    let best: Host | undefined;
    let bestTerm = -1;
    for (const host of this.hosts) {
      if (host.core === undefined || host.paused) continue;
      const { role, term } = host.core.status();
      if (role === 'leader' && term > bestTerm) {
        best = host;
        bestTerm = term;
      }
    }
    return best;
  }

  // ---------------------------------------------------------------------------
  // End of run
  // ---------------------------------------------------------------------------

  /** Every acknowledged write was applied at some index, and the final state (the
   * running node that applied most; state machine safety makes them agree) is past
   * it: it is part of the history every node converges on. */
  private checkNoAcknowledgedWriteLost(): void {
    const applied = Math.max(0, ...this.hosts.map((host) => host.appliedIndex()));
    for (const id of this.acknowledged) {
      const index = this.appliedIndexById.get(id);
      if (index === undefined) {
        this.monitor.report('lost-write', `write ${id} was acknowledged but never applied by any node`);
        return;
      }
      if (index > applied) {
        this.monitor.report('lost-write', `write ${id} was acknowledged at index ${index}, but no running node applied past ${applied}`);
        return;
      }
    }
  }

  private checkLinearizability(): SimResult['linearizability'] {
    if (!this.options.checkLinearizability) return 'skipped';
    let polls = 0;
    const pollsMax = this.options.checkerPollsMax;
    const result = checkHistory(this.workload.history, { deadline: () => ++polls > pollsMax });
    if (result.status === 'not linearizable') {
      const shown = (op: { process: number; f: string; input: unknown; output: unknown; invokeTime: number; responseTime: number }): string =>
        `p${op.process} ${op.f}(${JSON.stringify(op.input)})${op.output === undefined ? '' : ` -> ${JSON.stringify(op.output)}`} [${op.invokeTime}, ${op.responseTime}]`;
      const prefix = result.longestPrefix.slice(-8).map(shown).join('; ');
      // The key's history around the operation, so the story does not depend on the
      // trace's ring buffer reaching back that far.
      const at = result.operation.invokeTime;
      const nearby = this.workload.history
        .filter((e) => e.key === result.key && e.time !== undefined && e.time >= at - 400 && e.time <= at + 100)
        .slice(-40)
        .map((e) => `    ${String(e.time).padStart(6)} p${e.process} ${e.type} ${e.f} ${JSON.stringify(e.value)}`);
      this.monitor.report(
        'linearizability',
        `key ${result.key}: no linearization places ${shown(result.operation)}; the longest linearizable prefix ends with: ${prefix} (value then ${JSON.stringify(result.valueAfterPrefix)}); history of ${result.key} around step ${at}:\n${nearby.join('\n')}`,
      );
    }
    return result.status;
  }
}
