/**
 * Length-prefixed messages read back whole however the DATA frames cut them, and a
 * prefix over the limit refused before its message is read.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { lengthPrefixed, MessageReader, MessageTooLarge } from './length-prefixed.js';

test('messages come back whole and in order, whatever the chunks', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 12 }), (messages, cuts) => {
      const wire = Buffer.concat(messages.map(lengthPrefixed));
      const points = [...new Set(cuts.map((cut) => cut % (wire.length + 1)))].sort((a, b) => a - b);
      const reader = new MessageReader(300);
      const read: Buffer[] = [];
      let from = 0;
      for (const to of [...points, wire.length]) {
        for (const message of reader.push(wire.subarray(from, to))) {
          assert.equal(message.compressed, false);
          read.push(message.bytes);
        }
        from = to;
      }
      assert.deepEqual(
        read.map((bytes) => [...bytes]),
        messages.map((bytes) => [...bytes]),
      );
      assert.equal(reader.partial, false);
    }),
  );
});

test('a message cut short is partial, with the length its prefix announced; the compressed flag is read', () => {
  const reader = new MessageReader(10);
  const wire = Buffer.from([1, 0, 0, 0, 3, 7, 8, 9]);
  assert.deepEqual(reader.push(wire.subarray(0, 3)), []);
  assert.equal(reader.partial, true);
  assert.equal(reader.unfinishedLength, 0, 'no length is known before the whole prefix');
  assert.deepEqual(reader.push(wire.subarray(3, 6)), []);
  assert.equal(reader.unfinishedLength, 3, 'the length the prefix announced');
  const [message] = reader.push(wire.subarray(6));
  assert.deepEqual(message, { compressed: true, bytes: Buffer.from([7, 8, 9]) });
  assert.equal(reader.partial, false);
  assert.equal(reader.unfinishedLength, 0);
});

test('a prefix over the limit is refused at once, naming both sizes', () => {
  const reader = new MessageReader(1024);
  const prefix = Buffer.from([0, 0, 0, 4, 1]);
  assert.throws(
    () => reader.push(prefix),
    (error: unknown) => error instanceof MessageTooLarge && error.message === 'the request message is 1025 bytes, over the limit of 1024',
  );
});
