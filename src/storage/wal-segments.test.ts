import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SegmentBook, parseSegmentName, segmentName } from './wal-segments.js';

test('segment names: zero-padded, sortable, and parsed back', () => {
  assert.equal(segmentName(1, 1), '0000000000000001-0000000000000001.wal');
  assert.deepEqual(parseSegmentName(segmentName(12, 3456)), { seq: 12, firstIndex: 3456 });
  assert.ok(segmentName(9, 1) < segmentName(10, 1));
  assert.equal(parseSegmentName('1-1.wal'), undefined);
  assert.equal(parseSegmentName('0000000000000001-0000000000000001.wal.tmp'), undefined);
});

test('segment book: only an oldest-first run of segments whose live entries are compacted can go', () => {
  const book = new SegmentBook();
  const a = book.add('a', 1, 1);
  for (let i = 1; i <= 10; i++) book.noteEntry(a, i);
  const b = book.add('b', 2, 11);
  for (let i = 11; i <= 20; i++) book.noteEntry(b, i);
  const c = book.add('c', 3, 21);
  for (let i = 21; i <= 25; i++) book.noteEntry(c, i);
  assert.deepEqual(book.deletableUpTo(9), []);
  assert.deepEqual(book.deletableUpTo(10), [a]);
  assert.deepEqual(book.deletableUpTo(25), [a, b], 'never the current segment');
});

test('segment book: an overwrite lowers what older segments hold live; a restore voids them all', () => {
  const book = new SegmentBook();
  const a = book.add('a', 1, 1);
  for (let i = 1; i <= 10; i++) book.noteEntry(a, i);
  const b = book.add('b', 2, 11);
  book.noteEntry(b, 6); // a new leader overwrote 6..10
  assert.equal(a.liveMax, 5);
  assert.deepEqual(book.deletableUpTo(5), [a]);
  book.add('c', 3, 7);
  book.noteRestore();
  assert.deepEqual(
    book.deletableUpTo(0).map((s) => s.name),
    ['a', 'b'],
  );
});
