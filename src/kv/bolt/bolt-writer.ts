/**
 * Writes a bolt database file (bolt-layout.ts) holding the given top-level buckets,
 * built bottom-up the way a bulk load builds a B+tree: each bucket's sorted pairs are
 * packed into leaf nodes of at most a page (a pair bigger than a page gets a node of
 * its own that overflows onto the following pages), the first key of each node goes up
 * into branch nodes, level by level, until one root remains. Every page is used and
 * the freelist is empty, so a consistency check (etcd's `snapshot status` runs one)
 * finds nothing unreachable.
 */
import { assert } from '../../lib/index.js';
import {
  BOLT_MAGIC,
  BOLT_VERSION,
  BUCKET_HEADER_BYTES,
  BUCKET_LEAF_FLAG,
  type BoltBucket,
  type BoltEntry,
  compareBytes,
  ELEMENT_BYTES,
  fnv1a64,
  META_CHECKSUM_OFFSET,
  PAGE_HEADER_BYTES,
  PageFlag,
} from './bolt-layout.js';

export const DEFAULT_PAGE_BYTES = 4096;
/** The meta pages' transaction ids: even on page 0, odd on page 1; page 1's is current. */
const META_TXIDS = [2n, 3n] as const;
const FREELIST_PGID = 2;
const FIRST_NODE_PGID = 3;

interface Item {
  readonly key: Uint8Array;
  /** Leaf: the value; branch: unused. */
  readonly value: Uint8Array;
  /** Leaf: element flags; branch: the child's page id. */
  readonly flagsOrChild: number;
}

interface Node {
  readonly leaf: boolean;
  readonly items: readonly Item[];
  readonly pgid: number;
  readonly pages: number;
}

export function writeBoltFile(buckets: readonly BoltBucket[], pageBytes = DEFAULT_PAGE_BYTES): Uint8Array {
  const layout = new Layout(pageBytes);
  const bucketRoots = [...buckets]
    .map((bucket) => ({ name: new TextEncoder().encode(bucket.name), root: layout.tree(sortedEntries(bucket), true) }))
    .sort((a, b) => compareBytes(a.name, b.name));
  for (let i = 1; i < bucketRoots.length; i++) {
    assert(compareBytes((bucketRoots[i - 1] as { name: Uint8Array }).name, (bucketRoots[i] as { name: Uint8Array }).name) < 0, 'bucket names must be unique');
  }
  const rootItems = bucketRoots.map(({ name, root }) => ({ key: name, value: bucketHeader(root), flagsOrChild: BUCKET_LEAF_FLAG }));
  const root = layout.tree(rootItems, true);
  return layout.render(root);
}

function sortedEntries(bucket: BoltBucket): Item[] {
  const items = bucket.entries.map((entry: BoltEntry) => ({ key: entry.key, value: entry.value, flagsOrChild: 0 }));
  items.sort((a, b) => compareBytes(a.key, b.key));
  for (let i = 0; i < items.length; i++) {
    const item = items[i] as Item;
    assert(item.key.length > 0, () => `bucket ${bucket.name}: bolt keys are never empty`);
    assert(i === 0 || compareBytes((items[i - 1] as Item).key, item.key) < 0, () => `bucket ${bucket.name}: duplicate key`);
  }
  return items;
}

function bucketHeader(rootPgid: number): Uint8Array {
  const header = new Uint8Array(BUCKET_HEADER_BYTES);
  const view = new DataView(header.buffer);
  view.setBigUint64(0, BigInt(rootPgid), true);
  view.setBigUint64(8, 0n, true);
  return header;
}

/** Assigns page ids to nodes as they are built, children before parents. */
class Layout {
  private readonly nodes: Node[] = [];
  private nextPgid = FIRST_NODE_PGID;

  constructor(private readonly pageBytes: number) {
    assert(Number.isInteger(pageBytes) && pageBytes >= 512 && pageBytes % 512 === 0, () => `page size must be a multiple of 512, got ${pageBytes}`);
  }

  /** Builds the B+tree of `items` (sorted); returns its root's page id. */
  tree(items: readonly Item[], leaf: boolean): number {
    let level = this.level(items, leaf);
    while (level.length > 1) {
      level = this.level(
        level.map((node) => ({ key: (node.items[0] as Item).key, value: new Uint8Array(0), flagsOrChild: node.pgid })),
        false,
      );
    }
    return (level[0] as Node).pgid;
  }

  /** Packs one level's items into nodes of at most a page each (or one item, overflowing). */
  private level(items: readonly Item[], leaf: boolean): Node[] {
    const nodes: Node[] = [];
    let group: Item[] = [];
    let size = PAGE_HEADER_BYTES;
    const close = (): void => {
      const pages = Math.ceil(size / this.pageBytes);
      const node = { leaf, items: group, pgid: this.nextPgid, pages };
      this.nextPgid += pages;
      this.nodes.push(node);
      nodes.push(node);
      group = [];
      size = PAGE_HEADER_BYTES;
    };
    for (const item of items) {
      const itemBytes = ELEMENT_BYTES + item.key.length + item.value.length;
      if (group.length > 0 && (size + itemBytes > this.pageBytes || group.length === 0xffff)) close();
      group.push(item);
      size += itemBytes;
    }
    if (group.length > 0 || nodes.length === 0) close();
    return nodes;
  }

  render(rootPgid: number): Uint8Array {
    const file = new Uint8Array(this.nextPgid * this.pageBytes);
    const view = new DataView(file.buffer);
    META_TXIDS.forEach((txid, pgid) => this.writeMeta(file, view, pgid, txid, rootPgid));
    writeHeader(view, FREELIST_PGID * this.pageBytes, FREELIST_PGID, PageFlag.freelist, 0, 0);
    for (const node of this.nodes) this.writeNode(file, view, node);
    return file;
  }

  private writeMeta(file: Uint8Array, view: DataView, pgid: number, txid: bigint, rootPgid: number): void {
    const at = pgid * this.pageBytes;
    writeHeader(view, at, pgid, PageFlag.meta, 0, 0);
    const meta = at + PAGE_HEADER_BYTES;
    view.setUint32(meta, BOLT_MAGIC, true);
    view.setUint32(meta + 4, BOLT_VERSION, true);
    view.setUint32(meta + 8, this.pageBytes, true);
    view.setUint32(meta + 12, 0, true);
    view.setBigUint64(meta + 16, BigInt(rootPgid), true);
    view.setBigUint64(meta + 24, 0n, true);
    view.setBigUint64(meta + 32, BigInt(FREELIST_PGID), true);
    view.setBigUint64(meta + 40, BigInt(this.nextPgid), true);
    view.setBigUint64(meta + 48, txid, true);
    view.setBigUint64(meta + META_CHECKSUM_OFFSET, fnv1a64(file.subarray(meta, meta + META_CHECKSUM_OFFSET)), true);
  }

  private writeNode(file: Uint8Array, view: DataView, node: Node): void {
    const at = node.pgid * this.pageBytes;
    writeHeader(view, at, node.pgid, node.leaf ? PageFlag.leaf : PageFlag.branch, node.items.length, node.pages - 1);
    let data = at + PAGE_HEADER_BYTES + ELEMENT_BYTES * node.items.length;
    node.items.forEach((item, i) => {
      const element = at + PAGE_HEADER_BYTES + ELEMENT_BYTES * i;
      if (node.leaf) {
        view.setUint32(element, item.flagsOrChild, true);
        view.setUint32(element + 4, data - element, true);
        view.setUint32(element + 8, item.key.length, true);
        view.setUint32(element + 12, item.value.length, true);
      } else {
        view.setUint32(element, data - element, true);
        view.setUint32(element + 4, item.key.length, true);
        view.setBigUint64(element + 8, BigInt(item.flagsOrChild), true);
      }
      file.set(item.key, data);
      file.set(item.value, data + item.key.length);
      data += item.key.length + item.value.length;
    });
  }
}

function writeHeader(view: DataView, at: number, pgid: number, flags: number, count: number, overflow: number): void {
  view.setBigUint64(at, BigInt(pgid), true);
  view.setUint16(at + 8, flags, true);
  view.setUint16(at + 10, count, true);
  view.setUint32(at + 12, overflow, true);
}
