/**
 * The etcd v3 gRPC API of one node, served on the client port (client-port.ts) by
 * call-server.ts. Services are built once per node by etcdServices() and shared with the
 * JSON gateway.
 */
import type { Duplex } from 'node:stream';
import type { MethodDefinition } from '@grpc/grpc-js';
import type { ApiNode, NodeAuth } from '../../server/index.js';
import { etcdPackageDefinition } from '../../proto/index.js';
import { toGrpcError } from './errors.js';
import { unaryCaller } from './service.js';
import type { EtcdService, UnaryMethod } from './service.js';
import { kvService } from './kv-service.js';
import { clusterService } from './cluster-service.js';
import { leaseService } from './lease-service.js';
import { watchService } from './watch-service.js';
import { maintenanceService } from './maintenance-service.js';
import { authService } from './auth-service.js';
import { lockService } from './lock-service.js';
import { electionService } from './election-service.js';
import { payloadBytes, type ConnectionBudget } from '../connection-budget.js';
import { withFastResponses } from './response-encoding.js';
import type { ServiceMethods } from './response-encoding.js';
import { CallServer } from './call-server.js';
import type { GrpcMethod } from './call-server.js';
import type { ServerCall } from './server-call.js';
import type { Message } from './convert.js';

export interface GrpcApi {
  /** Hands it the HTTP/2 connections of the client port (client-port.ts). */
  readonly connections: { injectConnection(connection: Duplex): void };
  /** Calls waiting, unread, for their connection's earlier requests to arrive (a metric). */
  callsWaitingToArrive(): number;
  close(): Promise<void>;
}

/** etcd's allowance for a message's framing beyond --max-request-bytes (512 KiB). */
export const grpcOverheadBytes = 512 * 1024;

/** An HTTP/2 connection without a running call is closed after this long. */
export const connectionIdleMs = 5 * 60_000;

/** A running call may hold a shutdown this long before it is cut. */
const shutdownGraceMs = 2_000;

export function etcdServices(node: ApiNode): EtcdService[] {
  return [
    kvService(node),
    leaseService(node),
    clusterService(node),
    watchService(node),
    maintenanceService(node),
    authService(node),
    lockService(node),
    electionService(node),
  ];
}

/**
 * The gRPC server, listening nowhere: the client port hands it its HTTP/2 connections,
 * plain or with TLS already terminated.
 */
export function createGrpcApi(node: ApiNode, requestBytesMax: number, writeBudget: ConnectionBudget): GrpcApi {
  const definitions = etcdPackageDefinition();
  const methods = new Map<string, GrpcMethod>();
  for (const service of etcdServices(node)) {
    const generic = definitions[`${service.package ?? 'etcdserverpb'}.${service.name}`] as ServiceMethods;
    const definition = service.package === undefined ? withFastResponses(service.name, generic) : generic;
    for (const [name, method] of Object.entries(definition)) {
      const serve = serverOf(service, name, node.auth, writeBudget);
      // A method etcd has and Keel does not serve is answered UNIMPLEMENTED, as unknown.
      if (serve !== undefined) methods.set(method.path, grpcMethod(method, serve));
    }
  }
  const server = new CallServer(methods, {
    // Room above the request limit, as etcd leaves (its grpcOverheadBytes), so that a
    // request just over it reaches the store's check and gets etcd's answer
    // (INVALID_ARGUMENT "etcdserver: request is too large"), not the framing's.
    requestBytesMax: requestBytesMax + grpcOverheadBytes,
    // A connection with no call running (one that sent the preface and nothing more
    // included) gets GOAWAY after this long; clients reconnect on their next call.
    idleMs: connectionIdleMs,
    arrivingBytesMax: node.config.connectionArrivingBytesMax,
    streamsMax: node.config.maxConcurrentStreams,
  });
  return { connections: server, callsWaitingToArrive: () => server.callsWaitingToArrive(), close: () => server.close(shutdownGraceMs) };
}

function grpcMethod(method: MethodDefinition<unknown, unknown>, serve: (call: ServerCall) => void): GrpcMethod {
  return {
    codec: { decode: method.requestDeserialize as (bytes: Buffer) => Message, encode: method.responseSerialize },
    requestStream: method.requestStream,
    serve,
  };
}

function serverOf(service: EtcdService, name: string, auth: NodeAuth, writeBudget: ConnectionBudget): ((call: ServerCall) => void) | undefined {
  const streaming = service.streaming?.[name];
  if (streaming !== undefined) return streaming;
  const method = service.unary[name];
  if (method === undefined || method.gatewayStream) return undefined;
  return (call) => serveUnary(call, method, auth, writeBudget);
}

function serveUnary(call: ServerCall, method: UnaryMethod, auth: NodeAuth, writeBudget: ConnectionBudget): void {
  const request = call.request;
  const serve = async (): Promise<Message> => {
    const caller = await unaryCaller(auth, () => call.credentials(), method, request);
    const handle = (): Promise<Message> => method.handle(request, caller, call.cancelSignal);
    // All of a client's calls share its one HTTP/2 connection: its writes share one budget.
    return method.proposes ? writeBudget.run(call.peer, payloadBytes(request), handle) : handle();
  };
  serve().then(
    (response) => call.answer(response),
    (error: unknown) => call.fail(toGrpcError(error)),
  );
}
