import type { SnapshotData } from '../types.js';

/**
 * A snapshot's bytes all at once, for the tests' state machines, which restore from
 * memory: the bytes themselves when they are in memory already, else read whole (a
 * stored snapshot's file, read synchronously).
 */
export function snapshotBytes(data: SnapshotData): Uint8Array {
  return data instanceof Uint8Array ? data : data.subarray(0, data.byteLength);
}
