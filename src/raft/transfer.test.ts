/**
 * Leadership transfer (Raft thesis §3.10): the leader stops accepting proposals,
 * brings the target's log up to date, then sends it TimeoutNow; the target starts an
 * election at once (no pre-vote, and voters that still hear the old leader take part).
 * A transfer that does not finish within an election timeout is abandoned.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestCluster } from './testing/test-cluster.js';
import type { ClusterConfig, Message, NodeId } from './types.js';

function refusal(outcome: { ok: boolean; reason?: string }): string | undefined {
  return outcome.ok ? undefined : outcome.reason;
}

/** Delivers every message and records them all. */
function recordAll(c: TestCluster): Message[] {
  const seen: Message[] = [];
  c.filter = (m) => {
    seen.push(m);
    return true;
  };
  return seen;
}

function settle(c: TestCluster, id: NodeId, commands: readonly string[]): void {
  for (const command of commands) assert.ok(c.proposeAt(id, command).ok, `proposal ${command}`);
  c.stabilize();
  c.tickAll(1);
}

test('thesis §3.10: transfer to an up-to-date follower makes it leader at term+1 without ticks or pre-vote', () => {
  const c = new TestCluster({ ids: [1, 2, 3] });
  c.elect(1);
  settle(c, 1, ['a', 'b']);
  const lastIndex = c.node(1).status().lastIndex;
  assert.equal(c.node(2).status().lastIndex, lastIndex);

  const seen = recordAll(c);
  assert.ok(c.node(1).transferLeadership(2).ok);
  assert.equal(c.node(1).status().transferee, 2);
  c.stabilize();

  assert.equal(c.leader()?.id, 2);
  for (const id of [1, 2, 3]) {
    assert.equal(c.node(id).status().term, 2, `node ${id} is at term+1`);
    assert.equal(c.node(id).status().leader, 2);
  }
  assert.equal(c.node(1).status().role, 'follower');
  assert.equal(c.node(1).status().transferee, 0);
  assert.deepEqual(
    seen.filter((m) => m.type === 'timeoutNow').map((m) => [m.from, m.to]),
    [[1, 2]],
    'the leader sent one TimeoutNow, to the target, with no append before it',
  );
  assert.equal(seen[0]?.type, 'timeoutNow', 'nothing needed sending before TimeoutNow');
  assert.deepEqual(
    seen.filter((m) => m.type === 'preVote'),
    [],
    'the target skipped pre-vote',
  );
  const votes = seen.filter((m) => m.type === 'vote');
  assert.deepEqual(votes.map((m) => m.to).sort(), [1, 3]);
  assert.ok(votes.every((m) => m.type === 'vote' && m.transfer && m.term === 2));

  settle(c, 2, ['c']);
  for (const id of [1, 2, 3]) assert.deepEqual(c.applied.get(id), ['a', 'b', 'c']);
});

test('thesis §3.10: transfer to a lagging follower first catches it up; proposals are refused meanwhile', () => {
  const c = new TestCluster({ ids: [1, 2, 3] });
  c.elect(1);
  // Node 3 misses a few entries.
  c.filter = (m) => m.to !== 3 && m.from !== 3;
  settle(c, 1, ['a', 'b', 'c']);
  const lastIndex = c.node(1).status().lastIndex;
  assert.equal(c.node(3).status().lastIndex, 1);

  let targetLastIndexAtTimeoutNow = -1;
  const seen: Message[] = [];
  c.filter = (m) => {
    seen.push(m);
    if (m.type === 'timeoutNow') targetLastIndexAtTimeoutNow = c.node(3).status().lastIndex;
    return true;
  };
  assert.ok(c.node(1).transferLeadership(3).ok);
  c.processReadies();
  assert.deepEqual(
    c.queue.filter((m) => m.type === 'timeoutNow'),
    [],
    'no TimeoutNow while the target lags',
  );
  assert.ok(
    c.queue.some((m) => m.type === 'append' && m.to === 3),
    'an append goes to the target instead',
  );

  // Thesis §3.10 step 1: no new entries while the transfer is under way.
  const refused = c.proposeAt(1, 'x');
  assert.equal(refusal(refused), 'TRANSFERRING');
  assert.equal(refused.ok ? 0 : refused.leader, 1);
  assert.equal(refusal(c.node(1).proposeMembershipChange({ type: 'removeNode', nodeId: 2 })), 'TRANSFERRING');
  assert.ok(c.proposeAt(2, 'forwarded').ok, 'a follower still forwards');
  assert.equal(c.node(1).status().lastIndex, lastIndex, 'but the leader appends nothing');

  c.stabilize();
  assert.equal(targetLastIndexAtTimeoutNow, lastIndex, 'TimeoutNow was sent once the target held the whole log');
  assert.equal(seen.filter((m) => m.type === 'timeoutNow').length, 1);
  assert.equal(c.leader()?.id, 3);
  assert.equal(c.node(3).status().term, 2);
  settle(c, 3, ['d']);
  for (const id of [1, 2, 3]) assert.deepEqual(c.applied.get(id), ['a', 'b', 'c', 'd']);
});

test('thesis §3.10: a transfer to a crashed node is abandoned after an election timeout', () => {
  const electionTicks = 10;
  const c = new TestCluster({ ids: [1, 2, 3], config: { electionTicks } });
  c.elect(1);
  settle(c, 1, ['a']);
  c.crash(3);
  assert.ok(c.node(1).transferLeadership(3).ok);
  c.stabilize();
  assert.equal(c.node(1).status().transferee, 3);

  for (let i = 1; i < electionTicks; i++) {
    c.tickAll(1);
    assert.equal(refusal(c.proposeAt(1, 'x')), 'TRANSFERRING', `still transferring after ${i} ticks`);
  }
  c.tickAll(1);
  const s = c.node(1).status();
  assert.equal(s.role, 'leader', 'the leader carries on (nodes 1 and 2 are a majority)');
  assert.equal(s.term, 1);
  assert.equal(s.transferee, 0, 'the transfer was abandoned');
  settle(c, 1, ['b']);
  for (const id of [1, 2]) assert.deepEqual(c.applied.get(id), ['a', 'b']);
});

test('thesis §3.10, §6.2: transfers asked of a leader cut off from the majority do not postpone its check-quorum', () => {
  // Found by the simulator's check-quorum rule: each transfer restarted the timer that
  // check-quorum shares, so a cut-off leader asked for transfers kept leading.
  const electionTicks = 10;
  const c = new TestCluster({ ids: [1, 2, 3], config: { electionTicks, checkQuorum: true } });
  c.elect(1);
  settle(c, 1, ['a']);
  c.filter = (m) => m.to !== 1;
  const leader = c.node(1);
  let ticks = 0;
  for (; ticks < 4 * electionTicks && leader.status().role === 'leader'; ticks++) {
    if (ticks % 3 === 0) assert.ok(leader.transferLeadership(ticks % 2 === 0 ? 2 : 3).ok);
    c.tick(1);
    c.stabilize();
  }
  assert.notEqual(leader.status().role, 'leader', `still leader after ${ticks} ticks without hearing from anyone`);
  assert.ok(ticks <= 2 * electionTicks, `stepped down only after ${ticks} ticks`);
});

test('thesis §3.10: only the leader transfers, and only to a voter', () => {
  const c = new TestCluster({ ids: [1, 2, 3] });
  c.elect(1);
  const joining: ClusterConfig = { voters: [], learners: [] };
  c.start(4, joining);
  const added = c.node(1).proposeMembershipChange({ type: 'addLearner', nodeId: 4 });
  assert.ok(added.ok);
  c.stabilize();
  assert.deepEqual(c.node(4).status().config, { voters: [1, 2, 3], learners: [4] });

  const seen = recordAll(c);
  assert.equal(refusal(c.node(1).transferLeadership(4)), 'NOT_A_VOTER', 'a learner cannot lead');
  assert.equal(refusal(c.node(1).transferLeadership(9)), 'NOT_A_VOTER', 'nor can a stranger');
  assert.equal(refusal(c.node(2).transferLeadership(3)), 'NOT_LEADER');
  assert.equal(refusal(c.node(4).transferLeadership(1)), 'NOT_LEADER');
  assert.equal(c.node(1).status().transferee, 0);
  assert.ok(c.proposeAt(1, 'a').ok, 'no transfer started: proposals are accepted');
  c.stabilize();
  assert.deepEqual(
    seen.filter((m) => m.type === 'timeoutNow'),
    [],
  );
  assert.equal(c.leader()?.id, 1);
  assert.equal(c.node(1).status().term, 1);
});

test('thesis §3.10, §7: a target that needs a snapshot receives it before TimeoutNow', () => {
  const c = new TestCluster({ ids: [1, 2, 3] });
  c.elect(1);
  c.crash(3);
  settle(c, 1, ['a', 'b', 'c']);
  const snapshotIndex = c.compact(1);
  c.start(3);
  assert.equal(c.node(3).status().lastIndex, 1);

  const order: string[] = [];
  c.filter = (m) => {
    if (m.to === 3 && (m.type === 'snapshot' || m.type === 'timeoutNow')) order.push(m.type);
    return true;
  };
  assert.ok(c.node(1).transferLeadership(3).ok);
  c.stabilize();
  assert.deepEqual(order, ['snapshot', 'timeoutNow']);
  assert.equal(c.node(3).status().firstIndex, snapshotIndex + 1);
  assert.equal(c.leader()?.id, 3);
  assert.equal(c.node(3).status().term, 2);
  settle(c, 3, ['d']);
  for (const id of [1, 2, 3]) assert.deepEqual(c.applied.get(id), ['a', 'b', 'c', 'd']);
});
