/** Request parsing shared by the REST routes (query strings, session headers); problems come back as messages. */
import type { FastifyRequest } from 'fastify';
import type { Consistency } from '../server/index.js';
import type { ClientSession } from '../kv/index.js';

export type Query = Record<string, string | undefined>;

export function consistencyOf(query: Query): { value: Consistency } | string {
  const value = query.consistency ?? 'linearizable';
  if (value !== 'linearizable' && value !== 'serializable') return `consistency must be linearizable or serializable, got ${JSON.stringify(value)}`;
  return { value };
}

export function parseInteger(text: string | undefined, name: string): number | undefined | string {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value)) return `${name} must be a non-negative integer, got ${JSON.stringify(text)}`;
  return value;
}

/** A `true`/`false` query flag (false when absent), or the problem with it: `prevKv=maybe` is a mistake, not false. */
export function parseFlag(query: Query, name: string): boolean | string {
  const value = query[name];
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  return `${name} must be true or false, got ${JSON.stringify(value)}`;
}

/** The exactly-once session of a write (X-Keel-Client-Id and X-Keel-Seq), if any. */
export function sessionOf(request: FastifyRequest): ClientSession | string | undefined {
  const clientId = request.headers['x-keel-client-id'];
  const seq = request.headers['x-keel-seq'];
  if (clientId === undefined && seq === undefined) return undefined;
  if (typeof clientId !== 'string' || typeof seq !== 'string') return 'X-Keel-Client-Id and X-Keel-Seq must be given together, once each';
  const number = Number(seq);
  if (!Number.isSafeInteger(number) || number < 1) return `X-Keel-Seq must be a positive integer, got ${JSON.stringify(seq)}`;
  return { clientId, seq: number };
}
