import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { writeBoltFile } from './bolt-writer.js';
import { BoltFormatError, readBoltFile } from './bolt-reader.js';
import { compareBytes, type BoltBucket } from './bolt-layout.js';

const encode = (text: string): Uint8Array => new TextEncoder().encode(text);

/** What a reader gives back: buckets by name, pairs in key order. */
function normalised(buckets: readonly BoltBucket[]): BoltBucket[] {
  return [...buckets]
    .map((bucket) => ({
      name: bucket.name,
      entries: [...bucket.entries]
        .map(({ key, value }) => ({ key: Uint8Array.from(key), value: Uint8Array.from(value) }))
        .sort((a, b) => compareBytes(a.key, b.key)),
    }))
    .sort((a, b) => compareBytes(encode(a.name), encode(b.name)));
}

const bucketsArbitrary = fc.uniqueArray(
  fc.record({
    name: fc.string({ minLength: 1, maxLength: 12 }),
    entries: fc.uniqueArray(fc.record({ key: fc.uint8Array({ minLength: 1, maxLength: 40 }), value: fc.uint8Array({ maxLength: 9000 }) }), {
      maxLength: 300,
      selector: (entry) => Buffer.from(entry.key).toString('hex'),
    }),
  }),
  { maxLength: 6, selector: (bucket) => bucket.name },
);

test('bolt file: what is written reads back, in key order, with pages that overflow and empty buckets', () => {
  fc.assert(
    fc.property(bucketsArbitrary, (buckets) => {
      const file = writeBoltFile(buckets);
      assert.equal(file.length % 4096, 0);
      assert.deepEqual(normalised(readBoltFile(file)), normalised(buckets));
    }),
    { numRuns: 60 },
  );
});

test('bolt file: many small pairs make a tree of several levels that reads back whole', () => {
  const entries = Array.from({ length: 40_000 }, (_, i) => ({ key: encode(`key/${String(i).padStart(6, '0')}`), value: encode(String(i)) }));
  const buckets = [{ name: 'key', entries }];
  assert.deepEqual(normalised(readBoltFile(writeBoltFile(buckets))), normalised(buckets));
});

test('bolt file: damage is refused with a BoltFormatError that names it, never read as data', () => {
  const file = writeBoltFile([{ name: 'key', entries: [{ key: encode('a'), value: encode('b') }] }]);
  assert.throws(
    () => readBoltFile(new Uint8Array(100)),
    (error: unknown) => error instanceof BoltFormatError && /not a bolt database: meta page 0 is not a meta page, meta page 1 is missing/.test(error.message),
  );
  assert.throws(() => readBoltFile(file.subarray(0, file.length - 4096)), /meta page says/);
  // One meta damaged (a torn commit): the other one is used, as bolt does.
  for (const page of [0, 1]) {
    const oneBadMeta = file.slice();
    oneBadMeta[page * 4096 + 16 + 20] = (oneBadMeta[page * 4096 + 16 + 20] as number) ^ 1;
    assert.equal(readBoltFile(oneBadMeta)[0]?.entries.length, 1, `meta ${page} damaged`);
  }
  // Both damaged: nothing to read.
  const badMetas = file.slice();
  for (const page of [0, 1]) badMetas[page * 4096 + 16 + 20] = (badMetas[page * 4096 + 16 + 20] as number) ^ 1;
  assert.throws(() => readBoltFile(badMetas), /meta page 0 fails its checksum, meta page 1 fails its checksum/);
  // A leaf element whose key runs past its page.
  const badElement = file.slice();
  const rootBucketPage = 4; // pages: 0-1 meta, 2 freelist, 3 the bucket's leaf, 4 the root bucket
  new DataView(badElement.buffer).setUint32(rootBucketPage * 4096 + 16 + 8, 100_000, true);
  assert.throws(
    () => readBoltFile(badElement),
    (error: unknown) => error instanceof BoltFormatError && /runs past the page/.test(error.message),
  );
});
