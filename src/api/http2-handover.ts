/**
 * How a plain-text HTTP/2 connection reaches the gRPC server: as it is, or, for the one
 * kind of client whose :authority Node's HTTP/2 server refuses (etcd 3.4's client dialing a
 * URL: authority-rewrite.ts), through a stream that rewrites its header blocks.
 *
 * Which one is known only from the connection's first header block, and grpc-go sends no
 * request before the server's connection preface has arrived. So the port speaks first:
 * 1. It sends an empty SETTINGS frame, a server preface that changes nothing (RFC 9113
 *    §3.4 allows the server's first SETTINGS to be empty).
 * 2. It reads and keeps the client's frames until the client has acknowledged that
 *    SETTINGS, and the first header block is whole (or firstRequestWaitMs have passed
 *    since the acknowledgement, for a client that connects before it has a call to make).
 *    The acknowledgement is dropped: the gRPC server did not send that SETTINGS and would
 *    take the acknowledgement for one of its own.
 * 3. A connection whose first :authority is acceptable (every client but that one), or that
 *    made no request in time, is handed over whole: the kept bytes are put back and the
 *    gRPC server reads the socket itself, natively. One whose first :authority holds a
 *    scheme goes through an AuthorityRewriter for its lifetime. Those are the one-call
 *    connections etcdctl opens endpoint by endpoint; a JavaScript stream in a connection's
 *    path costs 2.5-5 times per call (docs/internals/performance.md), so nothing else pays.
 *
 * The client's frames kept before the handover are bounded by keptBytesMax (the HTTP/2
 * flow-control windows bound what it may send before an answer anyway); the whole wait
 * for the acknowledgement by deadlineMs, after which the connection is closed.
 */
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { AuthorityRewriter, firstAuthorityRefused, HeaderBlockAssembler } from './authority-rewrite.js';
import { emptySettingsFrame, FrameSplitter, frameFlag, frameType, http2Preface } from './http2-frames.js';
import type { Frame } from './http2-frames.js';

export interface Http2HandoverOptions {
  /** Gets the connection: the socket itself, or a rewriting stream in front of it. */
  readonly inject: (connection: Duplex) => void;
  /** Time from the handover's start until the client must have acknowledged the port's SETTINGS. */
  readonly deadlineMs: number;
  readonly firstRequestWaitMs?: number;
  readonly keptBytesMax?: number;
}

export const firstRequestWaitMsDefault = 1_000;
export const keptBytesMaxDefault = 256 * 1024;

/** Takes a plain-text connection whose first bytes (at least the preface) were read from the paused socket. */
export function handOverHttp2(socket: Socket, firstBytes: Buffer, options: Http2HandoverOptions): void {
  const keptBytesMax = options.keptBytesMax ?? keptBytesMaxDefault;
  const splitter = new FrameSplitter();
  const assembler = new HeaderBlockAssembler();
  const kept: Buffer[] = [http2Preface];
  let keptBytes = 0;
  let acknowledged = false;
  let rewrite: boolean | undefined;
  let requestWait: NodeJS.Timeout | undefined;

  const stopWatching = (): void => {
    clearTimeout(deadline);
    clearTimeout(requestWait);
    socket.pause();
    socket.off('data', onData);
    socket.off('error', onError);
  };
  const onError = (): void => {
    stopWatching();
    socket.destroy();
  };
  const finish = (): void => {
    stopWatching();
    const bytes = Buffer.concat(framing ? [...kept, splitter.remainder()] : kept);
    if (rewrite) {
      options.inject(new AuthorityRewritingStream(socket, bytes));
    } else {
      socket.unshift(bytes);
      options.inject(socket);
    }
  };
  const keep = (bytes: Buffer): void => {
    kept.push(bytes);
    keptBytes += bytes.length;
  };
  // Cleared when the client's frames stop making sense: what follows is kept unread, in order.
  let framing = true;
  const onData = (chunk: Buffer): void => {
    if (!framing) {
      keep(chunk);
    } else {
      let frames: Frame[] = [];
      try {
        frames = splitter.push(chunk);
      } catch {
        framing = false;
        keep(splitter.remainder());
        // The HTTP/2 server will refuse this framing itself; it needs no rewriting.
        rewrite ??= false;
      }
      for (const frame of frames) {
        if (!acknowledged && frame.type === frameType.settings && (frame.flags & frameFlag.ack) !== 0) {
          acknowledged = true;
          requestWait = setTimeout(() => {
            rewrite ??= false;
            finish();
          }, options.firstRequestWaitMs ?? firstRequestWaitMsDefault);
          continue;
        }
        keep(frame.raw);
        if (rewrite === undefined && (frame.type === frameType.headers || frame.type === frameType.continuation)) rewrite = decide(frame);
      }
    }
    if (acknowledged && rewrite !== undefined) {
      finish();
    } else if (keptBytes > keptBytesMax) {
      if (!acknowledged) return onError();
      rewrite ??= false;
      finish();
    }
  };
  const decide = (frame: Frame): boolean | undefined => {
    try {
      const whole = assembler.add(frame);
      return whole ? firstAuthorityRefused(whole.block) : undefined;
    } catch {
      return false;
    }
  };
  const deadline = setTimeout(onError, options.deadlineMs);
  // A client gone before the handover must not leave its timers (and this closure) behind.
  socket.once('close', () => {
    clearTimeout(deadline);
    clearTimeout(requestWait);
  });
  socket.on('error', onError);
  socket.on('data', onData);
  socket.write(emptySettingsFrame);
  onData(firstBytes.subarray(http2Preface.length));
  socket.resume();
}

/**
 * The gRPC server's side of a connection whose header blocks are rewritten: what it writes
 * goes to the socket unchanged, what it reads is the client's bytes through the rewriter.
 */
class AuthorityRewritingStream extends Duplex {
  private readonly rewriter = new AuthorityRewriter();

  constructor(
    private readonly socket: Socket,
    firstBytes: Buffer,
  ) {
    super();
    socket.on('data', (chunk: Buffer) => this.fromClient(chunk));
    socket.on('end', () => this.push(null));
    socket.on('error', (error) => this.destroy(error));
    socket.on('close', () => this.destroy());
    this.fromClient(firstBytes);
  }

  private fromClient(chunk: Buffer): void {
    let bytes: Buffer;
    try {
      bytes = this.rewriter.push(chunk);
    } catch (error) {
      this.destroy(error as Error);
      return;
    }
    if (bytes.length > 0 && !this.push(bytes)) this.socket.pause();
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.socket.write(chunk, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.socket.end(callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.socket.destroy();
    callback(error);
  }
}
