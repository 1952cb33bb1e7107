/**
 * The first frame on every peer connection. The connecting node (which will send
 * its messages on this connection) says who it is and whom it wants; the accepting
 * node answers with a welcome or a refusal and its own identity, then closes a
 * refused connection. Both sides check:
 *
 *   - the magic bytes and protocol version (a stray client or another program);
 *   - the cluster id: two clusters on one network must never exchange votes;
 *   - the node ids: the sender must be a known peer and not the acceptor itself,
 *     and the acceptor must be the node the sender meant (an address that now
 *     belongs to another node is caught here, not by a confused Raft).
 *
 *   hello:  "KEEL" | u8 version | u8 1 | string clusterId | from | to
 *   reply:  "KEEL" | u8 version | u8 2 (welcome) or 3 (refuse) | string clusterId
 *           | nodeId | string reason (empty for a welcome)
 */
import type { NodeId } from '../raft/types.js';
import { ByteReader, ByteWriter } from './binary.js';

export const protocolVersion = 1;
const magic = new Uint8Array([0x4b, 0x45, 0x45, 0x4c]); // "KEEL"
/** Longest cluster id, in UTF-8 bytes. */
export const clusterIdBytesMax = 128;
/** Longest refusal reason, in UTF-8 bytes; longer reasons are cut. */
const reasonBytesMax = 512;
/** No handshake frame is longer than this; the handshake is read with this limit. */
export const handshakeFrameBytesMax = 4 + 2 + 2 * 8 + 2 * (clusterIdBytesMax + 2) + reasonBytesMax + 2;

const kindHello = 1;
const kindWelcome = 2;
const kindRefuse = 3;

export class HandshakeError extends Error {
  override name = 'HandshakeError';
  readonly code = 'HANDSHAKE';
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`Bad handshake: ${field}: ${problem}`);
  }
}

export interface Hello {
  readonly clusterId: string;
  readonly from: NodeId;
  readonly to: NodeId;
}

export type HelloReply =
  | { readonly ok: true; readonly clusterId: string; readonly nodeId: NodeId }
  | { readonly ok: false; readonly clusterId: string; readonly nodeId: NodeId; readonly reason: string };

export function isValidClusterId(clusterId: string): boolean {
  const bytes = new TextEncoder().encode(clusterId).length;
  return bytes > 0 && bytes <= clusterIdBytesMax;
}

export function encodeHello(hello: Hello): Uint8Array {
  const w = header(kindHello);
  w.string(hello.clusterId);
  w.varint(hello.from);
  w.varint(hello.to);
  return w.bytes();
}

export function encodeHelloReply(reply: HelloReply): Uint8Array {
  const w = header(reply.ok ? kindWelcome : kindRefuse);
  w.string(reply.clusterId);
  w.varint(reply.nodeId);
  w.string(reply.ok ? '' : truncateUtf8(reply.reason, reasonBytesMax));
  return w.bytes();
}

export function decodeHello(bytes: Uint8Array): Hello {
  const r = reader(bytes);
  readHeader(r, [kindHello]);
  const clusterId = r.string('clusterId', clusterIdBytesMax);
  const from = r.positiveVarint('from');
  const to = r.positiveVarint('to');
  r.end('hello');
  return { clusterId, from, to };
}

export function decodeHelloReply(bytes: Uint8Array): HelloReply {
  const r = reader(bytes);
  const kind = readHeader(r, [kindWelcome, kindRefuse]);
  const clusterId = r.string('clusterId', clusterIdBytesMax);
  const nodeId = r.positiveVarint('nodeId');
  const reason = r.string('reason', reasonBytesMax);
  r.end('reply');
  return kind === kindWelcome ? { ok: true, clusterId, nodeId } : { ok: false, clusterId, nodeId, reason };
}

/** What the acceptor knows to judge a hello. */
export interface AcceptorIdentity {
  readonly clusterId: string;
  readonly nodeId: NodeId;
  readonly isPeer: (id: NodeId) => boolean;
}

/** Why the acceptor refuses `hello`, or undefined to welcome it. */
export function refusalOf(hello: Hello, self: AcceptorIdentity): string | undefined {
  if (hello.clusterId !== self.clusterId) {
    return `cluster id mismatch: this node is in cluster ${JSON.stringify(self.clusterId)}, the peer in ${JSON.stringify(hello.clusterId)}`;
  }
  if (hello.to !== self.nodeId) return `the peer wants node ${hello.to}, but this is node ${self.nodeId}`;
  if (hello.from === self.nodeId) return `the peer claims this node's own id ${self.nodeId}`;
  if (!self.isPeer(hello.from)) return `node ${hello.from} is not a known peer of node ${self.nodeId}`;
  return undefined;
}

/** Why the connecting side must not use a connection answered with `reply`, or undefined. */
export function replyProblem(reply: HelloReply, expected: { readonly clusterId: string; readonly nodeId: NodeId }): string | undefined {
  if (!reply.ok) return `refused by the peer: ${reply.reason}`;
  if (reply.clusterId !== expected.clusterId) {
    return `cluster id mismatch: this node is in cluster ${JSON.stringify(expected.clusterId)}, the peer in ${JSON.stringify(reply.clusterId)}`;
  }
  if (reply.nodeId !== expected.nodeId) return `expected node ${expected.nodeId} at this address, found node ${reply.nodeId}`;
  return undefined;
}

function header(kind: number): ByteWriter {
  const w = new ByteWriter(64);
  w.raw(magic);
  w.u8(protocolVersion);
  w.u8(kind);
  return w;
}

function reader(bytes: Uint8Array): ByteReader {
  return new ByteReader(bytes, (field, problem) => {
    throw new HandshakeError(field, problem);
  });
}

function readHeader(r: ByteReader, kinds: readonly number[]): number {
  const seen = r.rawView('magic', magic.length);
  if (!seen.every((byte, i) => byte === magic[i])) throw new HandshakeError('magic', 'not a Keel peer connection');
  const version = r.u8('version');
  if (version !== protocolVersion) {
    throw new HandshakeError('version', `protocol version ${version} is not supported (this node speaks ${protocolVersion})`);
  }
  const kind = r.u8('kind');
  if (!kinds.includes(kind)) throw new HandshakeError('kind', `unexpected handshake kind ${kind}`);
  return kind;
}

function truncateUtf8(text: string, bytesMax: number): string {
  const encoder = new TextEncoder();
  if (encoder.encode(text).length <= bytesMax) return text;
  let result = '';
  let bytes = 0;
  for (const char of text) {
    const size = encoder.encode(char).length;
    if (bytes + size > bytesMax - 3) break;
    result += char;
    bytes += size;
  }
  return `${result}...`;
}
