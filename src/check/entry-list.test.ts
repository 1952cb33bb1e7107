import assert from 'node:assert/strict';
import { test } from 'node:test';
import { END, EntryList, isCall, operationOf } from './entry-list.js';

function walk(list: EntryList): string[] {
  const seen: string[] = [];
  for (let entry = list.first(); entry !== END; entry = list.after(entry)) {
    seen.push(`${isCall(entry) ? 'call' : 'return'} ${operationOf(entry)}`);
  }
  return seen;
}

test('entries are in time order, calls before returns at equal times, unknown returns last', () => {
  // Operation 0 runs [0, 5]; 1 runs [5, Infinity]; 2 runs [1, 2].
  const list = new EntryList([0, 5, 1], [5, Infinity, 2]);
  assert.deepEqual(walk(list), ['call 0', 'call 2', 'return 2', 'call 1', 'return 0', 'return 1']);
});

test('lift removes both entries of an operation and unlift restores them, last lifted first', () => {
  const list = new EntryList([0, 1, 2], [3, 4, 5]);
  const original = walk(list);
  list.lift(1);
  assert.deepEqual(walk(list), ['call 0', 'call 2', 'return 0', 'return 2']);
  list.lift(0);
  assert.deepEqual(walk(list), ['call 2', 'return 2']);
  list.lift(2);
  assert.equal(list.first(), END);
  list.unlift(2);
  list.unlift(0);
  list.unlift(1);
  assert.deepEqual(walk(list), original);
});

test('an operation whose call and return are neighbours lifts and comes back cleanly', () => {
  const list = new EntryList([0, 1], [2, 1]);
  assert.deepEqual(walk(list), ['call 0', 'call 1', 'return 1', 'return 0']);
  list.lift(1);
  assert.deepEqual(walk(list), ['call 0', 'return 0']);
  list.unlift(1);
  assert.deepEqual(walk(list), ['call 0', 'call 1', 'return 1', 'return 0']);
});
