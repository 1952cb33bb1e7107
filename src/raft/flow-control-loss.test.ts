import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Progress } from './progress.js';
import { TestCluster } from './testing/test-cluster.js';

// Found by the simulator (seed 33, 3 nodes, all fault kinds, inflightMessagesMax 1):
// empty appends (commit updates) took a slot of the in-flight window; once one was
// lost nothing could free it, because the heartbeat answers show no missing entries.
test('flow control: an empty append does not take a slot of the in-flight window', () => {
  const pr = new Progress(1, 1, 1024);
  pr.maybeUpdate(4);
  pr.becomeReplicate();
  pr.sentEntries(4, 0); // an append with no entries (prevIndex 4)
  assert.equal(pr.isPaused(), false);
  assert.equal(pr.next, 5);
  pr.sentEntries(6, 10);
  assert.equal(pr.isPaused(), true);
  assert.equal(pr.next, 7);
});

// etcd-io/raft's MaxInflightBytes: large entries fill the window by bytes long before
// they fill it by count, so a follower (and the wire to it) never buffers more than
// the byte bound of unacknowledged appends; acknowledgements free the bytes.
test('flow control: the in-flight window is bounded in entry bytes as well as in messages', () => {
  const pr = new Progress(1, 64, 3 * 1024);
  pr.becomeReplicate();
  pr.sentEntries(1, 1024);
  pr.sentEntries(2, 1024);
  assert.equal(pr.isPaused(), false, 'two of three KiB in flight');
  pr.sentEntries(3, 1024);
  assert.equal(pr.isPaused(), true, 'the byte bound is reached with 3 of 64 messages');
  assert.equal(pr.inflightBytes, 3 * 1024);
  pr.maybeUpdate(2);
  assert.equal(pr.isPaused(), false, 'acknowledging two appends frees their bytes');
  assert.equal(pr.inflightBytes, 1024);
  pr.sentEntries(5, 4 * 1024);
  assert.equal(pr.isPaused(), true);
  pr.freeFirstInflightIfFull();
  assert.equal(pr.inflightBytes, 4 * 1024, 'a heartbeat answer frees the oldest append, as for a full message window');
  pr.becomeProbe();
  assert.equal(pr.inflightBytes, 0);
});

// Found by the simulator (seed 78, 3 nodes, all fault kinds): with the window full, a
// lost acknowledgement stalled replication to that follower for good.
test('§5.3 / flow control: a lost acknowledgement with a full window does not stall replication', () => {
  const cluster = new TestCluster({ ids: [1, 2, 3], config: { inflightMessagesMax: 1 } });
  cluster.elect(1);
  const leader = cluster.node(1);
  let dropped = 0;
  cluster.filter = (m) => !(m.type === 'appendResponse' && m.from === 3 && m.success && dropped++ === 0);
  cluster.proposeAt(1, 'a');
  cluster.stabilize();
  assert.equal(dropped, 1, 'the acknowledgement was dropped');
  cluster.filter = () => true;
  cluster.proposeAt(1, 'b');
  cluster.tickAll(5);
  const last = leader.status().lastIndex;
  const peer = leader.status().peers.find((p) => p.id === 3);
  assert.equal(peer?.match, last);
  assert.equal(cluster.node(3).status().commit, last);
});
