/**
 * TLS on the peer port. The listener stays a plain TCP server (so one code path
 * counts and closes every socket); each accepted socket is handed to a tls.Server
 * that never listens itself, which runs the handshake and certificate checks.
 *
 * Certificates rotate without a restart: `secureContextOptions()` is asked before
 * every new connection, in both directions, and a new object (the caller re-read
 * changed files) takes effect from that connection on. Connections already open keep
 * the certificates they were made with.
 *
 * Modes (PeerTlsOptions):
 *   - auto TLS (verifyServer and clientCertAuth false): encryption only. Either side
 *     accepts any certificate, so it does not say who the peer is; the cluster secret
 *     does (handshake.ts).
 *   - mutual TLS: the dialer checks the acceptor's certificate against the trusted CAs
 *     and its address; with clientCertAuth the acceptor checks the dialer's; with
 *     allowedCn both check the verified certificate's common name.
 */
import { connect as tlsConnect, createSecureContext, createServer as createTlsServer } from 'node:tls';
import type { SecureContext, SecureContextOptions, Server as TlsServer, TLSSocket } from 'node:tls';
import type { Socket } from 'node:net';
import type { PeerAddress } from './types.js';

const channelBindingBytes = 32;

export interface PeerTlsOptions {
  /**
   * Key, certificate and trusted CAs (`ca`) for the next connection. Return the same
   * object while nothing changed: a new one builds a new TLS context.
   */
  readonly secureContextOptions: () => SecureContextOptions;
  /** The acceptor requires a client certificate signed by a trusted CA (etcd's --peer-client-cert-auth). */
  readonly clientCertAuth: boolean;
  /** The dialer verifies the acceptor's certificate against the trusted CAs and its
   * address. False only for auto TLS (self-signed certificates, encryption only). */
  readonly verifyServer: boolean;
  /** The verified certificate's common name must be this (etcd's --peer-cert-allowed-cn). */
  readonly allowedCn?: string;
}

export class PeerTls {
  private readonly server: TlsServer;
  private serverOptions: SecureContextOptions;
  private readonly contexts = new WeakMap<SecureContextOptions, SecureContext>();

  constructor(
    private readonly options: PeerTlsOptions,
    handshakeTimeoutMs: number,
    onSecure: (socket: TLSSocket) => void,
    onTlsError: (error: Error, socket: TLSSocket) => void,
  ) {
    this.serverOptions = options.secureContextOptions();
    this.server = createTlsServer({
      ...this.serverOptions,
      requestCert: options.clientCertAuth,
      // Checked in onSecure instead (certificateProblem), so the refusal is logged.
      rejectUnauthorized: false,
      handshakeTimeout: handshakeTimeoutMs,
    });
    this.server.on('secureConnection', onSecure);
    this.server.on('tlsClientError', onTlsError);
  }

  /** Runs the TLS handshake on an accepted socket, with the current certificates. */
  accept(socket: Socket): void {
    const current = this.options.secureContextOptions();
    if (current !== this.serverOptions) {
      this.serverOptions = current;
      this.server.setSecureContext(current);
    }
    this.server.emit('connection', socket);
  }

  /** Opens a TLS connection to a peer, with the current certificates. */
  connect(address: PeerAddress): TLSSocket {
    return tlsConnect({
      host: address.host,
      port: address.port,
      secureContext: this.context(this.options.secureContextOptions()),
      rejectUnauthorized: this.options.verifyServer,
    });
  }

  /** Why the peer's certificate on a secured socket is not acceptable, or undefined. */
  certificateProblem(socket: TLSSocket, side: 'acceptor' | 'dialer'): string | undefined {
    const verified = side === 'acceptor' ? this.options.clientCertAuth : this.options.verifyServer;
    if (!verified) return undefined;
    if (!socket.authorized) return `the peer's certificate is not trusted: ${String(socket.authorizationError ?? 'no certificate')}`;
    const allowed = this.options.allowedCn;
    if (allowed === undefined) return undefined;
    const cn = commonName(socket);
    if (cn !== allowed) return `the peer's certificate has common name ${JSON.stringify(cn ?? '')}, but only ${JSON.stringify(allowed)} is allowed`;
    return undefined;
  }

  private context(options: SecureContextOptions): SecureContext {
    let context = this.contexts.get(options);
    if (context === undefined) {
      context = createSecureContext(options);
      this.contexts.set(options, context);
    }
    return context;
  }
}

/**
 * Keying material exported from the socket's TLS session (RFC 5705), which the
 * handshake's proofs cover (peer-proof.ts): equal at both ends of one session only.
 */
export function channelBindingOf(socket: TLSSocket): Uint8Array {
  return new Uint8Array(socket.exportKeyingMaterial(channelBindingBytes, 'EXPORTER-keel-peer-handshake', Buffer.alloc(0)));
}

function commonName(socket: TLSSocket): string | undefined {
  const cn = socket.getPeerCertificate().subject?.CN as unknown;
  // A subject with several CNs comes as an array: none of them is "the" name.
  return typeof cn === 'string' ? cn : undefined;
}
