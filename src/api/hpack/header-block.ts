/**
 * HPACK header blocks (RFC 7541): a decoder that keeps the connection's dynamic table,
 * and a stateless encoder.
 *
 * Names and values are kept as latin1 strings: HPACK carries octets, and latin1 maps each
 * octet to one character and back unchanged.
 */
import { decodeHuffman } from './huffman.js';
import { staticTable } from './static-table.js';

export type HeaderField = readonly [name: string, value: string];

export class HpackError extends Error {}

/** An entry's size in the dynamic table: its octets plus 32 (RFC 7541 §4.1). */
function entrySize(name: string, value: string): number {
  return name.length + value.length + 32;
}

/** Reads one header block after another from the same connection, in order. */
export class HeaderBlockDecoder {
  /** Newest first: index staticTable.length + 1 is entries[0]. */
  private readonly entries: HeaderField[] = [];
  private tableBytes = 0;
  private tableBytesMax: number;

  /** tableBytesLimit: the SETTINGS_HEADER_TABLE_SIZE this side announced (4,096 unless set). */
  constructor(private readonly tableBytesLimit = 4096) {
    this.tableBytesMax = tableBytesLimit;
  }

  decode(block: Uint8Array): HeaderField[] {
    const fields: HeaderField[] = [];
    const reader = new BlockReader(block);
    while (!reader.done()) {
      const first = reader.peek();
      if (first & 0x80) {
        // Indexed header field (§6.1).
        fields.push(this.field(reader.integer(7)));
      } else if (first & 0x40) {
        // Literal with incremental indexing (§6.2.1).
        const field = this.literal(reader, 6);
        this.insert(field);
        fields.push(field);
      } else if (first & 0x20) {
        // Dynamic table size update (§6.3): only at the start of a block, never above the limit.
        if (fields.length > 0) throw new HpackError('HPACK: table size update after a header field');
        const size = reader.integer(5);
        if (size > this.tableBytesLimit) throw new HpackError(`HPACK: table size ${size} above the limit ${this.tableBytesLimit}`);
        this.tableBytesMax = size;
        this.evictTo(size);
      } else {
        // Literal without indexing (§6.2.2) or never indexed (§6.2.3).
        fields.push(this.literal(reader, 4));
      }
    }
    return fields;
  }

  private literal(reader: BlockReader, prefixBits: number): HeaderField {
    const nameIndex = reader.integer(prefixBits);
    const name = nameIndex === 0 ? reader.string() : this.field(nameIndex)[0];
    return [name, reader.string()];
  }

  private field(index: number): HeaderField {
    if (index === 0) throw new HpackError('HPACK: index 0');
    const fromStatic = staticTable[index - 1];
    if (fromStatic) return fromStatic;
    const fromDynamic = this.entries[index - staticTable.length - 1];
    if (!fromDynamic) throw new HpackError(`HPACK: index ${index} is in neither table`);
    return fromDynamic;
  }

  private insert(field: HeaderField): void {
    const size = entrySize(field[0], field[1]);
    // An entry larger than the table empties it and is not added (§4.4).
    this.evictTo(Math.max(0, this.tableBytesMax - size));
    if (size > this.tableBytesMax) return;
    this.entries.unshift(field);
    this.tableBytes += size;
  }

  private evictTo(bytes: number): void {
    while (this.tableBytes > bytes) {
      const oldest = this.entries.pop();
      if (!oldest) break;
      this.tableBytes -= entrySize(oldest[0], oldest[1]);
    }
  }
}

/** Encodes fields as literals without indexing and without Huffman: no state on either side. */
export function encodeHeaderBlock(fields: readonly HeaderField[]): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of fields) {
    parts.push(Buffer.of(0x00), encodeString(name), encodeString(value));
  }
  return Buffer.concat(parts);
}

function encodeString(text: string): Buffer {
  const octets = Buffer.from(text, 'latin1');
  return Buffer.concat([encodeInteger(octets.length, 7, 0x00), octets]);
}

/** An integer with an N-bit prefix (§5.1); `high` holds the first byte's bits above the prefix. */
export function encodeInteger(value: number, prefixBits: number, high: number): Buffer {
  const prefixMax = 2 ** prefixBits - 1;
  if (value < prefixMax) return Buffer.of(high | value);
  const bytes = [high | prefixMax];
  let rest = value - prefixMax;
  while (rest >= 128) {
    bytes.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

class BlockReader {
  private offset = 0;

  constructor(private readonly bytes: Uint8Array) {}

  done(): boolean {
    return this.offset >= this.bytes.length;
  }

  peek(): number {
    return this.byte();
  }

  /** An integer with an N-bit prefix (§5.1); at most 2^28, far above any table or string here. */
  integer(prefixBits: number): number {
    const prefixMax = 2 ** prefixBits - 1;
    let value = this.byte() & prefixMax;
    this.offset += 1;
    if (value < prefixMax) return value;
    for (let shift = 0; ; shift += 7) {
      if (shift > 21) throw new HpackError('HPACK: integer too large');
      const next = this.byte();
      this.offset += 1;
      value += (next & 0x7f) * 2 ** shift;
      if ((next & 0x80) === 0) return value;
    }
  }

  /** A string literal (§5.2), Huffman-coded or raw. */
  string(): string {
    const huffman = (this.byte() & 0x80) !== 0;
    const length = this.integer(7);
    if (this.offset + length > this.bytes.length) throw new HpackError('HPACK: string runs past the block');
    const octets = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return (huffman ? decodeHuffman(octets) : Buffer.from(octets)).toString('latin1');
  }

  private byte(): number {
    const value = this.bytes[this.offset];
    if (value === undefined) throw new HpackError('HPACK: block ends inside a field');
    return value;
  }
}
