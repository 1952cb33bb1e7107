import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pairOperations } from './history.js';
import { randomHistory, type RandomHistoryOptions } from './random-history.js';

const options: RandomHistoryOptions = { seed: 3, operations: 500, processes: 5, keys: ['a', 'b'], kind: 'register', failChance: 0.1, unknownChance: 0.1 };

test('a seed gives always the same history', () => {
  assert.deepEqual(randomHistory(options), randomHistory(options));
  assert.notDeepEqual(randomHistory(options), randomHistory({ ...options, seed: 4 }));
});

test('invokes as many operations as asked, all completed, as a valid history', () => {
  const operations = pairOperations(randomHistory(options));
  assert.equal(operations.length, 500);
  assert.ok(operations.every((operation) => operation.completionEvent !== undefined));
  const outcomes = new Set(operations.map((operation) => operation.outcome));
  assert.deepEqual([...outcomes].sort(), ['fail', 'ok', 'unknown']);
});

test('operations overlap in time', () => {
  const history = randomHistory(options);
  let open = 0;
  let mostOpen = 0;
  for (const event of history) {
    open += event.type === 'invoke' ? 1 : -1;
    mostOpen = Math.max(mostOpen, open);
  }
  assert.equal(mostOpen, options.processes);
});

test('uses the operations of the kind asked for, and fresh values unless given a range', () => {
  const keyValue = randomHistory({ ...options, kind: 'key-value' });
  assert.deepEqual([...new Set(keyValue.map((event) => event.f))].sort(), ['delete', 'get', 'put']);
  const written = (history: typeof keyValue): unknown[] => history.filter((event) => event.type === 'invoke' && event.f === 'put').map((event) => event.value);
  assert.equal(new Set(written(keyValue)).size, written(keyValue).length);
  const ranged = written(randomHistory({ ...options, kind: 'key-value', valueRange: 3 }));
  assert.ok(ranged.every((value) => value === 0 || value === 1 || value === 2));
});
