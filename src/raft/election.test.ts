import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestCluster } from './testing.js';

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

test('§5.3: a proposal is replicated, committed and applied on every node', () => {
  const c = new TestCluster({ ids: [1, 2, 3] });
  c.elect(1);
  assert.ok(c.proposeAt(1, 'a').ok);
  assert.ok(c.proposeAt(2, 'b').ok, 'a follower forwards proposals to the leader');
  c.stabilize();
  c.tickAll(2);
  for (const id of [1, 2, 3]) assert.deepEqual(c.applied.get(id), ['a', 'b']);
});
