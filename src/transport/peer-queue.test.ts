import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PeerQueue } from './peer-queue.js';

const msg = (id: number, bytes = 1): Uint8Array => new Uint8Array(bytes).fill(id);

test('peer queue: first in, first out', () => {
  const queue = new PeerQueue<Uint8Array>({ messagesMax: 4, bytesMax: 100 });
  for (let i = 1; i <= 3; i++) assert.equal(queue.push(msg(i)), 0);
  assert.deepEqual(queue.take(1000), [msg(1), msg(2), msg(3)]);
  assert.equal(queue.size, 0);
});

test('peer queue: when full by count, the oldest messages are dropped and counted', () => {
  const queue = new PeerQueue<Uint8Array>({ messagesMax: 3, bytesMax: 100 });
  for (let i = 1; i <= 3; i++) queue.push(msg(i));
  assert.equal(queue.push(msg(4)), 1);
  assert.equal(queue.push(msg(5)), 1);
  assert.deepEqual(queue.take(1000), [msg(3), msg(4), msg(5)]);
});

test('peer queue: when full by bytes, as many of the oldest as needed are dropped', () => {
  const queue = new PeerQueue<Uint8Array>({ messagesMax: 10, bytesMax: 10 });
  queue.push(msg(1, 4));
  queue.push(msg(2, 4));
  assert.equal(queue.bytes, 8);
  assert.equal(queue.push(msg(3, 9)), 2);
  assert.equal(queue.bytes, 9);
  assert.deepEqual(queue.take(1000), [msg(3, 9)]);
  assert.throws(() => queue.push(msg(4, 11)), { name: 'AssertionError' });
});

test('peer queue: take returns at least one message, then what fits the byte budget', () => {
  const queue = new PeerQueue<Uint8Array>({ messagesMax: 10, bytesMax: 100 });
  queue.push(msg(1, 50));
  queue.push(msg(2, 5));
  queue.push(msg(3, 5));
  assert.deepEqual(queue.take(10), [msg(1, 50)]);
  assert.deepEqual(queue.take(10), [msg(2, 5), msg(3, 5)]);
  assert.deepEqual(queue.take(10), []);
});

test('peer queue: behaves like a model list with drop-oldest, under random operations', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 6 }),
      fc.array(fc.oneof(fc.integer({ min: 0, max: 8 }), fc.constant(-1), fc.constant(-2)), { maxLength: 60 }),
      (messagesMax, ops) => {
        const bytesMax = 12;
        const queue = new PeerQueue<Uint8Array>({ messagesMax, bytesMax });
        let model: Uint8Array[] = [];
        let next = 0;
        for (const op of ops) {
          if (op === -1) {
            assert.deepEqual(
              queue.take(6),
              (() => {
                const out: Uint8Array[] = [];
                let bytes = 0;
                while (model.length > 0 && (out.length === 0 || bytes + (model[0] as Uint8Array).length <= 6)) {
                  bytes += (model[0] as Uint8Array).length;
                  out.push(model.shift() as Uint8Array);
                }
                return out;
              })(),
            );
          } else if (op === -2) {
            assert.equal(queue.clear(), model.length);
            model = [];
          } else {
            const item = msg(next++ % 256, op);
            model.push(item);
            let dropped = 0;
            while (model.length > messagesMax || model.reduce((s, m) => s + m.length, 0) > bytesMax) {
              model.shift();
              dropped++;
            }
            assert.equal(queue.push(item), dropped);
          }
          assert.equal(queue.size, model.length);
          assert.equal(
            queue.bytes,
            model.reduce((s, m) => s + m.length, 0),
          );
        }
      },
    ),
  );
});
