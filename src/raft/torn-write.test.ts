import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Prng } from '../lib/prng.js';
import { RaftNode } from './node.js';
import { defaultRaftConfig, type Entry } from './types.js';

function entry(index: number, term: number): Entry {
  return { index, term, kind: 'normal', data: new Uint8Array() };
}

// Found by the simulator (seed 727, 5 nodes, torn writes): a follower's first append from the leader of
// a new term carries entries of that term and the new hard state in one Ready; a
// crash mid-write kept the entries but not the hard state, and the restarted node
// failed its invariant "last log term <= current term".
test('Figure 2: a node restarted from a torn write takes the newest term of its log, with no vote', () => {
  const node = new RaftNode({
    config: { ...defaultRaftConfig, id: 1 },
    persisted: { hardState: { term: 1, vote: 2, commit: 1 }, snapshot: undefined, entries: [entry(1, 1), entry(2, 3)] },
    bootstrap: { voters: [1, 2, 3], learners: [] },
    random: new Prng(1),
  });
  node.checkInvariants();
  const status = node.status();
  assert.equal(status.term, 3);
  assert.equal(status.vote, 0);
  assert.equal(status.commit, 1);
  const ready = node.ready();
  assert.deepEqual(ready.hardState, { term: 3, vote: 0, commit: 1 });
  node.advance(ready);
  node.checkInvariants();
});
