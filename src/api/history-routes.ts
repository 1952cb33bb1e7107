/**
 * `GET /history/{key}`: the key's versions still in the MVCC history (kv/key-history.ts),
 * newest first (`order=descend`, the default) or oldest first (`order=ascend`), at most
 * `limit` (default and maximum historyVersionsMax), between `minRev` and `rev`. Pages
 * chain: the next page newest-first is `rev` = the last modRevision - 1; oldest-first,
 * `minRev` = the last modRevision + 1.
 */
import type { FastifyInstance } from 'fastify';
import type { KeyValueNode } from '../server/index.js';
import type { HistoryRequest, KeyVersion } from '../kv/index.js';
import { answer } from './answer.js';
import { sendError } from './errors.js';
import { bytesField } from './json-bytes.js';
import type { HistoryJson, KeyVersionJson } from '../wire/index.js';
import { keyOf } from './kv-routes.js';
import { requireKeys } from './rest-auth.js';
import { consistencyOf, parseInteger, type Query } from './request-parsing.js';

/** The most versions one answer carries. */
export const historyVersionsMax = 1_000;

export function registerHistoryRoutes(app: FastifyInstance, node: KeyValueNode): void {
  app.get('/history/*', async (request, reply) => {
    const query = request.query as Query;
    const consistency = consistencyOf(query);
    if (typeof consistency !== 'object') return sendError(reply, 400, 'BAD_REQUEST', consistency);
    const history = historyRequest(keyOf(request), query);
    if (typeof history === 'string') return sendError(reply, 400, 'BAD_REQUEST', history);
    requireKeys(node, request, { type: 'range', key: history.key });
    return answer(
      reply,
      () => node.history(history, consistency.value),
      (response): HistoryJson => ({
        ...bytesField('key', history.key),
        versions: response.versions.map(versionJson),
        more: response.more,
        revision: response.revision,
        compactRevision: response.compactRevision,
      }),
    );
  });
}

function historyRequest(key: Uint8Array, query: Query): HistoryRequest | string {
  const numbers: Record<string, number | undefined> = {};
  for (const name of ['limit', 'rev', 'minRev'] as const) {
    const value = parseInteger(query[name], name);
    if (typeof value === 'string') return value;
    numbers[name] = value;
  }
  const limit = numbers['limit'] ?? historyVersionsMax;
  if (limit < 1 || limit > historyVersionsMax) return `limit must be between 1 and ${historyVersionsMax}, got ${limit}`;
  const order = query.order ?? 'descend';
  if (order !== 'ascend' && order !== 'descend') return `order must be ascend or descend, got ${JSON.stringify(order)}`;
  return { type: 'history', key, order, limit, revision: numbers['rev'] ?? 0, minRevision: numbers['minRev'] ?? 0 };
}

function versionJson(version: KeyVersion): KeyVersionJson {
  if (version.type === 'delete') return { type: 'delete', modRevision: version.modRevision };
  const kv = version.kv;
  return {
    type: 'put',
    ...bytesField('value', kv.value),
    createRevision: kv.createRevision,
    modRevision: kv.modRevision,
    version: kv.version,
    lease: kv.lease,
  };
}
