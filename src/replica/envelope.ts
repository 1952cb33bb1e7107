/**
 * What a normal log entry carries: the id of the request that proposed it (so the
 * node that took the request can answer it when the entry applies, wherever the
 * entry was appended) and the encoded key-value command.
 *
 *   [u8 id length][id, UTF-8][command bytes]
 */
import { assert } from '../lib/index.js';

export const requestIdBytesMax = 255;

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

/**
 * The envelope's header, `[u8 id length][id]`: the command's bytes follow it in the
 * same entry (encodeCommand writes them after it, so a large value is copied once).
 */
export function envelopeHeader(requestId: string): Uint8Array {
  const id = utf8Encoder.encode(requestId);
  assert(id.length <= requestIdBytesMax, () => `request id of ${id.length} bytes`);
  const out = new Uint8Array(1 + id.length);
  out[0] = id.length;
  out.set(id, 1);
  return out;
}

export function decodeEnvelope(data: Uint8Array): { requestId: string; command: Uint8Array } | undefined {
  if (data.length < 1) return undefined;
  const idLength = data[0] as number;
  if (data.length < 1 + idLength) return undefined;
  return {
    requestId: utf8Decoder.decode(data.subarray(1, 1 + idLength)),
    command: data.subarray(1 + idLength),
  };
}
