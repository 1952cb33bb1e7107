import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectionBudget, connectionName, payloadBytes } from './connection-budget.js';
import { KeelError } from '../replica/errors.js';

const overloaded = (error: unknown): boolean =>
  error instanceof KeelError && error.code === 'OVERLOADED' && /connectionWriteBytesMax 100\b/.test(error.message);

test('a connection is refused past its bound while another connection is not', () => {
  const budget = new ConnectionBudget(100);
  const first = budget.admit('a:1', 60);
  const second = budget.admit('a:1', 40);
  assert.equal(budget.waitingBytes('a:1'), 100);
  assert.throws(() => budget.admit('a:1', 1), overloaded);
  // The refusal cost nothing, and another connection has its own budget.
  assert.equal(budget.waitingBytes('a:1'), 100);
  const other = budget.admit('b:2', 100);
  first();
  assert.equal(budget.waitingBytes('a:1'), 40);
  budget.admit('a:1', 60)();
  second();
  other();
  assert.equal(budget.connectionsWaiting(), 0, 'a connection with nothing waiting leaves no entry behind');
});

test('a connection with nothing waiting is let through one write larger than the bound', () => {
  const budget = new ConnectionBudget(100);
  const large = budget.admit('a:1', 1_000);
  assert.throws(() => budget.admit('a:1', 1), overloaded);
  large();
  assert.doesNotThrow(() => budget.admit('a:1', 1_000)());
});

test('a release counts once, however often it is called', () => {
  const budget = new ConnectionBudget(100);
  const keep = budget.admit('a:1', 30);
  const release = budget.admit('a:1', 50);
  release();
  release();
  assert.equal(budget.waitingBytes('a:1'), 30);
  keep();
});

test('run releases its bytes when the write settles, answered or failed', async () => {
  const budget = new ConnectionBudget(100);
  assert.equal(await budget.run('a:1', 80, async () => 'done'), 'done');
  await assert.rejects(
    budget.run('a:1', 80, () => Promise.reject(new Error('lost'))),
    /lost/,
  );
  assert.equal(budget.connectionsWaiting(), 0);
  let finish!: () => void;
  const waiting = budget.run('a:1', 80, () => new Promise<void>((resolve) => (finish = resolve)));
  await assert.rejects(
    budget.run('a:1', 80, async () => undefined),
    overloaded,
  );
  finish();
  await waiting;
  assert.equal(budget.connectionsWaiting(), 0);
});

test('payloadBytes sums byte arrays and strings at any depth', () => {
  assert.equal(payloadBytes({ key: Buffer.from('abc'), value: new Uint8Array(10), lease: 5, prev_kv: true }), 13);
  assert.equal(payloadBytes({ compare: [{ key: 'ab' }], success: [{ request_put: { key: 'k', value: new Uint8Array(7) } }] }), 10);
  assert.equal(payloadBytes(null), 0);
});

test('connectionName names a socket as grpc-js names a call peer', () => {
  assert.equal(connectionName({ remoteAddress: '127.0.0.1', remotePort: 4242 }), '127.0.0.1:4242');
});
