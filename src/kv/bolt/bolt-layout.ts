/**
 * The on-disk layout of a bolt database file (the B+tree file format etcd keeps its
 * store in), as far as Keel reads and writes it: enough to produce a file that etcd's
 * tools open and check, and to read the buckets of one that etcd made.
 *
 * A file is a sequence of pages of `pageSize` bytes (little-endian throughout):
 *   page header (16 bytes): id u64, flags u16, count u16, overflow u32
 *     - a node bigger than a page continues over `overflow` more pages;
 *   pages 0 and 1: meta (the one with the higher txid that checks out is current):
 *     magic u32, version u32, pageSize u32, flags u32, root bucket {root u64,
 *     sequence u64}, freelist pgid u64, pgid (pages in use) u64, txid u64, checksum
 *     u64 = FNV-1a 64 of the 56 bytes before it;
 *   freelist page: `count` page ids u64 (count 0xFFFF: the first u64 is the count);
 *   branch page: `count` elements {pos u32, ksize u32, pgid u64}, then the keys;
 *   leaf page: `count` elements {flags u32, pos u32, ksize u32, vsize u32}, then
 *     each key followed by its value; `pos` counts from the element itself;
 *   a leaf element with flag 0x01 is a nested bucket: its value is {root u64,
 *     sequence u64}, and with root 0 an inline leaf page follows in the value.
 * The top-level buckets are the leaf elements of the tree whose root is the meta's
 * root bucket. Keys in every node are sorted bytewise; a branch element's key is
 * the first key of the node it points to.
 */

/** Keys in a bolt file are in byte order (compareBytes of key-range.ts). */
export { compareBytes } from '../mvcc/key-range.js';

export const BOLT_MAGIC = 0xed0cdaed;
export const BOLT_VERSION = 2;
export const PAGE_HEADER_BYTES = 16;
export const ELEMENT_BYTES = 16;
export const BUCKET_HEADER_BYTES = 16;
export const META_CHECKSUM_OFFSET = 56;

export const PageFlag = { branch: 0x01, leaf: 0x02, meta: 0x04, freelist: 0x10 } as const;
export const BUCKET_LEAF_FLAG = 0x01;

/** FNV-1a, 64 bits: the meta page's checksum. */
export function fnv1a64(bytes: Uint8Array): bigint {
  let hash = 0xcbf29ce484222325n;
  for (const byte of bytes) {
    hash ^= BigInt(byte);
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return hash;
}

export interface BoltEntry {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

/** A top-level bucket: its name and its key-value pairs (no nested buckets). */
export interface BoltBucket {
  readonly name: string;
  readonly entries: readonly BoltEntry[];
}
