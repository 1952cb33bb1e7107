/**
 * Records with named fields, laid out on plain keys: field F of record R is the key
 * R 0x00 F. The separator 0x00 is reserved: it may not appear in a record key or a
 * field name, so the fields of R are exactly the keys in [R 0x00, R 0x01), one range
 * read returns the whole record, and no other record's field falls inside it.
 *
 * Writes are single transactions (atomic, one revision):
 *  - set some fields: one put per field;
 *  - replace the record: puts of the new fields plus deletes of the gaps between them
 *    ([R 0x00, F1), [F1 0x00, F2), ..., [Fn 0x00, R 0x01)), which remove every other
 *    field without reading the record first. The gaps never touch a key that is put
 *    (F 0x00 is the next key after F, and no field name holds 0x00), as a transaction
 *    must (etcd refuses a key changed twice in one txn);
 *  - delete the record: one deleteRange of its range.
 */
import { prefixEnd, type DeleteRangeRequest, type PutRequest, type RequestOp } from '../kv/index.js';
import { utf8 } from './json-bytes.js';

const SEPARATOR = 0x00;
/** In a URL, /records/{record}/fields/{field}: the segment that starts a field name. */
export const FIELDS_SEGMENT = '/fields/';
/** Field names: letters, digits, '_', '-', '.'; safe in a URL path segment and a JSON key. */
const fieldNamePattern = /^[A-Za-z0-9_.-]+$/;
export const fieldNameBytesMax = 128;
/** Fields one replace may set: 2 operations each plus one, within txnOpsMax (128). */
export const replaceFieldsMax = 63;
/** Fields one update may set or remove: one operation each, within txnOpsMax (128). */
export const updateFieldsMax = 128;
/** Fields one read of a record returns at most; `more` says when there are more. */
export const readFieldsMax = 1_000;

/** Why `name` cannot be a field name, if it cannot. */
export function fieldNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'a field name must not be empty';
  if (name.length > fieldNameBytesMax) return `field name ${JSON.stringify(name.slice(0, 40))}... is ${name.length} bytes; the limit is ${fieldNameBytesMax}`;
  if (!fieldNamePattern.test(name)) return `field name ${JSON.stringify(name)} may hold only letters, digits, '_', '-' and '.'`;
  return undefined;
}

/** Why `key` cannot be a record key, if it cannot. */
export function recordKeyProblem(key: Uint8Array): string | undefined {
  if (key.length === 0) return 'the record key is empty';
  if (key.includes(SEPARATOR)) return 'a record key may not contain the byte 0x00 (it separates a record from its fields)';
  if (Buffer.from(key).includes(FIELDS_SEGMENT)) return `a record key may not contain "${FIELDS_SEGMENT}" (it starts a field in the URL)`;
  return undefined;
}

export function fieldKey(record: Uint8Array, field: string): Uint8Array {
  const name = utf8(field);
  const out = new Uint8Array(record.length + 1 + name.length);
  out.set(record, 0);
  out[record.length] = SEPARATOR;
  out.set(name, record.length + 1);
  return out;
}

/** The range [R 0x00, R 0x01) of every field of `record`. */
export function recordRange(record: Uint8Array): { key: Uint8Array; rangeEnd: Uint8Array } {
  const key = new Uint8Array(record.length + 1);
  key.set(record, 0);
  key[record.length] = SEPARATOR;
  return { key, rangeEnd: prefixEnd(key) };
}

/** The field name of a key inside recordRange(record). */
export function fieldNameOf(record: Uint8Array, key: Uint8Array): string {
  return new TextDecoder().decode(key.subarray(record.length + 1));
}

/** Sets each field to its value, or removes it (value null): the operations of one transaction. */
export function updateOps(record: Uint8Array, fields: ReadonlyMap<string, Uint8Array | null>): RequestOp[] {
  return [...fields].map(([name, value]): PutRequest | DeleteRangeRequest =>
    value === null ? { type: 'deleteRange', key: fieldKey(record, name) } : { type: 'put', key: fieldKey(record, name), value },
  );
}

/** Makes the record hold exactly `fields`: the operations of one transaction (see above). */
export function replaceOps(record: Uint8Array, fields: ReadonlyMap<string, Uint8Array>): RequestOp[] {
  const { key: first, rangeEnd: last } = recordRange(record);
  const keys = [...fields.keys()].map((name) => ({ name, key: fieldKey(record, name) })).sort((a, b) => Buffer.compare(a.key, b.key));
  const ops: RequestOp[] = [];
  let gapStart = first;
  for (const { name, key } of keys) {
    ops.push({ type: 'deleteRange', key: gapStart, rangeEnd: key });
    ops.push({ type: 'put', key, value: fields.get(name) as Uint8Array });
    gapStart = successor(key);
  }
  ops.push({ type: 'deleteRange', key: gapStart, rangeEnd: last });
  return ops;
}

/** The next key after `key` in byte order: `key` 0x00. */
function successor(key: Uint8Array): Uint8Array {
  const out = new Uint8Array(key.length + 1);
  out.set(key, 0);
  return out;
}
