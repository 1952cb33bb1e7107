/** Query-string parsing shared by the REST routes; problems come back as messages. */
import type { Consistency } from '../server/keel-node.js';

export type Query = Record<string, string | undefined>;

export function consistencyOf(query: Query): { value: Consistency } | string {
  const value = query.consistency ?? 'linearizable';
  if (value !== 'linearizable' && value !== 'serializable') return `consistency must be linearizable or serializable, got ${JSON.stringify(value)}`;
  return { value };
}

export function parseInteger(text: string | undefined, name: string): number | undefined | string {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value)) return `${name} must be a non-negative integer, got ${JSON.stringify(text)}`;
  return value;
}
