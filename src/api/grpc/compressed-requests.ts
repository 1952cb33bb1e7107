/**
 * A request message sent compressed (its length prefix's flag set), in the encoding its
 * call's grpc-encoding header names: gzip and deflate, as grpc-js's server took them.
 * The limit holds for the decompressed bytes too, so a small message that inflates to
 * gigabytes is refused as it grows past the limit, not after.
 */
import zlib from 'node:zlib';
import { status } from './status.js';
import { GrpcError } from './errors.js';

export function decompressed(bytes: Buffer, encoding: string, maxBytes: number): Buffer {
  const limit = { maxOutputLength: maxBytes };
  try {
    if (encoding === 'gzip') return zlib.gunzipSync(bytes, limit);
    if (encoding === 'deflate') return zlib.inflateSync(bytes, limit);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new GrpcError(status.RESOURCE_EXHAUSTED, `the request message decompresses to more than ${maxBytes} bytes`);
    }
    throw new GrpcError(status.INTERNAL, `the request message could not be decompressed (${encoding}): ${(error as Error).message}`);
  }
  throw new GrpcError(status.UNIMPLEMENTED, `a compressed request message in unsupported grpc-encoding "${encoding}"`);
}
