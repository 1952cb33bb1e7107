/**
 * The connection this node opens to one peer and sends its messages on. (Messages
 * from the peer arrive on the connection the peer opens to us; see inbound-link.ts.
 * One direction per connection keeps each side simple: a link only writes, an
 * inbound connection only reads.)
 *
 * Life of a link:
 *
 *   connecting ──challenge/hello/welcome──▶ ready ──error, close──▶ waiting ──timer──▶ connecting
 *        └──refused, timeout, error, bad proof or certificate──────▶ waiting
 *
 * - The handshake (handshake.ts): after TLS, if any, the acceptor sends a challenge;
 *   the link answers with its hello and proof of the cluster secret, and is ready
 *   once the welcome proves the acceptor holds the secret too.
 * - Messages are queued (bounded, oldest dropped; see peer-queue.ts) whatever the
 *   state, and written only when ready, so messages sent while a peer restarts reach
 *   it once it is back, within the queue's limits.
 * - Batching: sending only schedules a flush for the end of the current event-loop
 *   turn (setImmediate), so every message the Ready loop sends in one go leaves in
 *   one write: small frames are laid out back to back in one buffer, a large one's
 *   parts are written where they are, all corked into one writev (framing.ts
 *   frameBuffers). Batches are capped at `writeBatchBytesMax`.
 * - Backpressure: when the socket's buffer is full (write returns false), flushing
 *   stops until 'drain'; meanwhile the bounded queue absorbs (and drops) the excess,
 *   instead of Node buffering without limit.
 * - Reconnection: after any failure, wait `backoffDelayMs(attempt)` (50 ms doubling
 *   to 2 s, jittered) and try again, forever, until the peer is removed or the
 *   transport closed. A welcome resets the attempt count.
 * - A connection attempt that is not welcomed within `handshakeTimeoutMs` is given
 *   up (a black-holed address would otherwise hang in SYN retries for minutes).
 * - A ready connection can die without a word: when the peer's address moves (a
 *   container reconnected to its network gets a new one) nothing answers at the old
 *   one, not even a reset, and TCP retransmits into it for many minutes while this
 *   side, which only writes, sees nothing wrong. The transport calls peerConnected()
 *   when the peer connects to us anew, the sign that it (re)started or moved: a link
 *   connected or dialing for a while dials again, one waiting to retry dials at once.
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { NodeId } from '../raft/index.js';
import { assert } from '../lib/index.js';
import { backoffDelayMs } from './backoff.js';
import type { BackoffOptions } from './backoff.js';
import { encodeFrame, FrameDecoder, frameBuffers, type FramePayload } from './framing.js';
import { decodeChallenge, decodeHelloReply, encodeHello, handshakeFrameBytesMax, makeHello, replyProblem } from './handshake.js';
import type { Channel, Hello } from './handshake.js';
import { newNonce } from './peer-proof.js';
import { channelBindingOf } from './peer-tls.js';
import type { PeerTls } from './peer-tls.js';
import { PeerQueue } from './peer-queue.js';
import type { Log, PeerAddress } from './types.js';

/** Bytes of frames written in one socket write, at most (one message may exceed it). */
export const writeBatchBytesMax = 1024 * 1024;
/** TCP keep-alive probes start after this much idle time, so a peer that vanished
 * while we had nothing to send is noticed. */
const keepAliveDelayMs = 5_000;

export interface OutboundLinkOptions {
  readonly nodeId: NodeId;
  readonly clusterId: string;
  readonly peerId: NodeId;
  readonly address: PeerAddress;
  readonly queueMessagesMax: number;
  readonly queueBytesMax: number;
  readonly handshakeTimeoutMs: number;
  readonly backoff: BackoffOptions;
  /** The cluster secret this link proves it holds; undefined: mutual TLS only. */
  readonly secret: Uint8Array | undefined;
  /** TLS for the connection; undefined: plain TCP. */
  readonly tls: PeerTls | undefined;
  readonly log: Log;
  /** Called with the number of messages dropped from the queue (full, or removed). */
  readonly onDropped: (count: number) => void;
  /** Called with the number of messages written to the socket. */
  readonly onSent: (count: number) => void;
}

type LinkState = 'connecting' | 'ready' | 'waiting' | 'closed';

export class OutboundLink {
  private address: PeerAddress;
  private state: LinkState = 'waiting';
  private socket: Socket | undefined;
  private readonly queue: PeerQueue<FramePayload>;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private flushScheduled: NodeJS.Immediate | undefined;
  private waitingForDrain = false;
  /** The last problem logged at warn level; repeats are logged at debug. */
  private lastProblem: string | undefined;
  private sentCount = 0;
  private droppedCount = 0;
  /** When the current connection attempt began, or when it was welcomed once ready (performance.now()). */
  private stateSinceMs = 0;

  constructor(private readonly options: OutboundLinkOptions) {
    this.address = options.address;
    this.queue = new PeerQueue<FramePayload>({ messagesMax: options.queueMessagesMax, bytesMax: options.queueBytesMax });
    this.connect();
  }

  get peerId(): NodeId {
    return this.options.peerId;
  }

  get connected(): boolean {
    return this.state === 'ready';
  }

  stats(): { id: NodeId; connected: boolean; queued: number; sent: number; dropped: number } {
    return { id: this.options.peerId, connected: this.connected, queued: this.queue.size, sent: this.sentCount, dropped: this.droppedCount };
  }

  /** Queues an encoded message (one frame's payload) for the peer. */
  enqueue(payload: FramePayload): void {
    if (this.state === 'closed') {
      this.dropped(1);
      return;
    }
    const dropped = this.queue.push(payload);
    if (dropped > 0) this.dropped(dropped);
    if (this.state === 'ready') this.scheduleFlush();
  }

  /** Writes what is queued now, not at the end of the turn (Transport.sendAtOnce). */
  flushNow(): void {
    if (this.flushScheduled !== undefined) clearImmediate(this.flushScheduled);
    this.flushScheduled = undefined;
    this.flush();
  }

  /** The peer moved: drop the current connection and connect to the new address now. */
  setAddress(address: PeerAddress): void {
    if (this.state === 'closed' || (address.host === this.address.host && address.port === this.address.port)) return;
    this.options.log('info', 'peer address changed; reconnecting', { peer: this.options.peerId, from: this.address, to: address });
    this.address = address;
    this.attempt = 0;
    this.teardown();
    this.connect();
  }

  /**
   * The peer has just connected to us: it is up, at its name's current address.
   * - Waiting to retry: dial it now, resolving its name anew.
   * - Dialing for at least `minAgeMs` (perhaps an address it left, where the handshake
   *   would only time out), or ready for that long (the connection may lead where the
   *   peer no longer is): drop the connection and dial again.
   * What is queued stays. The age bound keeps two nodes from redialing each other in
   * turn forever: the redial this causes on the peer's side finds this link's new
   * connection young.
   */
  peerConnected(minAgeMs: number, nowMs: number): void {
    if (this.state === 'closed') return;
    if (this.state !== 'waiting' && nowMs - this.stateSinceMs < minAgeMs) return;
    this.options.log('info', 'peer connected to us anew; redialing it, in case our connection leads where it no longer is', {
      peer: this.options.peerId,
      address: this.address,
      state: this.state,
    });
    this.attempt = 0;
    this.teardown();
    this.connect();
  }

  /** Ends the connection and every timer, and drops whatever is queued. */
  close(): void {
    if (this.state === 'closed') return;
    this.teardown();
    this.state = 'closed';
    const queued = this.queue.clear();
    if (queued > 0) this.dropped(queued);
  }

  private connect(): void {
    assert(this.socket === undefined && this.state !== 'closed', 'connect with a live socket or after close');
    this.state = 'connecting';
    this.stateSinceMs = performance.now();
    const tls = this.options.tls;
    const socket = tls === undefined ? connect({ host: this.address.host, port: this.address.port }) : tls.connect(this.address);
    this.socket = socket;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, keepAliveDelayMs);
    const decoder = new FrameDecoder({ frameBytesMax: handshakeFrameBytesMax });
    this.handshakeTimer = setTimeout(
      () => this.fail(socket, `no handshake reply within ${this.options.handshakeTimeoutMs} ms`),
      this.options.handshakeTimeoutMs,
    );
    /** Set once the challenge is answered. */
    let sent: { readonly hello: Hello; readonly channel: Channel } | undefined;
    socket.on('data', (chunk: Buffer) => {
      if (this.socket !== socket) return;
      if (this.state !== 'connecting') {
        this.fail(socket, 'protocol error: the peer sent data after the handshake on a send-only connection');
        return;
      }
      let frames: Uint8Array[];
      try {
        frames = decoder.pushAll(chunk);
      } catch (error) {
        this.fail(socket, `bad handshake reply: ${(error as Error).message}`);
        return;
      }
      for (const frame of frames) {
        if (this.socket !== socket || this.state !== 'connecting') {
          this.fail(socket, 'protocol error: the peer sent data after its handshake reply');
          return;
        }
        let problem: string | undefined;
        try {
          if (sent === undefined) {
            const certificateProblem = tls?.certificateProblem(socket as TLSSocket, 'dialer');
            if (certificateProblem !== undefined) {
              this.fail(socket, certificateProblem);
              return;
            }
            sent = this.answerChallenge(socket, decodeChallenge(frame));
            continue;
          }
          problem = replyProblem(decodeHelloReply(frame), {
            clusterId: this.options.clusterId,
            nodeId: this.options.peerId,
            secret: this.options.secret,
            ...sent,
          });
        } catch (error) {
          problem = (error as Error).message;
        }
        if (problem !== undefined) {
          this.fail(socket, problem);
          return;
        }
        this.ready();
      }
    });
    socket.on('error', (error: NodeJS.ErrnoException) => this.fail(socket, `${error.code ?? 'error'}: ${error.message}`));
    socket.on('close', () => this.fail(socket, 'connection closed'));
  }

  /** Sends the hello (with its proof) that answers the acceptor's challenge. */
  private answerChallenge(socket: Socket, acceptorNonce: Uint8Array): { hello: Hello; channel: Channel } {
    const tls = this.options.tls;
    const channel = { acceptorNonce, channelBinding: tls === undefined ? new Uint8Array(0) : channelBindingOf(socket as TLSSocket) };
    const hello = makeHello(
      { clusterId: this.options.clusterId, from: this.options.nodeId, to: this.options.peerId, nonce: newNonce() },
      channel,
      this.options.secret,
    );
    socket.write(encodeFrame(encodeHello(hello)));
    return { hello, channel };
  }

  private ready(): void {
    clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
    this.state = 'ready';
    this.stateSinceMs = performance.now();
    this.attempt = 0;
    this.lastProblem = undefined;
    this.options.log('info', 'connected to peer', { peer: this.options.peerId, address: this.address, queued: this.queue.size });
    this.scheduleFlush();
  }

  /** Gives up the current connection (if `socket` is still it) and schedules a retry. */
  private fail(socket: Socket, problem: string): void {
    if (this.socket !== socket || this.state === 'closed') return;
    const level = problem === this.lastProblem ? 'debug' : 'warn';
    this.lastProblem = problem;
    this.options.log(level, 'connection to peer failed', { peer: this.options.peerId, address: this.address, reason: problem, attempt: this.attempt });
    this.teardown();
    this.state = 'waiting';
    const delayMs = backoffDelayMs(this.attempt, this.options.backoff, Math.random());
    this.attempt++;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.connect();
    }, delayMs);
  }

  /** Stops the socket and timers; leaves the queue and state to the caller. */
  private teardown(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
    if (this.flushScheduled !== undefined) clearImmediate(this.flushScheduled);
    this.flushScheduled = undefined;
    this.waitingForDrain = false;
    const socket = this.socket;
    this.socket = undefined;
    socket?.destroy();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled !== undefined || this.waitingForDrain) return;
    this.flushScheduled = setImmediate(() => {
      this.flushScheduled = undefined;
      this.flush();
    });
  }

  private flush(): void {
    const socket = this.socket;
    if (this.state !== 'ready' || socket === undefined || this.waitingForDrain) return;
    while (this.queue.size > 0) {
      const batch = this.queue.take(writeBatchBytesMax);
      this.sentCount += batch.length;
      this.options.onSent(batch.length);
      if (!writeAll(socket, frameBuffers(batch))) {
        this.waitingForDrain = true;
        socket.once('drain', () => {
          if (this.socket !== socket) return;
          this.waitingForDrain = false;
          this.flush();
        });
        return;
      }
    }
  }

  private dropped(count: number): void {
    this.droppedCount += count;
    this.options.onDropped(count);
  }
}

/** Writes `buffers` in one system call (corked: one writev); false if the socket asks to wait for 'drain'. */
function writeAll(socket: Socket, buffers: readonly Uint8Array[]): boolean {
  if (buffers.length === 1) return socket.write(buffers[0] as Uint8Array);
  socket.cork();
  let writable = true;
  for (const buffer of buffers) writable = socket.write(buffer);
  socket.uncork();
  return writable;
}
