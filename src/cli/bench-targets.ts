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
 *    stream, renewing the worker's own lease. A txn is one Txn with one compare and one
 *    put (if the key was last modified before a revision no run reaches, put it; else
 *    read it), the path every guarded write takes. Watchers are Watch streams, each with one
 *    watcher on the benchmark's prefix, spread over the endpoints like the workers. Works
 *    against Keel's client ports and against etcd alike.
 */
import { status as grpcStatus } from '@grpc/grpc-js';
import { prefixEnd } from '../kv/index.js';
import { EtcdGrpcClient, type ClientTlsOptions, type KeepAliveStream, KeelClientError, type KeelClient, type Consistency } from '../client/index.js';

export interface BenchTarget {
  /** A short name for reports: rest or etcd-grpc. */
  readonly name: 'rest' | 'etcd-grpc';
  /** Request `worker` (0, 1, ...) sets `key`. */
  put(worker: number, key: string, value: string): Promise<void>;
  get(worker: number, key: string, consistency: Consistency): Promise<void>;
  /** Renews `worker`'s own lease once (granted at its first call, with a TTL far longer than a run). */
  keepAlive(worker: number): Promise<void>;
  /** One transaction that compares and puts `key`; only through the etcd API. */
  readonly txn?: (worker: number, key: string, value: string) => Promise<void>;
  /** `count` watchers of every key under `prefix`, created before this resolves; only through the etcd API. */
  readonly watchers?: (count: number, prefix: string) => Promise<Watchers>;
  /** A stable code for a failed request, for the error counts. */
  errorCode(error: unknown): string;
  close(): void;
}

/** Watchers opened for a fan-out run: how many events they have been delivered so far. */
export interface Watchers {
  delivered(): number;
  /** performance.now() when the last event arrived. */
  lastEventAt(): number;
  close(): void;
}

/** A txn's guard: a revision no run reaches, so every compare holds and every txn puts. */
const txnGuardRevision = String(Number.MAX_SAFE_INTEGER);

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
      let ttl: number;
      try {
        ttl = await lease.stream.keepAlive(lease.id);
      } catch (error) {
        // The stream is dead (its server gone, say): the next renewal opens another.
        lease.stream.close();
        lease.stream = client.keepAliveStream();
        throw error;
      }
      if (ttl <= 0) throw new Error(`lease ${lease.id} is gone`);
    },
    txn: async (worker, key, value) => {
      const keyBytes = Buffer.from(key);
      await clientOf(worker).call('Txn', {
        compare: [{ key: keyBytes, target: 'MOD', result: 'LESS', mod_revision: txnGuardRevision }],
        success: [{ request_put: { key: keyBytes, value: Buffer.from(value) } }],
        failure: [{ request_range: { key: keyBytes } }],
      });
    },
    watchers: async (count, prefix) => {
      let delivered = 0;
      let lastEventAt = performance.now();
      const key = Buffer.from(prefix);
      const streams = Array.from({ length: count }, (_, i) =>
        clientOf(i).watchRange(key, prefixEnd(key), (events) => {
          delivered += events;
          lastEventAt = performance.now();
        }),
      );
      const close = (): void => {
        for (const stream of streams) stream.close();
      };
      try {
        await Promise.all(streams.map((stream) => stream.created));
      } catch (error) {
        close();
        throw error;
      }
      return { delivered: () => delivered, lastEventAt: () => lastEventAt, close };
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
