import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Progress } from './progress.js';

// Found by the simulator (seed 33, 3 nodes, all fault kinds, inflightMessagesMax 1):
// empty appends (commit updates) took a slot of the in-flight window; once one was
// lost nothing could free it, because the heartbeat answers show no missing entries.
test('flow control: an empty append does not take a slot of the in-flight window', () => {
  const pr = new Progress(1, 1);
  pr.maybeUpdate(4);
  pr.becomeReplicate();
  pr.sentEntries(4); // an append with no entries (prevIndex 4)
  assert.equal(pr.isPaused(), false);
  assert.equal(pr.next, 5);
  pr.sentEntries(6);
  assert.equal(pr.isPaused(), true);
  assert.equal(pr.next, 7);
});
