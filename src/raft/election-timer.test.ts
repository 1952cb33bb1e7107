import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Message } from './types.js';
import { TestCluster } from './testing.js';

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
