/**
 * One client port for every protocol, as etcd serves gRPC, its JSON gateway, /version,
 * /health and /metrics on one: each accepted connection goes, whole, to one of two
 * servers that never listen themselves.
 *
 * - Plain text: the first bytes decide. An HTTP/2 client opens with the 24-byte
 *   connection preface (RFC 9113 §3.4), which no HTTP/1.1 request can start with; those
 *   connections go to the gRPC server (through http2-handover.ts, which makes etcd 3.4's
 *   URL-shaped :authority acceptable), every other one to the HTTP/1.1 server (REST, the
 *   gateway, /version, /health, /metrics, the dashboard, WebSocket upgrades, SSE). The
 *   bytes read to decide are put back before the handover, so the server reads the
 *   connection from its first byte.
 * - TLS: terminated here, once, with the node's certificate (rotated in place by
 *   setSecureContext, client certificates asked for and verified under
 *   --client-cert-auth); ALPN decides: "h2" goes to gRPC, "http/1.1" or none to HTTP/1.1,
 *   and a client that offers both (a browser, curl) is given http/1.1.
 *   Both servers get the TLSSocket, so both read the verified client certificate
 *   (client-certificate.ts) from it.
 *
 * After the handover the socket belongs to the server that got it: its timeouts, its
 * flow control (so backpressure is the server's own) and its close. Before it, a
 * connection that has not sent enough to decide firstBytesTimeoutMs after it was
 * accepted is closed (with TLS: Node's handshakeTimeout, which restarts with every byte
 * of the handshake), so a client cannot hold a connection open without speaking.
 * Past connectionsMax open connections, new ones are closed at once by the kernel-facing
 * listener (net.Server.maxConnections).
 */
import { createServer as createNetServer } from 'node:net';
import type { Server as NetServer, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer } from 'node:tls';
import type { TLSSocket } from 'node:tls';
import type { Server as HttpServer } from 'node:http';
import { httpsServerOptions, secureContextOptions } from './client-tls.js';
import { http2Preface } from './http2-frames.js';
import { handOverHttp2 } from './http2-handover.js';
import type { ClientTls } from './client-tls.js';

export type ClientProtocol = 'http2' | 'http1';

/** Which server a connection that began with `bytes` goes to, or undefined when it is too early to tell. */
export function protocolOfFirstBytes(bytes: Buffer): ClientProtocol | undefined {
  const compared = Math.min(bytes.length, http2Preface.length);
  if (!bytes.subarray(0, compared).equals(http2Preface.subarray(0, compared))) return 'http1';
  return bytes.length >= http2Preface.length ? 'http2' : undefined;
}

/** A connection that has not said which protocol it speaks by then is closed. */
export const firstBytesTimeoutMsDefault = 10_000;
/** Open connections per client port; more are refused. */
export const clientConnectionsMaxDefault = 10_000;

export interface ClientPortOptions {
  readonly host: string;
  readonly port: number;
  /** Terminate TLS with these files and route by ALPN; absent: plain text, routed by first bytes. */
  readonly tls?: ClientTls;
  /** Gets the HTTP/1.1 connections (through its 'connection' event); it must not listen. */
  readonly http: HttpServer;
  /** Gets the HTTP/2 connections (the gRPC server, grpc/call-server.ts). */
  readonly grpc: { injectConnection(connection: Duplex): void };
  readonly firstBytesTimeoutMs?: number;
  /** How long a plain HTTP/2 client that has made no request yet is waited for (http2-handover.ts). */
  readonly firstRequestWaitMs?: number;
  readonly connectionsMax?: number;
}

export interface ClientPort {
  readonly port: number;
  readonly url: string;
  /** Stops accepting connections; those already handed over are their servers' to close. */
  close(): void;
}

export async function listenClientPort(options: ClientPortOptions): Promise<ClientPort> {
  const timeoutMs = options.firstBytesTimeoutMs ?? firstBytesTimeoutMsDefault;
  const handOver = (socket: Socket, protocol: ClientProtocol): void => {
    if (protocol === 'http2') {
      options.grpc.injectConnection(socket);
    } else {
      options.http.emit('connection', socket);
      // The HTTP server reads new bytes straight from the socket's handle; resuming
      // flushes the bytes put back first, on the next tick, before any new read.
      socket.resume();
    }
  };
  const handOverPlain = (socket: Socket, protocol: ClientProtocol, firstBytes: Buffer): void => {
    if (protocol === 'http2') {
      handOverHttp2(socket, firstBytes, {
        inject: (connection) => options.grpc.injectConnection(connection),
        deadlineMs: timeoutMs,
        ...(options.firstRequestWaitMs !== undefined ? { firstRequestWaitMs: options.firstRequestWaitMs } : {}),
      });
    } else {
      socket.unshift(firstBytes);
      handOver(socket, protocol);
    }
  };
  const tls = options.tls;
  let server: NetServer;
  let stopFollowing: (() => void) | undefined;
  if (tls) {
    // The server's preference decides (OpenSSL picks the first of ours the client offers):
    // browsers and curl offer h2 and http/1.1 and must reach the HTTP/1.1 app (the gRPC
    // server answers nothing else), gRPC clients offer only h2.
    const tlsServer = createTlsServer({ ...httpsServerOptions(tls), ALPNProtocols: ['http/1.1', 'h2'], handshakeTimeout: timeoutMs });
    // Rotation: new connections get the new certificate; open ones keep theirs.
    stopFollowing = tls.files.onChange((material) => tlsServer.setSecureContext(secureContextOptions(material, tls)));
    // A failed or timed-out handshake (handshakeTimeout): a bare tls.Server leaves the
    // socket open (https.Server closes it; this one must too).
    tlsServer.on('tlsClientError', (_error, socket) => socket.destroy());
    tlsServer.on('secureConnection', (socket: TLSSocket) => handOver(socket, socket.alpnProtocol === 'h2' ? 'http2' : 'http1'));
    server = tlsServer;
  } else {
    server = createNetServer((socket) => awaitFirstBytes(socket, timeoutMs, handOverPlain));
  }
  server.maxConnections = options.connectionsMax ?? clientConnectionsMaxDefault;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: options.host, port: options.port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    port,
    url: `${tls ? 'https' : 'http'}://${host}:${port}`,
    close: () => {
      stopFollowing?.();
      // Its callback would wait for every connection ever accepted, handed over ones included.
      server.close();
    },
  };
}

/** Reads until the first bytes tell the protocol, then hands the paused socket over with the bytes read. */
function awaitFirstBytes(socket: Socket, timeoutMs: number, handOver: (socket: Socket, protocol: ClientProtocol, firstBytes: Buffer) => void): void {
  const chunks: Buffer[] = [];
  const onError = (): void => {
    socket.destroy();
  };
  // A deadline from the accept, not an idle timer: a byte every few seconds does not extend it.
  const deadline = setTimeout(onError, timeoutMs);
  const onData = (chunk: Buffer): void => {
    chunks.push(chunk);
    const bytes = chunks.length === 1 ? chunk : Buffer.concat(chunks);
    const protocol = protocolOfFirstBytes(bytes);
    if (protocol === undefined) return;
    clearTimeout(deadline);
    socket.pause();
    socket.off('data', onData);
    socket.off('error', onError);
    handOver(socket, protocol, bytes);
  };
  // A peer that resets before it speaks: nothing to hand over, nothing to report.
  socket.on('error', onError);
  socket.once('close', () => clearTimeout(deadline));
  socket.on('data', onData);
}
