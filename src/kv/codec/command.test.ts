import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { commandArb } from '../testing/arbitraries.js';
import { decodeCommand, encodeCommand } from './command.js';
import type { Command } from '../types.js';

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

test('commands round-trip through their encoding, canonically', () => {
  fc.assert(
    fc.property(commandArb, (command) => {
      const bytes = encodeCommand(command);
      const decoded = decodeCommand(bytes);
      assert.ok(decoded.ok);
      assert.deepEqual(decoded.value, command);
      assert.deepEqual(encodeCommand(decoded.value), bytes);
    }),
    { numRuns: 1000 },
  );
});

test('a put of a 10-byte key and a 10-byte value with a session takes under 40 bytes', () => {
  const command: Command = {
    body: { type: 'put', key: ascii('0123456789'), value: ascii('abcdefghij') },
    session: { clientId: 'c1', seq: 7 },
    timeMs: 1_700_000_000_000,
  };
  assert.ok(encodeCommand(command).length < 40, `${encodeCommand(command).length} bytes`);
});

test('every strict prefix of an encoding and every extension of it is refused as BAD_COMMAND', () => {
  fc.assert(
    fc.property(commandArb, fc.uint8Array({ minLength: 1, maxLength: 3 }), (command, extra) => {
      const bytes = encodeCommand(command);
      for (let n = 0; n < bytes.length; n++) {
        const decoded = decodeCommand(bytes.subarray(0, n));
        assert.ok(!decoded.ok && decoded.error.code === 'BAD_COMMAND', `prefix of ${n} bytes`);
      }
      const longer = new Uint8Array([...bytes, ...extra]);
      const decoded = decodeCommand(longer);
      assert.ok(!decoded.ok && decoded.error.code === 'BAD_COMMAND');
    }),
    { numRuns: 200 },
  );
});

test('random bytes never crash the decoder: they decode or fail with BAD_COMMAND', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      const decoded = decodeCommand(bytes);
      if (!decoded.ok) assert.equal(decoded.error.code, 'BAD_COMMAND');
      else assert.deepEqual(encodeCommand(decoded.value), bytes);
    }),
    { numRuns: 5000 },
  );
});

test('unknown format versions, tags and flags are named in the error', () => {
  const good = encodeCommand({ body: { type: 'noop' } });
  const bad = (patch: (b: Uint8Array) => void): string => {
    const copy = new Uint8Array(good);
    patch(copy);
    const decoded = decodeCommand(copy);
    assert.ok(!decoded.ok);
    return decoded.error.message;
  };
  assert.match(
    bad((b) => (b[0] = 9)),
    /unknown command format version 9/,
  );
  // Flag bits 0-2 are known (session, time, auth); 8 is the first unknown one.
  assert.match(
    bad((b) => (b[1] = 8)),
    /unknown command flags 8/,
  );
  assert.match(
    bad((b) => (b[2] = 6)),
    /unknown command tag 6/,
  );
});

test('deeply nested transactions are refused by the decoder before any recursion limit', () => {
  let body: Command['body'] = { type: 'noop' };
  let txn = { type: 'txn' as const, compare: [], success: [], failure: [] };
  for (let i = 0; i < 100; i++) txn = { type: 'txn', compare: [], success: [txn] as never[], failure: [] };
  body = txn;
  const decoded = decodeCommand(encodeCommand({ body }));
  assert.ok(!decoded.ok && /nested deeper than 64/.test(decoded.error.message));
});
