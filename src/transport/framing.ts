/**
 * Length-prefixed frames over a byte stream: `[u32 big-endian length][payload]`.
 *
 * TCP delivers a stream, not messages: one `data` chunk may hold part of a frame,
 * several frames, or the end of one and the start of the next. `FrameDecoder`
 * reassembles them. A frame header announcing more than `frameBytesMax` bytes is
 * refused before anything is allocated for it (a peer must not make us reserve
 * 4 GiB with four bytes); the caller then closes the connection, since the stream
 * cannot be resynchronized.
 */
import { assert } from '../lib/index.js';

export const frameHeaderBytes = 4;

/** Default limit on one frame's payload. Raft's largest messages are appends of
 * `bytesPerMessageMax` (1 MiB by default, or one entry of up to `entryBytesMax`,
 * 2 MiB) and snapshot chunks (512 KiB); 16 MiB leaves ample room. */
export const frameBytesMaxDefault = 16 * 1024 * 1024;

/** The largest payload a u32 length can describe. */
const u32Max = 0xffff_ffff;

export class FrameTooLargeError extends Error {
  override name = 'FrameTooLargeError';
  readonly code = 'FRAME_TOO_LARGE';
  constructor(
    readonly frameBytes: number,
    readonly frameBytesMax: number,
  ) {
    super(`frame of ${frameBytes} bytes exceeds the limit of ${frameBytesMax} bytes (frameBytesMax)`);
  }
}

/** Writes the frames of `payloads` back to back into one buffer (one write, one syscall). */
export function encodeFrames(payloads: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const payload of payloads) total += frameHeaderBytes + payload.length;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  let offset = 0;
  for (const payload of payloads) {
    putFrameHeader(view, offset, payload.length);
    out.set(payload, offset + frameHeaderBytes);
    offset += frameHeaderBytes + payload.length;
  }
  return out;
}

/** A frame of at least this many bytes is written where it is, behind a header of its own (frameBuffers). */
export const frameCopyBytesMax = 16 * 1024;

/** One frame's payload, in parts written one after the other (message-codec.ts encodeMessageParts). */
export interface FramePayload {
  readonly parts: readonly Uint8Array[];
  /** The bytes of all the parts. */
  readonly length: number;
}

export function framePayload(parts: readonly Uint8Array[]): FramePayload {
  let length = 0;
  for (const part of parts) length += part.length;
  return { parts, length };
}

/**
 * The frames of `payloads` as buffers to write in this order, in one writev: small
 * frames laid out back to back with their headers in one buffer (encodeFrames), a
 * large one's parts left where they are behind a 4-byte header, so that an append
 * carrying a 64 KiB entry is not copied once more for every peer it goes to.
 */
export function frameBuffers(payloads: readonly FramePayload[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let small: Uint8Array[] = [];
  for (const payload of payloads) {
    if (payload.length < frameCopyBytesMax) {
      small.push(payload.parts.length === 1 ? (payload.parts[0] as Uint8Array) : joinParts(payload));
      continue;
    }
    if (small.length > 0) out.push(encodeFrames(small));
    small = [];
    const header = new Uint8Array(frameHeaderBytes);
    putFrameHeader(new DataView(header.buffer), 0, payload.length);
    out.push(header, ...payload.parts);
  }
  if (small.length > 0) out.push(encodeFrames(small));
  return out;
}

function putFrameHeader(view: DataView, offset: number, payloadBytes: number): void {
  assert(payloadBytes <= u32Max, () => `frame payload of ${payloadBytes} bytes does not fit a u32 length`);
  view.setUint32(offset, payloadBytes);
}

/** A payload's parts in one buffer. */
export function joinParts(payload: FramePayload): Uint8Array {
  const out = new Uint8Array(payload.length);
  let offset = 0;
  for (const part of payload.parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export function encodeFrame(payload: Uint8Array): Uint8Array {
  return encodeFrames([payload]);
}

export interface FrameDecoderOptions {
  /** Largest payload accepted, in bytes. */
  readonly frameBytesMax: number;
}

/**
 * Turns stream chunks into frame payloads. Payloads that arrive whole inside one
 * chunk are handed out as views of that chunk (no copy); the consumer must not keep
 * them past its handling of the frame (the message codec copies what it keeps).
 * A frame split across chunks is assembled in a buffer allocated once, at its exact
 * size, when its header is complete, so a large frame in many small chunks costs
 * one copy, not one per chunk.
 */
export class FrameDecoder {
  private frameBytesMax: number;
  /** Header bytes of the current frame received so far. */
  private readonly header = new Uint8Array(frameHeaderBytes);
  private headerFilled = 0;
  /** The payload being assembled, once its length is known and it spans chunks. */
  private partial: Uint8Array | undefined;
  private partialFilled = 0;
  private failed = false;

  constructor(options: FrameDecoderOptions) {
    this.frameBytesMax = checkLimit(options.frameBytesMax);
  }

  /** Changes the limit for the frames whose header is read from now on, even within
   * the current push (a connection reads its handshake with a small limit, then
   * raises it). */
  setFrameBytesMax(frameBytesMax: number): void {
    this.frameBytesMax = checkLimit(frameBytesMax);
  }

  /** Bytes held for a frame that is not complete yet. */
  get bufferedBytes(): number {
    return this.headerFilled + this.partialFilled;
  }

  /**
   * Consumes a chunk and hands each payload it completes to `onFrame`, in order.
   * Throws FrameTooLargeError (and refuses any further input) when a header
   * announces a frame over the limit; the frames before it have been handed out.
   */
  push(chunk: Uint8Array, onFrame: (payload: Uint8Array) => void): void {
    assert(!this.failed, 'FrameDecoder: push after a frame was refused; the connection must be closed');
    let offset = 0;
    while (offset < chunk.length) {
      if (this.partial !== undefined) {
        const take = Math.min(this.partial.length - this.partialFilled, chunk.length - offset);
        this.partial.set(chunk.subarray(offset, offset + take), this.partialFilled);
        this.partialFilled += take;
        offset += take;
        if (this.partialFilled === this.partial.length) {
          const payload = this.partial;
          this.partial = undefined;
          this.partialFilled = 0;
          onFrame(payload);
        }
        continue;
      }
      // Reading a header, either straight from the chunk or across chunks.
      let length: number;
      if (this.headerFilled === 0 && chunk.length - offset >= frameHeaderBytes) {
        length = readU32(chunk, offset);
        offset += frameHeaderBytes;
      } else {
        const take = Math.min(frameHeaderBytes - this.headerFilled, chunk.length - offset);
        this.header.set(chunk.subarray(offset, offset + take), this.headerFilled);
        this.headerFilled += take;
        offset += take;
        if (this.headerFilled < frameHeaderBytes) break;
        this.headerFilled = 0;
        length = readU32(this.header, 0);
      }
      if (length > this.frameBytesMax) {
        this.failed = true;
        throw new FrameTooLargeError(length, this.frameBytesMax);
      }
      if (chunk.length - offset >= length) {
        const payload = chunk.subarray(offset, offset + length);
        offset += length;
        onFrame(payload);
      } else {
        this.partial = new Uint8Array(length);
        this.partialFilled = 0;
      }
    }
  }

  /** push() collecting the payloads in an array. */
  pushAll(chunk: Uint8Array): Uint8Array[] {
    const frames: Uint8Array[] = [];
    this.push(chunk, (payload) => frames.push(payload));
    return frames;
  }
}

function checkLimit(frameBytesMax: number): number {
  assert(
    Number.isSafeInteger(frameBytesMax) && frameBytesMax >= 0 && frameBytesMax <= u32Max,
    () => `frameBytesMax must be an integer in [0, ${u32Max}], got ${frameBytesMax}`,
  );
  return frameBytesMax;
}

function readU32(bytes: Uint8Array, offset: number): number {
  return (
    (bytes[offset] as number) * 0x100_0000 + (((bytes[offset + 1] as number) << 16) | ((bytes[offset + 2] as number) << 8) | (bytes[offset + 3] as number))
  );
}
