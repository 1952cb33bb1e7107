import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Prng } from '../lib/prng.js';
import { WindowedBits } from './windowed-bits.js';

function snapshotOf(bits: WindowedBits): Uint32Array {
  const pool = new Uint32Array(bits.snapshotLength());
  bits.writeSnapshot(pool, 0);
  return pool;
}

test('the hash depends only on the members, not on the order they came in', () => {
  const a = new WindowedBits(70, 1);
  const b = new WindowedBits(70, 1);
  const empty = a.hash;
  for (const bit of [3, 45, 31, 32]) a.add(bit);
  for (const bit of [32, 31, 45, 3]) b.add(bit);
  assert.equal(a.hash, b.hash);
  for (const bit of [3, 45, 31, 32]) a.remove(bit);
  assert.equal(a.hash, empty);
});

test('adding a bit twice or removing a missing one is a bug', () => {
  const bits = new WindowedBits(8, 1);
  bits.add(2);
  assert.throws(() => bits.add(2), /set already/);
  assert.throws(() => bits.remove(3), /not set/);
});

test('snapshots recognise equal sets and subsets, checked against plain sets', () => {
  for (let seed = 1; seed <= 40; seed += 1) {
    const prng = new Prng(seed);
    const size = prng.between(1, 150);
    const bits = new WindowedBits(size, seed);
    const reference = new Set<number>();
    const taken: { snapshot: Uint32Array; members: Set<number> }[] = [];
    for (let step = 0; step < 400; step += 1) {
      const bit = prng.int(size);
      // Lean towards adding, so the sets get dense as in a search.
      if (reference.has(bit) && prng.chance(0.3)) {
        bits.remove(bit);
        reference.delete(bit);
      } else if (!reference.has(bit)) {
        bits.add(bit);
        reference.add(bit);
      }
      for (const earlier of taken) {
        const isSubset = [...earlier.members].every((member) => reference.has(member));
        assert.equal(bits.includes(earlier.snapshot, 0), isSubset, `seed ${seed} step ${step}: includes`);
        assert.equal(bits.equals(earlier.snapshot, 0), isSubset && earlier.members.size === reference.size, `seed ${seed} step ${step}: equals`);
      }
      for (let member = 0; member < size; member += 1) assert.equal(bits.has(member), reference.has(member));
      if (step % 10 === 0) taken.push({ snapshot: snapshotOf(bits), members: new Set(reference) });
    }
  }
});

test('a snapshot of a dense set keeps only the window around its frontier', () => {
  const bits = new WindowedBits(1000, 1);
  for (let bit = 0; bit < 600; bit += 1) bits.add(bit);
  bits.add(700);
  // The two bounds, then words 18 to 21 (bits 576 to 703).
  assert.equal(bits.snapshotLength(), 2 + 4);
  const pool = new Uint32Array(10);
  bits.writeSnapshot(pool, 3);
  assert.equal(bits.equals(pool, 3), true);
});
