/**
 * The optional guard of POST /batch: `"if": [...]`, a list of equality compares that
 * must all hold for the batch's operations to run (etcd's Txn compare, reduced to the
 * three questions a compare-and-set needs):
 *
 *   {"key": "a", "value": "x"}        the key exists and holds exactly this value
 *   {"key": "a", "version": 0}        the key's version (0: the key is absent)
 *   {"key": "a", "modRevision": 12}   the revision of the key's last change
 *
 * Keys and values may also be given as `keyBase64` / `valueBase64`. Like every
 * request field, the guard is validated whole before anything is proposed.
 */
import type { Compare } from '../kv/index.js';
import { utf8 } from './json-bytes.js';

export const batchComparesMax = 128;

/** The guard's compares, or a problem as a string (a 400 for the caller). */
export function batchCompares(
  guard: unknown,
  bytesOf: (fields: Record<string, unknown>, name: string, where: string) => Uint8Array | string,
): Compare[] | string {
  if (guard === undefined) return [];
  if (!Array.isArray(guard)) return '"if" must be an array of compares';
  if (guard.length > batchComparesMax) return `"if" has ${guard.length} compares; the limit is ${batchComparesMax}`;
  const compares: Compare[] = [];
  for (const [i, item] of guard.entries()) {
    const where = `if[${i}]`;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) return `${where} must be an object`;
    const fields = item as Record<string, unknown>;
    const key = bytesOf(fields, 'key', where);
    if (typeof key === 'string') return key;
    const asked = ['value', 'valueBase64', 'version', 'modRevision'].filter((name) => fields[name] !== undefined);
    const unknownFields = Object.keys(fields).filter((name) => !['key', 'keyBase64', 'value', 'valueBase64', 'version', 'modRevision'].includes(name));
    if (unknownFields.length > 0) return `${where}: unknown field ${unknownFields.join(', ')}`;
    if (asked.length !== 1) return `${where} needs exactly one of value, valueBase64, version or modRevision`;
    if (fields.version !== undefined || fields.modRevision !== undefined) {
      const name = fields.version !== undefined ? 'version' : 'modRevision';
      const operand = fields[name];
      if (!(typeof operand === 'number' && Number.isSafeInteger(operand) && operand >= 0))
        return `${where}.${name} must be a non-negative integer, got ${JSON.stringify(operand)}`;
      compares.push({ key, target: name === 'version' ? 'version' : 'mod', result: 'equal', operand });
    } else {
      const value =
        fields.valueBase64 !== undefined
          ? bytesOf({ valueBase64: fields.valueBase64 }, 'value', where)
          : typeof fields.value === 'string'
            ? utf8(fields.value)
            : `${where}.value must be a string`;
      if (typeof value === 'string') return value;
      compares.push({ key, target: 'value', result: 'equal', operand: value });
    }
  }
  return compares;
}
