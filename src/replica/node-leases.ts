/**
 * Lease requests as a node takes them (etcd's Lease service), over the log and the
 * lessor:
 *
 *   - grant: the TTL is raised to the cluster's minimum and the id chosen here when the
 *     client gave none, BEFORE proposing, so every replica applies the same grant;
 *   - with a client session (thesis §6.3), a retried grant, revoke or keep-alive gets
 *     the first attempt's answer: no second lease, no LEASE_NOT_FOUND for a revoke that
 *     did apply;
 *   - keep-alive on the leader, without a client session (every etcd gRPC client):
 *     renewed in the leader's memory, no log entry, as etcd's primary lessor renews
 *     (its Renew; etcd checkpoints remaining TTLs through Raft only so that a new leader
 *     need not restart them, which Keel's new leader does: Lessor.promote). The new
 *     deadline is dated from the keep-alive's arrival, once the leader knows it led
 *     then: a heartbeat round a majority answered was sent less than the leader lease
 *     (half an election timeout) before the arrival, or else a ReadIndex round (thesis
 *     §6.4) begun after it. Safe because:
 *       1. no other leader is elected before that round was sent: a voter that
 *          answered it had not yet voted in a later term. A later leader restarts every
 *          TTL when it takes over, with an extra election timeout (leaseExtensionMs),
 *          so its deadline is later than ours by the lease's margin at least. This is
 *          the leader lease of thesis §6.4.1, and it asks nothing of clocks that leases
 *          do not already ask: that they run at about the same rate;
 *       2. the leader first applies every entry committed before the arrival (its
 *          commit index covers them once an entry of its own term committed), so a
 *          revoke an earlier leader committed has applied (the lease is gone: the log
 *          path answers LEASE_NOT_FOUND) and one it proposed but did not commit never
 *          will be;
 *       3. an expiry this leader proposed and has not yet applied sends the keep-alive
 *          through the log instead (Lessor.renewInMemory), which orders the two.
 *     A leader answers a heartbeat round every tick, so a renewal usually waits for no
 *     round at all; when one is needed, many keep-alives share it. Either way a
 *     keep-alive costs no fsync, instead of an entry each written by every member;
 *   - keep-alive on a follower, without a client session: forwarded to the leader,
 *     which renews it in its memory the same way and answers (lease-forwarding.ts);
 *   - keep-alive otherwise (with a session, whose sequence numbers the log must see:
 *     kv/sessions.ts; or when the forwarding fails): a log entry, which reaches the
 *     leader from any node, orders the keep-alive against the leader's expiry revokes
 *     (an expiry decided before a keep-alive that the log put first does nothing:
 *     lease-executor.ts), and lets the node that took it answer once the renewal has
 *     applied. Followers' lessors do not see in-memory renewals, so their TimeToLive
 *     can be lower than the leader's (never higher);
 *   - time-to-live and list: reads, linearizable through ReadIndex by default; the
 *     seconds left come from this node's lessor (the leader's decides expiry, a
 *     follower's trails it by the replication delay).
 */
import { type MvccStore, type ClientSession, type CommandAuth, type CommandBody, type CommandResult, type Lease, kvError } from '../kv/index.js';
import type { Lessor } from './lessor.js';

export type ReadConsistency = 'linearizable' | 'serializable';

export interface LeaseHost {
  write(body: CommandBody, session?: ClientSession, auth?: CommandAuth): Promise<CommandResult>;
  /** Resolves once this node's state machine is as fresh as the consistency asks and its tables are open (not being defragmented). */
  readBarrier(consistency: ReadConsistency): Promise<void>;
  /** As leader: resolves once this node is known to have led at `arrivedMs` and has applied what was committed by then (Replica.leadershipSince). */
  leadershipSince(arrivedMs: number): Promise<void>;
  readonly store: Pick<MvccStore, 'leaseInfo' | 'leases' | 'leaseCount' | 'currentRevision'>;
  readonly lessor: Lessor;
  /** Whether this node is the leader, as far as it knows (the ReadIndex confirms it). */
  isLeader(): boolean;
  /** As a follower: the TTL the leader renewed the lease to in its memory, or undefined (lease-forwarding.ts). */
  renewAtLeader(lease: number): Promise<number | undefined>;
  nowMs(): number;
  /** Uniform in [0, bound): the id of a lease granted without one. */
  randomInt(bound: number): number;
}

export interface LeaseLimits {
  /** A shorter TTL is raised to this (etcd's minLeaseTTL). */
  readonly ttlMinSeconds: number;
  /** Grants beyond this many leases fail with TOO_MANY_LEASES. */
  readonly leasesMax: number;
}

export interface TimeToLive {
  readonly id: number;
  /** Seconds left, rounded up. */
  readonly ttl: number;
  readonly grantedTtl: number;
  readonly keys: readonly Uint8Array[];
  /** The store's revision when read (etcd's response header). */
  readonly revision: number;
}

/** Ids a proposer picks: random in [1, 2^48), below 2^53 as every id here is, and short in hex. */
const AUTO_ID_BOUND = 2 ** 48;
/** An automatically chosen id that happens to be taken is drawn again, this many times at most. */
const AUTO_ID_ATTEMPTS_MAX = 3;

export class NodeLeases {
  private grantsInFlight = 0;

  constructor(
    private readonly host: LeaseHost,
    readonly limits: LeaseLimits,
  ) {}

  /** Grants a lease of `ttl` seconds (raised to the minimum) with `id`, or an id chosen here when 0. */
  async grant(ttl: number, id = 0, session?: ClientSession): Promise<CommandResult> {
    await this.host.readBarrier('serializable');
    const applied = this.host.store.leaseCount();
    if (applied + this.grantsInFlight >= this.limits.leasesMax) {
      return {
        ok: false,
        error: kvError(
          'TOO_MANY_LEASES',
          `lease grant: ${applied} leases exist and ${this.grantsInFlight} are being granted; the limit is ${this.limits.leasesMax} (leasesMax)`,
        ),
      };
    }
    // etcd raises any TTL below the minimum, zero and negative ones included.
    const grantedTtl = Number.isSafeInteger(ttl) ? Math.max(ttl, this.limits.ttlMinSeconds) : ttl;
    this.grantsInFlight++;
    try {
      for (let attempt = 1; ; attempt++) {
        const result = await this.host.write({ type: 'leaseGrant', id: id || 1 + this.host.randomInt(AUTO_ID_BOUND - 1), ttl: grantedTtl }, session);
        // A session's seq answers once: only a grant without one may draw again.
        const retry = id === 0 && !session && !result.ok && result.error.code === 'LEASE_EXISTS' && attempt < AUTO_ID_ATTEMPTS_MAX;
        if (!retry) return result;
      }
    } finally {
      this.grantsInFlight--;
    }
  }

  /** `auth`: the user revoking, checked again when the revoke applies (kv/auth-check.ts). */
  revoke(id: number, session?: ClientSession, auth?: CommandAuth): Promise<CommandResult> {
    return this.host.write({ type: 'leaseRevoke', id }, session, auth);
  }

  async keepAlive(id: number, session?: ClientSession): Promise<CommandResult> {
    const arrivedMs = this.host.nowMs();
    if (session === undefined) {
      const ttl = this.host.isLeader() ? await this.renewOnLeader(id, arrivedMs) : await this.host.renewAtLeader(id);
      if (ttl !== undefined) return { ok: true, revision: this.host.store.currentRevision(), response: { type: 'leaseKeepAlive', id, ttl } };
    }
    return this.host.write({ type: 'leaseKeepAlive', id }, session);
  }

  /**
   * As leader: renews lease `id` in memory for a keep-alive that arrived at
   * `arrivedMs`, here or at a follower that forwarded it (lease-forwarding.ts), once
   * this node knows it led then, by its leader lease or a ReadIndex round (the header
   * says why that is safe). The TTL, or undefined: not renewed here (not leader,
   * deposed meanwhile, unknown lease, or its expiry under way); throws what the round
   * throws.
   */
  async renewOnLeader(id: number, arrivedMs: number): Promise<number | undefined> {
    if (!this.host.isLeader()) return undefined;
    await this.host.leadershipSince(arrivedMs);
    return this.host.isLeader() ? this.host.lessor.renewInMemory(id, arrivedMs) : undefined;
  }

  /** The lease with its keys and seconds left, or undefined if it does not exist (expired or revoked). */
  async timeToLive(id: number, consistency: ReadConsistency = 'linearizable'): Promise<TimeToLive | undefined> {
    await this.host.readBarrier(consistency);
    const info = this.host.store.leaseInfo(id);
    if (!info) return undefined;
    const ttl = this.host.lessor.remainingSeconds(id, this.host.nowMs()) ?? info.lease.ttl;
    return { id, ttl, grantedTtl: info.lease.ttl, keys: info.keys, revision: this.host.store.currentRevision() };
  }

  async list(consistency: ReadConsistency = 'linearizable'): Promise<{ leases: Lease[]; revision: number }> {
    await this.host.readBarrier(consistency);
    return { leases: this.host.store.leases(), revision: this.host.store.currentRevision() };
  }
}

/**
 * etcd's minimum lease TTL: 1.5 election timeouts, rounded up to whole seconds. A
 * shorter lease could expire during an ordinary election, before any leader could
 * receive its keep-alive (etcd: minTTL = ceil(3/2 * electionTimeout)).
 */
export function leaseTtlMinSeconds(electionTicks: number, tickMs: number): number {
  return Math.ceil((1.5 * electionTicks * tickMs) / 1000);
}

/**
 * What a new leader adds to every lease's TTL when it takes over (Lessor.promote): an
 * election timeout, as etcd extends its leases on promotion. It is the margin that lets
 * an earlier leader renew on its leader lease (the header, rule 1).
 */
export function leaseExtensionMs(electionTicks: number, tickMs: number): number {
  return electionTicks * tickMs;
}

/**
 * How long after sending a heartbeat round a majority answered a leader trusts that it
 * still leads, for lease renewals: half the extension a later leader gives every lease,
 * the other half a margin for clocks that do not run at quite the same rate.
 */
export function leaderLeaseMs(electionTicks: number, tickMs: number): number {
  return leaseExtensionMs(electionTicks, tickMs) / 2;
}
