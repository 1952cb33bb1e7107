/**
 * The chaos workloads' operations over the etcd v3 gRPC API (KV service: Range, Put,
 * Txn), with Keel's small etcd client (src/client/etcd-grpc-client.ts), one per node.
 *
 * Outcomes of writes follow etcd's errors: a refusal before anything was proposed
 * (invalid argument, no leader, not leader, a transfer under way, overload) is a
 * fail; every other error — a deadline, "request timed out", a dropped connection —
 * may have applied, and is unknown. Reads change nothing: any error is a fail.
 */
import { EtcdGrpcClient, type EtcdKeyValue, type EtcdMessage } from '../client/index.js';
import type { Attempt } from './attempt.js';
import { guardFailed } from './attempt.js';
import type { ChaosClient, StoredValue } from './chaos-client.js';
import { prefixEnd } from '../kv/index.js';

/** gRPC status codes (grpc-js `status`) that say the request was refused whole. */
const refusedCodes = new Set([3 /* INVALID_ARGUMENT */, 8 /* RESOURCE_EXHAUSTED */, 9 /* FAILED_PRECONDITION */, 11 /* OUT_OF_RANGE */]);
/** UNAVAILABLE details that etcd uses for a proposal never made. */
const refusedDetails = new Set(['etcdserver: no leader', 'etcdserver: not leader', 'etcdserver: leadership transfer in progress']);

export class GrpcChaosClient implements ChaosClient {
  readonly kind = 'grpc';
  private readonly clients = new Map<number, EtcdGrpcClient>();

  constructor(
    private readonly endpointOf: (node: number) => string,
    private readonly timeoutMs: number,
  ) {}

  async read(node: number, key: string): Promise<Attempt<string | null>> {
    try {
      const answer = await this.client(node).get(key, {}, this.timeoutMs);
      const kv = answer.kvs[0];
      return { kind: 'ok', value: kv ? kv.value.toString('utf8') : null };
    } catch (error) {
      return { kind: 'fail', why: describeError(error) };
    }
  }

  write(node: number, key: string, value: string): Promise<Attempt<true>> {
    return this.writeCall(node, 'Put', { key: Buffer.from(key), value: Buffer.from(value) }, () => ({ kind: 'ok', value: true }));
  }

  cas(node: number, key: string, expected: string | null, value: string): Promise<Attempt<true>> {
    const compare =
      expected === null
        ? { key: Buffer.from(key), target: 'VERSION', result: 'EQUAL', version: 0 }
        : { key: Buffer.from(key), target: 'VALUE', result: 'EQUAL', value: Buffer.from(expected) };
    return this.txn(node, [compare], [{ key, value }]);
  }

  async readAll(node: number, keys: readonly string[]): Promise<Attempt<(StoredValue | null)[]>> {
    try {
      const answer = await this.client(node).call('Txn', { success: keys.map((key) => ({ request_range: { key: Buffer.from(key) } })) }, this.timeoutMs);
      const responses = answer.responses as { response_range: { kvs: EtcdKeyValue[] } }[];
      return { kind: 'ok', value: responses.map((r) => storedValue(r.response_range.kvs[0])) };
    } catch (error) {
      return { kind: 'fail', why: describeError(error) };
    }
  }

  guardedSet(node: number, guards: readonly StoredValue[], sets: readonly { key: string; value: string }[]): Promise<Attempt<true>> {
    return this.txn(
      node,
      guards.map((g) => ({ key: Buffer.from(g.key), target: 'MOD', result: 'EQUAL', mod_revision: g.modRevision })),
      sets,
    );
  }

  async listPrefix(node: number, prefix: string): Promise<Set<string>> {
    const answer = await this.client(node).get(prefix, { rangeEnd: prefixEnd(Buffer.from(prefix)) }, this.timeoutMs);
    if (answer.more) throw new Error(`the listing of ${prefix} is incomplete (more: true)`);
    return new Set(answer.kvs.map((kv) => kv.key.toString('utf8').slice(prefix.length)));
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }

  private txn(node: number, compare: readonly EtcdMessage[], sets: readonly { key: string; value: string }[]): Promise<Attempt<true>> {
    const request = { compare, success: sets.map((s) => ({ request_put: { key: Buffer.from(s.key), value: Buffer.from(s.value) } })) };
    return this.writeCall(node, 'Txn', request, (answer) => (answer.succeeded === true ? { kind: 'ok', value: true } : { kind: 'fail', why: guardFailed }));
  }

  private async writeCall(node: number, method: 'Put' | 'Txn', request: EtcdMessage, onOk: (answer: EtcdMessage) => Attempt<true>): Promise<Attempt<true>> {
    let answer: EtcdMessage;
    try {
      answer = await this.client(node).call(method, request, this.timeoutMs);
    } catch (error) {
      const { code, details } = error as { code?: number; details?: string };
      const refused = (code !== undefined && refusedCodes.has(code)) || (code === 14 /* UNAVAILABLE */ && details !== undefined && refusedDetails.has(details));
      return { kind: refused ? 'fail' : 'info', why: describeError(error) };
    }
    return onOk(answer);
  }

  private client(node: number): EtcdGrpcClient {
    let client = this.clients.get(node);
    if (!client) {
      client = new EtcdGrpcClient(this.endpointOf(node), this.timeoutMs);
      this.clients.set(node, client);
    }
    return client;
  }
}

function storedValue(kv: EtcdKeyValue | undefined): StoredValue | null {
  return kv ? { key: kv.key.toString('utf8'), value: kv.value.toString('utf8'), modRevision: Number(kv.mod_revision) } : null;
}

function describeError(error: unknown): string {
  const { code, details, message } = error as { code?: number; details?: string; message?: string };
  return code !== undefined ? `gRPC ${code} ${details ?? ''}` : (message ?? String(error));
}
