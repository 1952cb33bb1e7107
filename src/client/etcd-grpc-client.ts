/**
 * A small client of the etcd v3 gRPC API (KV service) for Keel's own tools: the
 * benchmark's etcd target and the fault-testing workloads. It speaks to one endpoint
 * (Keel's client port or a real etcd); callers that want failover make one per node.
 * Applications should use an etcd client library (e.g. the `etcd3` package), which
 * works against Keel unchanged.
 */
import { credentials, loadPackageDefinition } from '@grpc/grpc-js';
import type { ChannelCredentials, ClientDuplexStream, GrpcObject, ServiceClientConstructor, ServiceError } from '@grpc/grpc-js';
import { etcdPackageDefinition } from '../proto/index.js';
import type { ClientTlsOptions } from './tls.js';

export type EtcdMessage = Record<string, unknown>;

export interface EtcdKeyValue {
  readonly key: Buffer;
  readonly value: Buffer;
  readonly create_revision: string;
  readonly mod_revision: string;
  readonly version: string;
  readonly lease: string;
}

export interface EtcdRangeResponse {
  readonly header: { readonly revision: string };
  readonly kvs: readonly EtcdKeyValue[];
  readonly count: string;
  readonly more: boolean;
}

interface WatchAnswer {
  readonly created: boolean;
  readonly canceled: boolean;
  readonly cancel_reason?: string;
  readonly events: readonly unknown[];
}

type KvMethod = 'Range' | 'Put' | 'DeleteRange' | 'Txn' | 'Compact';
/** A unary call; grpc-js decodes the response with the proto's shape (etcd-proto.ts). */
type Unary<Response> = (request: EtcdMessage, options: { deadline: number }, callback: (error: ServiceError | null, response: Response) => void) => void;

const defaultTimeoutMs = 5_000;

export interface KeepAliveStream {
  keepAlive(id: string): Promise<number>;
  close(): void;
}

/** A Watch stream with one watcher on a key range. */
export interface WatchStream {
  /** Settles once the server has created the watcher (or refused it). */
  readonly created: Promise<void>;
  close(): void;
}

export class EtcdGrpcClient {
  private readonly kv: InstanceType<ServiceClientConstructor>;
  private readonly lease: InstanceType<ServiceClientConstructor>;
  private readonly maintenance: InstanceType<ServiceClientConstructor>;
  private readonly watch: InstanceType<ServiceClientConstructor>;

  /** `endpoint` is host:port, optionally prefixed with http://, or https:// for TLS (with `tls`'s CA and client certificate). */
  constructor(
    readonly endpoint: string,
    private readonly timeoutMs = defaultTimeoutMs,
    tls?: ClientTlsOptions,
  ) {
    const pkg = loadPackageDefinition(etcdPackageDefinition()).etcdserverpb as GrpcObject;
    const KV = pkg.KV as ServiceClientConstructor;
    const secure = tls !== undefined || endpoint.startsWith('https://');
    const channelCredentials = secure ? tlsCredentials(tls ?? {}) : credentials.createInsecure();
    this.kv = new KV(endpoint.replace(/^https?:\/\//, ''), channelCredentials);
    // Shares the KV client's channel: one connection per endpoint.
    this.lease = new (pkg.Lease as ServiceClientConstructor)(endpoint.replace(/^https?:\/\//, ''), channelCredentials, {
      channelOverride: this.kv.getChannel(),
    });
    this.maintenance = new (pkg.Maintenance as ServiceClientConstructor)(endpoint.replace(/^https?:\/\//, ''), channelCredentials, {
      channelOverride: this.kv.getChannel(),
    });
    this.watch = new (pkg.Watch as ServiceClientConstructor)(endpoint.replace(/^https?:\/\//, ''), channelCredentials, {
      channelOverride: this.kv.getChannel(),
    });
  }

  /** One KV call; rejects with the server's ServiceError (code, details). */
  call<Response = EtcdMessage>(method: KvMethod, request: EtcdMessage, timeoutMs = this.timeoutMs): Promise<Response> {
    return unaryCall(this.kv, method, request, timeoutMs);
  }

  put(key: string | Uint8Array, value: string | Uint8Array, timeoutMs?: number): Promise<EtcdMessage> {
    return this.call('Put', { key: bytes(key), value: bytes(value) }, timeoutMs);
  }

  async get(
    key: string | Uint8Array,
    options: { serializable?: boolean; rangeEnd?: Uint8Array; revision?: number } = {},
    timeoutMs?: number,
  ): Promise<EtcdRangeResponse> {
    const request = {
      key: bytes(key),
      serializable: options.serializable === true,
      ...(options.rangeEnd ? { range_end: options.rangeEnd } : {}),
      ...(options.revision ? { revision: options.revision } : {}),
    };
    return this.call<EtcdRangeResponse>('Range', request, timeoutMs);
  }

  /** One Maintenance call (Status, Defragment, ...) of the member this client speaks to. */
  maintenanceCall<Response = EtcdMessage>(
    method: 'Status' | 'Defragment' | 'HashKV' | 'Alarm',
    request: EtcdMessage = {},
    timeoutMs = this.timeoutMs,
  ): Promise<Response> {
    return unaryCall(this.maintenance, method, request, timeoutMs);
  }

  /** LeaseGrant: the id of a new lease of `ttl` seconds. */
  async leaseGrant(ttl: number, timeoutMs = this.timeoutMs): Promise<string> {
    return (await unaryCall<{ ID: string }>(this.lease, 'LeaseGrant', { TTL: ttl }, timeoutMs)).ID;
  }

  /** A LeaseKeepAlive stream: each keepAlive(id) sends one request and resolves with the TTL its answer gives (0: the lease is gone). */
  keepAliveStream(): KeepAliveStream {
    const call = (this.lease.LeaseKeepAlive as () => ClientDuplexStream<EtcdMessage, { TTL: string }>).call(this.lease);
    // The server answers a stream's requests in order.
    const waiting: { resolve: (ttl: number) => void; reject: (error: Error) => void }[] = [];
    // Once the stream has failed or ended, nothing more will be answered on it.
    let failure: Error | undefined;
    const failAll = (error: Error): void => {
      failure ??= error;
      for (const w of waiting.splice(0)) w.reject(error);
    };
    call.on('data', (response: { TTL: string }) => waiting.shift()?.resolve(Number(response.TTL)));
    call.on('error', failAll);
    call.on('end', () => failAll(new Error('the keep-alive stream ended')));
    return {
      keepAlive: (id) =>
        new Promise((resolve, reject) => {
          if (failure) return reject(failure);
          waiting.push({ resolve, reject });
          call.write({ ID: id });
        }),
      close: () => call.cancel(),
    };
  }

  /** A Watch stream watching [key, rangeEnd) from now on; `onEvents` gets the number of events in each answer. */
  watchRange(key: Uint8Array, rangeEnd: Uint8Array, onEvents: (count: number) => void): WatchStream {
    const call = (this.watch.Watch as () => ClientDuplexStream<EtcdMessage, WatchAnswer>).call(this.watch);
    const created = new Promise<void>((resolve, reject) => {
      call.on('data', (answer: WatchAnswer) => {
        if (answer.created) {
          if (answer.canceled) reject(new Error(`the watch was refused: ${answer.cancel_reason ?? 'no reason given'}`));
          else resolve();
        }
        if (answer.events.length > 0) onEvents(answer.events.length);
      });
      call.on('error', reject);
      call.on('end', () => reject(new Error('the watch stream ended')));
    });
    // A close after creation is not a failure of anyone waiting.
    created.catch(() => undefined);
    call.write({ create_request: { key, range_end: rangeEnd } });
    return { created, close: () => call.cancel() };
  }

  close(): void {
    this.kv.close();
    this.lease.close();
    this.maintenance.close();
    this.watch.close();
  }
}

/** One unary call of a service client; rejects with the server's ServiceError (code, details). */
function unaryCall<Response>(client: InstanceType<ServiceClientConstructor>, method: string, request: EtcdMessage, timeoutMs: number): Promise<Response> {
  const unary = (client[method] as Unary<Response>).bind(client);
  return new Promise((resolve, reject) => {
    unary(request, { deadline: Date.now() + timeoutMs }, (error, response) => (error ? reject(error) : resolve(response)));
  });
}

function tlsCredentials(tls: ClientTlsOptions): ChannelCredentials {
  const pem = (value: string | Buffer | undefined): Buffer | null => (value === undefined ? null : Buffer.from(value));
  const verify = tls.insecureSkipVerify === true ? { checkServerIdentity: () => undefined, rejectUnauthorized: false } : {};
  return credentials.createSsl(pem(tls.ca), pem(tls.key), pem(tls.cert), verify);
}

function bytes(value: string | Uint8Array): Uint8Array {
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
}
