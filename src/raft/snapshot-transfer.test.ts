import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TestCluster, encodeCommands } from './testing/test-cluster.js';

// Found by the simulator (seed 963, 3 nodes, all fault kinds, 16-byte chunks): the
// leader compacted again while sending a snapshot in chunks; the heartbeat answer
// path then resent bytes of the newer snapshot under the older transfer, the
// follower's answers named the newer snapshot and were ignored, and the transfer
// looped for good.
test('§7 / Figure 13: a snapshot transfer survives the leader compacting again meanwhile', () => {
  const cluster = new TestCluster({ ids: [1, 2, 3], config: { snapshotChunkBytesMax: 4 } });
  cluster.elect(1);
  const leader = cluster.node(1);
  cluster.crash(3);
  for (const command of ['a', 'b', 'c', 'd']) cluster.proposeAt(1, command);
  cluster.stabilize();
  const compact = (): void => leader.compact({ index: leader.status().applied, data: encodeCommands(cluster.applied.get(1) ?? []) });
  compact();
  let chunks = 0;
  cluster.filter = (m) => !(m.type === 'snapshot' && m.to === 3 && ++chunks > 1);
  cluster.start(3);
  cluster.tickAll(3);
  assert.ok(chunks > 1, 'the transfer started and its later chunks were lost');
  for (const command of ['e', 'f']) cluster.proposeAt(1, command);
  cluster.stabilize();
  compact();
  cluster.filter = () => true;
  cluster.tickAll(30);
  assert.equal(cluster.node(3).status().commit, leader.status().commit);
  assert.deepEqual(cluster.applied.get(3), cluster.applied.get(1));
});
