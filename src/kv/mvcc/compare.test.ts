import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareHolds } from './compare.js';
import type { Compare, KeyValue } from '../types.js';

const key = new TextEncoder().encode('k');
const kv: KeyValue = { key, createRevision: 3, modRevision: 5, version: 2, value: new TextEncoder().encode('m'), lease: 7 };

test('numeric targets compare the key side against the operand', () => {
  const holds = (target: 'version' | 'create' | 'mod' | 'lease', result: Compare['result'], operand: number): boolean =>
    compareHolds({ key, target, result, operand }, [kv]);
  assert.ok(holds('version', 'equal', 2) && holds('version', 'greater', 1) && holds('version', 'less', 3) && holds('version', 'notEqual', 0));
  assert.ok(holds('create', 'equal', 3) && holds('mod', 'greater', 4) && holds('lease', 'equal', 7));
  assert.ok(!holds('mod', 'less', 5) && !holds('lease', 'notEqual', 7));
});

test('values compare as bytes', () => {
  const holds = (result: Compare['result'], value: string): boolean =>
    compareHolds({ key, target: 'value', result, operand: new TextEncoder().encode(value) }, [kv]);
  assert.ok(holds('equal', 'm') && holds('greater', 'l') && holds('greater', '') && holds('less', 'ma') && holds('notEqual', 'n'));
});

test('a missing key is all zeros, except that a value compare on it is false', () => {
  assert.ok(compareHolds({ key, target: 'version', result: 'equal', operand: 0 }, []));
  assert.ok(compareHolds({ key, target: 'create', result: 'less', operand: 1 }, []));
  assert.ok(!compareHolds({ key, target: 'value', result: 'equal', operand: new Uint8Array(0) }, []));
  assert.ok(!compareHolds({ key, target: 'value', result: 'notEqual', operand: new Uint8Array(0) }, []));
});

test('over a range, every key must satisfy the compare', () => {
  const other: KeyValue = { ...kv, version: 9 };
  assert.ok(compareHolds({ key, target: 'version', result: 'greater', operand: 1 }, [kv, other]));
  assert.ok(!compareHolds({ key, target: 'version', result: 'less', operand: 5 }, [kv, other]));
});
