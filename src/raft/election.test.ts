import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestCluster } from './testing/test-cluster.js';
import { RaftNode } from './node.js';
import { defaultRaftConfig } from './types.js';
import type { Message, VoteRequest } from './types.js';
import { Prng } from '../lib/prng.js';

const voteRequest = (fields: Partial<VoteRequest> & Pick<VoteRequest, 'from' | 'to' | 'term'>): VoteRequest => ({
  type: 'vote',
  lastLogIndex: 0,
  lastLogTerm: 0,
  transfer: false,
  ...fields,
});

function freshNode(id: number, overrides: Partial<typeof defaultRaftConfig> = {}): RaftNode {
  return new RaftNode({
    config: { ...defaultRaftConfig, ...overrides, id },
    persisted: { hardState: { term: 0, vote: 0, commit: 0 }, entries: [], snapshot: undefined },
    bootstrap: { voters: [1, 2, 3], learners: [] },
    random: new Prng(id),
  });
}

function drainMessages(node: RaftNode): Message[] {
  const ready = node.ready();
  node.advance(ready);
  return [...ready.messages];
}

test('§5.2: a node whose election timeout fires wins a pre-vote and a vote, and leads', () => {
  const c = new TestCluster({ ids: [1, 2, 3] });
  c.elect(1);
  const s = c.node(1).status();
  assert.equal(s.role, 'leader');
  assert.equal(s.term, 1);
  for (const id of [2, 3]) {
    assert.equal(c.node(id).status().leader, 1);
    assert.equal(c.node(id).status().term, 1);
  }
});

test('§5.2: election timeouts are randomized in [electionTicks, 2 * electionTicks)', () => {
  const seen = new Set<number>();
  for (let seed = 1; seed <= 200; seed++) {
    const node = new RaftNode({
      config: { ...defaultRaftConfig, id: 1, electionTicks: 10, preVote: false },
      persisted: { hardState: { term: 0, vote: 0, commit: 0 }, entries: [], snapshot: undefined },
      bootstrap: { voters: [1, 2, 3], learners: [] },
      random: new Prng(seed),
    });
    let ticks = 0;
    while (node.status().role === 'follower') {
      node.tick();
      ticks++;
      assert.ok(ticks < 20, `campaigned only after ${ticks} ticks`);
    }
    assert.ok(ticks >= 10, `campaigned after ${ticks} ticks`);
    seen.add(ticks);
  }
  assert.ok(seen.size >= 8, `timeouts should spread over the range, saw ${[...seen].sort()}`);
});

test('§5.2: at most one vote per term, first come first served', () => {
  const node = freshNode(1);
  node.step(voteRequest({ from: 2, to: 1, term: 5 }));
  node.step(voteRequest({ from: 3, to: 1, term: 5 }));
  const replies = drainMessages(node);
  assert.deepEqual(
    replies.map((m) => [m.to, m.type === 'voteResponse' && m.granted]),
    [
      [2, true],
      [3, false],
    ],
  );
  assert.equal(node.status().vote, 2);
  // The same candidate asking again (a retransmission) gets the same answer.
  node.step(voteRequest({ from: 2, to: 1, term: 5 }));
  const again = drainMessages(node);
  assert.equal(again.length, 1);
  assert.ok(again[0]?.type === 'voteResponse' && again[0].granted);
});

test('§5.4.1: a vote is refused to a candidate whose log is less up-to-date', () => {
  // Without check-quorum a follower does not ignore candidates while it hears a leader.
  const c = new TestCluster({ ids: [1, 2, 3], config: { checkQuorum: false } });
  c.elect(1);
  c.proposeAt(1, 'x');
  c.stabilize();
  const node2 = c.node(2);
  const last = node2.status();
  // Same last term, shorter log: refused.
  node2.step(voteRequest({ from: 3, to: 2, term: 9, lastLogIndex: last.lastIndex - 1, lastLogTerm: last.lastTerm }));
  // Older last term, longer log: refused.
  node2.step(voteRequest({ from: 3, to: 2, term: 9, lastLogIndex: last.lastIndex + 5, lastLogTerm: last.lastTerm - 1 }));
  // Higher last term, shorter log: granted.
  node2.step(voteRequest({ from: 3, to: 2, term: 9, lastLogIndex: 1, lastLogTerm: last.lastTerm + 1 }));
  const replies = c
    .node(2)
    .ready()
    .messages.filter((m) => m.type === 'voteResponse');
  assert.deepEqual(
    replies.map((m) => m.type === 'voteResponse' && m.granted),
    [false, false, true],
  );
});

test('§5.1: vote responses from an older term are ignored', () => {
  const node = freshNode(1, { preVote: false });
  while (node.status().role !== 'candidate') node.tick();
  drainMessages(node);
  const term = node.status().term;
  // A stale grant from an earlier term, from both peers: must not elect us.
  node.step({ type: 'voteResponse', from: 2, to: 1, term: term - 1, granted: true });
  node.step({ type: 'voteResponse', from: 3, to: 1, term: term - 1, granted: true });
  assert.equal(node.status().role, 'candidate');
  node.step({ type: 'voteResponse', from: 2, to: 1, term, granted: true });
  assert.equal(node.status().role, 'leader');
});

test('§5.1: a higher term in any message makes a leader step down; an older term is refused', () => {
  const c = new TestCluster({ ids: [1, 2, 3] });
  c.elect(1);
  const leader = c.node(1);
  leader.step({ type: 'heartbeatResponse', from: 2, to: 1, term: 7, seq: 0, lastIndex: 0 });
  assert.equal(leader.status().role, 'follower');
  assert.equal(leader.status().term, 7);
  const before = c.node(3).status();
  c.node(3).step({ type: 'append', from: 2, to: 3, term: 0, prevIndex: 0, prevTerm: 0, entries: [], commit: 0 });
  assert.deepEqual(c.node(3).status().term, before.term);
  assert.equal(c.node(3).status().leader, before.leader);
});

test('thesis §9.6: with pre-vote, a node rejoining after a partition does not disrupt the leader', () => {
  const c = new TestCluster({ ids: [1, 2, 3] });
  c.elect(1);
  const isolated = 3;
  c.filter = (m) => m.from !== isolated && m.to !== isolated;
  for (let i = 0; i < 100; i++) {
    c.tick(isolated);
    c.tick(1);
    c.tick(2);
    c.stabilize();
  }
  // It campaigned alone but pre-votes never reached a majority, so its term stayed.
  assert.equal(c.node(isolated).status().term, 1);
  c.filter = () => true;
  c.tickAll(5);
  assert.equal(c.node(1).status().role, 'leader');
  assert.equal(c.node(1).status().term, 1);
  assert.equal(c.node(isolated).status().leader, 1);
});

test('without pre-vote, an isolated node inflates its term and disrupts the leader on return (why pre-vote is on)', () => {
  const c = new TestCluster({ ids: [1, 2, 3], config: { preVote: false, checkQuorum: false } });
  c.elect(1);
  const isolated = 3;
  c.filter = (m) => m.from !== isolated && m.to !== isolated;
  for (let i = 0; i < 100; i++) {
    c.tick(isolated);
    c.stabilize();
  }
  assert.ok(c.node(isolated).status().term > 3);
  c.filter = () => true;
  for (let i = 0; i < 50 && c.node(1).status().term === 1; i++) c.tickAll();
  assert.ok(c.node(1).status().term > 1, 'the old leader was deposed by the higher term');
});

test('thesis §6.2: check-quorum makes a leader cut off from a majority step down', () => {
  const c = new TestCluster({ ids: [1, 2, 3] });
  c.elect(1);
  c.filter = (m) => m.from !== 1 && m.to !== 1;
  for (let i = 0; i < 2 * defaultRaftConfig.electionTicks; i++) {
    c.tick(1);
    c.stabilize();
  }
  assert.equal(c.node(1).status().role, 'follower');
  assert.equal(c.node(1).status().leader, 0);
});

test('thesis §4.2.3: a follower that hears from its leader ignores vote requests of higher terms', () => {
  const c = new TestCluster({ ids: [1, 2, 3] });
  c.elect(1);
  c.tick(2);
  c.node(2).step(voteRequest({ from: 3, to: 2, term: 5, lastLogIndex: 100, lastLogTerm: 5 }));
  const status = c.node(2).status();
  assert.equal(status.term, 1);
  assert.equal(status.vote, 1, 'still the vote it gave the leader');
  assert.ok(
    !c
      .node(2)
      .ready()
      .messages.some((m) => m.type === 'voteResponse'),
  );
});

test('a single-node cluster elects itself and commits alone', () => {
  const c = new TestCluster({ ids: [1] });
  c.elect(1);
  assert.equal(c.node(1).status().role, 'leader');
  c.proposeAt(1, 'solo');
  c.stabilize();
  assert.deepEqual(c.applied.get(1), ['solo']);
});

test('§5.2: a split vote resolves in a later term', () => {
  const c = new TestCluster({ ids: [1, 2, 3, 4], config: { preVote: false } });
  // 1 and 2 campaign at the same moment; each gets one vote besides its own.
  c.filter = (m) => !((m.from === 1 && m.to === 4) || (m.from === 2 && m.to === 3));
  for (const id of [1, 2]) while (c.node(id).status().role === 'follower') c.tick(id);
  c.stabilize();
  assert.equal(c.leader(), undefined);
  c.filter = () => true;
  for (let i = 0; i < 200 && !c.leader(); i++) c.tickAll();
  assert.ok(c.leader(), 'a leader emerges once timeouts differ');
  assert.ok((c.leader()?.status().term ?? 0) >= 2);
});
