import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lessor } from './lessor.js';
import { leaseTtlMinSeconds } from './node-leases.js';

test('a lease expires a full TTL after its last renewal, not sooner', () => {
  const lessor = new Lessor(5_000);
  lessor.renewed({ id: 1, ttl: 10, renewedIndex: 3 }, 1_000);
  assert.deepEqual(lessor.takeExpired(10_999, 10), []);
  lessor.renewed({ id: 1, ttl: 10, renewedIndex: 7 }, 9_000);
  assert.deepEqual(lessor.takeExpired(18_999, 10), []);
  assert.deepEqual(lessor.takeExpired(19_000, 10), [{ id: 1, renewedIndex: 7 }], 'the expiry names the renewal it was decided on');
});

test('an expiry is proposed once, and again only after the retry interval', () => {
  const lessor = new Lessor(5_000);
  lessor.renewed({ id: 1, ttl: 1, renewedIndex: 1 }, 0);
  assert.equal(lessor.takeExpired(1_000, 10).length, 1);
  assert.equal(lessor.takeExpired(5_999, 10).length, 0);
  assert.equal(lessor.takeExpired(6_000, 10).length, 1);
  lessor.revoked(1);
  assert.equal(lessor.takeExpired(60_000, 10).length, 0);
  assert.equal(lessor.size, 0);
});

test('becoming leader restarts every TTL with the extension (etcd Promote): a lease never dies sooner for a leader change', () => {
  const lessor = new Lessor(5_000);
  lessor.renewed({ id: 1, ttl: 10, renewedIndex: 1 }, 0);
  lessor.renewed({ id: 2, ttl: 2, renewedIndex: 2 }, 0);
  assert.equal(lessor.takeExpired(2_000, 10).length, 1, 'lease 2 expired and its expiry was proposed');
  lessor.promote(9_000, 1_000);
  assert.deepEqual(lessor.takeExpired(11_999, 10), [], 'after promotion lease 2 has 2 s and the extension again, lease 1 has 10 s and it');
  assert.deepEqual(
    lessor.takeExpired(12_000, 10).map((e) => e.id),
    [2],
  );
  assert.equal(lessor.remainingSeconds(1, 12_000), 8);
});

test('expiries per call are bounded; remaining seconds round up and never go negative', () => {
  const lessor = new Lessor(5_000);
  lessor.reset(
    [1, 2, 3, 4, 5].map((id) => ({ id, ttl: 1, renewedIndex: id })),
    0,
  );
  assert.equal(lessor.takeExpired(1_000, 2).length, 2);
  assert.equal(lessor.takeExpired(1_000, 10).length, 3);
  assert.equal(lessor.remainingSeconds(1, 1), 1);
  assert.equal(lessor.remainingSeconds(1, 99_000), 0);
  assert.equal(lessor.remainingSeconds(42, 0), undefined);
});

test("minimum TTL is etcd's: 1.5 election timeouts rounded up to seconds", () => {
  assert.equal(leaseTtlMinSeconds(10, 100), 2);
  assert.equal(leaseTtlMinSeconds(15, 20), 1);
  assert.equal(leaseTtlMinSeconds(10, 1000), 15);
});

test('an in-memory renewal dates the deadline from the keep-alive’s arrival and never shortens it', () => {
  const lessor = new Lessor(5_000);
  lessor.renewed({ id: 1, ttl: 10, renewedIndex: 1 }, 0);
  assert.equal(lessor.renewInMemory(1, 4_000), 10);
  assert.deepEqual(lessor.takeExpired(13_999, 10), [], 'alive until 10 s after the keep-alive arrived');
  assert.equal(lessor.renewInMemory(1, 2_000), 10, 'a keep-alive that arrived earlier (answered late) renews too');
  assert.deepEqual(lessor.takeExpired(13_999, 10), [], 'and does not pull the deadline back');
  assert.deepEqual(lessor.takeExpired(14_000, 10), [{ id: 1, renewedIndex: 1 }], 'the in-memory renewal is not a log index');
  assert.equal(lessor.renewInMemory(7, 0), undefined, 'an unknown lease is left to the log path');
});

test('a lease whose expiry is on its way is not renewed in memory: the keep-alive must be ordered against the revoke by the log', () => {
  const lessor = new Lessor(5_000);
  lessor.renewed({ id: 1, ttl: 2, renewedIndex: 1 }, 0);
  assert.equal(lessor.takeExpired(2_000, 10).length, 1);
  assert.equal(lessor.renewInMemory(1, 2_100), undefined);
  // The log put a keep-alive first: it applies, and the lease is renewable in memory again.
  lessor.renewed({ id: 1, ttl: 2, renewedIndex: 5 }, 2_200);
  assert.equal(lessor.renewInMemory(1, 2_300), 2);
});
