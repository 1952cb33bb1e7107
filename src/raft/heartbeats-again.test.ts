/**
 * heartbeatsAgain: what a node whose event loop is held by a long apply sends from
 * inside it, changing nothing on it. A leader's latest round again, to every follower:
 * it keeps their election timers from running out, and its answers confirm the reads
 * waiting on that round (thesis §6.4), as the round's own would. A follower's latest
 * answer again: it keeps its leader's check-quorum satisfied.
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
  assert.deepEqual(c.node(2).heartbeatsAgain(), [], 'a follower that has answered no heartbeat of this term has nothing to repeat');

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

test('followers held by a long apply answer their leader again from inside it: its check-quorum keeps it leader', () => {
  const run = (answerAgain: boolean): string => {
    const c = new TestCluster({ ids: [1, 2, 3] });
    c.elect(1);
    c.tickAll(); // a heartbeat round, answered
    if (answerAgain) {
      assert.deepEqual(
        c
          .node(2)
          .heartbeatsAgain()
          .map((m) => ({ type: m.type, from: m.from, to: m.to })),
        [{ type: 'heartbeatResponse', from: 2, to: 1 }],
      );
    }
    // The followers are held: nothing reaches them, and they send only what they repeat.
    c.filter = () => false;
    for (let tick = 0; tick < 3 * 10; tick++) {
      c.tick(1);
      c.stabilize();
      if (!answerAgain) continue;
      for (const id of [2, 3]) for (const message of c.node(id).heartbeatsAgain()) assert.equal(c.node(1).step(message), undefined);
      c.stabilize();
    }
    return c.node(1).status().role;
  };
  assert.equal(run(false), 'follower', 'silent followers: the leader steps down after an election timeout (check-quorum)');
  assert.equal(run(true), 'leader');
});
