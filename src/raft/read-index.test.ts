import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestCluster } from './testing/test-cluster.js';
import type { Message } from './types.js';

test('thesis §6.4: a read on the leader is served at the commit index after a majority confirms leadership', () => {
  const c = new TestCluster({ ids: [1, 2, 3] });
  c.elect(1);
  c.proposeAt(1, 'a');
  c.stabilize();
  const commit = c.node(1).status().commit;
  // Hold heartbeat answers: no confirmation yet, so no read state.
  c.filter = (m) => m.type !== 'heartbeatResponse';
  assert.ok(c.node(1).readIndex('r1').ok);
  c.stabilize();
  assert.deepEqual(c.readStates.get(1), []);
  c.filter = () => true;
  c.tickAll();
  assert.deepEqual(c.readStates.get(1), [{ readId: 'r1', index: commit }]);
});

test('thesis §6.4: no read is served before the leader has committed an entry of its own term', () => {
  const c = new TestCluster({ ids: [1, 2, 3] });
  c.elect(1);
  c.proposeAt(1, 'a');
  c.stabilize();
  // Node 2 takes over, but its no-op cannot be acknowledged yet.
  c.filter = (m) => m.type !== 'appendResponse';
  c.node(1).transferLeadership(2);
  c.stabilize();
  const leader = c.node(2);
  assert.equal(leader.status().role, 'leader');
  assert.ok(leader.readIndex('early').ok);
  c.tickAll(3);
  assert.deepEqual(c.readStates.get(2), [], 'held back while commit is only known for older terms');
  c.filter = () => true;
  c.tickAll(2);
  const states = c.readStates.get(2) ?? [];
  assert.equal(states.length, 1);
  assert.equal(states[0]?.index, leader.status().commit);
  assert.equal(leader.entriesFrom(states[0]?.index ?? 0)[0]?.term, leader.status().term);
});

test('thesis §6.4: reads that arrive together share one heartbeat round', () => {
  const c = new TestCluster({ ids: [1, 2, 3] });
  c.elect(1);
  let heartbeats = 0;
  c.filter = (m) => {
    if (m.type === 'heartbeat') heartbeats++;
    return true;
  };
  for (let i = 0; i < 50; i++) assert.ok(c.node(1).readIndex(`r${i}`).ok);
  c.stabilize();
  assert.equal(c.readStates.get(1)?.length, 50);
  // One round for the first read, at most one more for those that queued behind it.
  assert.ok(heartbeats <= 4, `${heartbeats} heartbeats for 50 reads`);
});

test('thesis §6.4: a follower forwards a read and serves it at the index the leader returns', () => {
  const c = new TestCluster({ ids: [1, 2, 3] });
  c.elect(1);
  c.proposeAt(1, 'x');
  c.stabilize();
  assert.ok(c.node(3).readIndex('from-follower').ok);
  c.stabilize();
  assert.deepEqual(c.readStates.get(3), [{ readId: 'from-follower', index: c.node(1).status().commit }]);
});

test('thesis §6.4: a leader cut off from the majority serves no reads', () => {
  const c = new TestCluster({ ids: [1, 2, 3] });
  c.elect(1);
  c.filter = (m) => m.from !== 1 && m.to !== 1;
  c.node(1).readIndex('stale?');
  for (let i = 0; i < 30; i++) c.tickAll();
  assert.deepEqual(c.readStates.get(1), []);
  assert.notEqual(c.node(1).status().role, 'leader');
});

test('a follower with no known leader refuses reads and proposals with NO_LEADER', () => {
  const c = new TestCluster({ ids: [1, 2, 3] });
  const read = c.node(2).readIndex('r');
  assert.ok(!read.ok && read.reason === 'NO_LEADER');
  const write = c.proposeAt(2, 'w');
  assert.ok(!write.ok && write.reason === 'NO_LEADER');
});

test('limits: reads beyond pendingReadsMax are refused with READ_QUEUE_FULL', () => {
  const c = new TestCluster({ ids: [1, 2, 3], config: { pendingReadsMax: 3 } });
  c.elect(1);
  c.filter = (m) => m.type !== 'heartbeatResponse';
  for (let i = 0; i < 3; i++) assert.ok(c.node(1).readIndex(`r${i}`).ok);
  const refused = c.node(1).readIndex('r3');
  assert.ok(!refused.ok && refused.reason === 'READ_QUEUE_FULL');
});

test('thesis §6.4: an answer to an earlier heartbeat round does not release a read queued after it', () => {
  const c = new TestCluster({ ids: [1, 2, 3] });
  c.elect(1);
  c.proposeAt(1, 'a');
  c.stabilize();
  const held: Message[] = [];
  c.filter = (m) => {
    if (m.type !== 'heartbeatResponse') return true;
    held.push(m);
    return false;
  };
  // A heartbeat round starts; its answers are held (stale by the time they arrive).
  c.tick(1);
  c.stabilize();
  const stale = held.splice(0);
  assert.equal(stale.length, 2);
  // The read is queued after that round started: only a later round may confirm it.
  assert.ok(c.node(1).readIndex('late').ok);
  c.stabilize();
  const fresh = held.splice(0);
  assert.equal(fresh.length, 2, 'the read started a round of its own');
  for (const answer of stale) assert.equal(c.node(1).step(answer), undefined);
  c.processReadies();
  assert.deepEqual(c.readStates.get(1), [], 'answers to the earlier round confirm nothing about leadership after it');
  for (const answer of fresh) assert.equal(c.node(1).step(answer), undefined);
  c.processReadies();
  assert.deepEqual(
    c.readStates.get(1)?.map((r) => r.readId),
    ['late'],
  );
});

test('thesis §6.4.1: a leader tells the newest heartbeat round a majority answered, once an entry of its term has committed', () => {
  const c = new TestCluster({ ids: [1, 2, 3] });
  c.elect(1);
  c.proposeAt(1, 'a');
  c.stabilize();
  assert.equal(c.node(2).leadershipConfirmed(), undefined, 'a follower has no leadership to confirm');
  const rounds: number[] = [];
  const heartbeatsOf = (keep: (m: Message) => boolean) => (m: Message) => {
    if (m.type === 'heartbeat') rounds.push(m.seq);
    return keep(m);
  };
  c.filter = heartbeatsOf(() => true);
  assert.ok(c.node(1).readIndex('r1').ok);
  c.stabilize();
  const answered = rounds[rounds.length - 1] as number;
  assert.deepEqual(c.node(1).leadershipConfirmed(), { round: answered, commit: c.node(1).status().commit });

  c.filter = heartbeatsOf((m) => m.type !== 'heartbeatResponse');
  assert.ok(c.node(1).readIndex('r2').ok);
  c.stabilize();
  assert.ok((rounds[rounds.length - 1] as number) > answered, 'a later round went out');
  assert.equal(c.node(1).leadershipConfirmed()?.round, answered, 'and no majority answered it');

  // Node 2 takes over, but its no-op cannot be acknowledged yet.
  c.filter = (m) => m.type !== 'appendResponse';
  c.node(1).transferLeadership(2);
  c.stabilize();
  assert.equal(c.node(2).status().role, 'leader');
  assert.equal(c.node(2).leadershipConfirmed(), undefined, 'its commit index may still miss what earlier leaders committed');
  c.filter = () => true;
  c.tickAll(2);
  assert.equal(c.node(2).leadershipConfirmed()?.commit, c.node(2).status().commit);
});
