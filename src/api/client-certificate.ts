/**
 * Who the client is, by its certificate: the common name (CN) of the certificate a
 * client presented and the node verified against --trusted-ca-file. etcd maps this
 * name to a user when client-certificate authentication is on; this module is the one
 * place Keel reads it, for every HTTP request (REST, JSON gateway, WebSocket, SSE,
 * dashboard) and every gRPC call.
 *
 * Both functions answer undefined unless the connection is TLS and its certificate was
 * verified, which happens only with --client-cert-auth (without it the node asks for no
 * certificate). With --client-cert-auth an unverified client never gets this far: its
 * handshake fails. A certificate without a CN also answers undefined.
 */
import { TLSSocket } from 'node:tls';
import type { PeerCertificate } from 'node:tls';
import type { FastifyRequest } from 'fastify';

export function commonNameOfHttpRequest(request: Pick<FastifyRequest, 'raw'>): string | undefined {
  return commonNameOfSocket(request.raw.socket);
}

/** For a gRPC call: the socket of its HTTP/2 session (call-server.ts). */
export function commonNameOfSocket(socket: unknown): string | undefined {
  if (!(socket instanceof TLSSocket) || !socket.authorized) return undefined;
  return commonNameOf(socket.getPeerCertificate());
}

function commonNameOf(certificate: PeerCertificate): string | undefined {
  // Node gives a repeated attribute as an array; a name needs exactly one CN.
  const cn: unknown = certificate.subject?.CN;
  return typeof cn === 'string' && cn !== '' ? cn : undefined;
}
