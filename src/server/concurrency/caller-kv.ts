/**
 * The key-value operations of the Lock and Election recipes, made on a node for one
 * caller with that caller's permissions, as etcd's lock and election servers make them
 * through a client that carries the caller's token: writes are checked again when they
 * apply (commandAuth), reads on the auth state they were served at, as the KV service's.
 */
import type { KeyValueNode } from '../node-views.js';
import type { Caller } from '../auth/caller.js';
import { commandAuth } from '../auth/caller.js';
import { KvRequestError, type CommandResponse, type KeyValue, type RangeRequest, type TxnRequest, type TxnResponse } from '../../kv/index.js';
import { assert } from '../../lib/index.js';

/** What a waiting recipe needs of the node. */
export type RecipeNode = Pick<KeyValueNode, 'read' | 'write' | 'openWatchSession' | 'auth' | 'leases'>;

export interface Read {
  readonly kvs: readonly KeyValue[];
  readonly revision: number;
}

export class CallerKv {
  constructor(
    readonly node: RecipeNode,
    private readonly caller: Caller | undefined,
  ) {}

  /** A read, linearizable by default (through ReadIndex, on a follower too). */
  async read(request: Omit<RangeRequest, 'type'>, consistency: 'linearizable' | 'serializable' = 'linearizable'): Promise<Read> {
    const range: RangeRequest = { type: 'range', ...request };
    const read = await this.node.read(range, consistency);
    this.node.auth.check(this.node.auth.state(), this.caller, this.node.auth.needsFor(range));
    if (!read.ok) throw new KvRequestError(read.error);
    return { kvs: read.value.kvs, revision: read.value.revision };
  }

  /** The key, if it exists. */
  async get(key: Uint8Array, consistency: 'linearizable' | 'serializable' = 'linearizable'): Promise<KeyValue | undefined> {
    return (await this.read({ key }, consistency)).kvs[0];
  }

  async txn(request: Omit<TxnRequest, 'type'>): Promise<{ readonly revision: number; readonly response: TxnResponse }> {
    const { revision, response } = await this.write({ type: 'txn', ...request });
    assert(response.type === 'txn', () => `a txn answered with a ${response.type} response`);
    return { revision, response };
  }

  async deleteKey(key: Uint8Array): Promise<number> {
    return (await this.write({ type: 'deleteRange', key })).revision;
  }

  /** A new lease of `ttl` seconds (etcd's servers grant one when a request names none). */
  async grantLease(ttl: number): Promise<number> {
    const result = await this.node.leases.grant(ttl);
    if (!result.ok) throw new KvRequestError(result.error);
    assert(result.response.type === 'leaseGrant', () => `a lease grant answered with a ${result.response.type} response`);
    return result.response.id;
  }

  private async write(body: Parameters<RecipeNode['write']>[0]): Promise<{ readonly revision: number; readonly response: CommandResponse }> {
    const result = await this.node.write(body, undefined, commandAuth(this.caller));
    if (!result.ok) throw new KvRequestError(result.error);
    return result;
  }
}
