import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ArrivingBytes } from './arriving-bytes.js';
import type { ArrivingShare } from './arriving-bytes.js';

test('calls within the bound hold at once; one past it waits, and goes on in order once bytes are released', () => {
  const budget = new ArrivingBytes(100);
  const granted: string[] = [];
  const [a, b, c, d] = [budget.share(), budget.share(), budget.share(), budget.share()];
  assert.equal(
    a.hold(60, () => granted.push('a')),
    true,
  );
  assert.equal(
    b.hold(40, () => granted.push('b')),
    true,
  );
  assert.equal(
    c.hold(30, () => granted.push('c')),
    false,
    'past the bound',
  );
  assert.equal(
    d.hold(1, () => granted.push('d')),
    false,
    'behind a call already waiting, however small',
  );
  assert.equal(budget.heldBytes, 100);
  a.release();
  assert.deepEqual(granted, ['c', 'd']);
  assert.equal(budget.heldBytes, 71);
  for (const share of [b, c, d]) share.release();
  assert.equal(budget.heldBytes, 0);
});

test('a connection holding nothing is let one message through larger than the bound', () => {
  const budget = new ArrivingBytes(100);
  const large = budget.share();
  assert.equal(
    large.hold(1_000, () => {}),
    true,
  );
  let waited = false;
  assert.equal(
    budget.share().hold(1, () => (waited = true)),
    false,
  );
  large.hold(0, () => {});
  assert.equal(waited, true, 'a share holding less is a release too');
});

test('a waiting call that ends leaves the queue and is never granted', () => {
  const budget = new ArrivingBytes(100);
  const first = budget.share();
  first.hold(100, () => {});
  const gone = budget.share();
  let grantedGone = false;
  gone.hold(50, () => (grantedGone = true));
  gone.release();
  let grantedNext = false;
  const next = budget.share();
  assert.equal(
    next.hold(50, () => (grantedNext = true)),
    false,
  );
  first.release();
  assert.deepEqual([grantedGone, grantedNext, budget.heldBytes], [false, true, 50]);
});

test('whatever calls hold and release: past the bound only alone, and every waiting call is granted once the others are done', () => {
  const step = fc.record({ share: fc.nat(5), bytes: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 150 })) });
  fc.assert(
    fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
      const budget = new ArrivingBytes(100);
      const shares: ArrivingShare[] = Array.from({ length: 6 }, () => budget.share());
      const holding = new Array<number>(6).fill(0);
      const waiting = new Set<number>();
      for (const { share, bytes } of steps) {
        waiting.delete(share);
        const now = shares[share]?.hold(bytes, () => {
          waiting.delete(share);
          holding[share] = bytes;
        });
        if (now) {
          holding[share] = bytes;
        } else {
          // A call that waits for more has given up what it held.
          holding[share] = 0;
          waiting.add(share);
        }
        const held = holding.reduce((sum, value) => sum + value, 0);
        assert.equal(budget.heldBytes, held);
        assert.ok(held <= 100 || holding.filter((value) => value > 0).length === 1, `${held} bytes held by ${holding}`);
      }
      // Each round, the calls holding finish; some waiting call must then hold.
      while (waiting.size > 0) {
        const before = waiting.size;
        for (const [index, share] of shares.entries()) {
          if (waiting.has(index)) continue;
          share.release();
          holding[index] = 0;
        }
        assert.ok(waiting.size < before, `${before} calls still waiting with nothing else held`);
      }
      for (const share of shares) share.release();
      assert.equal(budget.heldBytes, 0);
    }),
  );
});
