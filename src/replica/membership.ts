/**
 * Membership changes as the leader runs them: add (as a voter or a learner), remove,
 * promote, and update a member's peer URL. Each of the first three is one Raft
 * single-server change (raft/config.ts) whose config entry carries the member's
 * metadata (kv/members.ts); an update changes no vote, so it is a plain command.
 *
 * Like etcd's server, the leader refuses a change that would leave the cluster unable
 * to commit ("strict reconfig check", etcd's isReadyToAddVotingMember and
 * isReadyToRemoveVotingMember): the voters it can reach now, after the change, must
 * still be a majority of the new configuration. Changes run one at a time.
 */
import { isVoter, quorumSize, type ConfigChange, type LogIndex, type NodeId, type RaftStatus } from '../raft/index.js';
import type { Member, MemberChange, MemberList, CommandResult } from '../kv/index.js';
import { KeelError } from './errors.js';

/** etcd allows one learner at a time (its maxLearners default): a learner is meant to be promoted soon. */
export const learnersMax = 1;
/** etcd promotes a learner only once its log is within 10% of the leader's (isLearnerReady). */
const learnerReadyFraction = 0.9;

export interface MemberAddRequest {
  readonly peerUrls: readonly string[];
  readonly isLearner: boolean;
  /** Chosen by the leader when absent: one more than every id ever used. */
  readonly id?: number;
  readonly name?: string;
  readonly clientUrls?: readonly string[];
  readonly grpcUrls?: readonly string[];
}

/** What the manager needs from the node it runs in. */
export interface MembershipHost {
  raftStatus(): RaftStatus;
  /** The member list in force once everything applied so far is applied. */
  memberList(): MemberList;
  /** Whether the store holds the list yet (false until the first change). */
  memberListStored(): boolean;
  /** The members this node (the leader) is connected to now: etcd's "started" members. */
  connectedPeers(): ReadonlySet<NodeId>;
  proposeConfigChange(change: ConfigChange): LogIndex;
  proposeMemberChange(change: MemberChange): Promise<CommandResult>;
  waitApplied(index: LogIndex): Promise<void>;
}

export interface MembershipResult {
  readonly member: Member;
  readonly members: readonly Member[];
}

export class MembershipManager {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly host: MembershipHost,
    /** The list the cluster started with (never in the log), written before the first change. */
    private readonly bootstrapMembers: () => readonly Member[],
  ) {}

  add(request: MemberAddRequest): Promise<MembershipResult> {
    return this.serialized(async () => {
      const peerUrls = request.peerUrls.map(checkPeerUrl);
      if (peerUrls.length === 0) throw new KeelError('BAD_REQUEST', 'a new member needs at least one peer URL');
      const list = this.host.memberList();
      const taken = list.members.find((m) => m.peerUrls.some((url) => peerUrls.includes(url)));
      if (taken) throw new KeelError('PEER_URL_EXISTS', `peer URL ${peerUrls.join(',')} already belongs to member ${taken.id}`);
      const id = request.id ?? Math.max(0, ...list.members.map((m) => m.id), ...list.removed) + 1;
      if (!Number.isSafeInteger(id) || id < 1) throw new KeelError('BAD_REQUEST', `member id must be a positive integer, got ${id}`);
      if (list.removed.includes(id)) throw new KeelError('ID_REMOVED', `member id ${id} was removed from the cluster and cannot be used again`);
      if (list.members.some((m) => m.id === id)) throw new KeelError('MEMBER_EXISTS', `member ${id} already exists`);
      const status = this.host.raftStatus();
      if (request.isLearner) {
        if (status.config.learners.length >= learnersMax) {
          throw new KeelError(
            'TOO_MANY_LEARNERS',
            `the cluster already has ${status.config.learners.length} learner(s) (at most ${learnersMax}); promote or remove it first`,
          );
        }
      } else {
        // The new voter is not running yet: the reachable voters alone must make a majority of voters + 1.
        this.checkStartedAfter([...status.config.voters, id], id, 'adding a voter');
      }
      const member: Member = {
        id,
        name: request.name ?? '',
        peerUrls,
        clientUrls: request.clientUrls ?? [],
        grpcUrls: request.grpcUrls ?? [],
        isLearner: request.isLearner,
      };
      await this.changeConfig({ type: request.isLearner ? 'addLearner' : 'addVoter', nodeId: id }, { op: 'add', member });
      return this.result(id, () => new KeelError('LEADER_CHANGED', `the addition of member ${id} did not apply; check the member list`, 'unknown'));
    });
  }

  remove(id: number): Promise<MembershipResult> {
    return this.serialized(async () => {
      const member = this.existing(id);
      const status = this.host.raftStatus();
      if (isVoter(status.config, id))
        this.checkStartedAfter(
          status.config.voters.filter((v) => v !== id),
          undefined,
          'removing a voter',
        );
      await this.changeConfig({ type: 'removeNode', nodeId: id }, { op: 'remove', id });
      if (this.host.memberList().members.some((m) => m.id === id)) {
        throw new KeelError('LEADER_CHANGED', `the removal of member ${id} did not apply; check the member list`, 'unknown');
      }
      return { member, members: this.host.memberList().members };
    });
  }

  promote(id: number): Promise<MembershipResult> {
    return this.serialized(async () => {
      const member = this.existing(id);
      const status = this.host.raftStatus();
      if (!status.config.learners.includes(id)) throw new KeelError('NOT_A_LEARNER', `member ${id} is not a learner; only a learner can be promoted`);
      const match = status.peers.find((p) => p.id === id)?.match ?? 0;
      if (match < status.lastIndex * learnerReadyFraction) {
        throw new KeelError('LEARNER_NOT_READY', `learner ${id} has ${match} of the leader's ${status.lastIndex} log entries; it can be promoted once in sync`);
      }
      this.checkStartedAfter([...status.config.voters, id], undefined, 'promoting a learner');
      await this.changeConfig({ type: 'promoteLearner', nodeId: id }, { op: 'promote', id });
      return this.result(member.id, () => new KeelError('LEADER_CHANGED', `the promotion of member ${id} did not apply`, 'unknown'));
    });
  }

  update(id: number, peerUrls: readonly string[]): Promise<MembershipResult> {
    return this.serialized(async () => {
      this.existing(id);
      const urls = peerUrls.map(checkPeerUrl);
      if (urls.length === 0) throw new KeelError('BAD_REQUEST', 'a member needs at least one peer URL');
      const taken = this.host.memberList().members.find((m) => m.id !== id && m.peerUrls.some((url) => urls.includes(url)));
      if (taken) throw new KeelError('PEER_URL_EXISTS', `peer URL ${urls.join(',')} already belongs to member ${taken.id}`);
      await this.commandChange({ op: 'update', id, peerUrls: urls });
      return this.result(id, () => new KeelError('LEADER_CHANGED', `the update of member ${id} did not apply`, 'unknown'));
    });
  }

  /** Runs changes one at a time, on a leader that has applied everything it committed. */
  private serialized<T>(run: () => Promise<T>): Promise<T> {
    const next = this.queue.then(async () => {
      await this.settle();
      return run();
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  /**
   * A leader that has committed an entry of its term has every earlier entry committed
   * (§5.4.2); once it has applied them too, its member list is the cluster's latest,
   * so a change computed from it cannot undo another. The first change also writes the
   * bootstrap members, which the log never held.
   */
  private async settle(): Promise<void> {
    const status = this.host.raftStatus();
    if (status.role !== 'leader') throw new KeelError('NOT_LEADER', `node ${status.id} is not the leader (leader: ${status.leader || 'unknown'})`);
    await this.host.waitApplied(status.commit);
    if (!this.host.memberListStored()) {
      const result = await this.host.proposeMemberChange({ op: 'init', members: this.bootstrapMembers() });
      if (!result.ok) throw new KeelError('BAD_REQUEST', `cannot record the bootstrap members: ${result.error.message}`);
    }
  }

  private existing(id: number): Member {
    const list = this.host.memberList();
    if (list.removed.includes(id)) throw new KeelError('ID_REMOVED', `member ${id} was removed from the cluster`);
    const member = list.members.find((m) => m.id === id);
    if (!member) throw new KeelError('MEMBER_NOT_FOUND', `member ${id} not found`);
    return member;
  }

  /** etcd's strict reconfig check: the started voters of `voters` must be a majority of it. */
  private checkStartedAfter(voters: readonly NodeId[], notStarted: NodeId | undefined, what: string): void {
    const self = this.host.raftStatus().id;
    const connected = this.host.connectedPeers();
    const started = voters.filter((v) => v !== notStarted && (v === self || connected.has(v))).length;
    const needed = quorumSize(voters.length);
    if (started < needed) {
      throw new KeelError(
        'NOT_ENOUGH_STARTED',
        `${what} would leave ${started} started voter(s) of ${voters.length}, fewer than the ${needed} needed to commit`,
      );
    }
  }

  private async changeConfig(change: ConfigChange, memberChange: MemberChange): Promise<void> {
    const index = this.host.proposeConfigChange({ ...change, context: JSON.stringify(memberChange) });
    await this.host.waitApplied(index);
  }

  private async commandChange(change: MemberChange): Promise<void> {
    const result = await this.host.proposeMemberChange(change);
    if (!result.ok) throw new KeelError('BAD_REQUEST', result.error.message);
  }

  private result(id: number, missing: () => KeelError): MembershipResult {
    const members = this.host.memberList().members;
    const member = members.find((m) => m.id === id);
    if (!member) throw missing();
    return { member, members };
  }
}

/** A peer URL as etcd writes it: `http://host:port` (our transport speaks its own protocol over TCP). */
export function checkPeerUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new KeelError('BAD_REQUEST', `peer URL ${JSON.stringify(url)} is not a URL; use http://host:port`);
  }
  if ((parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.port === '' || parsed.pathname !== '/' || parsed.search !== '') {
    throw new KeelError('BAD_REQUEST', `peer URL ${JSON.stringify(url)} must be http://host:port`);
  }
  return `http://${parsed.host}`;
}

/** Where a peer listens: what the peer transport dials. */
export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

/** The transport address of a peer URL. */
export function peerAddressOf(url: string): PeerAddress {
  const parsed = new URL(url);
  return { host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(parsed.port) };
}
