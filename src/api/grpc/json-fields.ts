/**
 * The JSON a gateway request carries, checked field by field against its protobuf type
 * before protobufjs converts it. The conversion is lenient where a user's mistake must
 * be an error: `"lease": "abc"` becomes lease 0, `"limit": 1.5` becomes 1, and a
 * 64-bit value past 2^64 wraps to another number. etcd's gateway refuses all of these;
 * so does Keel, naming the field and what it takes (400, INVALID_ARGUMENT).
 *
 * Fields the type does not know are left alone (clients of newer etcd versions send
 * them); protobuf's JSON mapping accepts both the proto name and its lowerCamelCase
 * form.
 */
import { status } from './status.js';
import protobuf from 'protobufjs';
import { GrpcError } from './errors.js';

/** Keel's ids and revisions are safe integers (int64.ts); larger values are refused by name. */
const int64Max = BigInt(Number.MAX_SAFE_INTEGER);
const int32Range = { min: -(2n ** 31n), max: 2n ** 31n - 1n };
const uint32Max = 2n ** 32n - 1n;
const base64Pattern = /^[A-Za-z0-9+/\-_]*={0,2}$/;
const depthMax = 32;

export function checkJsonFields(type: protobuf.Type, json: Record<string, unknown>, path = type.name, depth = 0): void {
  if (depth > depthMax) refuse(path, `is nested deeper than ${depthMax} messages`);
  for (const [name, value] of Object.entries(json)) {
    const field = type.fields[name] ?? type.fieldsArray.find((f) => f.name === name || camel(f.name) === name);
    if (!field || value === null) continue;
    const where = `${path}.${field.name}`;
    if (field.map) continue;
    if (field.repeated) {
      if (!Array.isArray(value)) refuse(where, 'must be a JSON array');
      value.forEach((item, i) => checkValue(field, item, `${where}[${i}]`, depth));
    } else {
      checkValue(field, value, where, depth);
    }
  }
}

function checkValue(field: protobuf.Field, value: unknown, where: string, depth: number): void {
  field.resolve();
  if (field.resolvedType instanceof protobuf.Type) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) refuse(where, 'must be a JSON object');
    checkJsonFields(field.resolvedType, value as Record<string, unknown>, where, depth + 1);
    return;
  }
  if (field.resolvedType instanceof protobuf.Enum) {
    const names = Object.keys(field.resolvedType.values);
    const numbers = Object.values(field.resolvedType.values);
    if (!(typeof value === 'string' && names.includes(value)) && !(typeof value === 'number' && numbers.includes(value))) {
      refuse(where, `must be one of ${names.join(', ')}, got ${JSON.stringify(value)}`);
    }
    return;
  }
  switch (field.type) {
    case 'int64':
    case 'sint64':
    case 'sfixed64':
      return checkInteger(value, where, { min: -int64Max, max: int64Max }, '64-bit integer (Keel takes up to 2^53-1)');
    case 'uint64':
    case 'fixed64':
      return checkInteger(value, where, { min: 0n, max: int64Max }, 'unsigned 64-bit integer (Keel takes up to 2^53-1)');
    case 'int32':
    case 'sint32':
    case 'sfixed32':
      return checkInteger(value, where, int32Range, '32-bit integer');
    case 'uint32':
    case 'fixed32':
      return checkInteger(value, where, { min: 0n, max: uint32Max }, 'unsigned 32-bit integer');
    case 'bool':
      if (typeof value !== 'boolean') refuse(where, `must be true or false, got ${JSON.stringify(value)}`);
      return;
    case 'bytes':
      if (typeof value !== 'string' || !base64Pattern.test(value)) refuse(where, `must be base64 bytes, got ${JSON.stringify(value)}`);
      return;
    case 'string':
      if (typeof value !== 'string') refuse(where, `must be a string, got ${JSON.stringify(value)}`);
      return;
    default:
      return;
  }
}

function checkInteger(value: unknown, where: string, range: { min: bigint; max: bigint }, what: string): void {
  let n: bigint | undefined;
  if (typeof value === 'number' && Number.isInteger(value)) n = BigInt(value);
  else if (typeof value === 'string' && /^-?\d{1,40}$/.test(value)) n = BigInt(value);
  if (n === undefined) refuse(where, `must be a ${what}, as a decimal string or a number, got ${JSON.stringify(value)}`);
  if (n < range.min || n > range.max) refuse(where, `${String(value)} is out of range: it must be a ${what}`);
}

function refuse(where: string, problem: string): never {
  throw new GrpcError(status.INVALID_ARGUMENT, `etcdserver: ${where} ${problem}`);
}

function camel(name: string): string {
  return name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}
