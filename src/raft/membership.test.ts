/**
 * Single-server membership changes (Raft thesis §4.1, §4.2.2, §4.2.3, §4.3) and the
 * 2015 fix to them (raft-dev, "bug in single-server membership changes": a leader
 * appends a change only once an entry of its own term has committed).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestCluster } from './testing/test-cluster.js';
import { decodeConfigEntry } from './config.js';
import type { ClusterConfig, ConfigChange, Message, NodeId } from './types.js';

const joining: ClusterConfig = { voters: [], learners: [] };

function change(c: TestCluster, leader: NodeId, ch: ConfigChange): number {
  const outcome = c.node(leader).proposeMembershipChange(ch);
  assert.ok(outcome.ok, `${ch.type} ${ch.nodeId} refused: ${outcome.ok ? '' : `${outcome.reason} ${outcome.message}`}`);
  return outcome.index;
}

function propose(c: TestCluster, id: NodeId, command: string): number {
  const outcome = c.proposeAt(id, command);
  assert.ok(outcome.ok, `proposal ${command} refused: ${outcome.ok ? '' : outcome.reason}`);
  assert.ok(outcome.index !== undefined);
  return outcome.index;
}

function assertConfig(c: TestCluster, ids: readonly NodeId[], expected: ClusterConfig): void {
  for (const id of ids) assert.deepEqual(c.node(id).status().config, expected, `configuration on node ${id}`);
}

function refusal(outcome: { ok: boolean; reason?: string }): string | undefined {
  return outcome.ok ? undefined : outcome.reason;
}

/** Elects `candidates` one of them: ticks only them until one leads. */
function electAmong(c: TestCluster, candidates: readonly NodeId[]): NodeId {
  for (let round = 0; round < 200; round++) {
    for (const id of candidates) c.tick(id);
    c.stabilize();
    const leader = candidates.find((id) => c.node(id).status().role === 'leader');
    if (leader !== undefined) return leader;
  }
  throw new Error(`none of ${candidates.join(', ')} was elected`);
}

test('thesis §4.1, §4.2.1: learners receive the log, their acknowledgements do not count, and they never campaign', () => {
  const c = new TestCluster({ ids: [1, 2, 3] });
  c.elect(1);
  assert.ok(c.proposeAt(1, 'a').ok);
  c.stabilize();
  c.start(4, joining);
  c.start(5, joining);
  change(c, 1, { type: 'addLearner', nodeId: 4 });
  c.stabilize();
  const index = change(c, 1, { type: 'addLearner', nodeId: 5 });
  c.stabilize();
  assert.equal(c.node(1).status().commit, index);
  const withLearners = { voters: [1, 2, 3], learners: [4, 5] };
  assertConfig(c, [1, 2, 3, 4, 5], withLearners);
  for (const id of [4, 5]) assert.equal(c.node(id).status().lastIndex, index, `learner ${id} received the whole log`);
  c.tickAll(1);
  for (const id of [4, 5]) assert.deepEqual(c.applied.get(id), ['a']);

  // With both other voters cut off, the leader and the two learners hold the entry:
  // three of five members, but one of three voters.
  c.filter = (m) => ![2, 3].includes(m.to) && ![2, 3].includes(m.from);
  const x = propose(c, 1, 'x');
  c.stabilize();
  for (const id of [4, 5]) {
    assert.equal(c.node(id).status().lastIndex, x, `learner ${id} holds the entry`);
    assert.equal(
      c
        .node(1)
        .status()
        .peers.find((p) => p.id === id)?.match,
      x,
      `and acknowledged it`,
    );
  }
  assert.equal(c.node(1).status().commit, x - 1, 'but learners are not part of any majority');
  c.filter = () => true;
  c.tickAll(1);
  assert.equal(c.node(1).status().commit, x);

  // The learner hears no leader for a long time, yet never stands for election.
  const sent: Message[] = [];
  c.filter = (m) => {
    if (m.from === 4) sent.push(m);
    return true;
  };
  for (let i = 0; i < 100; i++) {
    c.tick(4);
    c.stabilize();
  }
  assert.equal(c.node(4).status().role, 'follower');
  assert.equal(c.node(4).status().term, 1);
  assert.deepEqual(
    sent.filter((m) => m.type === 'vote' || m.type === 'preVote'),
    [],
  );
  assert.equal(c.leader()?.id, 1);
});

test('thesis §4.1: a promoted learner votes and counts toward commitment', () => {
  const c = new TestCluster({ ids: [1, 2, 3] });
  c.elect(1);
  c.start(4, joining);
  change(c, 1, { type: 'addLearner', nodeId: 4 });
  c.stabilize();
  const promoted = change(c, 1, { type: 'promoteLearner', nodeId: 4 });
  c.stabilize();
  assert.equal(c.node(1).status().commit, promoted);
  const four = { voters: [1, 2, 3, 4], learners: [] };
  assertConfig(c, [1, 2, 3, 4], four);

  // Four voters: a majority is three. Without node 3, nodes 1, 2 and 4 commit, which
  // needs node 4's acknowledgement.
  c.filter = (m) => m.to !== 3 && m.from !== 3;
  const x = propose(c, 1, 'x');
  c.stabilize();
  assert.equal(c.node(1).status().commit, x);
  // Without nodes 3 and 4, two of four is not a majority.
  c.filter = (m) => ![3, 4].includes(m.to) && ![3, 4].includes(m.from);
  const y = propose(c, 1, 'y');
  c.stabilize();
  assert.equal(c.node(1).status().commit, x);
  assert.equal(
    c
      .node(1)
      .status()
      .peers.find((p) => p.id === 2)?.match,
    y,
  );
  c.filter = () => true;
  c.tickAll(1);
  assert.equal(c.node(1).status().commit, y);

  // The new voter can be elected: it needs the votes of two of the other three.
  const grants: Message[] = [];
  c.filter = (m) => {
    if (m.type === 'voteResponse' && m.to === 4 && m.granted) grants.push(m);
    return true;
  };
  assert.ok(c.node(1).transferLeadership(4).ok);
  c.stabilize();
  assert.equal(c.leader()?.id, 4);
  assert.equal(c.node(4).status().term, 2);
  assert.ok(grants.length >= 2, `${grants.length} votes granted`);
  // With node 1 down, nodes 2, 3 and 4 are three of four.
  c.crash(1);
  const z = propose(c, 4, 'z');
  c.stabilize();
  assert.equal(c.node(4).status().commit, z);
  for (const id of [2, 3, 4]) assert.deepEqual(c.applied.get(id), ['x', 'y', 'z']);
});

test('thesis §4.1: a voter is added, catches up and counts toward commitment', () => {
  const c = new TestCluster({ ids: [1, 2, 3] });
  c.elect(1);
  assert.ok(c.proposeAt(1, 'a').ok);
  c.stabilize();
  c.start(4, joining);
  const index = change(c, 1, { type: 'addVoter', nodeId: 4 });
  // The configuration is in force on the leader as soon as the entry is in its log,
  // before it commits.
  assert.deepEqual(c.node(1).status().config, { voters: [1, 2, 3, 4], learners: [] });
  assert.ok(c.node(1).status().commit < index);
  c.stabilize();
  assert.equal(c.node(1).status().commit, index);
  assertConfig(c, [1, 2, 3, 4], { voters: [1, 2, 3, 4], learners: [] });
  c.tickAll(1);
  assert.deepEqual(c.applied.get(4), ['a']);

  // Three of four: nodes 1 and 4 alone cannot commit, 1, 2 and 4 can.
  c.filter = (m) => ![2, 3].includes(m.to) && ![2, 3].includes(m.from);
  const x = propose(c, 1, 'x');
  c.stabilize();
  assert.equal(c.node(1).status().commit, x - 1);
  c.filter = (m) => m.to !== 3 && m.from !== 3;
  c.tick(1);
  c.stabilize();
  assert.equal(c.node(1).status().commit, x);
});

test('thesis §4.1, §4.2.3: a removed voter gets nothing more and cannot disrupt the cluster', () => {
  const c = new TestCluster({ ids: [1, 2, 3] });
  c.elect(1);
  const index = change(c, 1, { type: 'removeNode', nodeId: 3 });
  c.stabilize();
  assert.equal(c.node(1).status().commit, index);
  assertConfig(c, [1, 2], { voters: [1, 2], learners: [] });
  assert.deepEqual(
    c
      .node(1)
      .status()
      .peers.map((p) => p.id)
      .sort(),
    [1, 2],
  );

  // Node 3 never learns it was removed: it times out and asks for (pre-)votes, which
  // nodes hearing from their leader ignore (thesis §4.2.3).
  const toThree: Message[] = [];
  const fromThree: Message[] = [];
  c.filter = (m) => {
    if (m.to === 3) toThree.push(m);
    if (m.from === 3) fromThree.push(m);
    return true;
  };
  for (let i = 0; i < 60; i++) {
    c.tickAll(1);
    if (i % 10 === 0) propose(c, 1, `x${i / 10}`);
  }
  c.tickAll(1);
  assert.ok(
    fromThree.some((m) => m.type === 'preVote'),
    'node 3 did try to campaign',
  );
  assert.deepEqual(
    toThree.filter((m) => m.from === 1),
    [],
    'the leader sends it nothing',
  );
  assert.equal(c.leader()?.id, 1);
  assert.equal(c.node(1).status().term, 1);
  assert.equal(c.node(2).status().term, 1);
  assert.deepEqual(c.applied.get(2), ['x0', 'x1', 'x2', 'x3', 'x4', 'x5'], 'two voters commit on their own');
  assert.deepEqual(c.applied.get(3), []);
});

test('thesis §4.2.2: a leader that removes itself replicates until the change commits, then steps down', () => {
  const c = new TestCluster({ ids: [1, 2, 3] });
  c.elect(1);
  // Node 3 is unreachable for now.
  c.filter = (m) => m.to !== 3 && m.from !== 3;
  const index = change(c, 1, { type: 'removeNode', nodeId: 1 });
  assert.deepEqual(c.node(1).status().config, { voters: [2, 3], learners: [] });
  const during = propose(c, 1, 'during');
  c.stabilize();
  let s = c.node(1).status();
  assert.equal(s.role, 'leader', 'still managing the cluster');
  assert.equal(c.node(2).status().lastIndex, during, 'and still replicating');
  assert.equal(s.commit, index - 1, 'node 2 alone is not a majority of {2, 3}: the leader does not count itself');

  c.filter = () => true;
  c.tick(1);
  c.stabilize();
  s = c.node(1).status();
  assert.equal(s.role, 'follower', 'stepped down once the change committed');
  assert.equal(s.commit, during);
  for (const id of [2, 3]) assert.equal(c.node(id).status().commit, during, `node ${id} heard that it committed`);
  assertConfig(c, [1, 2, 3], { voters: [2, 3], learners: [] });

  // The others elect a new leader; node 1 never campaigns again.
  const votes: Message[] = [];
  c.filter = (m) => {
    if (m.from === 1 && (m.type === 'vote' || m.type === 'preVote')) votes.push(m);
    return true;
  };
  let leader: NodeId | undefined;
  for (let i = 0; i < 200 && leader === undefined; i++) {
    c.tickAll(1);
    leader = [2, 3].find((id) => c.node(id).status().role === 'leader');
  }
  assert.ok(leader !== undefined, 'nodes 2 and 3 elected a leader');
  assert.equal(c.node(leader).status().term, 2);
  assert.notEqual(c.node(1).status().role, 'leader');
  assert.deepEqual(votes, []);
  propose(c, leader, 'after');
  c.stabilize();
  c.tickAll(1);
  for (const id of [2, 3]) assert.deepEqual(c.applied.get(id), ['during', 'after']);
  assert.deepEqual(c.applied.get(1), ['during']);
});

test('thesis §4.1: only one membership change may be pending at a time', () => {
  const c = new TestCluster({ ids: [1, 2, 3] });
  c.elect(1);
  c.start(4, joining);
  c.start(5, joining);
  const first = change(c, 1, { type: 'addLearner', nodeId: 4 });
  const second = c.node(1).proposeMembershipChange({ type: 'addLearner', nodeId: 5 });
  assert.equal(refusal(second), 'CONFIG_CHANGE_PENDING');
  assert.equal(c.node(1).status().lastIndex, first, 'the refused change appended nothing');
  assert.ok(c.proposeAt(1, 'a').ok, 'ordinary proposals still go through');
  c.stabilize();
  assert.equal(c.node(1).status().commit, first + 1);
  change(c, 1, { type: 'addLearner', nodeId: 5 });
  c.stabilize();
  assertConfig(c, [1, 2, 3, 4, 5], { voters: [1, 2, 3], learners: [4, 5] });
});

test('2015 single-server fix: a new leader changes membership only after its no-op commits', () => {
  const c = new TestCluster({ ids: [1, 2, 3] });
  c.elect(1);
  assert.ok(c.proposeAt(1, 'a').ok);
  c.stabilize();
  c.crash(1);
  // The new leader's no-op is delivered but its acknowledgements are lost.
  c.filter = (m) => m.type !== 'appendResponse';
  const leader = electAmong(c, [2, 3]);
  const s = c.node(leader).status();
  assert.equal(s.term, 2);
  assert.equal(s.lastIndex, 3);
  assert.equal(s.commit, 2, 'the no-op of term 2 is not committed');
  c.start(4, joining);
  const refused = c.node(leader).proposeMembershipChange({ type: 'addLearner', nodeId: 4 });
  assert.equal(refusal(refused), 'NOT_COMMITTED_IN_TERM');
  assert.equal(c.node(leader).status().lastIndex, 3, 'the refused change appended nothing');
  assert.deepEqual(c.node(leader).status().config, { voters: [1, 2, 3], learners: [] });

  c.filter = () => true;
  c.tick(leader);
  c.stabilize();
  assert.equal(c.node(leader).status().commit, 3);
  const index = change(c, leader, { type: 'addLearner', nodeId: 4 });
  c.stabilize();
  assert.equal(c.node(leader).status().commit, index);
  assertConfig(c, [2, 3, 4], { voters: [1, 2, 3], learners: [4] });
});

test('thesis §4.1: nonsensical changes are refused with INVALID_CONFIG_CHANGE', () => {
  const c = new TestCluster({ ids: [1, 2, 3] });
  c.elect(1);
  const lastIndex = c.node(1).status().lastIndex;
  const cases: ConfigChange[] = [
    { type: 'removeNode', nodeId: 9 },
    { type: 'addVoter', nodeId: 2 },
    { type: 'addLearner', nodeId: 3 },
    { type: 'promoteLearner', nodeId: 2 },
    { type: 'promoteLearner', nodeId: 9 },
    { type: 'addVoter', nodeId: 0 },
  ];
  for (const ch of cases) {
    assert.equal(refusal(c.node(1).proposeMembershipChange(ch)), 'INVALID_CONFIG_CHANGE', `${ch.type} ${ch.nodeId}`);
  }
  assert.equal(c.node(1).status().lastIndex, lastIndex);
  assert.equal(refusal(c.node(2).proposeMembershipChange({ type: 'addLearner', nodeId: 4 })), 'NOT_LEADER');

  // The last voter cannot be removed; a learner beside it does not count.
  const single = new TestCluster({ ids: [1] });
  single.elect(1);
  assert.equal(single.node(1).status().role, 'leader');
  single.start(2, joining);
  change(single, 1, { type: 'addLearner', nodeId: 2 });
  single.stabilize();
  const refused = single.node(1).proposeMembershipChange({ type: 'removeNode', nodeId: 1 });
  assert.equal(refusal(refused), 'INVALID_CONFIG_CHANGE');
  assert.deepEqual(single.node(1).status().config, { voters: [1], learners: [2] });
  // Removing the learner is fine.
  change(single, 1, { type: 'removeNode', nodeId: 2 });
  single.stabilize();
  assert.deepEqual(single.node(1).status().config, { voters: [1], learners: [] });
});

test('thesis §4.1: a configuration whose entry is truncated from a follower’s log is undone there', () => {
  const c = new TestCluster({ ids: [1, 2, 3, 4, 5] });
  c.elect(1);
  assert.ok(c.proposeAt(1, 'a').ok);
  c.stabilize();
  // Leader 1 reaches only node 2, and never hears back from it.
  c.filter = (m) => (m.from === 1 ? m.to === 2 : true) && !(m.from === 2 && m.to === 1);
  c.start(6, joining);
  const index = change(c, 1, { type: 'addLearner', nodeId: 6 });
  c.stabilize();
  const withLearner = { voters: [1, 2, 3, 4, 5], learners: [6] };
  assert.deepEqual(c.node(2).status().config, withLearner, 'in force on node 2 though uncommitted');
  assert.equal(c.node(2).status().lastIndex, index);
  assert.equal(c.node(2).status().commit, index - 1);

  // Nodes 3, 4 and 5 elect a leader of term 2 without nodes 1 and 2.
  c.filter = (m) => ![1, 2].includes(m.from) && ![1, 2].includes(m.to);
  const leader = electAmong(c, [3, 4, 5]);
  assert.equal(c.node(leader).status().term, 2);
  assert.equal(c.node(leader).entriesFrom(index)[0]?.term, 2, 'its no-op sits where the config entry was');

  // Node 2 rejoins: the new leader's log overwrites the config entry.
  c.filter = (m) => m.from !== 1 && m.to !== 1;
  c.tick(leader);
  c.stabilize();
  const original = { voters: [1, 2, 3, 4, 5], learners: [] };
  assert.deepEqual(c.node(2).status().config, original, 'the configuration reverted with the truncation');
  assert.equal(c.node(2).status().term, 2);
  assert.equal(c.node(2).entriesFrom(index)[0]?.term, 2);
  assert.equal(c.node(2).entriesFrom(index)[0]?.kind, 'normal');

  // The old leader too, once it hears from the new one.
  c.filter = () => true;
  c.tick(leader);
  c.stabilize();
  assert.equal(c.node(1).status().role, 'follower');
  assertConfig(c, [1, 2, 3, 4, 5], original);
  const again = change(c, leader, { type: 'addLearner', nodeId: 6 });
  c.stabilize();
  assert.equal(c.node(leader).status().commit, again);
  assertConfig(c, [1, 2, 3, 4, 5, 6], withLearner);
});

test('thesis §4.1, §7: a server that joins after compaction learns the configuration from the snapshot', () => {
  const c = new TestCluster({ ids: [1, 2, 3] });
  c.elect(1);
  assert.ok(c.proposeAt(1, 'a').ok);
  c.stabilize();
  c.start(4, joining);
  change(c, 1, { type: 'addLearner', nodeId: 4 });
  c.stabilize();
  c.tickAll(1);
  assert.ok(c.proposeAt(1, 'b').ok);
  c.stabilize();
  c.tickAll(1);
  const snapshotIndex = c.compact(1);
  assert.deepEqual(c.node(1).currentSnapshot()?.meta.config, { voters: [1, 2, 3], learners: [4] });

  const snapshots: Message[] = [];
  c.filter = (m) => {
    if (m.type === 'snapshot') snapshots.push(m);
    return true;
  };
  c.start(5, joining);
  const index = change(c, 1, { type: 'addVoter', nodeId: 5 });
  c.stabilize();
  assert.equal(snapshots.filter((m) => m.to === 5).length, 1, 'node 5 needed the snapshot');
  assert.equal(c.node(5).status().firstIndex, snapshotIndex + 1);
  assert.equal(c.node(1).status().commit, index);
  assertConfig(c, [1, 2, 3, 4, 5], { voters: [1, 2, 3, 5], learners: [4] });
  c.tickAll(1);
  assert.deepEqual(c.applied.get(5), ['a', 'b']);
});

test("a config entry carries the change's context (the runtime's member metadata) to every node", () => {
  const c = new TestCluster({ ids: [1, 2, 3] });
  c.elect(1);
  c.start(4, joining);
  const index = change(c, 1, { type: 'addLearner', nodeId: 4, context: '{"name":"n4"}' });
  c.stabilize();
  for (const id of [1, 2, 3, 4]) {
    const entry = c.node(id).entriesFrom(index)[0];
    assert.ok(entry && entry.kind === 'config');
    assert.deepEqual(decodeConfigEntry(entry.data).change, { type: 'addLearner', nodeId: 4, context: '{"name":"n4"}' });
  }
});

test('thesis §4.1: a restarted server takes its configuration from its snapshot and its log, committed or not', () => {
  const c = new TestCluster({ ids: [1, 2, 3] });
  c.elect(1);
  c.start(4, joining);
  change(c, 1, { type: 'addLearner', nodeId: 4 });
  c.stabilize();
  c.tickAll(1);
  c.compact(2);
  assert.deepEqual(c.node(2).currentSnapshot()?.meta.config, { voters: [1, 2, 3], learners: [4] });
  // A second change reaches node 2 but does not commit.
  c.filter = (m) => (m.from === 1 ? m.to === 2 : true) && !(m.from === 2 && m.to === 1);
  const index = change(c, 1, { type: 'promoteLearner', nodeId: 4 });
  c.stabilize();
  assert.equal(c.node(2).status().lastIndex, index);
  assert.ok(c.node(2).status().commit < index);

  for (const id of [2, 4]) {
    c.crash(id);
    // The bootstrap configuration passed at restart is ignored once the disk has one.
    c.start(id, joining);
  }
  assert.deepEqual(c.node(2).status().config, { voters: [1, 2, 3, 4], learners: [] }, 'from the uncommitted entry');
  assert.deepEqual(c.node(4).status().config, { voters: [1, 2, 3], learners: [4] }, 'from the committed entry');
});
