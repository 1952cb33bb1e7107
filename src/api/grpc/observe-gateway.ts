/**
 * etcd's JSON gateway for the Election service's Observe stream: `POST
 * /v3/election/observe` with a LeaderRequest as JSON (`{"name": "<base64>"}`), answered
 * by newline-separated `{"result": LeaderResponse}` objects until the client goes away,
 * as etcd's gateway streams it.
 */
import { once } from 'node:events';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { KeyValueNode } from '../../server/index.js';
import { etcdProtoRoot } from '../../proto/index.js';
import { decodeRequest, parseBody, sendGatewayError, withVersionAliases } from './gateway-routes.js';
import { gatewayJson } from './gateway-json.js';
import { runObserve } from './election-service.js';
import { bytesField, leaderReadNeed } from './recipe-requests.js';
import { httpCredentials } from '../http-credentials.js';
import { toGrpcError } from './errors.js';

export function registerObserveGateway(app: FastifyInstance, node: KeyValueNode): void {
  const root = etcdProtoRoot();
  const requestType = root.lookupType('v3electionpb.LeaderRequest');
  const responseType = root.lookupType('v3electionpb.LeaderResponse');
  const serve = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    let message: Record<string, unknown>;
    let caller;
    try {
      message = decodeRequest(requestType, parseBody(request.body));
      caller = await node.auth.authorize(httpCredentials(request), leaderReadNeed(node, bytesField(message.name)));
    } catch (error) {
      return sendGatewayError(reply, error);
    }
    reply.hijack();
    const raw = reply.raw;
    const gone = new AbortController();
    raw.on('close', () => gone.abort());
    raw.writeHead(200, { 'content-type': 'application/json' });
    // The answer starts now: a client waiting for its headers need not wait for a leader.
    raw.flushHeaders();
    const send = async (response: Record<string, unknown>): Promise<void> => {
      const line = `${JSON.stringify({ result: gatewayJson(responseType, response) })}\n`;
      if (!raw.write(line)) await once(raw, 'drain', { signal: gone.signal });
    };
    runObserve(node, caller, message, send, gone.signal).catch((error: unknown) => {
      if (gone.signal.aborted) return;
      const failed = toGrpcError(error);
      raw.end(`${JSON.stringify({ error: { code: failed.code, message: failed.message } })}\n`);
    });
    return reply;
  };
  for (const path of withVersionAliases('/v3/election/observe')) app.post(path, serve);
}
