import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ExploredConfigurations } from './explored.js';
import { LinearizedSet } from './linearized-set.js';

test('a configuration is new once: the same set with the same state is explored', () => {
  const explored = new ExploredConfigurations();
  const set = new LinearizedSet(10, 2);
  set.add(1);
  const first = explored.add(set, 5);
  assert.ok(first >= 0);
  explored.finish(first);
  assert.equal(explored.add(set, 5), -1);
  assert.ok(explored.add(set, 6) >= 0, 'another state is another configuration');
  set.add(2);
  assert.ok(explored.add(set, 5) >= 0, 'another set is another configuration');
});

test('a finished configuration also cuts those placing more unknown operations, and only those', () => {
  const explored = new ExploredConfigurations();
  const set = new LinearizedSet(4, 4);
  set.add(0);
  set.add(5);
  const fewer = explored.add(set, 1);
  set.add(6);
  assert.ok(explored.add(set, 1) >= 0, 'not cut while the configuration with fewer is unfinished');
  explored.finish(fewer);
  set.add(7);
  assert.equal(explored.add(set, 1), -1, 'a superset of unknown operations is cut');
  set.remove(5);
  assert.ok(explored.add(set, 1) >= 0, 'a set without unknown operation 5 is not a superset');
  set.add(5);
  set.add(1);
  assert.ok(explored.add(set, 1) >= 0, 'other known operations: another family');
});

test('the memo grows past its first allocations', () => {
  const explored = new ExploredConfigurations();
  const set = new LinearizedSet(5000, 0);
  for (let member = 0; member < 5000; member += 1) {
    set.add(member);
    const configuration = explored.add(set, member % 3);
    assert.ok(configuration >= 0);
    explored.finish(configuration);
  }
  for (let member = 4999; member >= 0; member -= 1) {
    assert.equal(explored.add(set, member % 3), -1, `configuration ${member} is remembered`);
    set.remove(member);
  }
});
