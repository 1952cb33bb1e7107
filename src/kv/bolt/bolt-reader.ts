/**
 * Reads the top-level buckets of a bolt database file (bolt-layout.ts), such as the
 * store in an etcd snapshot. The file may come from anywhere, so nothing in it is
 * trusted: every offset, count and page id is checked against the file before it is
 * followed, a page is visited at most once (no loops), and any problem is a
 * BoltFormatError that says what and where.
 */
import {
  BOLT_MAGIC,
  BOLT_VERSION,
  BUCKET_HEADER_BYTES,
  BUCKET_LEAF_FLAG,
  type BoltBucket,
  type BoltEntry,
  ELEMENT_BYTES,
  fnv1a64,
  META_CHECKSUM_OFFSET,
  PAGE_HEADER_BYTES,
  PageFlag,
} from './bolt-layout.js';

const DEFAULT_PAGE_BYTES = 4096;

export class BoltFormatError extends Error {
  override name = 'BoltFormatError';
}

interface Meta {
  readonly pageBytes: number;
  readonly rootPgid: number;
  readonly pageCount: number;
  readonly txid: bigint;
}

export function readBoltFile(file: Uint8Array): BoltBucket[] {
  return new BoltReader(file).buckets();
}

class BoltReader {
  private readonly view: DataView;
  private readonly meta: Meta;
  private readonly visited = new Set<number>();

  constructor(private readonly file: Uint8Array) {
    this.view = new DataView(file.buffer, file.byteOffset, file.byteLength);
    const first = this.readMeta(0, undefined);
    // Without a valid first meta, the page size is a guess: bolt's usual one.
    const second = typeof first === 'string' ? this.readMeta(DEFAULT_PAGE_BYTES, undefined) : this.readMeta(first.pageBytes, first.pageBytes);
    // The current meta is the valid one with the higher transaction id (the other may
    // have been torn by a crash in the middle of a commit).
    const valid = [first, second].filter((meta): meta is Meta => typeof meta !== 'string');
    if (valid.length === 0) throw new BoltFormatError(`not a bolt database: meta page 0 ${String(first)}, meta page 1 ${String(second)}`);
    this.meta = valid.reduce((current, meta) => (meta.txid > current.txid ? meta : current));
    if (this.meta.pageCount * this.meta.pageBytes > file.length) {
      throw new BoltFormatError(`the file holds ${file.length} bytes, but its meta page says ${this.meta.pageCount} pages of ${this.meta.pageBytes} bytes`);
    }
  }

  buckets(): BoltBucket[] {
    const out: BoltBucket[] = [];
    for (const element of this.leafElements(this.meta.rootPgid, 'the root bucket')) {
      const name = new TextDecoder('utf-8', { fatal: true }).decode(element.key);
      if (element.flags !== BUCKET_LEAF_FLAG)
        throw new BoltFormatError(`the root bucket holds a plain value under ${JSON.stringify(name)}; only buckets belong there`);
      out.push({ name, entries: this.bucketEntries(element.value, name) });
    }
    return out;
  }

  private bucketEntries(header: Uint8Array, name: string): BoltEntry[] {
    if (header.length < BUCKET_HEADER_BYTES)
      throw new BoltFormatError(`bucket ${name}: its header is ${header.length} bytes, expected at least ${BUCKET_HEADER_BYTES}`);
    const root = this.pgid(new DataView(header.buffer, header.byteOffset, header.byteLength).getBigUint64(0, true), `bucket ${name}`);
    // Root 0: a small bucket stored inline, its one leaf page right after the header.
    const elements =
      root === 0 ? this.pageElements(header.subarray(BUCKET_HEADER_BYTES), `bucket ${name} (inline)`, true) : this.leafElements(root, `bucket ${name}`);
    return elements.map((element) => {
      if (element.flags & BUCKET_LEAF_FLAG) throw new BoltFormatError(`bucket ${name} holds a nested bucket; etcd's store has none, and Keel reads none`);
      return { key: element.key, value: element.value };
    });
  }

  /** Every leaf element under the node at `pgid`, in key order. */
  private leafElements(pgid: number, what: string): LeafElement[] {
    if (this.visited.has(pgid)) throw new BoltFormatError(`${what}: page ${pgid} is reached twice`);
    this.visited.add(pgid);
    const at = pgid * this.meta.pageBytes;
    const overflow = this.view.getUint32(at + 12, true);
    const end = at + (overflow + 1) * this.meta.pageBytes;
    if (pgid + overflow >= this.meta.pageCount || end > this.file.length)
      throw new BoltFormatError(`${what}: page ${pgid} with ${overflow} overflow pages runs past the file`);
    const page = this.file.subarray(at, end);
    if (this.view.getBigUint64(at, true) !== BigInt(pgid))
      throw new BoltFormatError(`${what}: page ${pgid} says it is page ${this.view.getBigUint64(at, true)}`);
    const flags = this.view.getUint16(at + 8, true);
    if (flags === PageFlag.leaf) return this.pageElements(page, `${what}, page ${pgid}`, true);
    if (flags !== PageFlag.branch) throw new BoltFormatError(`${what}: page ${pgid} has flags 0x${flags.toString(16)}, expected a branch or leaf page`);
    return this.pageElements(page, `${what}, page ${pgid}`, false).flatMap((child) => this.leafElements(child.child, what));
  }

  private pageElements(page: Uint8Array, what: string, leaf: true): LeafElement[];
  private pageElements(page: Uint8Array, what: string, leaf: false): BranchElement[];
  private pageElements(page: Uint8Array, what: string, leaf: boolean): (LeafElement | BranchElement)[] {
    if (page.length < PAGE_HEADER_BYTES) throw new BoltFormatError(`${what}: ${page.length} bytes is too short for a page`);
    const view = new DataView(page.buffer, page.byteOffset, page.byteLength);
    const count = view.getUint16(10, true);
    if (PAGE_HEADER_BYTES + count * ELEMENT_BYTES > page.length) throw new BoltFormatError(`${what}: ${count} elements do not fit in the page`);
    const slice = (from: number, length: number, field: string): Uint8Array => {
      if (from < 0 || from + length > page.length) throw new BoltFormatError(`${what}: element ${field} runs past the page`);
      return page.subarray(from, from + length);
    };
    const out: (LeafElement | BranchElement)[] = [];
    for (let i = 0; i < count; i++) {
      const element = PAGE_HEADER_BYTES + i * ELEMENT_BYTES;
      if (leaf) {
        const flags = view.getUint32(element, true);
        const position = element + view.getUint32(element + 4, true);
        const keyBytes = view.getUint32(element + 8, true);
        const key = slice(position, keyBytes, `${i}'s key`);
        out.push({ flags, key, value: slice(position + keyBytes, view.getUint32(element + 12, true), `${i}'s value`) });
      } else {
        const position = element + view.getUint32(element, true);
        slice(position, view.getUint32(element + 4, true), `${i}'s key`);
        out.push({ child: this.pgid(view.getBigUint64(element + 8, true), `${what}, element ${i}`) });
      }
    }
    return out;
  }

  private pgid(value: bigint, what: string): number {
    if (value >= BigInt(this.meta.pageCount)) throw new BoltFormatError(`${what}: page id ${value} is past the last page (${this.meta.pageCount - 1})`);
    return Number(value);
  }

  private readMeta(at: number, expectedPageBytes: number | undefined): Meta | string {
    const meta = at + PAGE_HEADER_BYTES;
    if (meta + META_CHECKSUM_OFFSET + 8 > this.file.length) return 'is missing';
    if (this.view.getUint16(at + 8, true) !== PageFlag.meta) return 'is not a meta page';
    if (this.view.getUint32(meta, true) !== BOLT_MAGIC) return 'lacks the magic number';
    if (this.view.getUint32(meta + 4, true) !== BOLT_VERSION) return `has version ${this.view.getUint32(meta + 4, true)}, expected ${BOLT_VERSION}`;
    if (this.view.getBigUint64(meta + META_CHECKSUM_OFFSET, true) !== fnv1a64(this.file.subarray(meta, meta + META_CHECKSUM_OFFSET)))
      return 'fails its checksum';
    const pageBytes = this.view.getUint32(meta + 8, true);
    if (pageBytes < 512 || pageBytes > 65536 || (expectedPageBytes !== undefined && pageBytes !== expectedPageBytes)) return `has a page size of ${pageBytes}`;
    const pageCount = Number(this.view.getBigUint64(meta + 40, true));
    const rootPgid = Number(this.view.getBigUint64(meta + 16, true));
    if (!Number.isSafeInteger(pageCount) || rootPgid < 2 || rootPgid >= pageCount) return `names root page ${rootPgid} of ${pageCount}`;
    return { pageBytes, rootPgid, pageCount, txid: this.view.getBigUint64(meta + 48, true) };
  }
}

interface LeafElement {
  readonly flags: number;
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

interface BranchElement {
  readonly child: number;
}
