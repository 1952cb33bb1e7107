/**
 * The gRPC server of a client port, on Node's HTTP/2 directly: it listens nowhere and is
 * handed the connections client-port.ts accepts (plain, or with TLS already terminated),
 * and runs each call (server-call.ts) by its :path. grpc-server.ts gives it etcd's
 * methods.
 *
 * Node's HTTP/2 (nghttp2) does the framing, flow control, HPACK and PING answers; what is
 * left of gRPC on the server side is small: the content type, the method's path, the
 * length-prefixed messages, the timeout and the status. Serving it here rather than
 * through grpc-js saves each call grpc-js's layers (its metadata object, interceptor
 * chain, object-mode streams, per-call listeners): measured in
 * docs/internals/performance.md.
 */
import { createServer } from 'node:http2';
import type { Http2Server, Http2Session, IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { constants as http2 } from 'node:http2';
import type { Duplex } from 'node:stream';
import { status } from './status.js';
import { commonNameOfSocket } from '../client-certificate.js';
import { ArrivingBytes } from './arriving-bytes.js';
import { isGrpcContentType, statusOnly } from './grpc-protocol.js';
import { ServerCall } from './server-call.js';
import type { CallConnection, MessageCodec } from './server-call.js';

export interface GrpcMethod {
  readonly codec: MessageCodec;
  /** The client sends a stream of requests (Watch, LeaseKeepAlive), not exactly one. */
  readonly requestStream: boolean;
  /** Runs the call: for one request, once it has come (call.request). */
  readonly serve: (call: ServerCall) => void;
}

export interface CallServerOptions {
  /** The largest request message taken (RESOURCE_EXHAUSTED past it). */
  readonly requestBytesMax: number;
  /** A connection without a call running is closed (GOAWAY) after this long. */
  readonly idleMs: number;
  /**
   * What one connection's calls may hold at once of requests still arriving
   * (arriving-bytes.ts); calls past it wait. Without it a client could open any number
   * of calls, each holding up to requestBytesMax.
   */
  readonly arrivingBytesMax: number;
  /** Calls one connection may have open at once (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS); unlimited if not given. */
  readonly streamsMax?: number;
}

interface SessionState {
  readonly connection: CallConnection;
  readonly arriving: ArrivingBytes;
  running: number;
  idle: NodeJS.Timeout | undefined;
}

export class CallServer {
  private readonly http2: Http2Server;
  private readonly sessions = new Map<Http2Session, SessionState>();
  private closing = false;
  private onSessionClosed: () => void = () => {};

  constructor(
    private readonly methods: ReadonlyMap<string, GrpcMethod>,
    private readonly options: CallServerOptions,
  ) {
    // nghttp2's per-session memory cap answers a busy connection with ENHANCE_YOUR_CALM;
    // what a connection may hold is bounded here instead (request size, the write
    // budget of connection-budget.ts, the watch and keep-alive limits).
    this.http2 = createServer({
      maxSessionMemory: Number.MAX_SAFE_INTEGER,
      ...(options.streamsMax !== undefined ? { settings: { maxConcurrentStreams: options.streamsMax } } : {}),
    });
    this.http2.on('session', (session: Http2Session) => this.opened(session));
    this.http2.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => this.dispatch(stream, headers));
    this.http2.on('sessionError', () => {
      // The session is destroyed with it; its calls are cancelled by their streams' 'close'.
    });
  }

  /** Calls of every connection waiting, unread, for the arriving bound (arriving-bytes.ts). */
  callsWaitingToArrive(): number {
    let waiting = 0;
    for (const state of this.sessions.values()) waiting += state.arriving.waitingCalls;
    return waiting;
  }

  /** Takes an HTTP/2 connection: the socket itself or a stream in front of it. */
  injectConnection(connection: Duplex): void {
    if (this.closing) {
      connection.destroy();
      return;
    }
    this.http2.emit('connection', connection);
  }

  /** GOAWAY to every connection; calls still running after graceMs are cut. */
  close(graceMs: number): Promise<void> {
    this.closing = true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        for (const session of this.sessions.keys()) session.destroy();
        resolve();
      }, graceMs);
      this.onSessionClosed = () => {
        if (this.sessions.size > 0) return;
        clearTimeout(timer);
        resolve();
      };
      for (const session of this.sessions.keys()) session.close();
      this.onSessionClosed();
    });
  }

  private opened(session: Http2Session): void {
    const socket = session.socket;
    const peer = socket.remoteAddress === undefined ? 'unknown' : `${socket.remoteAddress}:${socket.remotePort}`;
    const state: SessionState = {
      connection: { peer, certificateCommonName: commonNameOfSocket(socket) },
      arriving: new ArrivingBytes(this.options.arrivingBytesMax),
      running: 0,
      idle: undefined,
    };
    this.sessions.set(session, state);
    this.idleFromNow(session, state);
    session.on('error', () => {
      // Followed by 'close'.
    });
    session.once('close', () => {
      clearTimeout(state.idle);
      this.sessions.delete(session);
      this.onSessionClosed();
    });
  }

  private idleFromNow(session: Http2Session, state: SessionState): void {
    clearTimeout(state.idle);
    state.idle = setTimeout(() => session.close(), this.options.idleMs).unref();
  }

  private dispatch(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    stream.on('error', () => {
      // Followed by 'close'.
    });
    const session = stream.session;
    const state = session === undefined ? undefined : this.sessions.get(session);
    if (session === undefined || state === undefined) {
      stream.close(http2.NGHTTP2_REFUSED_STREAM);
      return;
    }
    state.running++;
    clearTimeout(state.idle);
    stream.once('close', () => {
      if (--state.running === 0 && !this.closing) this.idleFromNow(session, state);
    });
    if (!isGrpcContentType(headers[http2.HTTP2_HEADER_CONTENT_TYPE] as string | undefined)) {
      stream.respond({ [http2.HTTP2_HEADER_STATUS]: http2.HTTP_STATUS_UNSUPPORTED_MEDIA_TYPE }, { endStream: true });
      return;
    }
    const path = String(headers[http2.HTTP2_HEADER_PATH] ?? '');
    const method = this.methods.get(path);
    if (method === undefined) {
      stream.respond(statusOnly(status.UNIMPLEMENTED, `unknown method ${path}`), { endStream: true });
      return;
    }
    const call = new ServerCall(stream, headers, {
      codec: method.codec,
      connection: state.connection,
      requestBytesMax: this.options.requestBytesMax,
      oneRequest: !method.requestStream,
      arriving: state.arriving,
    });
    call.start(method.serve);
  }
}
