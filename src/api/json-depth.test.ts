import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nestsDeeperThan } from './json-depth.js';

test('JSON depth: counts arrays and objects inside each other, not brackets inside strings', () => {
  assert.equal(nestsDeeperThan('{"a":[1,{"b":2}]}', 3), false);
  assert.equal(nestsDeeperThan('{"a":[1,{"b":2}]}', 2), true);
  assert.equal(nestsDeeperThan('{"a":"[[[[[[[[[[","b":"\\\\\\"{{{{{{"}', 1), false, 'brackets in strings, escaped quotes included');
  assert.equal(nestsDeeperThan('[]'.repeat(1000), 1), false, 'siblings do not add up');
  assert.equal(nestsDeeperThan(`${'{"value":'.repeat(100)}1${'}'.repeat(100)}`, 64), true);
});
