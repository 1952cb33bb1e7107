import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeelError } from './errors.js';
import { PendingWrites } from './pending.js';

function track(
  writes: PendingWrites<string>,
  id: string,
  fields: { index: number | undefined; forwardedTo: number; bytes?: number },
): { settled: () => string | KeelError | undefined } {
  let outcome: string | KeelError | undefined;
  writes.add(id, { ...fields, bytes: fields.bytes ?? 10, deadlineMs: Infinity, resolve: (v) => (outcome = v), reject: (e) => (outcome = e) });
  return { settled: () => outcome };
}

test('pending writes: a leader change fails at once the writes forwarded to another leader, with an unknown outcome', () => {
  const writes = new PendingWrites<string>();
  const toOld = track(writes, 'a', { index: undefined, forwardedTo: 2 });
  const toNew = track(writes, 'b', { index: undefined, forwardedTo: 3 });
  const ownEntry = track(writes, 'c', { index: 7, forwardedTo: 0 });
  assert.equal(writes.bytes, 30);
  writes.leaderChanged(3);
  const failed = toOld.settled();
  assert.ok(failed instanceof KeelError);
  assert.equal(failed.code, 'LEADER_CHANGED');
  assert.equal(failed.outcome, 'unknown', 'the forward may still apply: the client must not take it as not applied');
  assert.equal(toNew.settled(), undefined, 'a write forwarded to the new leader keeps waiting');
  assert.equal(ownEntry.settled(), undefined, 'an entry in our own log waits for its index to apply or be taken');
  assert.equal(writes.size, 2);
  assert.equal(writes.bytes, 20, 'the failed write no longer counts against the bytes in flight');
  // No leader known: every forwarded write has lost its leader.
  writes.leaderChanged(0);
  assert.ok(toNew.settled() instanceof KeelError);
  writes.applied(7, 'c', () => 'done');
  assert.equal(ownEntry.settled(), 'done');
  assert.equal(writes.bytes, 0);
});
