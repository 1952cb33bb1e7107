/**
 * The header fields of the gRPC over HTTP/2 protocol that the server reads and writes
 * itself: the request's timeout, the answer's headers, and its status in the trailers.
 */
import { constants } from 'node:http2';
import type { OutgoingHttpHeaders } from 'node:http2';

/** What a client may send compressed with (requests only: answers go uncompressed). */
export const acceptedEncodings = 'identity,deflate,gzip';

/**
 * The headers that open every answer with messages: one object for all, as Node's
 * HTTP/2 copies what it is given before it sends it.
 */
export const answerHeaders: Readonly<OutgoingHttpHeaders> = Object.freeze({
  [constants.HTTP2_HEADER_STATUS]: constants.HTTP_STATUS_OK,
  [constants.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc+proto',
  'grpc-accept-encoding': acceptedEncodings,
  'grpc-encoding': 'identity',
});

/** The trailers of a call that succeeded, the most frequent ones, made once. */
const okTrailers: Readonly<OutgoingHttpHeaders> = Object.freeze({ 'grpc-status': '0', 'grpc-message': '' });

/** The trailers that end a call: its status code and message. */
export function statusTrailers(code: number, message: string): Readonly<OutgoingHttpHeaders> {
  if (code === 0 && message === '') return okTrailers;
  return { 'grpc-status': String(code), 'grpc-message': percentEncoded(message) };
}

/** The one header block of an answer that has only a status (the protocol's Trailers-Only). */
export function statusOnly(code: number, message: string): OutgoingHttpHeaders {
  return { ...answerHeaders, ...statusTrailers(code, message) };
}

/** A gRPC request: content-type application/grpc, alone or with a suffix (+proto, ;charset). */
export function isGrpcContentType(value: string | undefined): boolean {
  return value?.startsWith('application/grpc') === true;
}

const unitMs: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1_000, m: 1, u: 0.001, n: 0.000_001 };

/** The longest timer Node runs as asked (a longer delay fires at once). */
const timerMsMax = 2 ** 31 - 1;

/**
 * A grpc-timeout value (at most 8 digits and a unit: hours, minutes, seconds, milli-,
 * micro-, nanoseconds) in whole milliseconds; Infinity for one longer than a timer can
 * run (24 days), undefined for a malformed one.
 */
export function timeoutMs(value: string): number | undefined {
  const match = /^(\d{1,8})([HMSmun])$/.exec(value);
  if (match === null) return undefined;
  const ms = Math.ceil(Number(match[1]) * (unitMs[match[2] as string] as number));
  return ms > timerMsMax ? Infinity : ms;
}

/**
 * A status message as grpc-message carries it: bytes outside printable ASCII, and '%',
 * as %XX of their UTF-8 (the protocol's percent-encoding; clients decode it back).
 */
export function percentEncoded(message: string): string {
  if (/^[\x20-\x24\x26-\x7e]*$/.test(message)) return message;
  let out = '';
  for (const byte of Buffer.from(message, 'utf8')) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
