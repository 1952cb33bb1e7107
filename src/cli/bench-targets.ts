/**
 * What `keel bench` sends its requests through. The load, the clock and the histogram
 * are the same for every target (bench.ts), so one tool measures Keel over REST, Keel
 * over the etcd v3 gRPC API, and a real etcd, with identical workloads.
 *
 *  - rest: KeelClient (leader discovery, retries, exactly-once sessions: what an
 *    application using the client library meets).
 *  - etcd-grpc: the etcd KV service (Put, Range), one gRPC connection per endpoint,
 *    bench client i on endpoint i mod n, no retries, as etcd's own benchmark tool
 *    spreads clients over connections. A linearizable get is a Range with
 *    serializable=false (etcd confirms it with ReadIndex), a serializable get one with
 *    serializable=true. A keep-alive is one LeaseKeepAlive request on the worker's own
 *    stream, renewing the worker's own lease. Works against Keel's client ports and
 *    against etcd alike.
 */
import { status as grpcStatus } from '@grpc/grpc-js';
import { EtcdGrpcClient, type ClientTlsOptions, type KeepAliveStream, KeelClientError, type KeelClient, type Consistency } from '../client/index.js';

export interface BenchTarget {
  /** A short name for reports: rest or etcd-grpc. */
  readonly name: 'rest' | 'etcd-grpc';
  /** Request `worker` (0, 1, ...) sets `key`. */
  put(worker: number, key: string, value: string): Promise<void>;
  get(worker: number, key: string, consistency: Consistency): Promise<void>;
  /** Renews `worker`'s own lease once (granted at its first call, with a TTL far longer than a run). */
  keepAlive(worker: number): Promise<void>;
  /** A stable code for a failed request, for the error counts. */
  errorCode(error: unknown): string;
  close(): void;
}

/** A bench worker's lease outlives any run: a keep-alive that finds it gone is a failure. */
const benchLeaseTtlSeconds = 600;

export function restTarget(client: KeelClient): BenchTarget {
  const leaseIds: number[] = [];
  return {
    name: 'rest',
    put: async (_worker, key, value) => {
      await client.put(key, value);
    },
    get: async (_worker, key, consistency) => {
      await client.get(key, { consistency });
    },
    keepAlive: async (worker) => {
      const id = (leaseIds[worker] ??= (await client.leaseGrant(benchLeaseTtlSeconds)).id);
      await client.leaseKeepAlive(id);
    },
    errorCode: (error) => (error instanceof KeelClientError ? error.code : 'ERROR'),
    close: () => {},
  };
}

/** `tls`: the CA and client certificate for TLS listeners (etcd's or Keel's); absent: plain text. */
export function etcdGrpcTarget(endpoints: readonly string[], timeoutMs?: number, tls?: ClientTlsOptions): BenchTarget {
  if (endpoints.length === 0) throw new RangeError('the etcd-grpc target needs at least one endpoint (host:port)');
  const clients = endpoints.map((endpoint) => new EtcdGrpcClient(endpoint, timeoutMs, tls));
  const clientOf = (worker: number): EtcdGrpcClient => clients[worker % clients.length] as EtcdGrpcClient;
  const leases: { id: string; stream: KeepAliveStream }[] = [];
  return {
    name: 'etcd-grpc',
    put: async (worker, key, value) => {
      await clientOf(worker).put(key, value);
    },
    get: async (worker, key, consistency) => {
      await clientOf(worker).get(key, { serializable: consistency === 'serializable' });
    },
    keepAlive: async (worker) => {
      const client = clientOf(worker);
      leases[worker] ??= { id: await client.leaseGrant(benchLeaseTtlSeconds), stream: client.keepAliveStream() };
      const lease = leases[worker];
      const ttl = await lease.stream.keepAlive(lease.id);
      if (ttl <= 0) throw new Error(`lease ${lease.id} is gone`);
    },
    errorCode: (error) => {
      const code = (error as { code?: unknown }).code;
      return typeof code === 'number' && grpcStatus[code] !== undefined ? String(grpcStatus[code]) : 'ERROR';
    },
    close: () => {
      for (const lease of leases) lease?.stream.close();
      for (const client of clients) client.close();
    },
  };
}
