/**
 * Evaluating a transaction's compare (etcd's applyCompare / compareKV): over every live
 * key of its range, all must satisfy it. No key: a value compare is false (gRPC cannot
 * tell a missing value from an empty one), any other compares against zeros.
 */
import { compareBytes } from './key-range.js';
import type { Compare, KeyValue } from '../types.js';

const ABSENT: KeyValue = { key: new Uint8Array(0), createRevision: 0, modRevision: 0, version: 0, value: new Uint8Array(0), lease: 0 };

export function compareHolds(compare: Compare, kvs: readonly KeyValue[]): boolean {
  if (kvs.length === 0) return compare.target === 'value' ? false : holdsFor(compare, ABSENT);
  return kvs.every((kv) => holdsFor(compare, kv));
}

function holdsFor(compare: Compare, kv: KeyValue): boolean {
  const order = ordering(compare, kv);
  switch (compare.result) {
    case 'equal':
      return order === 0;
    case 'notEqual':
      return order !== 0;
    case 'less':
      return order < 0;
    case 'greater':
      return order > 0;
  }
}

/** The key's side minus the compare's operand, in sign. */
function ordering(compare: Compare, kv: KeyValue): number {
  switch (compare.target) {
    case 'value':
      return Math.sign(compareBytes(kv.value, compare.operand));
    case 'version':
      return Math.sign(kv.version - compare.operand);
    case 'create':
      return Math.sign(kv.createRevision - compare.operand);
    case 'mod':
      return Math.sign(kv.modRevision - compare.operand);
    case 'lease':
      return Math.sign(kv.lease - compare.operand);
  }
}
