import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { OperationName } from './history.js';
import type { Call } from './models.js';
import { NO_GROUP, UnknownGroups } from './unknown-groups.js';

function call(f: OperationName, argument: number, replacement = 0): Call {
  return { f, known: false, argument, replacement, observed: 0 };
}

// Operations 10 to 15: write 1, cas 1→2, write 1, write 2, cas 1→2, delete.
const calls = new Map<number, Call>([
  [10, call('write', 1)],
  [11, call('cas', 1, 2)],
  [12, call('write', 1)],
  [13, call('write', 2)],
  [14, call('cas', 1, 2)],
  [15, call('delete', 0)],
]);

function groupsInOrder(groups: UnknownGroups): number[] {
  const nexts: number[] = [];
  for (let group = groups.first(); group !== NO_GROUP; group = groups.after(group)) nexts.push(groups.nextOf(group));
  return nexts;
}

test('operations that do the same thing share a group, which offers its earliest first', () => {
  const groups = new UnknownGroups([...calls.keys()], (operation) => calls.get(operation) as Call);
  assert.deepEqual(groupsInOrder(groups), [10, 11, 13, 15]);
  assert.equal(groups.groupOfOperation(12), groups.groupOfOperation(10));
  assert.notEqual(groups.groupOfOperation(13), groups.groupOfOperation(10));
});

test('placing moves a group to its next operation and drops it once all are placed; undoing restores it', () => {
  const groups = new UnknownGroups([...calls.keys()], (operation) => calls.get(operation) as Call);
  groups.placed(10);
  assert.deepEqual(groupsInOrder(groups), [12, 11, 13, 15]);
  groups.placed(12);
  groups.placed(15);
  assert.deepEqual(groupsInOrder(groups), [11, 13]);
  assert.throws(() => groups.placed(14), /out of its group's order/);
  groups.unplaced(15);
  groups.unplaced(12);
  groups.unplaced(10);
  assert.deepEqual(groupsInOrder(groups), [10, 11, 13, 15]);
});

test('no operations, no groups', () => {
  assert.equal(new UnknownGroups([], () => call('write', 1)).first(), NO_GROUP);
});
