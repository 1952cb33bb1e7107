/**
 * A connection a peer opened to us, on which it sends us its messages. This is
 * where untrusted bytes arrive, so every step is checked and any violation closes
 * the connection with a logged reason (the peer reconnects; Raft retries what was
 * lost):
 *
 *   1. we send a challenge (a fresh nonce); the first frame, read with a small
 *      limit within `handshakeTimeoutMs`, must be a hello from a known peer of our
 *      cluster addressed to us, with proof of the cluster secret bound to our nonce
 *      (handshake.ts); we answer welcome (with our own proof) or refuse, and nothing
 *      else ever. Nothing after a refused hello is read. (The peer waits for the
 *      welcome before sending; frames it sends right behind its hello would still
 *      be read, after the hello was accepted, never before.)
 *   2. every later frame must fit `frameBytesMax` and decode into a valid message
 *      (message-codec.ts) from that peer to us: a peer may not speak for another.
 *   3. a message the node finds impossible (no correct member sends it) closes the
 *      connection too (Transport.receive).
 */
import type { Socket } from 'node:net';
import type { Message, NodeId } from '../raft/index.js';
import { encodeFrame, FrameDecoder, FrameTooLargeError } from './framing.js';
import { decodeHello, encodeChallenge, encodeHelloReply, handshakeFrameBytesMax, makeWelcome, refusalOf } from './handshake.js';
import type { Channel, Hello } from './handshake.js';
import { newNonce } from './peer-proof.js';
import { decodeMessage } from './message-codec.js';
import type { Log } from './types.js';

export interface InboundLinkOptions {
  readonly nodeId: NodeId;
  readonly clusterId: string;
  readonly frameBytesMax: number;
  readonly handshakeTimeoutMs: number;
  readonly log: Log;
  readonly isPeer: (id: NodeId) => boolean;
  /** The cluster secret peers must prove they hold; undefined: mutual TLS only. */
  readonly secret: Uint8Array | undefined;
  /** The TLS session's exported keying material (peer-tls.ts); empty on plain TCP. */
  readonly channelBinding: Uint8Array;
  /** The peer passed the handshake. */
  readonly onWelcomed: (link: InboundLink) => void;
  readonly onMessage: (message: Message, link: InboundLink) => void;
  /** The connection is gone (called exactly once). */
  readonly onClosed: (link: InboundLink) => void;
}

export class InboundLink {
  /** The peer's id, once welcomed. */
  peerId: NodeId | undefined;
  private readonly decoder: FrameDecoder;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private closed = false;
  readonly remote: string;
  /** This connection's challenge nonce, and its TLS channel binding. */
  private readonly channel: Channel;

  constructor(
    private readonly socket: Socket,
    private readonly options: InboundLinkOptions,
  ) {
    this.remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    this.channel = { acceptorNonce: newNonce(), channelBinding: options.channelBinding };
    this.decoder = new FrameDecoder({ frameBytesMax: handshakeFrameBytesMax });
    socket.setNoDelay(true);
    this.handshakeTimer = setTimeout(() => this.close(`no handshake within ${options.handshakeTimeoutMs} ms`), options.handshakeTimeoutMs);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => this.close(`${error.code ?? 'error'}: ${error.message}`, 'debug'));
    socket.on('close', () => this.close('connection closed', 'debug'));
    socket.write(encodeFrame(encodeChallenge(this.channel.acceptorNonce)));
  }

  /** Closes the connection, logging why. Idempotent. */
  close(reason: string, level: 'debug' | 'info' | 'warn' = 'warn'): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.handshakeTimer);
    this.options.log(level, 'closing connection from peer', { peer: this.peerId, remote: this.remote, reason });
    this.socket.destroy();
    this.options.onClosed(this);
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    try {
      this.decoder.push(chunk, (payload) => {
        if (this.closed) return;
        if (this.peerId === undefined) this.onHello(payload);
        else this.onFrame(payload, this.peerId);
      });
    } catch (error) {
      if (!(error instanceof FrameTooLargeError)) throw error;
      if (this.peerId !== undefined) this.close(error.message);
      else this.close(`refused peer connection: not a Keel peer connection (a first frame of ${error.frameBytes} bytes is no handshake)`);
    }
  }

  private onHello(payload: Uint8Array): void {
    const judged = this.judgeHello(payload);
    if ('refusal' in judged) {
      const { refusal, claimed } = judged;
      this.options.log('warn', 'refused peer connection', { remote: this.remote, from: claimed?.from, clusterId: claimed?.clusterId, reason: refusal });
      // Tell the peer why (best effort), then close: its side logs the reason too.
      this.socket.write(encodeFrame(encodeHelloReply({ ok: false, clusterId: this.options.clusterId, nodeId: this.options.nodeId, reason: refusal })));
      this.closed = true;
      clearTimeout(this.handshakeTimer);
      this.socket.end();
      // The peer closes on reading the refusal; if it does not, do not wait long.
      setTimeout(() => this.socket.destroy(), this.options.handshakeTimeoutMs).unref();
      this.options.onClosed(this);
      return;
    }
    const { hello } = judged;
    clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
    this.peerId = hello.from;
    this.decoder.setFrameBytesMax(this.options.frameBytesMax);
    this.socket.write(encodeFrame(encodeHelloReply(makeWelcome(hello, this.channel, this.options.secret))));
    this.options.log('info', 'accepted connection from peer', { peer: hello.from, remote: this.remote });
    this.options.onWelcomed(this);
  }

  /** The hello in `payload`, or why it is refused (with who it claimed to be, if it said). */
  private judgeHello(payload: Uint8Array): { hello: Hello } | { refusal: string; claimed?: Hello } {
    let hello: Hello;
    try {
      hello = decodeHello(payload);
    } catch (error) {
      return { refusal: (error as Error).message };
    }
    const refusal = refusalOf(hello, {
      clusterId: this.options.clusterId,
      nodeId: this.options.nodeId,
      isPeer: this.options.isPeer,
      secret: this.options.secret,
      channel: this.channel,
    });
    return refusal === undefined ? { hello } : { refusal, claimed: hello };
  }

  private onFrame(payload: Uint8Array, peerId: NodeId): void {
    let message: Message;
    try {
      message = decodeMessage(payload);
    } catch (error) {
      this.close((error as Error).message);
      return;
    }
    if (message.from !== peerId || message.to !== this.options.nodeId) {
      this.close(`protocol error: a ${message.type} from ${message.from} to ${message.to} on the connection of node ${peerId} to node ${this.options.nodeId}`);
      return;
    }
    this.options.onMessage(message, this);
  }
}
