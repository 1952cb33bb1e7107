import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestCluster } from './testing/test-cluster.js';
import { RaftNode } from './node.js';
import { defaultRaftConfig } from './types.js';
import type { AppendRequest, Entry, Message, Ready } from './types.js';
import { Prng } from '../lib/prng.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const entry = (index: number, term: number, data = `e${index}`): Entry => ({ index, term, kind: 'normal', data: bytes(data) });

/** A follower at `term` whose log holds `entries`, as if restarted from disk. */
function followerWith(entries: Entry[], term: number, commit = 0): RaftNode {
  return new RaftNode({
    config: { ...defaultRaftConfig, id: 2 },
    persisted: { hardState: { term, vote: 0, commit }, entries, snapshot: undefined },
    bootstrap: { voters: [1, 2, 3], learners: [] },
    random: new Prng(2),
  });
}

const append = (fields: Omit<AppendRequest, 'type' | 'from' | 'to'>): AppendRequest => ({ type: 'append', from: 1, to: 2, ...fields });

function drain(node: RaftNode): Ready {
  const ready = node.ready();
  node.advance(ready);
  return ready;
}

test('Figure 2: a stale or duplicated AppendEntries never shrinks the log', () => {
  const node = followerWith([entry(1, 1), entry(2, 1), entry(3, 1), entry(4, 1)], 1);
  // An old message that carries only a prefix of what we hold, with matching terms.
  node.step(append({ term: 1, prevIndex: 1, prevTerm: 1, entries: [entry(2, 1)], commit: 0 }));
  node.checkInvariants();
  assert.equal(node.status().lastIndex, 4, 'entries 3 and 4 must survive');
  const reply = drain(node).messages[0];
  assert.ok(reply?.type === 'appendResponse' && reply.success);
  assert.equal(reply.index, 2, 'acknowledges only what the message verified');
});

test('Figure 2: a conflicting entry and all that follow it are deleted, nothing before it', () => {
  const node = followerWith([entry(1, 1), entry(2, 1), entry(3, 2), entry(4, 2)], 3);
  node.step(append({ term: 3, prevIndex: 2, prevTerm: 1, entries: [entry(3, 3, 'new3')], commit: 0 }));
  node.checkInvariants();
  assert.equal(node.status().lastIndex, 3);
  assert.equal(node.status().lastTerm, 3);
  assert.deepEqual(
    node.entriesFrom(1).map((e) => e.term),
    [1, 1, 3],
  );
});

test("Figure 2: a follower's commit index never passes the last entry it verified", () => {
  // Our entries 3..4 are of term 2 and may be stale; the leader's commit is 10.
  const node = followerWith([entry(1, 1), entry(2, 1), entry(3, 2), entry(4, 2)], 3);
  node.step(append({ term: 3, prevIndex: 1, prevTerm: 1, entries: [entry(2, 1)], commit: 10 }));
  node.checkInvariants();
  assert.equal(node.status().commit, 2, 'commit = min(leaderCommit, index of last new entry)');
});

test('§5.3: a mismatch is rejected with a hint, and the leader backs up past a whole term at once', () => {
  const c = new TestCluster({ ids: [1, 2, 3], config: { preVote: false, checkQuorum: false } });
  c.elect(1);
  // Node 1 writes 30 entries of its term that only it holds, then loses leadership.
  c.filter = (m) => m.from !== 1 && m.to !== 1;
  for (let i = 0; i < 30; i++) c.proposeAt(1, `lost${i}`);
  c.stabilize();
  for (let i = 0; i < 100 && !(c.leader()?.id === 2 || c.leader()?.id === 3); i++) {
    c.tick(2);
    c.tick(3);
    c.stabilize();
  }
  const newLeader = c.leader();
  assert.ok(newLeader && newLeader.id !== 1);
  c.proposeAt(newLeader.id, 'kept');
  c.stabilize();
  // Heal, and count how many appends it takes to bring node 1 back in line.
  let appendsToNode1 = 0;
  c.filter = (m) => {
    if (m.type === 'append' && m.to === 1) appendsToNode1++;
    return true;
  };
  for (let i = 0; i < 5; i++) c.tickAll();
  assert.equal(c.node(1).status().lastIndex, newLeader.status().lastIndex);
  assert.equal(c.node(1).status().lastTerm, newLeader.status().term);
  assert.ok(!c.applied.get(1)?.some((cmd) => cmd.startsWith('lost')), 'uncommitted entries of the old term are gone');
  assert.ok(appendsToNode1 < 12, `conflict hints should skip the 30 stale entries quickly (took ${appendsToNode1} appends)`);
});

test('Figure 8: a leader never commits an entry of an earlier term by counting replicas', () => {
  // Node 1 is leader of term 2 and holds entry (2, term 1) that a majority also holds,
  // from an earlier leader; its own term's no-op is not yet replicated.
  const c = new TestCluster({ ids: [1, 2, 3], config: { preVote: false, checkQuorum: false } });
  c.elect(1);
  c.filter = (m) => !(m.type === 'append' && m.to === 3);
  c.proposeAt(1, 'old');
  // Deliver the append to 2 but not its answer, so 1 cannot commit 'old' in term 1.
  c.filter = (m) => m.type !== 'appendResponse' && !(m.type === 'append' && m.to === 3);
  c.stabilize();
  assert.equal(c.node(1).status().commit, 1);
  // Node 1 crashes and comes back; it is elected for a later term with nobody acknowledging its no-op.
  c.crash(1);
  c.start(1);
  c.filter = (m) => !(m.type === 'append' && (m.to === 2 || m.to === 3) && m.entries.length > 0) && !(m.type === 'heartbeat');
  c.elect(1);
  const leader = c.node(1);
  assert.equal(leader.status().role, 'leader');
  // Now let followers acknowledge only up to entry 2 (term 1), not the new no-op.
  const term = leader.status().term;
  leader.step({ type: 'appendResponse', from: 2, to: 1, term, success: true, index: 2, hintIndex: 0, hintTerm: 0 });
  leader.step({ type: 'appendResponse', from: 3, to: 1, term, success: true, index: 2, hintIndex: 0, hintTerm: 0 });
  assert.equal(leader.status().commit, 1, 'entry 2 is on a majority but of term 1: not committed yet');
  leader.step({ type: 'appendResponse', from: 2, to: 1, term, success: true, index: 3, hintIndex: 0, hintTerm: 0 });
  c.processReadies();
  assert.equal(leader.status().commit, 3, 'committing the no-op of its term commits entry 2 with it');
});

test('§5.4.2: a new leader appends a no-op of its term at once', () => {
  const c = new TestCluster({ ids: [1, 2, 3] });
  c.elect(1);
  const first = c.node(1).entriesFrom(1)[0];
  assert.equal(first?.term, 1);
  assert.equal(first?.data.length, 0);
  assert.equal(c.node(2).status().commit, 1);
});

test('flow control: at most inflightMessagesMax appends are outstanding to a follower', () => {
  const c = new TestCluster({ ids: [1, 2, 3], config: { inflightMessagesMax: 3 } });
  c.elect(1);
  c.filter = (m) => m.type !== 'appendResponse';
  const sent: Message[] = [];
  for (let i = 0; i < 20; i++) {
    c.proposeAt(1, `p${i}`);
    c.processReadies();
    sent.push(...c.queue.filter((m) => m.type === 'append' && m.to === 2 && m.entries.length > 0));
    c.queue = [];
  }
  assert.equal(sent.length, 3);
  // Once answers flow again, the rest follows.
  c.filter = () => true;
  c.tickAll(3);
  assert.equal(c.applied.get(2)?.length, 20);
});

test('limits: entriesPerMessageMax and bytesPerMessageMax bound each append', () => {
  const c = new TestCluster({ ids: [1, 2], config: { entriesPerMessageMax: 4, bytesPerMessageMax: 1000 } });
  c.elect(1);
  c.crash(2);
  for (let i = 0; i < 10; i++) c.proposeAt(1, `small${i}`);
  for (let i = 0; i < 4; i++) c.proposeAt(1, 'x'.repeat(400));
  c.stabilize();
  c.start(2);
  const sizes: number[][] = [];
  c.filter = (m) => {
    if (m.type === 'append' && m.entries.length > 0) sizes.push(m.entries.map((e) => e.data.length));
    return true;
  };
  c.tickAll(10);
  assert.equal(c.applied.get(2)?.length, 14);
  for (const size of sizes) {
    assert.ok(size.length <= 4, `append carried ${size.length} entries`);
    const total = size.reduce((a, b) => a + b + 24, 0);
    assert.ok(size.length === 1 || total <= 1000, `append carried ${total} bytes`);
  }
});

test('limits: proposals past uncommittedBytesMax or entryBytesMax are refused with a reason', () => {
  const c = new TestCluster({ ids: [1, 2, 3], config: { uncommittedBytesMax: 100, entryBytesMax: 80 } });
  c.elect(1);
  c.filter = (m) => m.type !== 'appendResponse';
  const big = c.proposeAt(1, 'y'.repeat(81));
  assert.ok(!big.ok && big.reason === 'ENTRY_TOO_LARGE');
  assert.ok(c.proposeAt(1, 'a'.repeat(60)).ok);
  const refused = c.proposeAt(1, 'b'.repeat(60));
  assert.ok(!refused.ok);
  assert.equal(refused.reason, 'UNCOMMITTED_BYTES_LIMIT');
  assert.match(refused.message, /uncommittedBytesMax 100/);
  c.filter = () => true;
  c.tickAll(2);
  assert.ok(c.proposeAt(1, 'b'.repeat(60)).ok, 'room again once committed');
});

test('Figure 2 / Ready contract: a vote and an acknowledgement leave with the state that backs them', () => {
  const c = new TestCluster({ ids: [1, 2, 3] });
  c.elect(1);
  const follower = c.node(2);
  follower.step({ type: 'append', from: 1, to: 2, term: 1, prevIndex: 1, prevTerm: 1, entries: [entry(2, 1)], commit: 1 });
  const ready = follower.ready();
  const ack = ready.messages.find((m) => m.type === 'appendResponse');
  assert.ok(ack && ack.type === 'appendResponse' && ack.success && ack.index === 2);
  assert.deepEqual(
    ready.entries.map((e) => e.index),
    [2],
    'the acknowledged entry is in the same Ready, to be persisted before the ack is sent',
  );
  follower.advance(ready);

  const voter = new TestCluster({ ids: [1, 2, 3] }).node(3);
  voter.step({ type: 'vote', from: 1, to: 3, term: 4, lastLogIndex: 0, lastLogTerm: 0, transfer: false });
  const voteReady = voter.ready();
  assert.ok(voteReady.messages.some((m) => m.type === 'voteResponse' && m.granted));
  assert.deepEqual(voteReady.hardState, { term: 4, vote: 1, commit: 0 });
});

test('§5.3: a node restarted from its disk keeps its term, vote and log, and catches up', () => {
  const c = new TestCluster({ ids: [1, 2, 3] });
  c.elect(1);
  for (let i = 0; i < 5; i++) c.proposeAt(1, `w${i}`);
  c.stabilize();
  c.tickAll();
  const before = c.node(2).status();
  c.crash(2);
  c.proposeAt(1, 'while-down');
  c.stabilize();
  const restarted = c.start(2);
  assert.equal(restarted.status().term, before.term);
  assert.equal(restarted.status().vote, before.vote);
  assert.equal(restarted.status().lastIndex, before.lastIndex);
  c.tickAll(3);
  assert.deepEqual(c.applied.get(2), ['w0', 'w1', 'w2', 'w3', 'w4', 'while-down']);
});

test('§5.3: lost appends in the replicate state are noticed from heartbeat answers and resent', () => {
  const c = new TestCluster({ ids: [1, 2, 3] });
  c.elect(1);
  c.proposeAt(1, 'first');
  c.tickAll();
  c.filter = (m) => !(m.type === 'append' && m.to === 2);
  c.proposeAt(1, 'lost-once');
  c.stabilize();
  assert.deepEqual(c.applied.get(2), ['first']);
  c.filter = () => true;
  c.tickAll(3);
  assert.deepEqual(c.applied.get(2), ['first', 'lost-once']);
});

test('thesis §10.2.1: a leader whose entry a majority acknowledged commits it only after its own write', () => {
  // The leader sends its append before writing its own copy (as a leader may); node 2
  // acknowledges, node 3 does not: the leader's own copy is the deciding one.
  const c = new TestCluster({ ids: [1, 2, 3] });
  c.elect(1);
  const leader = c.node(1);
  const follower = c.node(2);
  const index = leader.status().lastIndex + 1;
  assert.ok(c.proposeAt(1, 'x').ok);
  const ready = leader.ready();
  assert.deepEqual(
    ready.entries.map((e) => e.index),
    [index],
  );
  const append = ready.messages.find((m) => m.type === 'append' && m.to === 2);
  assert.ok(append);
  assert.equal(follower.step(append), undefined);
  const followerReady = follower.ready();
  follower.advance(followerReady);
  const ack = followerReady.messages.find((m) => m.type === 'appendResponse');
  assert.ok(ack && ack.type === 'appendResponse' && ack.success && ack.index === index);
  assert.equal(leader.step(ack), undefined);
  assert.equal(leader.status().commit, index - 1, 'one durable copy of three is no majority');
  // The leader's write completes: now two copies are durable.
  leader.advance(ready);
  assert.equal(leader.status().commit, index);
});

test('a commit reaches a follower in replicate state as a commit-only append, which it applies and does not answer', () => {
  const c = new TestCluster({ ids: [1, 2, 3] });
  c.elect(1);
  c.proposeAt(1, 'warm up');
  c.stabilize(); // both followers now in replicate state
  const seen: Message[] = [];
  c.filter = (m) => {
    seen.push(m);
    return true;
  };
  c.proposeAt(1, 'x');
  c.stabilize();
  const last = c.node(1).status().lastIndex;
  const commitOnly = seen.filter((m): m is AppendRequest => m.type === 'append' && m.commitOnly === true);
  assert.deepEqual(commitOnly.map((m) => [m.to, m.entries.length, m.commit]).sort(), [
    [2, 0, last],
    [3, 0, last],
  ]);
  const answers = seen.filter((m) => m.type === 'appendResponse');
  assert.equal(answers.length, 2, 'one answer per follower, to the append that carried the entry');
  for (const id of [2, 3]) assert.equal(c.node(id).status().commit, last, `node ${id} learned the commit`);
});

test('a commit-only append that does not match the follower log is still rejected, so the leader backs up', () => {
  const node = followerWith([entry(1, 1), entry(2, 1)], 2);
  node.step(append({ term: 2, prevIndex: 3, prevTerm: 2, entries: [], commit: 3, commitOnly: true }));
  const reply = drain(node).messages[0];
  assert.ok(reply?.type === 'appendResponse' && !reply.success, 'a rejection is answered');
  assert.equal(node.status().commit, 0);
  node.step(append({ term: 2, prevIndex: 2, prevTerm: 1, entries: [], commit: 2, commitOnly: true }));
  assert.deepEqual(drain(node).messages, [], 'a match is not answered');
  assert.equal(node.status().commit, 2);
});

test('a follower whose acknowledgement was lost is asked again after a heartbeat, and that question is answered', () => {
  const c = new TestCluster({ ids: [1, 2, 3] });
  c.elect(1);
  c.proposeAt(1, 'warm up');
  c.stabilize();
  c.filter = (m) => !(m.type === 'appendResponse' && m.from === 2); // node 2's acknowledgement is lost
  c.proposeAt(1, 'x');
  c.stabilize();
  const last = c.node(1).status().lastIndex;
  const matchOf2 = (): number =>
    c
      .node(1)
      .status()
      .peers.find((p) => p.id === 2)?.match ?? 0;
  assert.equal(c.node(2).status().lastIndex, last, 'node 2 holds the entry');
  assert.ok(matchOf2() < last, 'the leader does not know it');
  c.filter = () => true;
  c.tick(1, defaultRaftConfig.heartbeatTicks); // a heartbeat; its answer shows node 2's log past its match
  c.stabilize();
  assert.equal(matchOf2(), last, 'the resend was answered');
});
