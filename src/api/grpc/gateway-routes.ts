/**
 * etcd's JSON gateway: `POST /v3/kv/range` and friends on the REST port, with the
 * bodies etcd's gateway takes and gives (protobuf's JSON mapping with the proto field
 * names: bytes as base64, 64-bit integers as strings, enums by name). Each path calls
 * the same handler as the gRPC method, so both interfaces answer alike.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { type StatusCode, status } from './status.js';
import type protobuf from 'protobufjs';
import { etcdProtoRoot, objectOptions } from '../../proto/index.js';
import { GrpcError, toGrpcError } from './errors.js';
import { unaryCaller } from './service.js';
import type { EtcdService, UnaryMethod } from './service.js';
import type { NodeAuth, Credentials } from '../../server/index.js';
import { httpCredentials } from '../http-credentials.js';
import { checkJsonFields } from './json-fields.js';
import { gatewayJson } from './gateway-json.js';
import { grpcOverheadBytes } from './grpc-server.js';
import { connectionName, payloadBytes, type ConnectionBudget } from '../connection-budget.js';
import { ClientGone } from './client-gone.js';

/** The mapping from gRPC status codes to HTTP statuses of etcd 3.4's gateway (grpc-gateway v1). */
const httpStatusOf: Partial<Record<StatusCode, number>> = {
  [status.CANCELLED]: 408,
  [status.INVALID_ARGUMENT]: 400,
  [status.DEADLINE_EXCEEDED]: 504,
  [status.NOT_FOUND]: 404,
  [status.ALREADY_EXISTS]: 409,
  [status.PERMISSION_DENIED]: 403,
  [status.RESOURCE_EXHAUSTED]: 429,
  [status.FAILED_PRECONDITION]: 412,
  [status.ABORTED]: 409,
  [status.OUT_OF_RANGE]: 400,
  [status.UNIMPLEMENTED]: 501,
  [status.UNAVAILABLE]: 503,
  [status.UNAUTHENTICATED]: 401,
};

/**
 * The largest gateway body taken for a request of `requestBytesMax` bytes: its bytes
 * travel as base64 (4/3 of their size) inside JSON, so the body limit is that plus the
 * same allowance for framing that the gRPC server gives (grpcOverheadBytes). Larger
 * requests in it reach the store's check and get etcd's "request is too large".
 */
export function gatewayBodyBytesMax(requestBytesMax: number): number {
  return Math.ceil((requestBytesMax * 4) / 3) + grpcOverheadBytes;
}

export function registerGatewayRoutes(
  app: FastifyInstance,
  auth: NodeAuth,
  services: readonly EtcdService[],
  requestBytesMax: number,
  writeBudget: ConnectionBudget,
): void {
  const bodyLimit = gatewayBodyBytesMax(requestBytesMax);
  const root = etcdProtoRoot();
  for (const service of services) {
    const serviceName = `${service.package ?? 'etcdserverpb'}.${service.name}`;
    const definition = root.lookupService(serviceName);
    for (const [name, method] of Object.entries(service.unary)) {
      const rpc = definition.methods[name];
      if (!rpc?.resolvedRequestType || !rpc.resolvedResponseType) throw new Error(`${serviceName}.${name} is not in the proto files`);
      const types = { request: rpc.resolvedRequestType, response: rpc.resolvedResponseType };
      for (const path of method.gatewayPaths.flatMap(withVersionAliases)) {
        app.post(path, { bodyLimit }, async (request, reply) => answer(reply, auth, httpCredentials(request), method, types, request.body, writeBudget));
      }
    }
  }
}

/**
 * The API versions a gateway path is served under: `/v3/` (etcd 3.4 on), `/v3beta/`
 * (etcd 3.3 and 3.4) and `/v3alpha/` (etcd 3.2 and 3.3), which gateway clients of those
 * releases post to by default (Debian's etcd3gw 2.0: `/v3alpha/`). Same handlers.
 */
export const gatewayVersionPattern = /^\/v3(beta|alpha)?\//;

export function withVersionAliases(path: string): string[] {
  const rest = path.replace(gatewayVersionPattern, '');
  return ['/v3/', '/v3beta/', '/v3alpha/'].map((prefix) => `${prefix}${rest}`);
}

/** Answers a refused gateway call as etcd's gateway does. */
export function sendGatewayError(reply: FastifyReply, error: unknown): FastifyReply {
  const grpcError = toGrpcError(error);
  return reply.code(httpStatusOf[grpcError.code] ?? 500).send({ error: grpcError.message, message: grpcError.message, code: grpcError.code });
}

async function answer(
  reply: FastifyReply,
  auth: NodeAuth,
  credentials: Credentials,
  method: UnaryMethod,
  types: { request: protobuf.Type; response: protobuf.Type },
  body: unknown,
  writeBudget: ConnectionBudget,
): Promise<FastifyReply> {
  try {
    const message = decodeRequest(types.request, parseBody(body));
    const caller = await unaryCaller(auth, () => credentials, method, message);
    // A client that hangs up stops a waiting Lock or Campaign (which then cleans up).
    const gone = new ClientGone();
    reply.raw.on('close', () => gone.happened());
    const handle = (): Promise<Record<string, unknown>> => method.handle(message, caller, gone.signal);
    const response = method.proposes ? await writeBudget.run(connectionName(reply.request.socket), payloadBytes(message), handle) : await handle();
    const json = gatewayJson(types.response, response);
    // A stream's answers are newline-delimited {"result": ...} objects, as etcd's gateway streams them.
    if (method.gatewayStream) return reply.type('application/json').send(`${JSON.stringify({ result: json })}\n`);
    return reply.send(json);
  } catch (error) {
    return sendGatewayError(reply, error);
  }
}

export function decodeRequest(type: protobuf.Type, json: Record<string, unknown>): Record<string, unknown> {
  checkJsonFields(type, json);
  try {
    return type.toObject(type.fromObject(json), objectOptions);
  } catch (error) {
    throw new GrpcError(status.INVALID_ARGUMENT, `request body is not a valid ${type.name}: ${(error as Error).message}`);
  }
}

/** etcd's examples post JSON without a JSON content type (curl -d), so raw bytes are parsed too. */
export function parseBody(body: unknown): Record<string, unknown> {
  let value = body;
  if (Buffer.isBuffer(body)) {
    if (body.length === 0) return {};
    try {
      value = JSON.parse(body.toString('utf8'));
    } catch (error) {
      throw new GrpcError(status.INVALID_ARGUMENT, `request body is not JSON: ${(error as Error).message}`);
    }
  }
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new GrpcError(status.INVALID_ARGUMENT, 'request body must be a JSON object');
  return value as Record<string, unknown>;
}
