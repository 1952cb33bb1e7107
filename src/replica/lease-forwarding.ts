/**
 * A client's lease keep-alive that reaches a follower, renewed in the leader's memory
 * rather than through a log entry that every member writes and fsyncs: etcd's
 * followers forward LeaseKeepAlive to the leader the same way (over HTTP to its peer
 * URL). The follower sends `leaseRenew` and waits for `leaseRenewResponse`; the leader
 * renews as it does a keep-alive a client sent it (node-leases.ts): after a ReadIndex
 * round begun since the request arrived (thesis §6.4), dating the new deadline from
 * that arrival. So a leader that was deposed meanwhile renews nothing, and one whose
 * expiry of the lease is under way answers 0.
 *
 * Both messages carry term 0: they promise nothing about the sender's Raft state (a
 * term in memory may not be durable yet, and a message must never carry one that is
 * not), and they need none; the ReadIndex round is what proves the leader still leads.
 *
 * Anything but a renewal (no leader known, the leader answered 0, no answer within an
 * election timeout, the leader changed, too many waiting) sends the keep-alive through
 * the log as before: never a wrong answer, at worst a slower one. A late answer is
 * dropped; the keep-alive then renewed twice, which is harmless.
 */
import type { LeaseRenewRequest, LeaseRenewResponse, Message, NodeId } from '../raft/index.js';

/** Keep-alives a follower has waiting at the leader at once; more go through the log. */
export const leaseRenewalsWaitingMax = 10_000;

export interface LeaseForwardingHost {
  readonly id: NodeId;
  /** The leader this node knows of, or 0. */
  leader(): NodeId;
  send(message: Message): void;
  /** NodeLeases.renewOnLeader: the TTL renewed to, or undefined. */
  renewOnLeader(lease: number, arrivedMs: number): Promise<number | undefined>;
  /** The lessor's clock (monotonic). */
  nowMs(): number;
  /** How long a follower waits for the leader's answer. */
  readonly waitMs: number;
}

interface Waiting {
  readonly resolve: (ttl: number | undefined) => void;
  readonly deadlineMs: number;
  /** Only its answer counts. */
  readonly leader: NodeId;
}

export class LeaseForwarding {
  private readonly waiting = new Map<string, Waiting>();
  private nextRenewId = 1;

  constructor(private readonly host: LeaseForwardingHost) {}

  /** As a follower: the TTL the leader renewed `lease` to, or undefined: send the keep-alive through the log. */
  renewAtLeader(lease: number): Promise<number | undefined> {
    const { host } = this;
    const leader = host.leader();
    if (leader === 0 || leader === host.id || this.waiting.size >= leaseRenewalsWaitingMax) return Promise.resolve(undefined);
    const renewId = String(this.nextRenewId++);
    return new Promise((resolve) => {
      this.waiting.set(renewId, { resolve, deadlineMs: host.nowMs() + host.waitMs, leader });
      host.send({ type: 'leaseRenew', from: host.id, to: leader, term: 0, renewId, lease });
    });
  }

  /** A lease message from a peer (the replica takes them out before the core). */
  receive(message: LeaseRenewRequest | LeaseRenewResponse): void {
    if (message.type === 'leaseRenew') {
      void this.renewFor(message);
      return;
    }
    const waiting = this.waiting.get(message.renewId);
    if (waiting?.leader !== message.from) return;
    this.waiting.delete(message.renewId);
    waiting.resolve(message.ttl > 0 ? message.ttl : undefined);
  }

  /** At each tick: requests unanswered past their wait go through the log. */
  expire(nowMs: number): void {
    for (const [renewId, waiting] of this.waiting) {
      if (waiting.deadlineMs > nowMs) continue;
      this.waiting.delete(renewId);
      waiting.resolve(undefined);
    }
  }

  /** The leader changed or the node stops: every request waiting goes through the log. */
  abandon(): void {
    const all = [...this.waiting.values()];
    this.waiting.clear();
    for (const waiting of all) waiting.resolve(undefined);
  }

  /** As leader: renews for a follower's client, as for its own (NodeLeases.renewOnLeader), and answers. */
  private async renewFor(request: LeaseRenewRequest): Promise<void> {
    const { host } = this;
    const arrivedMs = host.nowMs();
    let ttl: number | undefined;
    try {
      ttl = await host.renewOnLeader(request.lease, arrivedMs);
    } catch {
      ttl = undefined; // the round failed (leadership lost, timed out): the follower goes through the log
    }
    host.send({ type: 'leaseRenewResponse', from: host.id, to: request.from, term: 0, renewId: request.renewId, ttl: ttl ?? 0 });
  }
}
