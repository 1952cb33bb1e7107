/**
 * heartbeatsAgain: what a leader whose event loop is held by a long apply sends from
 * inside it. The latest round again, to every follower, changing nothing on the
 * leader: it keeps the followers' election timers from running out, and its answers
 * confirm the reads waiting on that round (thesis §6.4), as the round's own would.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestCluster } from './testing/test-cluster.js';

test('a busy leader sends its latest heartbeat round again: followers stay, reads waiting on the round are served, the leader is unchanged', () => {
  const c = new TestCluster({ ids: [1, 2, 3] });
  c.elect(1);
  c.proposeAt(1, 'a');
  c.stabilize();
  const leader = c.node(1);
  const commit = leader.status().commit;
  assert.deepEqual(c.node(2).heartbeatsAgain(), [], 'only a leader has heartbeats to send');

  // A read whose round's answers are lost.
  c.filter = (m) => m.type !== 'heartbeatResponse';
  assert.ok(leader.readIndex('r1').ok);
  c.stabilize();
  assert.deepEqual(c.readStates.get(1), []);
  c.filter = () => true;
  // The leader's ticks are held up; the followers' election timers run to their last tick.
  for (const id of [2, 3]) {
    const timer = c.node(id).electionTimer();
    c.tick(id, timer.timeoutTicks - timer.elapsedTicks - 1);
  }

  const before = leader.status();
  const again = leader.heartbeatsAgain();
  assert.deepEqual(leader.status(), before, 'sending again changes nothing on the leader');
  assert.deepEqual(
    again.map((m) => ({ type: m.type, from: m.from, to: m.to, term: m.term })),
    [2, 3].map((to) => ({ type: 'heartbeat', from: 1, to, term: before.term })),
  );
  c.queue.push(...again);
  c.stabilize();
  for (const id of [2, 3]) {
    assert.equal(c.node(id).electionTimer().elapsedTicks, 0, `node ${id} heard from its leader`);
    c.tick(id);
    assert.equal(c.node(id).status().role, 'follower', `node ${id} does not campaign at what was its last tick`);
  }
  assert.deepEqual(c.readStates.get(1), [{ readId: 'r1', index: commit }], "the round's read is confirmed by the answers to its repeat");
});
