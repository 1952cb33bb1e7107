/**
 * How an etcd service is written once and served twice: each unary method is a
 * plain async function from a decoded request message to a response message, served
 * by the gRPC server (grpc-server.ts) and by the JSON gateway (gateway-routes.ts) at
 * the paths etcd's gateway uses. Streaming methods are gRPC-only handlers.
 */
import type { UntypedHandleCall } from '@grpc/grpc-js';
import type { Message } from './convert.js';

export interface UnaryMethod {
  readonly handle: (request: Message) => Promise<Message>;
  /** etcd's JSON gateway paths for this method (POST, JSON body). */
  readonly gatewayPaths: readonly string[];
}

export interface EtcdService {
  /** The service's name in package etcdserverpb (KV, Watch, Lease, Cluster, Maintenance). */
  readonly name: string;
  readonly unary: Readonly<Record<string, UnaryMethod>>;
  /** Streaming methods, as grpc-js handlers. */
  readonly streaming?: Readonly<Record<string, UntypedHandleCall>>;
}
