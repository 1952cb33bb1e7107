import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Message } from './types.js';
import { TestCluster } from './testing/test-cluster.js';

// Found by the simulator (seed 180, 3 nodes, all fault kinds, pre-vote off): a removed
// node with an empty log kept campaigning; every vote request made the others step
// down to its term and restart their election timers, so the one node that could win
// never timed out, and the cluster had no leader for good.
test('Figure 2: refusing a vote request of a higher term does not restart the election timer', () => {
  const cluster = new TestCluster({ ids: [1, 2, 3], config: { preVote: false, checkQuorum: false, electionTicks: 10 } });
  cluster.elect(1);
  cluster.proposeAt(1, 'a');
  cluster.stabilize();
  cluster.crash(1);
  const node = cluster.node(2);
  let term = node.status().term;
  for (let round = 0; round < 5 && node.status().role === 'follower'; round++) {
    cluster.tick(2, 9); // fewer than the minimum election timeout
    if (node.status().role !== 'follower') break;
    term += 1;
    const stale: Message = { type: 'vote', from: 3, to: 2, term, lastLogIndex: 0, lastLogTerm: 0, transfer: false };
    node.step(stale);
    node.checkInvariants();
    assert.equal(node.status().term, term, 'the higher term is adopted');
    assert.equal(node.status().vote, 0, 'the stale candidate gets no vote');
  }
  assert.equal(node.status().role, 'candidate', 'node 2 campaigns within 2 * electionTicks of its own ticks');
});

// Found by the simulator (seed 2019, 3 nodes, pre-vote off): node 1 (voters [1,4])
// needed node 4's vote, but node 4 (an older configuration, where 1 is a learner)
// silently dropped its requests of a lower term and never wrote to node 1; both
// raised their terms at the same pace and no leader was ever elected.
test('Figure 2: a vote request of an older term is refused with the current term', () => {
  const cluster = new TestCluster({ ids: [1, 2, 3], config: { preVote: false, checkQuorum: false } });
  cluster.elect(1);
  cluster.stabilize();
  const ahead: Message = { type: 'vote', from: 3, to: 2, term: 10, lastLogIndex: 0, lastLogTerm: 0, transfer: false };
  cluster.node(2).step(ahead);
  cluster.stabilize();
  assert.equal(cluster.node(2).status().term, 10);
  cluster.crash(3);
  cluster.crash(1);
  cluster.start(1);
  cluster.filter = (m) => m.to !== 3;
  const candidate = cluster.node(1);
  for (let i = 0; i < 100 && candidate.status().role !== 'candidate'; i++) cluster.tick(1);
  assert.equal(candidate.status().role, 'candidate');
  assert.ok(candidate.status().term < 10);
  cluster.stabilize();
  assert.ok(candidate.status().term >= 10, `the candidate learned the newer term (now ${candidate.status().term})`);
});
