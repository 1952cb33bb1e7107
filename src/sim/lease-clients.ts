/**
 * Lease clients of a simulated run. They grant leases with ids of their own, attach a
 * key to each (`lease/<id>`, which no client deletes), keep some alive and let the
 * others expire. The lease promise they check (replica/node-leases.ts, lessor.ts): a
 * lease lives at least its TTL from the arrival of its last renewal, grant included,
 * so no sooner than TTL after the client sent a renewal the cluster acknowledged. Its
 * expiry is the delete of its key (watch-monitor.ts reports it); whichever is seen
 * first, an acknowledgement or the expiry, the other is checked against it.
 */
import type { Prng } from '../lib/index.js';
import type { CommandBody, CommandResult } from '../kv/index.js';
import type { NodeLeases } from '../replica/index.js';
import type { ViolationKind } from './safety.js';
import type { Trace } from './trace.js';

/** A running node, as a lease client calls it; the promise never settles when the node goes down first. */
export interface LeaseNode {
  readonly id: number;
  /** It believes it leads: renewals go to such a node first, where the in-memory renewal runs. */
  readonly leads: boolean;
  /** The node's own lease requests (replica/node-leases.ts), as its API serves them. */
  readonly leases: Pick<NodeLeases, 'grant' | 'keepAlive'>;
  write(body: CommandBody): Promise<CommandResult>;
}

interface SimLease {
  readonly id: number;
  /**
   * Renewals its client still sends, one each quarter TTL; then it is let go, so that the
   * expiry is checked against the last renewal acknowledged (one a deposed leader
   * answered included). 0: left to expire after the grant.
   */
  renewalsLeft: number;
  /** The granted TTL in steps (one step is a millisecond of the replicas' clocks), once granted. */
  ttlSteps: number | undefined;
  /** When the latest renewal the cluster acknowledged was sent (the grant is the first). */
  renewalSentAt: number | undefined;
  lastRenewalAttempt: number;
  /** The node its renewals go to, as a client's keep-alive stream stays on one connection until it fails. */
  home: number | undefined;
  /** When its key's delete was first seen: the expiry. */
  expiredAt: number | undefined;
}

export interface LeaseClientsOptions {
  readonly random: Prng;
  readonly trace: Trace;
  readonly report: (kind: ViolationKind, message: string) => void;
  /** The TTL asked for (the cluster raises it to its minimum). */
  readonly ttlSeconds: number;
  /** Leases live (granted and not seen expired) at once at most. */
  readonly liveLeasesMax: number;
  /** Chance per step of a new grant while fewer are live. */
  readonly grantRate: number;
  /** Share of the leases their client keeps alive; the others are left to expire. */
  readonly keptAliveChance: number;
}

const LEASE = 700;
/** A kept-alive lease's renewals, drawn from 1 through this: several TTLs, mostly longer than a fault. */
const renewalsMax = 24;
const encoder = new TextEncoder();
/** Ids far from those a node draws for itself (below 2^48), so ours never collide. */
const firstLeaseId = 2 ** 50;

/** A refusal or a failure: the lease client tries again later, or lets the lease go. */
const ignore = (): void => undefined;

/** Calls `call`, whose refusal may come thrown or as a rejected promise, and ignores it. */
function settle(call: () => Promise<unknown>): void {
  try {
    call().catch(ignore);
  } catch {
    // refused before anything was proposed
  }
}

export class LeaseClients {
  private readonly leases = new Map<number, SimLease>();
  private nextId = firstLeaseId;
  readonly counts = { granted: 0, renewed: 0, expired: 0 };

  constructor(private readonly options: LeaseClientsOptions) {}

  /** One step: perhaps a grant, and the renewals that are due, each to a random running node. */
  step(now: number, running: readonly LeaseNode[]): void {
    if (running.length === 0) return;
    const { random, grantRate, liveLeasesMax } = this.options;
    const live = [...this.leases.values()].filter((lease) => lease.expiredAt === undefined);
    if (live.length < liveLeasesMax && random.chance(grantRate)) {
      this.grant(now, random.pick(running), random.chance(this.options.keptAliveChance) ? random.between(1, renewalsMax) : 0);
    }
    for (const lease of live) {
      if (lease.renewalsLeft === 0 || lease.ttlSteps === undefined) continue;
      // Three tries per TTL, so a lost one or two under faults need not lose the lease.
      if (now - lease.lastRenewalAttempt < lease.ttlSteps / 4) continue;
      const node = running.find((candidate) => candidate.id === lease.home) ?? this.newHome(running);
      lease.home = node.id;
      this.renew(now, lease, node);
    }
  }

  /** The key of a lease was deleted, as first seen at `step`. */
  keyDeleted(key: string, step: number): void {
    const lease = this.leases.get(Number(key.slice('lease/'.length)));
    if (lease === undefined || lease.expiredAt !== undefined) return;
    lease.expiredAt = step;
    this.counts.expired += 1;
    this.options.trace.note(step, () => `lease ${lease.id} expired (its key deleted)`);
    if (lease.renewalSentAt !== undefined && lease.ttlSteps !== undefined) this.checkExpiry(lease, lease.renewalSentAt);
  }

  /**
   * A node for a lease's renewals from now on: one that believes it leads, mostly. A
   * leader cut off from the others keeps believing it for a while (for good without
   * check-quorum); the renewals it answers then must not outlive what the new leader
   * knows (node-leases.ts, the ReadIndex round).
   */
  private newHome(running: readonly LeaseNode[]): LeaseNode {
    const { random } = this.options;
    const leaders = running.filter((node) => node.leads);
    return random.pick(leaders.length > 0 && random.chance(0.7) ? leaders : running);
  }

  private grant(now: number, node: LeaseNode, renewals: number): void {
    const lease: SimLease = {
      id: this.nextId++,
      renewalsLeft: renewals,
      ttlSteps: undefined,
      renewalSentAt: undefined,
      lastRenewalAttempt: now,
      home: node.id,
      expiredAt: undefined,
    };
    this.leases.set(lease.id, lease);
    this.options.trace.event(
      now,
      LEASE,
      [node.id, lease.id],
      () => `lease   n${node.id} grant ${lease.id}${renewals > 0 ? ` (renewed ${renewals} times)` : ''}`,
    );
    void node.leases.grant(this.options.ttlSeconds, lease.id).then((result) => {
      if (!result.ok || result.response.type !== 'leaseGrant') return;
      lease.ttlSteps = result.response.ttl * 1000;
      this.counts.granted += 1;
      this.acknowledged(lease, now);
      settle(() => node.write({ type: 'put', key: encoder.encode(`lease/${lease.id}`), value: encoder.encode('held'), lease: lease.id }));
    }, ignore);
  }

  private renew(now: number, lease: SimLease, node: LeaseNode): void {
    lease.lastRenewalAttempt = now;
    lease.renewalsLeft -= 1;
    const failed = (): void => {
      if (lease.home === node.id) lease.home = undefined;
    };
    void node.leases.keepAlive(lease.id).then((result) => {
      if (!result.ok) return failed();
      this.counts.renewed += 1;
      this.acknowledged(lease, now);
    }, failed);
  }

  private acknowledged(lease: SimLease, sentAt: number): void {
    lease.renewalSentAt = Math.max(lease.renewalSentAt ?? sentAt, sentAt);
    if (lease.expiredAt !== undefined) this.checkExpiry(lease, sentAt);
  }

  private checkExpiry(lease: SimLease, renewalSentAt: number): void {
    const expiredAt = lease.expiredAt as number;
    const ttlSteps = lease.ttlSteps as number;
    if (expiredAt < renewalSentAt + ttlSteps) {
      this.options.report(
        'lease',
        `lease ${lease.id} (TTL ${ttlSteps} steps) expired at step ${expiredAt}, though a renewal sent at step ${renewalSentAt} was acknowledged: ${renewalSentAt + ttlSteps - expiredAt} steps early`,
      );
    }
  }
}
