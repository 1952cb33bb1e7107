import type { Prng } from '../lib/index.js';
import type { ConfigChange, NodeId, Term } from '../raft/index.js';
import type { Host } from './run.js';
import { calmNetwork, type NetworkConditions, type SimNetwork } from './network.js';
import type { FaultKind, Profile } from './options.js';
import type { Trace } from './trace.js';

/** What the nemesis acts on; crash and restart go through the run, which settles the
 * client operations a crash cuts off. */
export interface NemesisContext {
  readonly hosts: readonly Host[];
  readonly network: SimNetwork;
  readonly trace: Trace;
  readonly random: Prng;
  readonly profile: Profile;
  crash(host: Host, now: number, torn: boolean): void;
  restart(host: Host, now: number): void;
  /** Shows the safety monitor a core the nemesis gave a request to. */
  observe(host: Host): void;
}

type EventKind = 'network' | 'partition' | 'asymmetric' | 'partial' | 'heal' | 'crash' | 'pause' | 'skew' | 'membership' | 'transfer' | 'churn';

const NEMESIS = 500;
/** The client process of the churn schedule's proposals (workload clients count from 1,
 * the liveness phase's probes use 0). */
const CHURN_PROCESS = -1;
/** Membership changes proposed one right after another, at most. */
const MEMBERSHIP_CHAIN_MAX = 4;

/**
 * The fault schedule of a run's first phase: every few dozen to few hundred steps it
 * picks one fault among the kinds the profile enables and applies it, and schedules
 * its undoing (restart, resume, heal) some random time later.
 */
export class Nemesis {
  private nextEventStep: number;
  /** A crash waiting for a node to be mid-write, until this step (-1: none). */
  private armedCrashUntilStep = -1;
  private readonly scheduled = new Map<number, (() => void)[]>();
  private readonly eventKinds: EventKind[];
  readonly counts = new Map<string, number>();
  /** The leader last seen, to act right after an election. */
  private lastLeader: { id: NodeId; term: Term } | undefined;
  private churnSeq = 0;

  constructor(private readonly context: NemesisContext) {
    const { faults, faultGapMinSteps } = context.profile;
    const has = (kind: FaultKind): boolean => faults.has(kind);
    this.eventKinds = [];
    if (has('drop') || has('duplicate') || has('delay') || has('late-responses')) this.eventKinds.push('network');
    if (has('partition')) this.eventKinds.push('partition');
    if (has('asymmetric')) this.eventKinds.push('asymmetric');
    if (has('partial')) this.eventKinds.push('partial');
    if (has('partition') || has('asymmetric') || has('partial')) this.eventKinds.push('heal');
    if (has('crash')) this.eventKinds.push('crash', 'crash');
    if (has('pause')) this.eventKinds.push('pause');
    if (has('skew')) this.eventKinds.push('skew');
    if (has('membership')) this.eventKinds.push('membership', 'membership');
    if (has('transfer')) this.eventKinds.push('transfer');
    if (has('churn')) this.eventKinds.push('churn', 'churn');
    this.nextEventStep = faultGapMinSteps + context.random.int(100);
    if (this.eventKinds.includes('network')) context.network.conditions = this.drawConditions();
  }

  /** Called once per step of the fault phase. */
  step(now: number): void {
    const due = this.scheduled.get(now);
    if (due !== undefined) {
      this.scheduled.delete(now);
      for (const action of due) action();
    }
    this.maybeFireArmedCrash(now);
    // Looking for a new leader every few steps is soon enough, and cheaper.
    if (now % 4 === 0 && this.context.profile.faults.has('membership')) this.afterElection(now);
    if (now < this.nextEventStep || this.eventKinds.length === 0) return;
    const { random, profile } = this.context;
    // Mostly a storm of faults, with a calm spell now and then in which the cluster
    // makes progress (what was scheduled, restarts and heals, still happens).
    const calm = random.chance(0.2);
    this.nextEventStep = now + (calm ? random.between(400, 1000) : random.between(profile.faultGapMinSteps, profile.faultGapMaxSteps));
    const kind = random.pick(this.eventKinds);
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
    this.act(kind, now);
  }

  /** Ends the fault phase: forgets what was scheduled (the liveness phase heals all). */
  stop(): void {
    this.scheduled.clear();
  }

  private act(kind: EventKind, now: number): void {
    switch (kind) {
      case 'network':
        this.context.network.conditions = this.drawConditions();
        this.log(now, 1, () => `network ${describeConditions(this.context.network.conditions)}`);
        return;
      case 'partition':
        this.partition(now);
        return;
      case 'asymmetric':
        this.asymmetric(now);
        return;
      case 'partial':
        this.partial(now);
        return;
      case 'heal':
        this.context.network.heal();
        this.log(now, 5, () => 'heal all links');
        return;
      case 'crash':
        this.crash(now);
        return;
      case 'pause':
        this.pause(now);
        return;
      case 'skew':
        this.skew(now);
        return;
      case 'membership':
        this.membership(now, 0);
        return;
      case 'transfer':
        this.transfer(now);
        return;
      case 'churn':
        this.churn(now);
        return;
    }
  }

  /**
   * Membership changes right after an election: a new leader may change membership
   * only once it has committed an entry of its term (thesis §4.1, with the fix to
   * single-server changes), so half the new leaders get a change proposed within a few
   * steps, inside that window.
   */
  private afterElection(now: number): void {
    const leader = this.leader();
    if (leader === undefined || leader.core === undefined) return;
    const term = leader.core.status().term;
    if (this.lastLeader !== undefined && this.lastLeader.id === leader.id && this.lastLeader.term === term) return;
    this.lastLeader = { id: leader.id, term };
    const { random } = this.context;
    if (!random.chance(0.5)) return;
    const at = now + random.between(1, 20);
    this.schedule(at, () => this.membership(at, 0));
  }

  /**
   * Churn: a burst of proposals at the leader, then, a few steps later (some appends
   * on their way, some not), the leader is cut off or crashed. Each follower is left
   * with a different prefix of the deposed leader's uncommitted tail, which the next
   * leader must overwrite (Figure 7's logs); the profile often makes appends carry one
   * entry each, so the prefixes differ most.
   */
  private churn(now: number): void {
    const { random, network } = this.context;
    const leader = this.leader();
    const core = leader?.core;
    if (leader === undefined || core === undefined) return;
    const count = random.between(2, 8);
    for (let i = 0; i < count; i++) {
      this.churnSeq += 1;
      leader.proposeMark(`churn.${this.churnSeq}`, CHURN_PROCESS, this.churnSeq);
    }
    this.context.observe(leader);
    const at = now + random.between(1, 8);
    this.log(now, 11, () => `churn: ${count} proposals at leader n${leader.id}, cut off at ${at}`);
    this.schedule(at, () => {
      if (!leader.alive) return;
      if (this.context.profile.faults.has('crash') && random.chance(0.3)) {
        this.crashHost(leader, at);
        return;
      }
      const others = this.allIds().filter((id) => id !== leader.id);
      network.partition([[leader.id], others]);
      this.log(at, 2, () => `partition [${leader.id}] | [${others.join(',')}]`);
      this.scheduleHeal(at);
    });
  }

  private drawConditions(): NetworkConditions {
    const { random, profile } = this.context;
    const { faults } = profile;
    const delayMax = faults.has('delay') ? random.between(2, 30) : calmNetwork.delayMaxSteps;
    return {
      dropRate: faults.has('drop') ? random.next() * 0.3 : 0,
      duplicateRate: faults.has('duplicate') ? random.next() * 0.1 : 0,
      delayMinSteps: 1,
      delayMaxSteps: delayMax,
      longDelayRate: faults.has('delay') ? random.next() * 0.1 : 0,
      longDelayMaxSteps: faults.has('delay') ? random.between(delayMax, 300) : delayMax,
      lateResponseRate: faults.has('late-responses') ? random.next() * 0.15 : 0,
      lateResponseMaxSteps: faults.has('late-responses') ? random.between(50, 400) : 0,
    };
  }

  private partition(now: number): void {
    const { random, network } = this.context;
    const ids = this.allIds();
    const variant = random.int(3);
    let groups: NodeId[][];
    if (variant === 0) {
      const a: NodeId[] = [];
      const b: NodeId[] = [];
      for (const id of ids) (random.chance(0.5) ? a : b).push(id);
      groups = [a, b];
    } else {
      const isolated = variant === 1 ? (this.leader()?.id ?? random.pick(ids)) : random.pick(ids);
      groups = [[isolated], ids.filter((id) => id !== isolated)];
    }
    network.partition(groups);
    this.log(now, 2, () => `partition ${groups.map((g) => `[${g.join(',')}]`).join(' | ')}`);
    this.scheduleHeal(now);
  }

  private asymmetric(now: number): void {
    const { random, network } = this.context;
    const ids = this.allIds();
    const variant = random.int(3);
    network.heal();
    if (variant === 0) {
      for (const from of ids) for (const to of ids) if (from !== to && random.chance(0.25)) network.setCut(from, to, true);
    } else {
      const target = this.leader()?.id ?? random.pick(ids);
      // The target can send but not hear (variant 1), or hear but not send (variant 2).
      for (const other of ids) {
        if (other === target) continue;
        if (variant === 1) network.setCut(other, target, true);
        else network.setCut(target, other, true);
      }
    }
    this.log(now, 3, () => `one-way cuts ${network.describeCuts()}`);
    this.scheduleHeal(now);
  }

  /** Partial connectivity: every node is up, but some pairs cannot talk, e.g. with 5
   * nodes node 4 reaches only node 2 and node 5 only node 3. */
  private partial(now: number): void {
    const { random, network } = this.context;
    const ids = this.allIds();
    network.heal();
    const variant = random.int(3);
    const cutBoth = (a: NodeId, b: NodeId): void => {
      network.setCut(a, b, true);
      network.setCut(b, a, true);
    };
    if (variant === 0) {
      for (let i = 0; i < ids.length; i++) {
        for (let j = i + 1; j < ids.length; j++) if (random.chance(0.35)) cutBoth(ids[i] as NodeId, ids[j] as NodeId);
      }
    } else if (variant === 1) {
      // A bridge: two groups that cannot talk, and one node (the first after the
      // shuffle) that talks to both.
      const rest = shuffle(random, ids).slice(1);
      const half = Math.floor(rest.length / 2);
      for (const a of rest.slice(0, half)) for (const b of rest.slice(half)) cutBoth(a, b);
    } else {
      // Spokes: two nodes that each reach only one (different) node of the rest.
      const shuffled = shuffle(random, ids);
      const [spokeA, spokeB, hubA, hubB] = shuffled as [NodeId, NodeId, NodeId, NodeId];
      for (const other of ids) {
        if (other !== spokeA && other !== hubA) cutBoth(spokeA, other);
        if (other !== spokeB && other !== hubB) cutBoth(spokeB, other);
      }
    }
    this.log(now, 4, () => `partial connectivity, cut ${network.describeCuts()}`);
    this.scheduleHeal(now);
  }

  private scheduleHeal(now: number): void {
    const { random, network } = this.context;
    const at = now + random.between(50, 800);
    this.schedule(at, () => {
      network.heal();
      this.log(at, 5, () => 'heal all links');
      if (this.context.profile.faults.has('late-responses')) this.replayToLeadersAndCandidates(at);
    });
  }

  /** As a partition heals, every leader (a deposed one that does not know it yet too)
   * and candidate gets old answers again, before any message of a newer term can reach
   * it: answers to heartbeat rounds long past must confirm no read queued since (thesis
   * §6.4), votes of an earlier campaign must not count in this one (§5.2). */
  private replayToLeadersAndCandidates(now: number): void {
    for (const host of this.context.hosts) {
      const role = host.core?.status().role;
      if (role === undefined || role === 'follower') continue;
      const count = this.context.network.replayResponsesTo(host.id, now);
      this.log(now, 12, () => `replay ${count} old responses to ${role} n${host.id}`);
    }
  }

  private crash(now: number): void {
    const { random, hosts } = this.context;
    const running = hosts.filter((host) => host.alive);
    const downMax = Math.ceil(hosts.length / 2);
    if (hosts.length - running.length >= downMax || running.length === 0) return;
    // Crashes that hit a write in flight are the interesting ones (what was not yet
    // fsynced is lost, or torn): half of them wait for a node to be mid-write.
    if (random.chance(0.5)) {
      this.armedCrashUntilStep = now + 100;
      return;
    }
    this.crashHost(random.chance(0.4) ? (this.leader() ?? random.pick(running)) : random.pick(running), now);
  }

  /** Fires an armed crash at a node that is writing, if one is (or gives up). */
  private maybeFireArmedCrash(now: number): void {
    if (this.armedCrashUntilStep < now) return;
    // Best of all a write with log entries (they can be torn); near the deadline any.
    const lastChance = this.armedCrashUntilStep - now < 20;
    const writing = this.context.hosts.filter((host) => host.alive && (lastChance ? host.writing : host.writingEntries));
    if (writing.length === 0) return;
    this.armedCrashUntilStep = -1;
    this.crashHost(this.context.random.pick(writing), now);
  }

  private crashHost(host: Host, now: number): void {
    const { random, profile } = this.context;
    const torn = profile.faults.has('torn') && random.chance(0.7);
    this.context.crash(host, now, torn);
    const at = now + random.between(10, 700);
    const incarnation = host.incarnation;
    this.schedule(at, () => {
      if (!host.alive && !host.removedFromCluster && host.incarnation === incarnation) this.context.restart(host, at);
    });
  }

  private pause(now: number): void {
    const { random, hosts } = this.context;
    const running = hosts.filter((host) => host.alive && !host.paused);
    if (running.length === 0) return;
    const host = random.chance(0.3) ? (this.leader() ?? random.pick(running)) : random.pick(running);
    host.pause();
    this.log(now, 6, () => `pause n${host.id}`);
    const at = now + random.between(10, 500);
    this.schedule(at, () => {
      if (!host.paused) return;
      this.log(at, 7, () => `resume n${host.id}`);
      host.resume(at);
    });
  }

  private skew(now: number): void {
    const { random, hosts } = this.context;
    const host = random.pick(hosts);
    host.tickPeriodSteps = random.between(5, 20);
    this.log(now, 8, () => `skew n${host.id} ticks every ${host.tickPeriodSteps} steps`);
  }

  /** Proposes a membership change through the leader; `chain` counts the changes
   * proposed just before it, one right after another. */
  private membership(now: number, chain: number): void {
    const { random } = this.context;
    const leader = this.leader();
    if (leader === undefined) return;
    const core = leader.core;
    if (core === undefined) return;
    const { config } = core.status();
    const { memberApi } = this.context.profile;
    const members = new Set([...config.voters, ...config.learners]);
    // Through the member API a removed id never comes back (etcd's rule).
    const removed = new Set(memberApi ? leader.memberList().removed : []);
    const outsiders = this.allIds().filter((id) => !members.has(id) && !removed.has(id));
    const voterMin = Math.min(3, this.context.hosts.length - 2);
    let change: ConfigChange;
    if (config.learners.length > 0) {
      change = { type: 'promoteLearner', nodeId: random.pick(config.learners) };
    } else if (outsiders.length > 0 && (config.voters.length <= voterMin || random.chance(0.6))) {
      change = { type: random.chance(0.6) ? 'addLearner' : 'addVoter', nodeId: random.pick(outsiders) };
    } else if (config.voters.length > voterMin) {
      change = { type: 'removeNode', nodeId: random.pick(config.voters) };
    } else {
      return;
    }
    if (memberApi) {
      // The member API runs one change at a time, and answers later.
      this.log(now, 9, () => `member ${change.type} n${change.nodeId} asked of leader n${leader.id}`);
      leader.changeMembers(change, (detail, at) => this.log(at, 9, () => `member ${change.type} n${change.nodeId} via n${leader.id}: ${detail}`));
      this.context.observe(leader);
      return;
    }
    const outcome = leader.proposeMembershipChange(change);
    this.context.observe(leader);
    this.log(now, 9, () => `membership ${change.type} n${change.nodeId} via leader n${leader.id}: ${outcome.detail}`);
    // Back to back: another change at once, while this one (or the new leader's first
    // entry) is not yet committed, which the leader must refuse (thesis §4.1).
    if (chain + 1 < MEMBERSHIP_CHAIN_MAX && random.chance(0.5)) {
      const at = now + random.between(1, 30);
      this.schedule(at, () => this.membership(at, chain + 1));
    }
  }

  private transfer(now: number): void {
    const { random } = this.context;
    const leader = this.leader();
    const core = leader?.core;
    if (leader === undefined || core === undefined) return;
    const others = core.status().config.voters.filter((id) => id !== leader.id);
    if (others.length === 0) return;
    const to = random.pick(others);
    const outcome = leader.transferLeadership(to);
    this.context.observe(leader);
    this.log(now, 10, () => `transfer leadership n${leader.id} -> n${to}: ${outcome.detail}`);
  }

  /** The running leader with the highest term, if any. */
  private leader(): Host | undefined {
    let best: Host | undefined;
    let bestTerm = -1;
    for (const host of this.context.hosts) {
      if (host.core === undefined || host.paused) continue;
      const { role, term } = host.core.status();
      if (role === 'leader' && term > bestTerm) {
        best = host;
        bestTerm = term;
      }
    }
    return best;
  }

  private allIds(): NodeId[] {
    return this.context.hosts.map((host) => host.id);
  }

  private schedule(at: number, action: () => void): void {
    const due = this.scheduled.get(at);
    if (due === undefined) this.scheduled.set(at, [action]);
    else due.push(action);
  }

  private log(now: number, code: number, line: () => string): void {
    this.context.trace.event(now, NEMESIS, [code], () => `nemesis ${line()}`);
  }
}

function shuffle<T>(random: Prng, items: readonly T[]): T[] {
  const result = [...items];
  for (let i = result.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    [result[i], result[j]] = [result[j] as T, result[i] as T];
  }
  return result;
}

export function describeConditions(c: NetworkConditions): string {
  const late = (c.lateResponseRate ?? 0) > 0 ? ` late=${((c.lateResponseRate ?? 0) * 100).toFixed(1)}%..${c.lateResponseMaxSteps ?? 0}` : '';
  return `drop=${(c.dropRate * 100).toFixed(1)}% dup=${(c.duplicateRate * 100).toFixed(1)}% delay=${c.delayMinSteps}..${c.delayMaxSteps} long=${(c.longDelayRate * 100).toFixed(1)}%..${c.longDelayMaxSteps}${late}`;
}
