import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyConfigChange } from '../raft/config.js';
import type { RaftStatus } from '../raft/node.js';
import type { ClusterConfig, ConfigChange, LogIndex, NodeId } from '../raft/types.js';
import { applyMemberChange, decodeMemberChange, type Member, type MemberChange, type MemberList } from '../kv/members.js';
import type { CommandResult } from '../kv/types.js';
import { KeelError } from './errors.js';
import { MembershipManager, checkPeerUrl, type MembershipHost } from './membership.js';

const member = (id: number): Member => ({ id, name: `node${id}`, peerUrls: [`http://127.0.0.1:${7100 + id}`], clientUrls: [], grpcUrls: [], isLearner: false });

/**
 * A leader whose log applies at once: config changes go through the core's own
 * applyConfigChange and the member list through the store's applyMemberChange, as on a
 * real node, so the manager's checks meet the same rules.
 */
class InstantLeader implements MembershipHost {
  config: ClusterConfig = { voters: [1, 2, 3], learners: [] };
  list: MemberList | undefined;
  connected = new Set<NodeId>([2, 3]);
  learnerMatch = 0;
  lastIndex = 100;
  readonly proposed: string[] = [];

  raftStatus(): RaftStatus {
    const peers = [...this.config.voters, ...this.config.learners]
      .filter((id) => id !== 1)
      .map((id) => ({
        id,
        match: this.config.learners.includes(id) ? this.learnerMatch : this.lastIndex,
        next: 0,
        state: 'replicate' as const,
        recentActive: true,
      }));
    return { id: 1, role: 'leader', leader: 1, commit: this.lastIndex, lastIndex: this.lastIndex, config: this.config, peers } as unknown as RaftStatus;
  }
  memberList(): MemberList {
    return this.list ?? { members: [member(1), member(2), member(3)], removed: [] };
  }
  memberListStored(): boolean {
    return this.list !== undefined;
  }
  connectedPeers(): ReadonlySet<NodeId> {
    return this.connected;
  }
  proposeConfigChange(change: ConfigChange): LogIndex {
    const result = applyConfigChange(this.config, change);
    if (!result.ok) throw new KeelError('BAD_REQUEST', result.message);
    this.config = result.config;
    this.apply(decodeMemberChange(new TextEncoder().encode(change.context)));
    this.proposed.push(change.type);
    return ++this.lastIndex;
  }
  async proposeMemberChange(change: MemberChange): Promise<CommandResult> {
    this.apply(change);
    this.proposed.push(change.op);
    return { ok: true, revision: 1, response: { type: 'member' } };
  }
  async waitApplied(): Promise<void> {}
  private apply(change: MemberChange): void {
    const result = applyMemberChange(this.list, change);
    assert.ok(result.ok);
    this.list = result.list;
  }
}

function managerOn(host: InstantLeader): MembershipManager {
  return new MembershipManager(host, () => [member(1), member(2), member(3)]);
}

async function refusedWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => error instanceof KeelError && error.code === code);
}

test('the first change records the bootstrap members; ids go up from the largest ever used, removed ones are never reused', async () => {
  const host = new InstantLeader();
  const manager = managerOn(host);
  const added = await manager.add({ peerUrls: ['http://127.0.0.1:7104'], isLearner: true });
  assert.equal(added.member.id, 4);
  assert.deepEqual(host.proposed, ['init', 'addLearner']);
  await manager.remove(4);
  assert.deepEqual(host.memberList().removed, [4]);
  const next = await manager.add({ peerUrls: ['http://127.0.0.1:7105'], isLearner: true });
  assert.equal(next.member.id, 5, 'id 4 was removed: never given out again');
  await refusedWith(manager.add({ peerUrls: ['http://127.0.0.1:7109'], isLearner: true, id: 4 }), 'ID_REMOVED');
  await refusedWith(manager.remove(4), 'ID_REMOVED');
  await refusedWith(manager.remove(9), 'MEMBER_NOT_FOUND');
});

test("etcd's refusals: peer URL taken, too many learners, not a learner, learner not in sync", async () => {
  const host = new InstantLeader();
  const manager = managerOn(host);
  await refusedWith(manager.add({ peerUrls: ['http://127.0.0.1:7102'], isLearner: true }), 'PEER_URL_EXISTS');
  await refusedWith(manager.add({ peerUrls: ['not a url'], isLearner: true }), 'BAD_REQUEST');
  await manager.add({ peerUrls: ['http://127.0.0.1:7104'], isLearner: true });
  await refusedWith(manager.add({ peerUrls: ['http://127.0.0.1:7105'], isLearner: true }), 'TOO_MANY_LEARNERS');
  await refusedWith(manager.promote(2), 'NOT_A_LEARNER');
  host.connected.add(4);
  host.learnerMatch = 50;
  await refusedWith(manager.promote(4), 'LEARNER_NOT_READY');
  host.learnerMatch = host.lastIndex;
  const promoted = await manager.promote(4);
  assert.equal(promoted.member.isLearner, false);
  assert.deepEqual(host.config, { voters: [1, 2, 3, 4], learners: [] });
  const moved = await manager.update(2, ['http://127.0.0.1:9102']);
  assert.deepEqual(moved.member.peerUrls, ['http://127.0.0.1:9102']);
});

test('strict reconfig check: a change must leave a majority of started voters', async () => {
  const host = new InstantLeader();
  const manager = managerOn(host);
  host.connected = new Set([2]);
  // Removing 2 leaves {1, 3}: only 1 started of 2.
  await refusedWith(manager.remove(2), 'NOT_ENOUGH_STARTED');
  // Adding a voter makes 4, needing 3 started; 1 and 2 are.
  await refusedWith(manager.add({ peerUrls: ['http://127.0.0.1:7104'], isLearner: false }), 'NOT_ENOUGH_STARTED');
  // Removing the stopped node 3 leaves {1, 2}, both started.
  await manager.remove(3);
  assert.deepEqual(host.config.voters, [1, 2]);
  // A learner changes no majority: it may be added with a voter down.
  host.connected = new Set();
  await manager.add({ peerUrls: ['http://127.0.0.1:7105'], isLearner: true });
});

test('changes run one at a time, in order', async () => {
  const host = new InstantLeader();
  const manager = managerOn(host);
  const results = await Promise.all([
    manager.add({ peerUrls: ['http://127.0.0.1:7104'], isLearner: true }),
    manager.remove(4),
    manager.add({ peerUrls: ['http://127.0.0.1:7105'], isLearner: true }),
  ]);
  assert.deepEqual(
    results.map((r) => r.member.id),
    [4, 4, 5],
  );
  assert.deepEqual(host.proposed, ['init', 'addLearner', 'removeNode', 'addLearner']);
});

test('peer URLs are http://host:port, normalized', () => {
  assert.equal(checkPeerUrl('http://127.0.0.1:7101/'), 'http://127.0.0.1:7101');
  assert.equal(checkPeerUrl('http://[::1]:7101'), 'http://[::1]:7101');
  for (const bad of ['127.0.0.1:7101', 'http://127.0.0.1', 'http://127.0.0.1:7101/path', 'ftp://h:1']) {
    assert.throws(() => checkPeerUrl(bad), KeelError, bad);
  }
});
