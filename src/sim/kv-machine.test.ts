import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Entry } from '../raft/types.js';
import { type Command, encodeCommand } from './command.js';
import { KvMachine } from './kv-machine.js';

let nextIndex = 1;
function entry(command: Command | undefined, index = nextIndex++): Entry {
  return { index, term: 1, kind: 'normal', data: command ? encodeCommand(command) : new Uint8Array() };
}

test('put, delete and compare-and-set, once per (process, seq)', () => {
  nextIndex = 1;
  const m = new KvMachine();
  m.apply(entry(undefined)); // the leader's no-op
  assert.equal(m.apply(entry({ op: 'put', id: '1.1', process: 1, seq: 1, key: 'a', value: 5 }))?.ok, true);
  assert.equal(m.get('a'), 5);
  const failed = m.apply(entry({ op: 'cas', id: '2.1', process: 2, seq: 1, key: 'a', expected: 4, value: 6 }));
  assert.deepEqual([failed?.ok, m.get('a')], [false, 5]);
  assert.equal(m.apply(entry({ op: 'cas', id: '2.2', process: 2, seq: 2, key: 'a', expected: 5, value: 6 }))?.ok, true);
  assert.equal(m.get('a'), 6);
  // A duplicated proposal of 1.1 must not put 5 back.
  assert.equal(m.apply(entry({ op: 'put', id: '1.1', process: 1, seq: 1, key: 'a', value: 5 }))?.duplicate, true);
  assert.equal(m.get('a'), 6);
  m.apply(entry({ op: 'delete', id: '1.2', process: 1, seq: 2, key: 'a' }));
  assert.equal(m.get('a'), undefined);
  assert.equal(m.applied, 6);
});

test('entries must be applied in order', () => {
  const m = new KvMachine();
  assert.throws(() => m.apply(entry(undefined, 2)), /in order/);
});

test('a snapshot round-trips the data, the sessions and the applied index', () => {
  nextIndex = 1;
  const m = new KvMachine();
  m.apply(entry({ op: 'put', id: '1.1', process: 1, seq: 1, key: 'a', value: 5 }));
  m.apply(entry({ op: 'put', id: '1.2', process: 1, seq: 2, key: 'b', value: 7 }));
  const copy = KvMachine.decode(m.encode(), 2);
  assert.equal(copy.digest(), m.digest());
  assert.equal(copy.applied, 2);
  assert.equal(copy.apply(entry({ op: 'put', id: '1.2', process: 1, seq: 2, key: 'b', value: 7 }, 3))?.duplicate, true);
  assert.throws(() => KvMachine.decode(m.encode(), 3), /taken at 2/);
});

test('the digest depends on the data, not on the order keys were written', () => {
  nextIndex = 1;
  const a = new KvMachine();
  a.apply(entry({ op: 'put', id: '1.1', process: 1, seq: 1, key: 'x', value: 1 }, 1));
  a.apply(entry({ op: 'put', id: '1.2', process: 1, seq: 2, key: 'y', value: 2 }, 2));
  const b = new KvMachine();
  b.apply(entry({ op: 'put', id: '1.1', process: 1, seq: 1, key: 'y', value: 2 }, 1));
  b.apply(entry({ op: 'put', id: '1.2', process: 1, seq: 2, key: 'x', value: 1 }, 2));
  assert.equal(a.digest(), b.digest());
  const broken = new KvMachine(true);
  broken.apply(entry({ op: 'put', id: '1.1', process: 1, seq: 1, key: 'x', value: 1 }, 1));
  broken.apply(entry({ op: 'put', id: '1.2', process: 1, seq: 2, key: 'y', value: 2 }, 2));
  assert.notEqual(broken.digest(), a.digest());
});
