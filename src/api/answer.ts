/**
 * Runs a node call that yields a KvResult and answers the HTTP request: the rendered
 * value, the KvError's status, or the status of what the node threw (kv-routes.ts's
 * read() and write() do the same for their one kind of call each).
 */
import type { FastifyReply } from 'fastify';
import type { KvResult } from '../kv/index.js';
import { sendKvError, sendThrown } from './errors.js';

export async function answer<T>(reply: FastifyReply, call: () => Promise<KvResult<T>>, render: (value: T) => FastifyReply | object): Promise<FastifyReply> {
  try {
    const result = await call();
    if (!result.ok) return sendKvError(reply, result.error);
    const rendered = render(result.value);
    return rendered === reply ? reply : reply.send(rendered);
  } catch (error) {
    return sendThrown(reply, error);
  }
}
