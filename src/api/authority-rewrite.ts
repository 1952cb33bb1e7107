/**
 * The :authority that etcd 3.4's client sends when it dials a URL, and how it is made
 * acceptable to Node's HTTP/2 server (see http2-handover.ts for when this is used).
 *
 * etcd 3.4's Go client dials some calls straight to an endpoint URL: the maintenance calls
 * etcdctl makes endpoint by endpoint (endpoint status, endpoint hashkv, defrag, with
 * --endpoints=http://... or --cluster). grpc-go then sends the URL whole as the HTTP/2
 * :authority, "http://10.0.0.1:2379". etcd's Go server takes it; nghttp2, under Node's
 * HTTP/2 server, refuses an authority holding a character outside RFC 3986's authority
 * (here the '/') with RST_STREAM PROTOCOL_ERROR, and Node has no switch to allow it.
 */
import { encodeHeaderBlock, HeaderBlockDecoder } from './hpack/header-block.js';
import type { HeaderField } from './hpack/header-block.js';
import { FrameError, http2Preface, FrameSplitter, frameFlag, frameType, headersFrameParts, headersFrames } from './http2-frames.js';
import type { Frame } from './http2-frames.js';

/** The characters nghttp2 accepts in an :authority: RFC 3986's authority (userinfo, host, port). */
const authorityCharacters = /^[A-Za-z0-9\-._~!$&'()*+,;=:@[\]%]*$/;

export function authorityRefused(authority: string): boolean {
  return !authorityCharacters.test(authority);
}

/** "http://10.0.0.1:2379/" -> "10.0.0.1:2379": the scheme and anything from the path on cut off. */
export function authorityWithoutScheme(authority: string): string {
  const afterScheme = authority.replace(/^[A-Za-z][A-Za-z0-9+.-]*:\/\//, '');
  return afterScheme.split(/[/?#]/, 1)[0] ?? '';
}

/** A header block longer than this (HEADERS and its CONTINUATIONs) closes the connection. */
export const headerBlockBytesMax = 256 * 1024;

/** Gathers one header block from a HEADERS frame and the CONTINUATION frames after it (RFC 9113 §6.10). */
export class HeaderBlockAssembler {
  private open: { streamId: number; endStream: boolean; priority: Buffer | undefined; fragments: Buffer[]; bytes: number } | undefined;

  /** Whether a block is begun and not yet whole: then only its CONTINUATION may come. */
  inBlock(): boolean {
    return this.open !== undefined;
  }

  /** Takes a HEADERS or CONTINUATION frame; returns the block once whole. */
  add(frame: Frame): { streamId: number; endStream: boolean; priority: Buffer | undefined; block: Buffer } | undefined {
    if (frame.type === frameType.headers) {
      if (this.open) throw new FrameError('HTTP/2: HEADERS inside another header block');
      const { priority, fragment } = headersFrameParts(frame);
      this.open = { streamId: frame.streamId, endStream: (frame.flags & frameFlag.endStream) !== 0, priority, fragments: [fragment], bytes: fragment.length };
    } else {
      if (!this.open || frame.streamId !== this.open.streamId) throw new FrameError('HTTP/2: CONTINUATION outside a header block');
      this.open.fragments.push(frame.payload);
      this.open.bytes += frame.payload.length;
    }
    if (this.open.bytes > headerBlockBytesMax) throw new FrameError(`HTTP/2: header block over ${headerBlockBytesMax} bytes`);
    if ((frame.flags & frameFlag.endHeaders) === 0) return undefined;
    const { streamId, endStream, priority, fragments } = this.open;
    this.open = undefined;
    return { streamId, endStream, priority, block: Buffer.concat(fragments) };
  }
}

/** Whether a connection's first header block carries an :authority nghttp2 would refuse. */
export function firstAuthorityRefused(block: Buffer): boolean {
  let fields: HeaderField[];
  try {
    fields = new HeaderBlockDecoder().decode(block);
  } catch {
    // Not HPACK that decodes: the HTTP/2 server gives the client its error.
    return false;
  }
  const authority = fields.find(([name]) => name === ':authority');
  return authority !== undefined && authorityRefused(authority[1]);
}

/**
 * Rewrites a client's side of an HTTP/2 connection, from its preface on: every header
 * block is decoded with the client's dynamic table and written again as plain literals
 * (no state for the server to keep in step) with :authority cut to host:port; every other
 * frame passes unchanged.
 */
export class AuthorityRewriter {
  private prefaceBytesLeft = http2Preface.length;
  private readonly splitter = new FrameSplitter();
  private readonly assembler = new HeaderBlockAssembler();
  private readonly decoder = new HeaderBlockDecoder();

  /** The bytes to pass on for the next bytes the client sent; throws on a framing or HPACK error. */
  push(chunk: Buffer): Buffer {
    const out: Buffer[] = [];
    if (this.prefaceBytesLeft > 0) {
      const preface = chunk.subarray(0, this.prefaceBytesLeft);
      this.prefaceBytesLeft -= preface.length;
      out.push(preface);
      chunk = chunk.subarray(preface.length);
    }
    for (const frame of this.splitter.push(chunk)) {
      const isBlockFrame = frame.type === frameType.headers || frame.type === frameType.continuation;
      if (!isBlockFrame && !this.assembler.inBlock()) {
        out.push(frame.raw);
        continue;
      }
      if (!isBlockFrame) throw new FrameError('HTTP/2: a frame inside a header block');
      const whole = this.assembler.add(frame);
      if (!whole) continue;
      const fields = this.decoder
        .decode(whole.block)
        .map(([name, value]): HeaderField => (name === ':authority' ? [name, authorityWithoutScheme(value)] : [name, value]));
      out.push(headersFrames(whole.streamId, whole.endStream, whole.priority, encodeHeaderBlock(fields)));
    }
    return out.length === 1 && out[0] ? out[0] : Buffer.concat(out);
  }
}
