import { assert, type Prng } from '../lib/index.js';
import type { Message, NodeId } from '../raft/index.js';
import { describeMessage, messageNumbers } from './describe.js';
import type { Trace } from './trace.js';

/** How the simulated network misbehaves right now. Delays are in simulation steps. */
export interface NetworkConditions {
  /** Chance that a message is lost (0 to 0.3 in the fault phase). */
  readonly dropRate: number;
  /** Chance that a message is delivered twice (each copy with its own delay). */
  readonly duplicateRate: number;
  readonly delayMinSteps: number;
  readonly delayMaxSteps: number;
  /** Chance that a message takes up to `longDelayMaxSteps`: it overtakes nothing but is
   * overtaken by later messages, which reorders the stream between two nodes. */
  readonly longDelayRate: number;
  readonly longDelayMaxSteps: number;
  /** Chance that a response (to an append, heartbeat, vote, read index or snapshot
   * chunk) also arrives as a late copy, up to `lateResponseMaxSteps` later: answers to
   * rounds long past, around reads and commits (0 when absent). */
  readonly lateResponseRate?: number;
  readonly lateResponseMaxSteps?: number;
}

export const calmNetwork: NetworkConditions = {
  dropRate: 0,
  duplicateRate: 0,
  delayMinSteps: 1,
  delayMaxSteps: 4,
  longDelayRate: 0,
  longDelayMaxSteps: 4,
};

export interface NetworkStats {
  sentCount: number;
  deliveredCount: number;
  droppedCount: number;
  duplicatedCount: number;
}

/** Trace event codes of the network (the fingerprint folds them in). */
const SEND = 100;
const DELIVER = 101;
const DROP = 102;
const DUPLICATE = 103;
/** Responses kept per node for replay. */
const RECENT_RESPONSES_MAX = 16;

/**
 * A simulated network between nodes with ids 1..idMax. Messages sent at step s arrive
 * at a later step chosen by the conditions; links can be cut one way (asymmetric
 * partitions) or both ways. A message is lost when its link is cut at send time or at
 * delivery time. Everything random comes from the one stream handed in, so the
 * network is deterministic.
 */
export class SimNetwork {
  conditions: NetworkConditions = calmNetwork;
  readonly stats: NetworkStats = { sentCount: 0, deliveredCount: 0, droppedCount: 0, duplicatedCount: 0 };
  /** cut[from * stride + to]: messages from `from` to `to` are lost. */
  private readonly cut: boolean[];
  private readonly stride: number;
  /** The newest responses delivered to each node (kept only under late-responses
   * conditions), for replay. */
  private readonly recentResponses = new Map<NodeId, Message[]>();
  /** Messages in flight, by the step they arrive at. */
  private readonly inFlight = new Map<number, Message[]>();
  private inFlightCount = 0;

  constructor(
    private readonly options: {
      readonly idMax: NodeId;
      readonly random: Prng;
      readonly trace: Trace;
      /** A bound on messages in flight: beyond it the simulation is broken, not the core. */
      readonly inFlightMessagesMax: number;
    },
  ) {
    this.stride = options.idMax + 1;
    this.cut = new Array<boolean>(this.stride * this.stride).fill(false);
  }

  /** Sends a message at step `now`. */
  send(message: Message, now: number): void {
    const { random, trace } = this.options;
    this.stats.sentCount += 1;
    trace.event(now, SEND, messageNumbers(message), () => `send    ${describeMessage(message)}`);
    if (this.isCut(message.from, message.to)) {
      this.drop(message, now, 'link cut');
      return;
    }
    if (random.chance(this.conditions.dropRate)) {
      this.drop(message, now, 'lost');
      return;
    }
    this.enqueue(message, now, now + this.delaySteps());
    const { lateResponseRate = 0, lateResponseMaxSteps = 0 } = this.conditions;
    if (lateResponseRate > 0 && message.type.endsWith('Response') && random.chance(lateResponseRate)) {
      this.stats.duplicatedCount += 1;
      const at = now + random.between(this.conditions.delayMaxSteps + 1, Math.max(this.conditions.delayMaxSteps + 1, lateResponseMaxSteps));
      trace.event(now, DUPLICATE, messageNumbers(message), () => `late    ${describeMessage(message)} (a copy arrives at ${at})`);
      this.enqueue(message, now, at);
    }
    if (random.chance(this.conditions.duplicateRate)) {
      this.stats.duplicatedCount += 1;
      const at = now + this.delaySteps();
      trace.event(now, DUPLICATE, messageNumbers(message), () => `dup     ${describeMessage(message)} (copy arrives at ${at})`);
      this.enqueue(message, now, at);
    }
  }

  /** Takes the messages that arrive at step `now`, in the order they were sent,
   * dropping those whose link is cut by now. */
  arrivals(now: number): Message[] {
    const due = this.inFlight.get(now);
    if (due === undefined) return [];
    this.inFlight.delete(now);
    this.inFlightCount -= due.length;
    const delivered: Message[] = [];
    for (const message of due) {
      if (this.isCut(message.from, message.to)) {
        this.drop(message, now, 'link cut in flight');
        continue;
      }
      this.stats.deliveredCount += 1;
      this.options.trace.event(now, DELIVER, messageNumbers(message), () => `deliver ${describeMessage(message)}`);
      delivered.push(message);
      if ((this.conditions.lateResponseRate ?? 0) > 0 && message.type.endsWith('Response')) this.remember(message);
    }
    return delivered;
  }

  /**
   * Delivers again, at the next step, the responses `to` received last (up to
   * RECENT_RESPONSES_MAX): answers to rounds long past, arriving together just as a
   * partition heals, before anything newer can reach `to`.
   */
  replayResponsesTo(to: NodeId, now: number): number {
    const recent = this.recentResponses.get(to) ?? [];
    for (const message of recent) {
      this.stats.duplicatedCount += 1;
      this.options.trace.event(now, DUPLICATE, messageNumbers(message), () => `replay  ${describeMessage(message)}`);
      this.enqueue(message, now, now + 1);
    }
    return recent.length;
  }

  private remember(message: Message): void {
    let recent = this.recentResponses.get(message.to);
    if (recent === undefined) {
      recent = [];
      this.recentResponses.set(message.to, recent);
    }
    recent.push(message);
    if (recent.length > RECENT_RESPONSES_MAX) recent.shift();
  }

  /** Records that an arrived message was lost at its destination (crashed node, full inbox). */
  lostAtDestination(message: Message, now: number, why: string): void {
    this.drop(message, now, why);
  }

  isCut(from: NodeId, to: NodeId): boolean {
    return this.cut[from * this.stride + to] === true;
  }

  /** Cuts (or restores) the one-way link from -> to. */
  setCut(from: NodeId, to: NodeId, cut: boolean): void {
    assert(from >= 1 && from <= this.options.idMax && to >= 1 && to <= this.options.idMax, () => `no link ${from}->${to}`);
    this.cut[from * this.stride + to] = cut;
  }

  /** Restores every link. */
  heal(): void {
    this.cut.fill(false);
  }

  /** A symmetric partition: nodes in different groups cannot talk; nodes in no group are
   * cut off from everyone. */
  partition(groups: readonly (readonly NodeId[])[]): void {
    const groupOf = new Map<NodeId, number>();
    groups.forEach((group, g) => group.forEach((id) => groupOf.set(id, g)));
    for (let from = 1; from <= this.options.idMax; from++) {
      for (let to = 1; to <= this.options.idMax; to++) {
        if (from === to) continue;
        const a = groupOf.get(from);
        const b = groupOf.get(to);
        this.setCut(from, to, a === undefined || b === undefined || a !== b);
      }
    }
  }

  /** The cut links as "1->2 3->1", for traces. */
  describeCuts(): string {
    const cuts: string[] = [];
    for (let from = 1; from <= this.options.idMax; from++) {
      for (let to = 1; to <= this.options.idMax; to++) {
        if (this.isCut(from, to)) cuts.push(`${from}->${to}`);
      }
    }
    return cuts.length === 0 ? 'none' : cuts.join(' ');
  }

  inFlightMessagesCount(): number {
    return this.inFlightCount;
  }

  private delaySteps(): number {
    const { random } = this.options;
    const c = this.conditions;
    if (c.longDelayRate > 0 && random.chance(c.longDelayRate)) return random.between(c.delayMinSteps, Math.max(c.delayMinSteps, c.longDelayMaxSteps));
    return random.between(c.delayMinSteps, c.delayMaxSteps);
  }

  private enqueue(message: Message, now: number, at: number): void {
    assert(at > now, () => `a message sent at ${now} must arrive later, not at ${at}`);
    assert(this.inFlightCount < this.options.inFlightMessagesMax, () => `more than ${this.options.inFlightMessagesMax} messages in flight`);
    const due = this.inFlight.get(at);
    if (due === undefined) this.inFlight.set(at, [message]);
    else due.push(message);
    this.inFlightCount += 1;
  }

  private drop(message: Message, now: number, why: string): void {
    this.stats.droppedCount += 1;
    this.options.trace.event(now, DROP, messageNumbers(message), () => `drop    ${describeMessage(message)} (${why})`);
  }
}
