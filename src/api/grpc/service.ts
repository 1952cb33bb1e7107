/**
 * How an etcd service is written once and served twice: each unary method is a
 * plain async function from a decoded request message to a response message, served
 * by the gRPC server (grpc-server.ts) and by the JSON gateway (gateway-routes.ts) at
 * the paths etcd's gateway uses. Streaming methods are gRPC-only handlers, which check
 * their callers themselves (ServerCall.credentials).
 */
import type { ServerCall } from './server-call.js';
import type { Message } from './convert.js';
import type { Caller, Credentials, Need, NodeAuth } from '../../server/index.js';

export interface UnaryMethod {
  /**
   * What the caller must be allowed while auth is enabled (etcd's checks), decided from
   * the decoded request. gRPC and the gateway check it before `handle` runs.
   */
  readonly need: (request: Message) => Need;
  /**
   * `caller` is undefined when auth is off (or the method needs nothing and none came).
   * `gone()` gives a signal that aborts when the client goes away first (a Lock or
   * Campaign still waiting); it is made at the first call (client-gone.ts).
   */
  readonly handle: (request: Message, caller: Caller | undefined, gone: () => AbortSignal) => Promise<Message>;
  /** etcd's JSON gateway paths for this method (POST, JSON body). */
  readonly gatewayPaths: readonly string[];
  /**
   * A streaming method's one-message form for the gateway (LeaseKeepAlive): gRPC serves
   * the stream from `streaming`, the gateway answers each request with one message
   * wrapped as {"result": ...}, as etcd's gateway does for streams.
   */
  readonly gatewayStream?: boolean;
  /**
   * The method proposes a write: its request's bytes count against the client
   * connection's write budget while it runs (connection-budget.ts).
   */
  readonly proposes?: boolean;
}

export interface EtcdService {
  /** The service's name in its package (KV, Watch, Lease, Cluster, Maintenance, Auth; Lock; Election). */
  readonly name: string;
  /** Its protobuf package: etcdserverpb unless given (v3lockpb, v3electionpb). */
  readonly package?: string;
  readonly unary: Readonly<Record<string, UnaryMethod>>;
  /** Streaming methods: each runs its call (server-call.ts) to its end. */
  readonly streaming?: Readonly<Record<string, (call: ServerCall) => void>>;
}

/**
 * The caller of a unary method's request, checked as gRPC and the gateway both do. With
 * auth off there is no caller to find, so the request's need is not worked out (for a
 * Txn that is a second conversion of the whole request), nor are its credentials read.
 */
export async function unaryCaller(auth: NodeAuth, credentials: () => Credentials, method: UnaryMethod, request: Message): Promise<Caller | undefined> {
  return auth.enabled() ? auth.authorize(credentials(), method.need(request)) : undefined;
}
