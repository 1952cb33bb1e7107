/**
 * gRPC's length-prefixed messages: on the wire each message is one byte that says
 * whether it is compressed, its length as four big-endian bytes, then its bytes (the
 * gRPC over HTTP/2 protocol, "Length-Prefixed-Message"). A request's DATA frames may
 * split a message or carry several; MessageReader gives them back whole, copying only a
 * message that arrived in more than one piece.
 */

export const messagePrefixBytes = 5;

export interface RawMessage {
  readonly compressed: boolean;
  readonly bytes: Buffer;
}

/** A prefix announced a message longer than the reader takes: nothing of it is kept. */
export class MessageTooLarge extends Error {
  override name = 'MessageTooLarge';
  constructor(
    readonly length: number,
    readonly max: number,
  ) {
    super(`the request message is ${length} bytes, over the limit of ${max}`);
  }
}

export class MessageReader {
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  /** The current message's length once its prefix is read. */
  private length: number | undefined;
  private compressed = false;

  constructor(private readonly maxBytes: number) {}

  /** The messages this chunk completes, in order; throws MessageTooLarge at a prefix over the limit. */
  push(chunk: Buffer): RawMessage[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const messages: RawMessage[] = [];
    for (;;) {
      if (this.length === undefined) {
        if (this.buffered < messagePrefixBytes) break;
        const prefix = this.take(messagePrefixBytes);
        this.compressed = prefix[0] === 1;
        const length = prefix.readUInt32BE(1);
        if (length > this.maxBytes) throw new MessageTooLarge(length, this.maxBytes);
        this.length = length;
      }
      if (this.buffered < this.length) break;
      messages.push({ compressed: this.compressed, bytes: this.take(this.length) });
      this.length = undefined;
    }
    return messages;
  }

  /** The length its prefix announced for the message begun and not finished; 0 if none. */
  get unfinishedLength(): number {
    return this.length ?? 0;
  }

  /** Bytes of a message begun and not finished: a request that ends here was cut short. */
  get partial(): boolean {
    return this.buffered > 0 || this.length !== undefined;
  }

  private take(count: number): Buffer {
    const first = this.chunks[0];
    if (count === 0 || first === undefined) return Buffer.alloc(0);
    this.buffered -= count;
    if (first.length >= count) {
      if (first.length === count) this.chunks.shift();
      else this.chunks[0] = first.subarray(count);
      return first.subarray(0, count);
    }
    const bytes = Buffer.allocUnsafe(count);
    let filled = 0;
    while (filled < count) {
      const chunk = this.chunks[0] as Buffer;
      const part = Math.min(chunk.length, count - filled);
      chunk.copy(bytes, filled, 0, part);
      filled += part;
      if (part === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(part);
    }
    return bytes;
  }
}

/** `bytes` as one length-prefixed, uncompressed message. */
export function lengthPrefixed(bytes: Uint8Array): Buffer {
  const framed = Buffer.allocUnsafe(messagePrefixBytes + bytes.length);
  framed[0] = 0;
  framed.writeUInt32BE(bytes.length, 1);
  framed.set(bytes, messagePrefixBytes);
  return framed;
}
