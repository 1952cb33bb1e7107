/**
 * Just enough of HTTP/2's framing (RFC 9113 §4, §6) to read a client's frames and rewrite
 * its header blocks: a splitter that cuts a byte stream into whole frames, and builders
 * for the frames written back.
 */

/** Every HTTP/2 connection's first bytes, client to server (RFC 9113 §3.4). */
export const http2Preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export const frameHeaderBytes = 9;
/** SETTINGS_MAX_FRAME_SIZE's initial value, which Keel's HTTP/2 server keeps (RFC 9113 §6.5.2). */
export const frameBytesMaxDefault = 16_384;

export const frameType = { headers: 0x1, settings: 0x4, pushPromise: 0x5, continuation: 0x9 } as const;
export const frameFlag = { ack: 0x1, endStream: 0x1, endHeaders: 0x4, padded: 0x8, priority: 0x20 } as const;

export interface Frame {
  readonly type: number;
  readonly flags: number;
  readonly streamId: number;
  readonly payload: Buffer;
  /** The frame as it came, header included. */
  readonly raw: Buffer;
}

export class FrameError extends Error {}

/** A SETTINGS frame with no parameters: a server's connection preface, changing nothing (§3.4). */
export const emptySettingsFrame: Buffer = frameHeader(0, frameType.settings, 0, 0);

export function frameHeader(length: number, type: number, flags: number, streamId: number): Buffer {
  const header = Buffer.alloc(frameHeaderBytes);
  header.writeUIntBE(length, 0, 3);
  header.writeUInt8(type, 3);
  header.writeUInt8(flags, 4);
  header.writeUInt32BE(streamId & 0x7fffffff, 5);
  return header;
}

/** Cuts a byte stream into whole frames; a frame longer than payloadBytesMax is an error. */
export class FrameSplitter {
  private buffered: Buffer = Buffer.alloc(0);

  constructor(private readonly payloadBytesMax = frameBytesMaxDefault) {}

  push(chunk: Buffer): Frame[] {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const frames: Frame[] = [];
    let offset = 0;
    while (this.buffered.length - offset >= frameHeaderBytes) {
      const length = this.buffered.readUIntBE(offset, 3);
      if (length > this.payloadBytesMax) throw new FrameError(`HTTP/2 frame of ${length} bytes, more than ${this.payloadBytesMax}`);
      const end = offset + frameHeaderBytes + length;
      if (end > this.buffered.length) break;
      const raw = this.buffered.subarray(offset, end);
      frames.push({
        type: raw.readUInt8(3),
        flags: raw.readUInt8(4),
        streamId: raw.readUInt32BE(5) & 0x7fffffff,
        payload: raw.subarray(frameHeaderBytes),
        raw,
      });
      offset = end;
    }
    this.buffered = this.buffered.subarray(offset);
    return frames;
  }

  /** Bytes of a frame not yet whole. */
  remainder(): Buffer {
    return this.buffered;
  }
}

/** A HEADERS frame's parts: the priority fields if flagged, and its header block fragment without padding (§6.2). */
export function headersFrameParts(frame: Frame): { priority: Buffer | undefined; fragment: Buffer } {
  let start = 0;
  let end = frame.payload.length;
  if (frame.flags & frameFlag.padded) {
    const padding = frame.payload[0] ?? 0;
    start = 1;
    end -= padding;
  }
  let priority: Buffer | undefined;
  if (frame.flags & frameFlag.priority) {
    priority = frame.payload.subarray(start, start + 5);
    start += 5;
  }
  if (end < start) throw new FrameError('HTTP/2 HEADERS frame: padding longer than the frame');
  return { priority, fragment: frame.payload.subarray(start, end) };
}

/**
 * A header block as one HEADERS frame and as many CONTINUATION frames as it needs, none
 * longer than frameBytesMax; endStream and priority are kept, padding is not.
 */
export function headersFrames(streamId: number, endStream: boolean, priority: Buffer | undefined, block: Buffer, frameBytesMax = frameBytesMaxDefault): Buffer {
  const parts: Buffer[] = [];
  const first = priority ? Buffer.concat([priority, block]) : block;
  let offset = Math.min(first.length, frameBytesMax);
  const firstFlags = (endStream ? frameFlag.endStream : 0) | (priority ? frameFlag.priority : 0) | (offset === first.length ? frameFlag.endHeaders : 0);
  parts.push(frameHeader(offset, frameType.headers, firstFlags, streamId), first.subarray(0, offset));
  while (offset < first.length) {
    const length = Math.min(first.length - offset, frameBytesMax);
    const flags = offset + length === first.length ? frameFlag.endHeaders : 0;
    parts.push(frameHeader(length, frameType.continuation, flags, streamId), first.subarray(offset, offset + length));
    offset += length;
  }
  return Buffer.concat(parts);
}
