import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkHistory } from '../check/linearizability.js';
import { Prng } from '../lib/prng.js';
import { Trace } from './trace.js';
import { Workload } from './workload.js';

function workload(clientsCount = 2): Workload {
  return new Workload({ random: new Prng(9), trace: new Trace(false, 1), keysCount: 4, clientsCount, operationTimeoutSteps: 100 });
}

test('each client has one operation at a time; invokes and completions form a valid history', () => {
  const w = workload(2);
  const a = w.invoke(1, 0);
  const b = w.invoke(2, 1);
  assert.equal(w.idleClientsCount(2), 0);
  assert.throws(() => w.invoke(1, 2), /no idle client/);
  w.complete(a, 'ok', 7, 3);
  w.complete(b, 'fail', null, 4);
  assert.equal(w.history.length, 4);
  assert.deepEqual(
    w.history.map((e) => e.type),
    ['invoke', 'invoke', 'ok', 'fail'],
  );
});

test('a refused client waits before its next operation', () => {
  const w = workload(1);
  w.complete(w.invoke(1, 0), 'fail', null, 0);
  assert.equal(w.idleClientsCount(1), 0);
  assert.equal(w.idleClientsCount(100), 1);
});

test('an operation past its deadline ends as info, and its process never invokes again', () => {
  const w = workload(1);
  const first = w.invoke(1, 0);
  assert.deepEqual(w.expire(99), []);
  assert.deepEqual(w.expire(100), [first]);
  assert.equal(first.outcome, 'info');
  const next = w.invoke(1, 101);
  assert.notEqual(next.process, first.process);
  // A late completion of the expired operation is ignored.
  w.complete(first, 'ok', 1, 102);
  assert.equal(w.history.filter((e) => e.process === first.process).length, 2);
});

test('registers get read/write/cas, map entries get/put/delete, as the checker requires', () => {
  const w = workload(1);
  for (let step = 0; step < 400; step++) {
    const op = w.invoke(1, step * 10);
    const register = Number(op.key.slice(1)) % 2 === 0;
    assert.ok((register ? ['read', 'write', 'cas'] : ['get', 'put', 'delete']).includes(op.f), `${op.f} on ${op.key}`);
    if (op.f === 'cas') assert.ok(Array.isArray(op.value) && op.value.length === 2);
    w.complete(op, 'info', null, step * 10 + 1);
  }
  assert.equal(checkHistory(w.history).status, 'linearizable');
});
