/**
 * etcd's KV service: Range, Put, DeleteRange, Txn, Compact. Reads are linearizable
 * through ReadIndex unless the request asks for `serializable` (a member-local read,
 * as in etcd); writes go through the log and answer with the revision they produced.
 */
import { type KeyValueNode, NEEDS_ROOT, commandAuth, type Caller } from '../../server/index.js';
import type { CommandBody, CommandResponse, RangeRequest } from '../../kv/index.js';
import { assert } from '../../lib/index.js';
import {
  isBackwardsRange,
  deleteRangeFromMessage,
  deleteRangeResponseMessage,
  putFromMessage,
  putResponseMessage,
  rangeFromMessage,
  rangeResponseMessage,
  txnFromMessage,
  txnResponseMessage,
} from './convert.js';
import type { Message } from './convert.js';
import { kvErrorToGrpc } from './errors.js';
import { responseHeader } from './header.js';
import { revisionOrZero } from './int64.js';
import type { EtcdService } from './service.js';

export function kvService(node: KeyValueNode): EtcdService {
  /** Proposes a write; a refusal by the store becomes etcd's error for it. */
  const write = async <T extends CommandBody['type']>(
    body: Extract<CommandBody, { type: T }>,
    caller: Caller | undefined,
  ): Promise<{ revision: number; response: Extract<CommandResponse, { type: T }> }> => {
    const result = await node.write(body, undefined, commandAuth(caller));
    if (!result.ok) throw kvErrorToGrpc(result.error);
    assert(result.response.type === body.type, () => `a ${body.type} command answered with a ${result.response.type} response`);
    return { revision: result.revision, response: result.response as Extract<CommandResponse, { type: T }> };
  };
  const header = (revision: number): Message => ({ ...responseHeader(node, revision) });

  return {
    name: 'KV',
    unary: {
      Range: {
        need: (request) => node.auth.needsFor(rangeFromMessage(request)),
        gatewayPaths: ['/v3/kv/range'],
        handle: async (request, caller) => {
          const asked = rangeFromMessage(request);
          // A backwards range holds no key: read its key alone, for the revision checks
          // and the header, and answer none.
          const backwards = isBackwardsRange(asked);
          const { rangeEnd: _ignored, ...keyAlone } = asked;
          const range: RangeRequest = backwards ? { ...keyAlone, countOnly: true } : asked;
          const read = await node.read(range, request.serializable === true ? 'serializable' : 'linearizable');
          // Checked again on the state the read saw (after ReadIndex), as etcd checks reads.
          node.auth.check(node.auth.state(), caller, node.auth.needsFor(asked));
          if (!read.ok) throw kvErrorToGrpc(read.error);
          if (backwards) return { header: header(read.value.revision) };
          return rangeResponseMessage(read.value, header(read.value.revision));
        },
      },
      Put: {
        need: (request) => node.auth.needsFor(putFromMessage(request)),
        gatewayPaths: ['/v3/kv/put'],
        proposes: true,
        handle: async (request, caller) => {
          const result = await write(putFromMessage(request), caller);
          return putResponseMessage(result.response, header(result.revision));
        },
      },
      DeleteRange: {
        need: (request) => node.auth.needsFor(deleteRangeFromMessage(request)),
        gatewayPaths: ['/v3/kv/deleterange'],
        proposes: true,
        handle: async (request, caller) => {
          const result = await write(deleteRangeFromMessage(request), caller);
          return deleteRangeResponseMessage(result.response, header(result.revision));
        },
      },
      Txn: {
        need: (request) => node.auth.needsFor(txnFromMessage(request)),
        gatewayPaths: ['/v3/kv/txn'],
        proposes: true,
        handle: async (request, caller) => {
          const result = await write(txnFromMessage(request), caller);
          return txnResponseMessage(result.response, header(result.revision));
        },
      },
      Compact: {
        need: () => NEEDS_ROOT,
        gatewayPaths: ['/v3/kv/compaction'],
        handle: async (request) => {
          const result = await write({ type: 'compact', revision: revisionOrZero(request.revision ?? 0, 'revision') }, undefined);
          return { header: header(result.revision) };
        },
      },
    },
  };
}
