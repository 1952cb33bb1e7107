import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pairOperations } from './history.js';
import { events } from './history-notation.test-support.js';
import { splitByKey, type KeyHistory } from './key-histories.js';
import { searchKey } from './key-search.js';

function onlyKey(text: string): KeyHistory {
  const [key] = splitByKey(pairOperations(events(text)));
  assert.ok(key);
  return key;
}

const never = (): boolean => false;

test('finds a linearization that needs backtracking', () => {
  // Placing the write first (the greedy choice) fails the read of null; the search
  // must take it back and place the read first.
  const history = onlyKey(`
    1 invoke write x 1
    2 invoke read x null
    2 ok read x null
    1 ok write x 1
    3 invoke read x null
    3 ok read x 1
  `);
  assert.deepEqual(searchKey(history, never), { kind: 'linearizable' });
});

test('reports the longest prefix, the state after it, and the operation blocked', () => {
  const history = onlyKey(`
    1 invoke write x 1
    1 ok write x 1
    2 invoke write x 2
    2 ok write x 2
    3 invoke read x null
    3 ok read x 1
    4 invoke write x 4
    4 ok write x 4
  `);
  const result = searchKey(history, never);
  assert.equal(result.kind, 'not linearizable');
  if (result.kind !== 'not linearizable') return;
  const processOf = (index: number): number | undefined => history.operations[index]?.process;
  assert.deepEqual(result.longestPrefix.map(processOf), [1, 2]);
  assert.equal(history.values.valueOf(result.stateAfterPrefix), 2);
  assert.equal(processOf(result.blocked), 3);
});

test('stops when the deadline says so', () => {
  const lines: string[] = [];
  for (let i = 0; i < 3000; i += 1) lines.push(`1 invoke write x ${i}`, `1 ok write x ${i}`);
  let looks = 0;
  const result = searchKey(onlyKey(lines.join('\n')), () => {
    looks += 1;
    return looks > 1;
  });
  assert.deepEqual(result, { kind: 'timed out' });
  assert.equal(looks, 2);
});
