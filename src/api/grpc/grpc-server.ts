/**
 * The etcd v3 gRPC API of one node (grpc-js; plain text, or TLS with the node's client
 * certificate: grpc-credentials.ts). Services are built once per node by etcdServices() and
 * shared with the JSON gateway.
 */
import { Server } from '@grpc/grpc-js';
import type { GrpcObject, handleUnaryCall, ServiceClientConstructor, UntypedServiceImplementation } from '@grpc/grpc-js';
import { loadPackageDefinition } from '@grpc/grpc-js';
import type { KeelNode } from '../../server/keel-node.js';
import { etcdPackageDefinition } from '../../proto/etcd-proto.js';
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
import { grpcServerCredentials } from './grpc-tls-credentials.js';
import type { NodeAuth } from '../../server/auth/node-auth.js';
import type { ClientTls } from '../client-tls.js';

export interface GrpcApiOptions {
  readonly node: KeelNode;
  readonly host: string;
  readonly port: number;
  /** The request limit; grpc-js refuses messages over it plus grpcOverheadBytes with RESOURCE_EXHAUSTED. */
  readonly requestBytesMax: number;
  /** Serve TLS with these certificate files; absent: plain text. */
  readonly tls?: ClientTls;
}

export interface GrpcApi {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** etcd's allowance for a message's framing beyond --max-request-bytes (512 KiB). */
export const grpcOverheadBytes = 512 * 1024;

/** A running call may hold a shutdown this long before it is cut. */
const shutdownGraceMs = 2_000;

export function etcdServices(node: KeelNode): EtcdService[] {
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

export async function startGrpcApi(options: GrpcApiOptions): Promise<GrpcApi> {
  const server = new Server({
    // Room above the request limit, as etcd leaves (its grpcOverheadBytes), so that a
    // request just over it reaches the store's check and gets etcd's answer
    // (INVALID_ARGUMENT "etcdserver: request is too large"), not grpc-js's.
    'grpc.max_receive_message_length': options.requestBytesMax + grpcOverheadBytes,
    'grpc.max_send_message_length': -1,
  });
  const packages = loadPackageDefinition(etcdPackageDefinition());
  for (const service of etcdServices(options.node)) {
    const pkg = packages[service.package ?? 'etcdserverpb'] as GrpcObject;
    const definition = (pkg[service.name] as ServiceClientConstructor).service;
    server.addService(definition, implementation(service, options.node.auth));
  }
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${options.host}:${options.port}`, grpcServerCredentials(options.tls), (error, bound) => (error ? reject(error) : resolve(bound)));
  });
  return {
    url: `${options.tls ? 'https' : 'http'}://${options.host}:${port}`,
    port,
    close: () => shutdown(server),
  };
}

function implementation(service: EtcdService, auth: NodeAuth): UntypedServiceImplementation {
  const methods: UntypedServiceImplementation = { ...service.streaming };
  for (const [name, method] of Object.entries(service.unary)) {
    if (method.gatewayStream) continue;
    const handler: handleUnaryCall<Record<string, unknown>, unknown> = (call, callback) => {
      const gone = new AbortController();
      call.on('cancelled', () => gone.abort());
      const serve = async (): Promise<unknown> => {
        const caller = await auth.authorize(grpcCredentials(call), method.need(call.request));
        return method.handle(call.request, caller, gone.signal);
      };
      serve().then(
        (response) => callback(null, response),
        (error: unknown) => callback(toGrpcError(error).toServiceError()),
      );
    };
    methods[name] = handler;
  }
  return methods;
}

function shutdown(server: Server): Promise<void> {
  return new Promise((resolve) => {
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
