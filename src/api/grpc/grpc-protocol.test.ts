import { test } from 'node:test';
import assert from 'node:assert/strict';
import { percentEncoded, timeoutMs } from './grpc-protocol.js';

test('grpc-timeout: every unit, rounded up to whole milliseconds; too long to time is Infinity; malformed is undefined', () => {
  assert.equal(timeoutMs('2H'), 7_200_000);
  assert.equal(timeoutMs('3M'), 180_000);
  assert.equal(timeoutMs('5S'), 5_000);
  assert.equal(timeoutMs('250m'), 250);
  assert.equal(timeoutMs('1500u'), 2);
  assert.equal(timeoutMs('1n'), 1);
  assert.equal(timeoutMs('99999999H'), Infinity);
  for (const bad of ['', '5', 'S', '5s', '123456789S', '-5S', '5 S', '1.5S']) assert.equal(timeoutMs(bad), undefined, bad);
});

test('a status message is percent-encoded outside printable ASCII and at %, and decodes back', () => {
  assert.equal(percentEncoded('etcdserver: key not found'), 'etcdserver: key not found');
  assert.equal(percentEncoded('100%\n'), '100%25%0A');
  const message = 'naïve ✓ 100% done\r\nnext';
  assert.equal(decodeURIComponent(percentEncoded(message)), message);
  assert.match(percentEncoded(message), /^[\x20-\x7e]*$/);
});
