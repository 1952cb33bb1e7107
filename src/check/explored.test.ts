import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ExploredConfigurations } from './explored.js';
import { LinearizedSet } from './linearized-set.js';

test('a configuration is new once: the same set with the same state is explored', () => {
  const explored = new ExploredConfigurations();
  const set = new LinearizedSet([10, 2]);
  set.add(1);
  set.add(10);
  assert.equal(explored.add(set, 5), true);
  assert.equal(explored.add(set, 5), false);
  assert.equal(explored.add(set, 6), true, 'another state is another configuration');
  set.add(2);
  assert.equal(explored.add(set, 5), true, 'another set is another configuration');
  set.remove(2);
  assert.equal(explored.add(set, 6), false);
});
