import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TestCluster } from './testing/test-cluster.js';

// Found by the simulator (seed 1, 5 nodes): a node that joins a running cluster starts
// with an empty bootstrap, so replaying the log from index 1 it met "remove node 1"
// while knowing no members and crashed on the config assertion. Config entries now
// name the configuration they produce (thesis §4.1: a server uses the latest
// configuration in its log), so the joining node takes the members from them.
test('§4.1: a node joining with an empty bootstrap follows config entries it cannot replay from the start', () => {
  const cluster = new TestCluster({ ids: [1, 2, 3, 4], bootstrap: { voters: [1, 2, 3], learners: [] } });
  cluster.crash(4);
  cluster.start(4, { voters: [], learners: [] });
  cluster.elect(2);
  const leader = cluster.node(2);
  cluster.proposeAt(2, 'a');
  cluster.stabilize();
  const removed = leader.proposeMembershipChange({ type: 'removeNode', nodeId: 1 });
  assert.ok(removed.ok);
  cluster.stabilize();
  cluster.tickAll(2);
  const added = leader.proposeMembershipChange({ type: 'addLearner', nodeId: 4 });
  assert.ok(added.ok, added.ok ? '' : added.message);
  cluster.tickAll(3);
  const joined = cluster.node(4).status();
  assert.deepEqual(joined.config, { voters: [2, 3], learners: [4] });
  assert.equal(joined.commit, leader.status().commit);
  const promoted = leader.proposeMembershipChange({ type: 'promoteLearner', nodeId: 4 });
  assert.ok(promoted.ok, promoted.ok ? '' : promoted.message);
  cluster.tickAll(3);
  assert.deepEqual(cluster.node(4).status().config, { voters: [2, 3, 4], learners: [] });
});
