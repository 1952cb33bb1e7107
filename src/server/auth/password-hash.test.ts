import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashPassword, SCRYPT_PARAMETERS, verifyPassword } from './password-hash.js';

test('a password hash is salted scrypt with its parameters, never the password', async () => {
  const first = await hashPassword('correct horse');
  const second = await hashPassword('correct horse');
  assert.equal(first.algorithm, 'scrypt');
  assert.equal(first.cost, SCRYPT_PARAMETERS.cost);
  assert.equal(first.salt.length, 16);
  assert.equal(first.hash.length, 32);
  assert.notDeepEqual(first.salt, second.salt, 'a random salt per hash');
  assert.notDeepEqual(first.hash, second.hash, 'so equal passwords hash apart');
  assert.ok(!Buffer.from(first.hash).includes(Buffer.from('correct horse')));
});

test('verification accepts the password and refuses any other, with the stored parameters', async () => {
  const stored = await hashPassword('s3cret');
  assert.equal(await verifyPassword('s3cret', stored), true);
  assert.equal(await verifyPassword('s3cret ', stored), false);
  assert.equal(await verifyPassword('S3cret', stored), false);
  assert.equal(await verifyPassword('', stored), false);
  // Parameters travel with the hash: one made with others still verifies.
  const cheaper = { ...stored, cost: 1024 };
  assert.equal(await verifyPassword('s3cret', cheaper), false, 'the same hash under other parameters is another hash');
});

test('the comparison is constant-time: it goes through timingSafeEqual on equal-length buffers', async () => {
  // A hash of another length (a corrupt record) is refused, not compared byte by byte.
  const stored = await hashPassword('x');
  assert.equal(await verifyPassword('x', { ...stored, hash: stored.hash.subarray(0, 16) }), false);
  assert.equal(await verifyPassword('x', { ...stored, hash: new Uint8Array(0) }), false);
});
