/**
 * The challenge-response at the heart of the handshake (handshake.ts): each side
 * proves it holds the cluster secret without sending it, bound to this one
 * connection.
 *
 * The acceptor sends a fresh random nonce; the dialer answers with its own nonce and
 * HMAC-SHA256(secret, "hello" transcript); the acceptor answers with
 * HMAC-SHA256(secret, "welcome" transcript). A transcript holds both nonces, the
 * cluster id, both node ids and the channel binding, each length-prefixed (so no two
 * transcripts share bytes), under a label naming the direction (so one side's proof
 * is never accepted as the other's). A recorded handshake is useless later: the
 * other side's nonce is new on every connection. Proofs are compared in constant time.
 *
 * Over TLS the channel binding is keying material exported from the TLS session
 * (RFC 5705), the same at both ends of one session only: a man in the middle who
 * terminates TLS on each side (possible under auto TLS, where nobody checks
 * certificates) has two sessions, so relaying the handshake between them fails.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { NodeId } from '../raft/index.js';
import { ByteWriter } from '../lib/index.js';

/** The cluster secret's length: 256 random bits. */
export const clusterSecretBytes = 32;
export const nonceBytes = 32;
/** HMAC-SHA256's output. */
export const proofBytes = 32;

export interface Transcript {
  readonly clusterId: string;
  /** The dialer. */
  readonly from: NodeId;
  /** The acceptor. */
  readonly to: NodeId;
  readonly acceptorNonce: Uint8Array;
  readonly dialerNonce: Uint8Array;
  /** Exported TLS keying material; empty on plain TCP. */
  readonly channelBinding: Uint8Array;
}

export function newNonce(): Uint8Array {
  return new Uint8Array(randomBytes(nonceBytes));
}

/** The dialer's proof, checked by the acceptor. */
export function helloProof(secret: Uint8Array, transcript: Transcript): Uint8Array {
  return proof(secret, 'keel peer hello v2', transcript);
}

/** The acceptor's proof, checked by the dialer. */
export function welcomeProof(secret: Uint8Array, transcript: Transcript): Uint8Array {
  return proof(secret, 'keel peer welcome v2', transcript);
}

/** Constant-time comparison (for equal lengths; the length of a proof is public). */
export function sameProof(expected: Uint8Array, received: Uint8Array): boolean {
  return expected.length === received.length && timingSafeEqual(expected, received);
}

function proof(secret: Uint8Array, label: string, t: Transcript): Uint8Array {
  const w = new ByteWriter(160);
  w.string(label);
  w.byteString(t.acceptorNonce);
  w.byteString(t.dialerNonce);
  w.string(t.clusterId);
  w.varint(t.from);
  w.varint(t.to);
  w.byteString(t.channelBinding);
  return new Uint8Array(createHmac('sha256', secret).update(w.written()).digest());
}
