/**
 * One gRPC call on its HTTP/2 stream: the request messages read off the stream, the
 * answer's headers, messages and status written to it (the gRPC over HTTP/2 protocol).
 * grpc-server.ts turns a service's methods into handlers of these calls.
 *
 * A call ends once, by its handler (`answer`, `end`, `fail`) or without it: the client
 * reset the stream or went away, its deadline (grpc-timeout) passed, or the server shut
 * down. In that second case the call emits 'cancelled', and whatever the handler sends
 * afterwards is dropped. Other events: 'data' (a request message, for a method whose
 * requests stream), 'end' (the client sent its last request) and 'drain' (`write` may
 * go on after it returned false).
 */
import { EventEmitter } from 'node:events';
import { constants as http2 } from 'node:http2';
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { status } from './status.js';
import type { Credentials } from '../../server/index.js';
import type { Message } from './convert.js';
import type { ArrivingBytes, ArrivingShare } from './arriving-bytes.js';
import { ClientGone } from './client-gone.js';
import { decompressed } from './compressed-requests.js';
import { GrpcError } from './errors.js';
import { answerHeaders, statusOnly, statusTrailers, timeoutMs } from './grpc-protocol.js';
import { lengthPrefixed, MessageReader, MessageTooLarge } from './length-prefixed.js';
import type { RawMessage } from './length-prefixed.js';

/** How a method's messages become bytes and back (protobuf). */
export interface MessageCodec {
  readonly decode: (bytes: Buffer) => Message;
  readonly encode: (message: Message) => Buffer;
}

/** What is known of the connection a call came on, found once per connection. */
export interface CallConnection {
  /** The client's address and port ("unknown" behind a stream that has none). */
  readonly peer: string;
  /** The common name of the verified client certificate, if any (client-certificate.ts). */
  readonly certificateCommonName: string | undefined;
}

export interface CallOptions {
  readonly codec: MessageCodec;
  readonly connection: CallConnection;
  /** The largest request message taken, in bytes, compressed or not. */
  readonly requestBytesMax: number;
  /** The method takes exactly one request (unary and server-streaming methods). */
  readonly oneRequest: boolean;
  /** What the call's connection holds of requests still arriving (arriving-bytes.ts). */
  readonly arriving: ArrivingBytes;
}

export class ServerCall extends EventEmitter {
  /** The one request of a unary or server-streaming method, set before its handler runs. */
  request: Message = {};
  private state: 'open' | 'ended' | 'cancelled' = 'open';
  private headersSent = false;
  private deadline: NodeJS.Timeout | undefined;
  private readonly reader: MessageReader;
  private received = 0;
  /** The one request's bytes, whole, while the client has not ended its side. */
  private requestBytes = 0;
  /** This call's part of options.arriving: a call that waits for it reads on once it holds it. */
  private readonly arriving: ArrivingShare;
  private readonly gone = new ClientGone();
  /** A signal that aborts when the call is cancelled, made only when asked for (client-gone.ts). */
  readonly cancelSignal: () => AbortSignal = this.gone.signal;

  constructor(
    private readonly stream: ServerHttp2Stream,
    private readonly headers: IncomingHttpHeaders,
    private readonly options: CallOptions,
  ) {
    super();
    this.reader = new MessageReader(options.requestBytesMax);
    this.arriving = options.arriving.share(() => stream.resume());
    stream.on('error', () => {
      // A stream error is followed by its 'close', which cancels the call.
    });
    stream.once('close', () => this.cancel());
    stream.on('drain', () => this.emit('drain'));
  }

  get cancelled(): boolean {
    return this.state === 'cancelled';
  }

  get peer(): string {
    return this.options.connection.peer;
  }

  /** The stream's buffer is full: wait for 'drain' before writing more. */
  get needsDrain(): boolean {
    return this.stream.writableNeedDrain;
  }

  /** The token (etcd's `token` metadata, or `authorization`) and the certificate's name. */
  credentials(): Credentials {
    const commonName = this.options.connection.certificateCommonName;
    const withName: Credentials = commonName === undefined ? {} : { certificateCommonName: commonName };
    const value = this.header('token') ?? this.header('authorization');
    return value === undefined ? withName : { ...withName, token: value.replace(/^Bearer /, '') };
  }

  /**
   * Reads the requests and runs `serve`: at once for a method whose requests stream,
   * after the one request otherwise. A malformed timeout fails the call first.
   */
  start(serve: (call: ServerCall) => void): void {
    const timeout = this.header('grpc-timeout');
    if (timeout !== undefined) {
      const ms = timeoutMs(timeout);
      if (ms === undefined) return this.fail(new GrpcError(status.INTERNAL, `malformed grpc-timeout "${timeout}"`));
      if (ms !== Infinity) this.deadline = setTimeout(() => this.expire(), ms);
    }
    this.stream.on('data', (chunk: Buffer) => this.receive(chunk));
    this.stream.once('end', () => this.receiveEnd(serve));
    if (!this.options.oneRequest) serve(this);
  }

  /**
   * Settles once `write` may go on, or once the call is cancelled (writes are dropped
   * then). The handler that waits on it is the only one that could end the call otherwise.
   */
  drained(): Promise<void> {
    if (!this.writable() || !this.stream.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => {
      const settle = (): void => {
        this.off('drain', settle);
        this.off('cancelled', settle);
        resolve();
      };
      this.once('drain', settle);
      this.once('cancelled', settle);
    });
  }

  /**
   * The unary answer: headers and the message, then status OK in the trailers. (Node's
   * HTTP/2 sends trailers from a setImmediate, so they leave in a write of their own
   * unless other streams' frames are waiting too.)
   */
  answer(message: Message): void {
    if (!this.writable()) return;
    const bytes = this.encode(message);
    if (bytes === undefined) return;
    this.sendHeaders();
    this.finish(status.OK, '', bytes);
  }

  /** Sends one message of a streaming answer; false when the stream's buffer is full. */
  write(message: Message): boolean {
    if (!this.writable()) return false;
    const bytes = this.encode(message);
    if (bytes === undefined) return false;
    this.sendHeaders();
    return this.stream.write(bytes);
  }

  /** Ends the call with status OK. */
  end(): void {
    this.finish(status.OK, '');
  }

  /** Ends the call with the error's status and message. */
  fail(error: GrpcError): void {
    this.finish(error.code, error.message);
  }

  /** Open, and its stream not destroyed ahead of the 'close' that will cancel it. */
  private writable(): boolean {
    return this.state === 'open' && !this.stream.destroyed;
  }

  private header(name: string): string | undefined {
    const value = this.headers[name];
    return Array.isArray(value) ? value[0] : value;
  }

  private receive(chunk: Buffer): void {
    if (this.state !== 'open') return;
    let messages: RawMessage[];
    try {
      messages = this.reader.push(chunk);
    } catch (error) {
      if (!(error instanceof MessageTooLarge)) throw error;
      return this.fail(new GrpcError(status.RESOURCE_EXHAUSTED, error.message));
    }
    for (const raw of messages) {
      this.received++;
      if (this.options.oneRequest && this.received > 1) {
        return this.fail(new GrpcError(status.UNIMPLEMENTED, 'the method takes one request message; a second came'));
      }
      const message = this.decode(raw);
      if (message === undefined || this.state !== 'open') return;
      if (this.options.oneRequest) {
        this.request = message;
        this.requestBytes = raw.bytes.length;
      } else {
        this.emit('data', message);
      }
    }
    if (this.state === 'open') this.holdArriving();
  }

  /**
   * Holds in the connection's budget what is still arriving: the length of the message
   * begun, and the one request of a unary call that has come whole but waits for the
   * client to end its side. A call that does not fit stops reading until it does.
   */
  private holdArriving(): void {
    const bytes = this.reader.unfinishedLength + this.requestBytes;
    if (!this.arriving.hold(bytes)) this.stream.pause();
  }

  private receiveEnd(serve: (call: ServerCall) => void): void {
    if (this.state !== 'open') return;
    if (this.reader.partial) return this.fail(new GrpcError(status.INTERNAL, 'the request ended inside a message'));
    if (!this.options.oneRequest) {
      this.emit('end');
      return;
    }
    if (this.received === 0) return this.fail(new GrpcError(status.UNIMPLEMENTED, 'the method takes one request message; none came'));
    this.arriving.release();
    serve(this);
  }

  private decode(raw: RawMessage): Message | undefined {
    try {
      const bytes = raw.compressed ? decompressed(raw.bytes, this.header('grpc-encoding') ?? 'identity', this.options.requestBytesMax) : raw.bytes;
      return this.options.codec.decode(bytes);
    } catch (error) {
      this.fail(error instanceof GrpcError ? error : new GrpcError(status.INTERNAL, `the request message could not be decoded: ${(error as Error).message}`));
      return undefined;
    }
  }

  private encode(message: Message): Buffer | undefined {
    try {
      return lengthPrefixed(this.options.codec.encode(message));
    } catch (error) {
      this.fail(new GrpcError(status.INTERNAL, `the answer could not be encoded: ${(error as Error).message}`));
      return undefined;
    }
  }

  private sendHeaders(): void {
    if (this.headersSent) return;
    this.headersSent = true;
    this.stream.respond(answerHeaders, { waitForTrailers: true });
  }

  /** Ends the call with this status, after `lastMessage` (encoded) when given. */
  private finish(code: number, message: string, lastMessage?: Buffer): void {
    if (this.state !== 'open') return;
    this.state = 'ended';
    clearTimeout(this.deadline);
    this.arriving.release();
    if (this.stream.destroyed || this.stream.closed) return;
    if (this.headersSent) {
      this.stream.once('wantTrailers', () => this.stream.sendTrailers(statusTrailers(code, message)));
      this.stream.end(lastMessage);
    } else {
      this.stream.respond(statusOnly(code, message), { endStream: true });
      // A refusal can come while the client is still sending the request: ask it to
      // stop, as HTTP/2 lets a server that has answered in full (RFC 9113 §8.1:
      // RST_STREAM with NO_ERROR; Node sends it once the answer has been handed over).
      if (!this.stream.readableEnded) this.stream.close(http2.NGHTTP2_NO_ERROR);
    }
  }

  /** The deadline passed: the client gets DEADLINE_EXCEEDED, the handler 'cancelled'. */
  private expire(): void {
    this.finish(status.DEADLINE_EXCEEDED, 'Deadline exceeded');
    this.becomeCancelled();
  }

  /** The stream closed: if the call was still open, it is cancelled. */
  private cancel(): void {
    clearTimeout(this.deadline);
    if (this.state === 'open') this.becomeCancelled();
  }

  private becomeCancelled(): void {
    this.state = 'cancelled';
    this.arriving.release();
    this.gone.happened();
    this.emit('cancelled');
  }
}
