/**
 * etcd's JSON gateway for the Watch stream: `POST /v3/watch` with one WatchRequest as
 * JSON (`{"create_request": {"key": "<base64>", ...}}`), answered by a stream of
 * newline-separated `{"result": WatchResponse}` objects until the client goes away, as
 * etcd's gateway streams it. The watch itself is the gRPC service's (watch-service.ts).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type KeyValueNode, NEEDS_NOTHING } from '../../server/index.js';
import { etcdProtoRoot } from '../../proto/index.js';
import { decodeRequest, parseBody, sendGatewayError, withVersionAliases } from './gateway-routes.js';
import { gatewayJson } from './gateway-json.js';
import { handleRequest, watchResponses } from './watch-service.js';
import { httpCredentials } from '../http-credentials.js';

export function registerWatchGateway(app: FastifyInstance, node: KeyValueNode): void {
  const root = etcdProtoRoot();
  const requestType = root.lookupType('etcdserverpb.WatchRequest');
  const responseType = root.lookupType('etcdserverpb.WatchResponse');
  const serve = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    let message: Record<string, unknown>;
    try {
      message = decodeRequest(requestType, parseBody(request.body));
    } catch (error) {
      return sendGatewayError(reply, error);
    }
    const raw = reply.raw;
    let session;
    try {
      const caller = await node.auth.authorize(httpCredentials(request), NEEDS_NOTHING);
      session = node.openWatchSession(
        {
          send: (out) => {
            for (const response of watchResponses(node, out)) raw.write(`${JSON.stringify({ result: gatewayJson(responseType, response) })}\n`);
          },
          writable: () => !raw.writableNeedDrain,
        },
        node.auth.watchRefusal(caller),
      );
    } catch (error) {
      return sendGatewayError(reply, error);
    }
    reply.hijack();
    raw.writeHead(200, { 'content-type': 'application/json' });
    raw.on('drain', () => session.pump());
    raw.on('close', () => session.close());
    try {
      handleRequest(session, message);
    } catch (error) {
      session.close();
      raw.end(`${JSON.stringify({ error: (error as Error).message })}\n`);
    }
    return reply;
  };
  for (const path of withVersionAliases('/v3/watch')) app.post(path, serve);
}
