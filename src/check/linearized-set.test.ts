import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Prng } from '../lib/prng.js';
import { LinearizedSet } from './linearized-set.js';

test('the hash depends only on the members, not on the order they came in', () => {
  const a = new LinearizedSet([40, 10]);
  const b = new LinearizedSet([40, 10]);
  const empty = a.hash;
  for (const member of [3, 45, 31, 32]) a.add(member);
  for (const member of [32, 31, 45, 3]) b.add(member);
  assert.equal(a.hash, b.hash);
  for (const member of [3, 45, 31, 32]) a.remove(member);
  assert.equal(a.hash, empty);
});

test('adding a member twice or removing a missing one is a bug', () => {
  const set = new LinearizedSet([8]);
  set.add(2);
  assert.throws(() => set.add(2), /linearized twice/);
  assert.throws(() => set.remove(3), /not linearized/);
});

test('a snapshot matches exactly the sets equal to the one it was taken of', () => {
  // Random walks over sets of up to 150 members in two regions, compared with a plain Set.
  for (let seed = 1; seed <= 40; seed += 1) {
    const prng = new Prng(seed);
    const sizes = [prng.between(0, 100), prng.between(0, 50)];
    const capacity = sizes[0]! + sizes[1]!;
    if (capacity === 0) continue;
    const set = new LinearizedSet(sizes);
    const reference = new Set<number>();
    const taken: { snapshot: Uint32Array; members: string }[] = [];
    for (let step = 0; step < 400; step += 1) {
      const member = prng.int(capacity);
      // Lean towards adding, so the sets get dense as in a search.
      if (reference.has(member) && prng.chance(0.3)) {
        set.remove(member);
        reference.delete(member);
      } else if (!reference.has(member)) {
        set.add(member);
        reference.add(member);
      }
      const members = [...reference].sort((x, y) => x - y).join(',');
      for (const earlier of taken) assert.equal(set.matches(earlier.snapshot), earlier.members === members, `seed ${seed} step ${step}`);
      for (let member = 0; member < capacity; member += 1) assert.equal(set.has(member), reference.has(member));
      if (step % 10 === 0) taken.push({ snapshot: set.snapshot(), members });
    }
  }
});

test('a snapshot of a dense set keeps only the window around its frontier', () => {
  const set = new LinearizedSet([1000, 0]);
  for (let member = 0; member < 600; member += 1) set.add(member);
  set.add(700);
  // Two regions' bounds (4 words) plus words 18 to 21 (members 576 to 703).
  assert.equal(set.snapshot().length, 4 + 4);
});
