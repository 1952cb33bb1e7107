/**
 * The etcd v3 gRPC API of one node (grpc-js), served on the client port
 * (client-port.ts). Services are built once per node by etcdServices() and shared with
 * the JSON gateway.
 */
import { Server, ServerCredentials } from '@grpc/grpc-js';
import type { ConnectionInjector, GrpcObject, handleUnaryCall, ServiceClientConstructor, UntypedServiceImplementation } from '@grpc/grpc-js';
import { loadPackageDefinition } from '@grpc/grpc-js';
import type { ApiNode, NodeAuth } from '../../server/index.js';
import { etcdPackageDefinition } from '../../proto/index.js';
import { toGrpcError } from './errors.js';
import type { EtcdService } from './service.js';
import { kvService } from './kv-service.js';
import { clusterService } from './cluster-service.js';
import { leaseService } from './lease-service.js';
import { watchService } from './watch-service.js';
import { maintenanceService } from './maintenance-service.js';
import { authService } from './auth-service.js';
import { lockService } from './lock-service.js';
import { electionService } from './election-service.js';
import { grpcCredentials } from './grpc-credentials.js';
import { payloadBytes, type ConnectionBudget } from '../connection-budget.js';
import { ClientGone } from './client-gone.js';
import { withFastResponses } from './response-encoding.js';

export interface GrpcApi {
  /** Hands it the HTTP/2 connections of the client port (client-port.ts). */
  readonly connections: ConnectionInjector;
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
 * plain or with TLS already terminated (grpc-js's supported connection-injection API,
 * so a connection's bytes go from the socket to grpc-js's HTTP/2 session with no copy).
 */
export function createGrpcApi(node: ApiNode, requestBytesMax: number, writeBudget: ConnectionBudget): GrpcApi {
  const server = new Server({
    // Room above the request limit, as etcd leaves (its grpcOverheadBytes), so that a
    // request just over it reaches the store's check and gets etcd's answer
    // (INVALID_ARGUMENT "etcdserver: request is too large"), not grpc-js's.
    'grpc.max_receive_message_length': requestBytesMax + grpcOverheadBytes,
    'grpc.max_send_message_length': -1,
    // A connection with no call running (one that sent the preface and nothing more
    // included) gets GOAWAY after this long; clients reconnect on their next call.
    'grpc.max_connection_idle_ms': connectionIdleMs,
    // Channelz counts every call and connection for a debugging service Keel does not
    // serve: work per request that nobody reads (1-2% of a follower's CPU under puts).
    'grpc.enable_channelz': 0,
  });
  const packages = loadPackageDefinition(etcdPackageDefinition());
  for (const service of etcdServices(node)) {
    const pkg = packages[service.package ?? 'etcdserverpb'] as GrpcObject;
    const generic = (pkg[service.name] as ServiceClientConstructor).service;
    const definition = service.package === undefined ? withFastResponses(service.name, generic) : generic;
    server.addService(definition, implementation(service, node.auth, writeBudget));
  }
  // TLS, when on, is the client port's: what reaches grpc-js is already decrypted.
  const connections = server.createConnectionInjector(ServerCredentials.createInsecure());
  return { connections, close: () => shutdown(server) };
}

function implementation(service: EtcdService, auth: NodeAuth, writeBudget: ConnectionBudget): UntypedServiceImplementation {
  const methods: UntypedServiceImplementation = { ...service.streaming };
  for (const [name, method] of Object.entries(service.unary)) {
    if (method.gatewayStream) continue;
    const handler: handleUnaryCall<Record<string, unknown>, unknown> = (call, callback) => {
      const gone = new ClientGone();
      // grpc-js emits 'cancelled' for every call once its status is sent, answered or
      // not; aborting then would build a DOMException (and its stack) per request for
      // nobody: 2% of a leader's CPU under puts.
      let answered = false;
      call.on('cancelled', () => {
        if (!answered) gone.happened();
      });
      const serve = async (): Promise<unknown> => {
        const caller = await auth.authorize(grpcCredentials(call), method.need(call.request));
        const handle = (): Promise<unknown> => method.handle(call.request, caller, gone.signal);
        // All of a client's calls share its one HTTP/2 connection: its writes share one budget.
        return method.proposes ? writeBudget.run(call.getPeer(), payloadBytes(call.request), handle) : handle();
      };
      serve().then(
        (response) => {
          answered = true;
          callback(null, response);
        },
        (error: unknown) => {
          answered = true;
          callback(toGrpcError(error).toServiceError());
        },
      );
    };
    methods[name] = handler;
  }
  return methods;
}

function shutdown(server: Server): Promise<void> {
  return new Promise((resolve) => {
    // tryShutdown covers the injected sessions too: GOAWAY now, running calls may finish.
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, shutdownGraceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
