/**
 * A request refused for the size of its body (413) is answered once the rest of that
 * body has been read and thrown away. Answered at once, the connection would be closed
 * under a client still sending: its next write fails (EPIPE, or a reset) and many
 * clients (Node's fetch among them) then report the broken pipe, never the 413 that
 * explains it. Read to its end, the body is gone from the connection, which stays open
 * for the client's next request.
 *
 * Bounded: a body declared or found larger than refusedBodyDrainBytesMax, or still
 * arriving after refusedBodyDrainMs, is not waited for; the refusal then goes at once
 * and the connection is closed, as before. Nothing read here is kept.
 */
import type { IncomingMessage } from 'node:http';

/** The most of a refused body read only to throw it away. */
export const refusedBodyDrainBytesMax = 16 * 1024 * 1024;
/** The longest a refusal waits for the rest of a refused body. */
export const refusedBodyDrainMs = 10_000;

export interface DrainLimits {
  readonly bytesMax: number;
  readonly ms: number;
}

/** True once the body has ended (the connection may serve another request); false if it was given up on. */
export function discardRestOfBody(
  request: IncomingMessage,
  limits: DrainLimits = { bytesMax: refusedBodyDrainBytesMax, ms: refusedBodyDrainMs },
): Promise<boolean> {
  if (request.complete || request.readableEnded) return Promise.resolve(true);
  if (request.destroyed || Number(request.headers['content-length']) > limits.bytesMax) return Promise.resolve(false);
  return new Promise((resolve) => {
    let bytes = 0;
    const onData = (chunk: Buffer): void => {
      bytes += chunk.length;
      if (bytes > limits.bytesMax) finish(false);
    };
    const onEnd = (): void => finish(true);
    const onGone = (): void => finish(false);
    const timer = setTimeout(onGone, limits.ms);
    function finish(ended: boolean): void {
      clearTimeout(timer);
      request.off('data', onData).off('end', onEnd).off('close', onGone).off('error', onGone);
      resolve(ended);
    }
    request.on('data', onData).on('end', onEnd).on('close', onGone).on('error', onGone);
    request.resume();
  });
}
