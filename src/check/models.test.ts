import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { OperationName } from './history.js';
import { IMPOSSIBLE, keyValueModel, modelFor, registerModel, valueLookedFor, valueWritten, type Call } from './models.js';
import { NULL_VALUE } from './values.js';

function call(f: OperationName, fields: Partial<Call> = {}): Call {
  return { f, known: true, argument: 0, replacement: 0, observed: 0, ...fields };
}

test('register: a read must return the current value and changes nothing', () => {
  assert.equal(registerModel.initialState, NULL_VALUE);
  assert.equal(registerModel.step(3, call('read', { observed: 3 })), 3);
  assert.equal(registerModel.step(3, call('read', { observed: 4 })), IMPOSSIBLE);
  assert.equal(registerModel.step(NULL_VALUE, call('read', { observed: NULL_VALUE })), NULL_VALUE);
});

test('register: a write sets the value whatever it was', () => {
  assert.equal(registerModel.step(NULL_VALUE, call('write', { argument: 5 })), 5);
  assert.equal(registerModel.step(4, call('write', { argument: 5, known: false })), 5);
});

test('register: a cas that answered ok needs the expected value', () => {
  assert.equal(registerModel.step(1, call('cas', { argument: 1, replacement: 2 })), 2);
  assert.equal(registerModel.step(3, call('cas', { argument: 1, replacement: 2 })), IMPOSSIBLE);
});

test('register: a cas with an unknown outcome is possible in any state and changes only the expected one', () => {
  assert.equal(registerModel.step(1, call('cas', { argument: 1, replacement: 2, known: false })), 2);
  assert.equal(registerModel.step(3, call('cas', { argument: 1, replacement: 2, known: false })), 3);
});

test('key-value: get reads, put sets, delete makes the key absent (null)', () => {
  assert.equal(keyValueModel.initialState, NULL_VALUE);
  assert.equal(keyValueModel.step(NULL_VALUE, call('get', { observed: NULL_VALUE })), NULL_VALUE);
  assert.equal(keyValueModel.step(2, call('get', { observed: NULL_VALUE })), IMPOSSIBLE);
  assert.equal(keyValueModel.step(NULL_VALUE, call('put', { argument: 2 })), 2);
  assert.equal(keyValueModel.step(2, call('delete')), NULL_VALUE);
});

test('each model refuses the other kind of operation', () => {
  assert.throws(() => registerModel.step(0, call('put')), TypeError);
  assert.throws(() => keyValueModel.step(0, call('cas')), TypeError);
});

test('a key gets the model of the operations used on it', () => {
  for (const f of ['read', 'write', 'cas'] as const) assert.equal(modelFor(f), registerModel);
  for (const f of ['get', 'put', 'delete'] as const) assert.equal(modelFor(f), keyValueModel);
});

test('what a call looks for and what it writes', () => {
  assert.equal(valueLookedFor(call('read', { observed: 4 })), 4);
  assert.equal(valueLookedFor(call('cas', { argument: 1, replacement: 2 })), 1);
  assert.equal(valueLookedFor(call('put', { argument: 3 })), undefined);
  assert.equal(valueWritten(call('put', { argument: 3 })), 3);
  assert.equal(valueWritten(call('cas', { argument: 1, replacement: 2 })), 2);
  assert.equal(valueWritten(call('delete')), NULL_VALUE);
  assert.equal(valueWritten(call('get')), undefined);
});
