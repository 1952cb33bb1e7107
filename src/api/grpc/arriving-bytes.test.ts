import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ArrivingBytes } from './arriving-bytes.js';

const nothing = (): void => {};

test('calls within the bound hold at once; one past it waits, and goes on in order once bytes are released', () => {
  const budget = new ArrivingBytes(100);
  const granted: string[] = [];
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((name) => budget.share(() => granted.push(name)));
  assert.equal(a?.hold(60), true);
  assert.equal(b?.hold(40), true);
  assert.equal(c?.hold(30), false, 'past the bound');
  assert.equal(d?.hold(1), false, 'behind a call already waiting, however small');
  assert.equal(budget.heldBytes, 100);
  assert.equal(budget.waitingCalls, 2);
  a?.release();
  assert.deepEqual(granted, ['c', 'd']);
  assert.equal(budget.heldBytes, 71);
  for (const share of [b, c, d]) share?.release();
  assert.equal(budget.heldBytes, 0);
});

test('a connection holding nothing is let one message through larger than the bound', () => {
  const budget = new ArrivingBytes(100);
  const large = budget.share(nothing);
  assert.equal(large.hold(1_000), true);
  let waited = false;
  assert.equal(budget.share(() => (waited = true)).hold(1), false);
  large.hold(0);
  assert.equal(waited, true, 'a share holding less is a release too');
});

test('a waiting call that ends leaves the queue and is never granted', () => {
  const budget = new ArrivingBytes(100);
  const first = budget.share(nothing);
  first.hold(100);
  let grantedGone = false;
  const gone = budget.share(() => (grantedGone = true));
  gone.hold(50);
  gone.release();
  let grantedNext = false;
  const next = budget.share(() => (grantedNext = true));
  assert.equal(next.hold(50), false);
  first.release();
  assert.deepEqual([grantedGone, grantedNext, budget.heldBytes, budget.waitingCalls], [false, true, 50, 0]);
});

test('whatever calls hold and release: past the bound only alone, and every waiting call is granted once the others are done', () => {
  const step = fc.record({ share: fc.nat(5), bytes: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 150 })) });
  fc.assert(
    fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
      const budget = new ArrivingBytes(100);
      const holding = new Array<number>(6).fill(0);
      /** What each waiting share waits to hold. */
      const waiting = new Map<number, number>();
      const shares = holding.map((_, index) =>
        budget.share(() => {
          holding[index] = waiting.get(index) ?? Number.NaN;
          waiting.delete(index);
        }),
      );
      for (const { share, bytes } of steps) {
        waiting.delete(share);
        if (shares[share]?.hold(bytes)) {
          holding[share] = bytes;
        } else {
          // A call that waits for more has given up what it held.
          holding[share] = 0;
          waiting.set(share, bytes);
        }
        const held = holding.reduce((sum, value) => sum + value, 0);
        assert.equal(budget.heldBytes, held);
        assert.equal(budget.waitingCalls, waiting.size);
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
