/**
 * What a normal log entry carries: the id of the request that proposed it (so the
 * node that took the request can answer it when the entry applies, wherever the
 * entry was appended) and the encoded key-value command.
 *
 *   [u8 id length][id, UTF-8][command bytes]
 */
import { assert } from '../lib/index.js';

export const requestIdBytesMax = 255;

export function encodeEnvelope(requestId: string, command: Uint8Array): Uint8Array {
  const id = new TextEncoder().encode(requestId);
  assert(id.length <= requestIdBytesMax, () => `request id of ${id.length} bytes`);
  const out = new Uint8Array(1 + id.length + command.length);
  out[0] = id.length;
  out.set(id, 1);
  out.set(command, 1 + id.length);
  return out;
}

export function decodeEnvelope(data: Uint8Array): { requestId: string; command: Uint8Array } | undefined {
  if (data.length < 1) return undefined;
  const idLength = data[0] as number;
  if (data.length < 1 + idLength) return undefined;
  return {
    requestId: new TextDecoder().decode(data.subarray(1, 1 + idLength)),
    command: data.subarray(1 + idLength),
  };
}
