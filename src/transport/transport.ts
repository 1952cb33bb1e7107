/**
 * The peer transport: carries Raft messages between the nodes of one cluster over
 * persistent TCP connections.
 *
 * Each node opens one connection to each peer and sends on it (outbound-link.ts),
 * and accepts the connections its peers open to it and receives on them
 * (inbound-link.ts). So between two nodes there are two connections, one per
 * direction, and neither side ever has to decide which of two simultaneous dials
 * wins. Every connection starts with a handshake naming the cluster and both nodes,
 * in which both prove they hold the cluster secret (handshake.ts), over TLS when
 * configured (peer-tls.ts); the decoder at the receiving end is the only place peer
 * bytes become typed messages (message-codec.ts).
 *
 * What the transport promises: messages to one peer leave in the order they were
 * sent, unless dropped. It may drop any message (queue full, peer unknown or down
 * for long, connection lost with messages in flight, fault injection), and counts
 * every drop. Raft needs no more: it retries, and its safety never depends on
 * delivery.
 *
 * Usage:
 *
 *   const transport = await Transport.start({ nodeId: 1, clusterId: 'c1',
 *     listen: { host: '127.0.0.1', port: 7001 }, peers, onMessage: (m) => node.step(m) });
 *   transport.send(message);          // for every message of a Ready, after persisting
 *   transport.updatePeers(newPeers);  // on a membership change
 *   await transport.close();
 */
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Message, NodeId } from '../raft/index.js';
import { assert, Prng } from '../lib/index.js';
import { backoffDefaults } from './backoff.js';
import { FaultHooks } from './fault-hooks.js';
import { frameBytesMaxDefault, framePayload } from './framing.js';
import { isValidClusterId } from './handshake.js';
import { InboundLink } from './inbound-link.js';
import { encodeMessageParts } from './message-codec.js';
import { OutboundLink } from './outbound-link.js';
import { clusterSecretBytes } from './peer-proof.js';
import { channelBindingOf, PeerTls } from './peer-tls.js';
import type { PeerTlsOptions } from './peer-tls.js';
import type { Log, PeerAddress } from './types.js';

export type { PeerAddress, Log, LogLevel } from './types.js';
export type { PeerTlsOptions } from './peer-tls.js';
export { clusterSecretBytes } from './peer-proof.js';

export interface TransportOptions {
  readonly nodeId: NodeId;
  /** Peers refuse connections from another cluster id (1 to 128 UTF-8 bytes). */
  readonly clusterId: string;
  /** Where to listen; port 0 lets the OS choose (read it from `address`). */
  readonly listen: PeerAddress;
  /** Every other member and where it listens. An entry for this node is ignored. */
  readonly peers: ReadonlyMap<NodeId, PeerAddress>;
  /**
   * Called synchronously for every valid message from a peer, in arrival order. A
   * returned reason (the message is one no correct member sends) closes the
   * connection it came on, logged with the peer's id and address.
   */
  readonly onMessage: (message: Message) => string | void;
  /**
   * The cluster secret (clusterSecretBytes random bytes, the same on every member)
   * each side of a connection proves it holds (peer-proof.ts). May be left out only
   * with mutual TLS that verifies both ends (tls.clientCertAuth and tls.verifyServer).
   */
  readonly secret?: Uint8Array;
  /** TLS on every peer connection; undefined: plain TCP. */
  readonly tls?: PeerTlsOptions;
  /** Largest frame (one encoded message) sent or accepted. Default 16 MiB. */
  readonly frameBytesMax?: number;
  /** Messages queued for one peer before the oldest are dropped. Default 1024. */
  readonly peerQueueMessagesMax?: number;
  /** Bytes queued for one peer before the oldest are dropped; at least
   * frameBytesMax. Default 64 MiB. */
  readonly peerQueueBytesMax?: number;
  /** Reconnection backoff bounds. Default 50 ms to 2 s. */
  readonly reconnectBackoffMinMs?: number;
  readonly reconnectBackoffMaxMs?: number;
  /** A connection not through its handshake by then is closed. Default 5 s. */
  readonly handshakeTimeoutMs?: number;
  /** Creates `faults`. Never set in production. */
  readonly faultInjection?: boolean;
  /** Seeds the fault hooks' drop decisions. Default: the node id. */
  readonly faultSeed?: number;
  readonly log?: Log;
}

export interface PeerStats {
  readonly id: NodeId;
  /** The connection we send on is up (handshake done). */
  readonly connected: boolean;
  readonly queued: number;
  readonly sent: number;
  readonly dropped: number;
}

export interface TransportStats {
  /** Messages written to sockets. */
  readonly sent: number;
  /** Messages handed to onMessage. */
  readonly received: number;
  /** Messages dropped for any reason: queue full, unknown peer, too large, peer
   * removed, transport closed, fault injection (in either direction). */
  readonly dropped: number;
  readonly peers: readonly PeerStats[];
}

export const peerQueueMessagesMaxDefault = 1024;
export const peerQueueBytesMaxDefault = 64 * 1024 * 1024;
export const handshakeTimeoutMsDefault = 5_000;
/** Messages held back by delay faults at once, at most (beyond: dropped). */
export const delayedMessagesMax = 100_000;
/** Accepted connections open at once, at most (beyond: the OS-level accept is
 * closed at once). Peers need one each; the rest is room for handshakes in
 * progress, so a flood of idle connections cannot exhaust file descriptors. */
export const inboundConnectionsMax = 1024;
/**
 * A peer that connects to us anew makes us redial it, unless our connection to it is
 * younger than this: long enough that the redial it causes on the peer's side does
 * not bounce back, short next to an election timeout.
 */
export const redialMinAgeMs = 1_000;

const noLog: Log = () => {};

interface Settings {
  readonly frameBytesMax: number;
  readonly peerQueueMessagesMax: number;
  readonly peerQueueBytesMax: number;
  readonly backoff: { readonly minMs: number; readonly maxMs: number };
  readonly handshakeTimeoutMs: number;
}

export class Transport {
  /** The bound address (with the OS-chosen port when listen.port was 0). */
  readonly address: PeerAddress;
  /** Fault injection hooks; undefined unless started with faultInjection: true. */
  readonly faults: FaultHooks | undefined;

  private readonly nodeId: NodeId;
  private readonly clusterId: string;
  private readonly onMessage: (message: Message) => string | void;
  private readonly secret: Uint8Array | undefined;
  private readonly tls: PeerTls | undefined;
  private readonly log: Log;
  private readonly settings: Settings;
  private readonly server: Server;
  private readonly links = new Map<NodeId, OutboundLink>();
  /** The welcomed connection from each peer (at most one: a newer one replaces it). */
  private readonly inbound = new Map<NodeId, InboundLink>();
  /** Every accepted socket, welcomed or not, so close() can end them all. */
  private readonly sockets = new Set<Socket>();
  private readonly delayTimers = new Set<NodeJS.Timeout>();
  private sentCount = 0;
  private receivedCount = 0;
  private droppedCount = 0;
  private closing: Promise<void> | undefined;

  /** Starts listening and connecting to every peer. */
  static async start(options: TransportOptions): Promise<Transport> {
    const settings = validate(options);
    const server = createServer();
    server.maxConnections = inboundConnectionsMax;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: options.listen.host, port: options.listen.port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const bound = server.address();
    assert(bound !== null && typeof bound === 'object', 'a TCP server has an address object once listening');
    return new Transport(options, settings, server, { host: bound.address, port: bound.port });
  }

  private constructor(options: TransportOptions, settings: Settings, server: Server, address: PeerAddress) {
    this.nodeId = options.nodeId;
    this.clusterId = options.clusterId;
    this.onMessage = options.onMessage;
    this.secret = options.secret === undefined ? undefined : new Uint8Array(options.secret);
    this.log = options.log ?? noLog;
    this.tls =
      options.tls === undefined
        ? undefined
        : new PeerTls(
            options.tls,
            settings.handshakeTimeoutMs,
            (socket) => this.secured(socket),
            (error: NodeJS.ErrnoException, socket) => {
              // A peer hanging up mid-handshake is no refusal (and its address is gone).
              const level = error.code === 'ECONNRESET' ? 'debug' : 'warn';
              this.log(level, 'refused peer connection', { remote: remoteOf(socket), reason: `TLS: ${error.message}` });
              socket.destroy();
            },
          );
    this.settings = settings;
    this.server = server;
    this.address = address;
    this.faults = options.faultInjection === true ? new FaultHooks(new Prng(options.faultSeed ?? options.nodeId)) : undefined;
    server.on('connection', (socket) => this.accept(socket));
    server.on('error', (error) => this.log('error', 'peer listener error', { error: error.message }));
    this.log('info', 'peer transport listening', {
      nodeId: this.nodeId,
      clusterId: this.clusterId,
      address,
      tls: options.tls === undefined ? 'off' : options.tls.verifyServer ? 'verified' : 'unverified (auto)',
      secret: this.secret !== undefined,
      faultInjection: this.faults !== undefined,
    });
    this.updatePeers(options.peers);
  }

  /**
   * Queues `message` for `message.to`; it is written at the end of this event-loop
   * turn with everything else sent in the turn. Never throws for network reasons:
   * a message that cannot be delivered is dropped and counted.
   */
  send(message: Message): void {
    assert(message.from === this.nodeId, () => `send: a ${message.type} from node ${message.from} handed to the transport of node ${this.nodeId}`);
    if (this.closing !== undefined) {
      this.droppedCount++;
      return;
    }
    const link = this.links.get(message.to);
    if (link === undefined) {
      this.droppedCount++;
      this.log('debug', 'dropped a message to a node that is not a peer', { to: message.to, type: message.type });
      return;
    }
    const payload = framePayload(encodeMessageParts(message));
    if (payload.length > this.settings.frameBytesMax) {
      // The runtime's message limits exceed the transport's; the peer would refuse it.
      this.droppedCount++;
      this.log('error', 'dropped a message larger than frameBytesMax', {
        to: message.to,
        type: message.type,
        bytes: payload.length,
        frameBytesMax: this.settings.frameBytesMax,
      });
      return;
    }
    const verdict = this.faults?.decide('out', message.to);
    if (verdict === undefined || (!verdict.drop && verdict.delayMs === 0)) {
      link.enqueue(payload);
    } else if (verdict.drop) {
      this.droppedCount++;
    } else {
      this.later(verdict.delayMs, () => this.links.get(message.to)?.enqueue(payload));
    }
  }

  /**
   * send(), then writes what is queued for the peer now, not at the end of the turn:
   * for the messages a node sends from inside a long piece of synchronous work, which
   * would otherwise leave only once it ends (a busy leader's heartbeats). Delayed by
   * a fault, the message waits as with send().
   */
  sendAtOnce(message: Message): void {
    this.send(message);
    this.links.get(message.to)?.flushNow();
  }

  /**
   * Sets the peers (on a membership change, or when one moves): connects to new
   * ones, reconnects to moved ones, and disconnects from removed ones (in both
   * directions) and drops what was queued for them. An entry for this node is ignored.
   */
  updatePeers(peers: ReadonlyMap<NodeId, PeerAddress>): void {
    if (this.closing !== undefined) return;
    for (const [id, address] of peers) checkPeer(id, address);
    for (const [id, link] of this.links) {
      if (peers.has(id)) continue;
      link.close();
      this.links.delete(id);
      this.inbound.get(id)?.close(`node ${id} is no longer a peer`, 'info');
      this.log('info', 'removed peer', { peer: id });
    }
    for (const [id, address] of peers) {
      if (id === this.nodeId) continue;
      const link = this.links.get(id);
      if (link !== undefined) {
        link.setAddress(address);
        continue;
      }
      this.links.set(
        id,
        new OutboundLink({
          nodeId: this.nodeId,
          clusterId: this.clusterId,
          peerId: id,
          address: { host: address.host, port: address.port },
          queueMessagesMax: this.settings.peerQueueMessagesMax,
          queueBytesMax: this.settings.peerQueueBytesMax,
          handshakeTimeoutMs: this.settings.handshakeTimeoutMs,
          backoff: this.settings.backoff,
          secret: this.secret,
          tls: this.tls,
          log: this.log,
          onDropped: (count) => {
            this.droppedCount += count;
          },
          onSent: (count) => {
            this.sentCount += count;
          },
        }),
      );
    }
  }

  stats(): TransportStats {
    return {
      sent: this.sentCount,
      received: this.receivedCount,
      dropped: this.droppedCount,
      peers: [...this.links.values()].map((link) => link.stats()).sort((a, b) => a.id - b.id),
    };
  }

  /** Stops listening and ends every connection and timer. Idempotent. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      for (const link of this.links.values()) link.close();
      this.links.clear();
      for (const timer of this.delayTimers) clearTimeout(timer);
      this.delayTimers.clear();
      for (const socket of this.sockets) socket.destroy();
      this.server.close(() => {
        this.log('info', 'peer transport closed', { nodeId: this.nodeId });
        resolve();
      });
    });
    return this.closing;
  }

  private accept(socket: Socket): void {
    if (this.closing !== undefined) {
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    if (this.tls === undefined) this.link(socket);
    else this.tls.accept(socket);
  }

  /** A TLS handshake on an accepted socket is done: check the certificate, then shake hands. */
  private secured(socket: TLSSocket): void {
    const problem = this.tls?.certificateProblem(socket, 'acceptor');
    if (problem !== undefined) {
      this.log('warn', 'refused peer connection', { remote: remoteOf(socket), reason: problem });
      socket.destroy();
      return;
    }
    this.link(socket, channelBindingOf(socket));
  }

  private link(socket: Socket, channelBinding: Uint8Array = new Uint8Array(0)): void {
    if (this.closing !== undefined) {
      socket.destroy();
      return;
    }
    new InboundLink(socket, {
      nodeId: this.nodeId,
      clusterId: this.clusterId,
      frameBytesMax: this.settings.frameBytesMax,
      handshakeTimeoutMs: this.settings.handshakeTimeoutMs,
      log: this.log,
      isPeer: (id) => this.links.has(id),
      secret: this.secret,
      channelBinding,
      onWelcomed: (link) => {
        const id = link.peerId as NodeId;
        // The peer keeps one connection to us; a new one means the old one is dead.
        this.inbound.get(id)?.close('replaced by a newer connection from the same peer', 'info');
        this.inbound.set(id, link);
        // It is up, and may have moved or restarted: ours to it may lead nowhere (outbound-link.ts).
        this.links.get(id)?.peerConnected(redialMinAgeMs, performance.now());
      },
      onMessage: (message, link) => this.receive(message, link),
      onClosed: (link) => {
        if (link.peerId !== undefined && this.inbound.get(link.peerId) === link) this.inbound.delete(link.peerId);
      },
    });
  }

  private receive(message: Message, link: InboundLink): void {
    if (this.closing !== undefined) return;
    const verdict = this.faults?.decide('in', message.from);
    if (verdict === undefined || (!verdict.drop && verdict.delayMs === 0)) {
      this.deliver(message, link);
    } else if (verdict.drop) {
      this.droppedCount++;
    } else {
      this.later(verdict.delayMs, () => this.deliver(message, link));
    }
  }

  private deliver(message: Message, link: InboundLink): void {
    if (this.closing !== undefined) return;
    this.receivedCount++;
    const impossible = this.onMessage(message);
    // The peer is faulty or hostile: what else it sent on this connection is suspect too.
    if (typeof impossible === 'string') link.close(`dropped an impossible ${message.type} from node ${message.from}: ${impossible}`);
  }

  /** Runs `action` after `delayMs` unless the transport closes first (delay faults). */
  private later(delayMs: number, action: () => void): void {
    if (this.delayTimers.size >= delayedMessagesMax) {
      this.droppedCount++;
      return;
    }
    const timer = setTimeout(() => {
      this.delayTimers.delete(timer);
      action();
    }, delayMs);
    this.delayTimers.add(timer);
  }
}

function remoteOf(socket: Socket): string {
  return `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
}

function checkPeer(id: NodeId, address: PeerAddress): void {
  assert(Number.isSafeInteger(id) && id > 0, () => `peer id must be a positive integer, got ${id}`);
  assert(typeof address.host === 'string' && address.host.length > 0, () => `peer ${id}: host must be a non-empty string`);
  assert(Number.isInteger(address.port) && address.port > 0 && address.port <= 65535, () => `peer ${id}: port must be in [1, 65535], got ${address.port}`);
}

function validate(options: TransportOptions): Settings {
  const positive = (name: string, value: number): number => {
    assert(Number.isSafeInteger(value) && value > 0, () => `TransportOptions.${name} must be a positive integer, got ${value}`);
    return value;
  };
  positive('nodeId', options.nodeId);
  assert(isValidClusterId(options.clusterId), () => `TransportOptions.clusterId must be 1 to 128 UTF-8 bytes, got ${JSON.stringify(options.clusterId)}`);
  assert(
    Number.isInteger(options.listen.port) && options.listen.port >= 0 && options.listen.port <= 65535,
    () => `TransportOptions.listen.port must be in [0, 65535], got ${options.listen.port}`,
  );
  if (options.secret !== undefined) {
    assert(options.secret.length === clusterSecretBytes, () => `TransportOptions.secret must be ${clusterSecretBytes} bytes, got ${options.secret?.length}`);
  } else {
    // Without a secret, only certificates verified at both ends say who a peer is.
    assert(
      options.tls?.clientCertAuth === true && options.tls.verifyServer,
      'TransportOptions: peers must authenticate: give a cluster secret, or TLS with clientCertAuth and verifyServer',
    );
  }
  assert(
    options.tls?.allowedCn === undefined || (options.tls.clientCertAuth && options.tls.verifyServer),
    'TransportOptions.tls.allowedCn needs clientCertAuth and verifyServer (an unverified name means nothing)',
  );
  const frameBytesMax = positive('frameBytesMax', options.frameBytesMax ?? frameBytesMaxDefault);
  assert(frameBytesMax <= 0xffff_ffff, 'TransportOptions.frameBytesMax must fit the u32 frame length');
  const peerQueueBytesMax = positive('peerQueueBytesMax', options.peerQueueBytesMax ?? Math.max(peerQueueBytesMaxDefault, frameBytesMax));
  assert(
    peerQueueBytesMax >= frameBytesMax,
    () =>
      `TransportOptions.peerQueueBytesMax (${peerQueueBytesMax}) must be at least frameBytesMax (${frameBytesMax}), or a largest message could never be queued`,
  );
  const minMs = positive('reconnectBackoffMinMs', options.reconnectBackoffMinMs ?? backoffDefaults.minMs);
  const maxMs = positive('reconnectBackoffMaxMs', options.reconnectBackoffMaxMs ?? backoffDefaults.maxMs);
  assert(minMs <= maxMs, 'TransportOptions.reconnectBackoffMinMs must not exceed reconnectBackoffMaxMs');
  return {
    frameBytesMax,
    peerQueueMessagesMax: positive('peerQueueMessagesMax', options.peerQueueMessagesMax ?? peerQueueMessagesMaxDefault),
    peerQueueBytesMax,
    backoff: { minMs, maxMs },
    handshakeTimeoutMs: positive('handshakeTimeoutMs', options.handshakeTimeoutMs ?? handshakeTimeoutMsDefault),
  };
}
