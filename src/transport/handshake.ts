/**
 * The first frames on every peer connection: who is who, and proof of it. The
 * accepting node challenges, the connecting node (which will send its messages on
 * this connection) says who it is and whom it wants and proves it holds the cluster
 * secret; the acceptor answers with a welcome that proves the same, or a refusal,
 * then closes a refused connection. Both sides check:
 *
 *   - the magic bytes and protocol version (a stray client or another program);
 *   - the cluster id: two clusters on one network must never exchange votes;
 *   - the proofs of the cluster secret (peer-proof.ts): the cluster id is a public
 *     name, so without them anyone who reaches the port could speak as a member;
 *   - the node ids: the sender must be a known peer and not the acceptor itself,
 *     and the acceptor must be the node the sender meant (an address that now
 *     belongs to another node is caught here, not by a confused Raft).
 *
 *   challenge:  "KEEL" | u8 version | u8 4 | bytes nonce
 *   hello:      "KEEL" | u8 version | u8 1 | string clusterId | from | to | bytes nonce | bytes proof
 *   reply:      "KEEL" | u8 version | u8 2 (welcome) | string clusterId | nodeId | bytes proof
 *               "KEEL" | u8 version | u8 3 (refuse)  | string clusterId | nodeId | string reason
 *
 * A proof is empty on a cluster that runs without a secret (mutual TLS with client
 * certificate authentication only; see transport.ts), and 32 bytes otherwise.
 */
import type { NodeId } from '../raft/index.js';
import { ByteReader, ByteWriter } from '../lib/index.js';
import { helloProof, nonceBytes, proofBytes, sameProof, welcomeProof } from './peer-proof.js';
import type { Transcript } from './peer-proof.js';

/** 2: the challenge and the proofs of the cluster secret. 3: commit-only appends (message-codec.ts). */
export const protocolVersion = 3;
const magic = new Uint8Array([0x4b, 0x45, 0x45, 0x4c]); // "KEEL"
/** Longest cluster id, in UTF-8 bytes. */
export const clusterIdBytesMax = 128;
/** Longest refusal reason, in UTF-8 bytes; longer reasons are cut. */
const reasonBytesMax = 512;
/** No handshake frame is longer than this; the handshake is read with this limit. */
export const handshakeFrameBytesMax = 4 + 2 + 2 * 8 + 2 * (clusterIdBytesMax + 2) + reasonBytesMax + 2 + 2 * (nonceBytes + 1) + (proofBytes + 1);

const kindHello = 1;
const kindWelcome = 2;
const kindRefuse = 3;
const kindChallenge = 4;

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
  readonly nonce: Uint8Array;
  /** HMAC of the transcript under the cluster secret; empty without a secret. */
  readonly proof: Uint8Array;
}

export type HelloReply =
  | { readonly ok: true; readonly clusterId: string; readonly nodeId: NodeId; readonly proof: Uint8Array }
  | { readonly ok: false; readonly clusterId: string; readonly nodeId: NodeId; readonly reason: string };

export function isValidClusterId(clusterId: string): boolean {
  const bytes = new TextEncoder().encode(clusterId).length;
  return bytes > 0 && bytes <= clusterIdBytesMax;
}

export function encodeChallenge(nonce: Uint8Array): Uint8Array {
  const w = header(kindChallenge);
  w.byteString(nonce);
  return w.written();
}

export function decodeChallenge(bytes: Uint8Array): Uint8Array {
  const r = reader(bytes);
  readHeader(r, [kindChallenge]);
  const nonce = fixedBytes(r, 'nonce', [nonceBytes]);
  r.end('challenge');
  return nonce;
}

export function encodeHello(hello: Hello): Uint8Array {
  const w = header(kindHello);
  w.string(hello.clusterId);
  w.varint(hello.from);
  w.varint(hello.to);
  w.byteString(hello.nonce);
  w.byteString(hello.proof);
  return w.written();
}

export function encodeHelloReply(reply: HelloReply): Uint8Array {
  const w = header(reply.ok ? kindWelcome : kindRefuse);
  w.string(reply.clusterId);
  w.varint(reply.nodeId);
  if (reply.ok) w.byteString(reply.proof);
  else w.string(truncateUtf8(reply.reason, reasonBytesMax));
  return w.written();
}

export function decodeHello(bytes: Uint8Array): Hello {
  const r = reader(bytes);
  readHeader(r, [kindHello]);
  const clusterId = r.string('clusterId', clusterIdBytesMax);
  const from = r.positiveVarint('from');
  const to = r.positiveVarint('to');
  const nonce = fixedBytes(r, 'nonce', [nonceBytes]);
  const proof = fixedBytes(r, 'proof', [0, proofBytes]);
  r.end('hello');
  return { clusterId, from, to, nonce, proof };
}

export function decodeHelloReply(bytes: Uint8Array): HelloReply {
  const r = reader(bytes);
  const kind = readHeader(r, [kindWelcome, kindRefuse]);
  const clusterId = r.string('clusterId', clusterIdBytesMax);
  const nodeId = r.positiveVarint('nodeId');
  if (kind === kindWelcome) {
    const proof = fixedBytes(r, 'proof', [0, proofBytes]);
    r.end('welcome');
    return { ok: true, clusterId, nodeId, proof };
  }
  const reason = r.string('reason', reasonBytesMax);
  r.end('refusal');
  return { ok: false, clusterId, nodeId, reason };
}

/** What both ends of one connection know before the hello. */
export interface Channel {
  /** The nonce of the acceptor's challenge. */
  readonly acceptorNonce: Uint8Array;
  /** Keying material exported from the TLS session (peer-tls.ts); empty on plain TCP. */
  readonly channelBinding: Uint8Array;
}

/** The transcript both proofs of one connection cover. */
export function transcriptOf(hello: Hello, channel: Channel): Transcript {
  return {
    clusterId: hello.clusterId,
    from: hello.from,
    to: hello.to,
    acceptorNonce: channel.acceptorNonce,
    dialerNonce: hello.nonce,
    channelBinding: channel.channelBinding,
  };
}

/** The dialer's hello, with its proof when the cluster has a secret. */
export function makeHello(fields: Omit<Hello, 'proof'>, channel: Channel, secret: Uint8Array | undefined): Hello {
  const proof = secret === undefined ? new Uint8Array(0) : helloProof(secret, transcriptOf({ ...fields, proof: new Uint8Array(0) }, channel));
  return { ...fields, proof };
}

/** The acceptor's welcome for `hello`, with its proof when the cluster has a secret. */
export function makeWelcome(hello: Hello, channel: Channel, secret: Uint8Array | undefined): HelloReply {
  const proof = secret === undefined ? new Uint8Array(0) : welcomeProof(secret, transcriptOf(hello, channel));
  return { ok: true, clusterId: hello.clusterId, nodeId: hello.to, proof };
}

/** What the acceptor knows to judge a hello. */
export interface AcceptorIdentity {
  readonly clusterId: string;
  readonly nodeId: NodeId;
  readonly isPeer: (id: NodeId) => boolean;
  /** The cluster secret; undefined on a cluster authenticated by TLS client certificates alone. */
  readonly secret: Uint8Array | undefined;
  /** This connection: the nonce this acceptor sent, and the channel binding. */
  readonly channel: Channel;
}

/** Why the acceptor refuses `hello`, or undefined to welcome it. */
export function refusalOf(hello: Hello, self: AcceptorIdentity): string | undefined {
  if (hello.clusterId !== self.clusterId) {
    return `cluster id mismatch: this node is in cluster ${JSON.stringify(self.clusterId)}, the peer in ${JSON.stringify(hello.clusterId)}`;
  }
  if (hello.to !== self.nodeId) return `the peer wants node ${hello.to}, but this is node ${self.nodeId}`;
  // Before the ids are judged: who is a peer is nobody's business but the members'.
  const proofProblem =
    self.secret === undefined ? unexpectedProof(hello.proof) : proofMismatch(hello.proof, helloProof(self.secret, transcriptOf(hello, self.channel)));
  if (proofProblem !== undefined) return proofProblem;
  if (hello.from === self.nodeId) return `the peer claims this node's own id ${self.nodeId}`;
  if (!self.isPeer(hello.from)) return `node ${hello.from} is not a known peer of node ${self.nodeId}`;
  return undefined;
}

/** What the dialer knows to judge a reply. */
export interface DialerExpectation {
  readonly clusterId: string;
  /** The node it meant to reach. */
  readonly nodeId: NodeId;
  readonly secret: Uint8Array | undefined;
  /** The hello it sent, and the connection it sent it on. */
  readonly hello: Hello;
  readonly channel: Channel;
}

/** Why the connecting side must not use a connection answered with `reply`, or undefined. */
export function replyProblem(reply: HelloReply, expected: DialerExpectation): string | undefined {
  if (!reply.ok) return `refused by the peer: ${reply.reason}`;
  if (reply.clusterId !== expected.clusterId) {
    return `cluster id mismatch: this node is in cluster ${JSON.stringify(expected.clusterId)}, the peer in ${JSON.stringify(reply.clusterId)}`;
  }
  if (reply.nodeId !== expected.nodeId) return `expected node ${expected.nodeId} at this address, found node ${reply.nodeId}`;
  if (expected.secret === undefined) return unexpectedProof(reply.proof);
  return proofMismatch(reply.proof, welcomeProof(expected.secret, transcriptOf(expected.hello, expected.channel)));
}

function proofMismatch(received: Uint8Array, expected: Uint8Array): string | undefined {
  if (received.length === 0) return 'the peer sent no proof of the cluster secret (it runs without one: give every member the same secret)';
  if (!sameProof(expected, received)) return 'the peer failed to prove it holds the cluster secret (another secret, or a replayed handshake)';
  return undefined;
}

function unexpectedProof(received: Uint8Array): string | undefined {
  if (received.length === 0) return undefined;
  return 'the peer proves a cluster secret, but this node runs without one (mutual TLS only): give every member the same secret';
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
    throw new HandshakeError(field ?? 'handshake', problem);
  });
}

function readHeader(r: ByteReader, kinds: readonly number[]): number {
  const seen = r.view(magic.length, 'magic');
  if (!seen.every((byte, i) => byte === magic[i])) throw new HandshakeError('magic', 'not a Keel peer connection');
  const version = r.u8('version');
  if (version !== protocolVersion) {
    throw new HandshakeError('version', `protocol version ${version} is not supported (this node speaks ${protocolVersion})`);
  }
  const kind = r.u8('kind');
  if (!kinds.includes(kind)) throw new HandshakeError('kind', `unexpected handshake kind ${kind}`);
  return kind;
}

/** A byte string whose length is one of `lengths`. */
function fixedBytes(r: ByteReader, field: string, lengths: readonly number[]): Uint8Array {
  const value = r.byteString(field);
  if (!lengths.includes(value.length)) throw new HandshakeError(field, `${value.length} bytes, expected ${lengths.join(' or ')}`);
  return value;
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
