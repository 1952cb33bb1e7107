/**
 * JSON encodings of auth changes (inside a command) and of users and roles (in the
 * auth table). JSON rather than the binary command layout because these are rare,
 * small and easier to read in a dump; bytes (keys, salts, hashes) are base64. The
 * decoders are strict: a field of the wrong type is a DecodeError naming it.
 */
import { DecodeError } from '../../lib/index.js';
import type { AuthChange, AuthRole, AuthUser, PasswordHash, Permission, PermissionType } from './auth-types.js';

const PERMISSION_TYPES: readonly PermissionType[] = ['READ', 'WRITE', 'READWRITE'];

type Json = Record<string, unknown>;

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

function jsonBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value));
}

function parseObject(data: Uint8Array, what: string): Json {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data));
  } catch (error) {
    throw new DecodeError(`${what} is not JSON: ${(error as Error).message}`);
  }
  return asObject(value, what);
}

function asObject(value: unknown, what: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new DecodeError(`${what} is not a JSON object`);
  return value as Json;
}

function str(value: Json, name: string, what: string): string {
  const v = value[name];
  if (typeof v !== 'string') throw new DecodeError(`${what}: ${name} is not a string`);
  return v;
}

function bytes(value: Json, name: string, what: string): Uint8Array {
  const text = str(value, name, what);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw new DecodeError(`${what}: ${name} is not base64`);
  return new Uint8Array(Buffer.from(text, 'base64'));
}

function positiveInt(value: Json, name: string, what: string): number {
  const v = value[name];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw new DecodeError(`${what}: ${name} is not a positive integer`);
  return v;
}

function strings(value: Json, name: string, what: string): string[] {
  const v = value[name];
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw new DecodeError(`${what}: ${name} is not a list of strings`);
  return v as string[];
}

function passwordJson(hash: PasswordHash): Json {
  return {
    algorithm: hash.algorithm,
    cost: hash.cost,
    blockSize: hash.blockSize,
    parallelization: hash.parallelization,
    salt: b64(hash.salt),
    hash: b64(hash.hash),
  };
}

function toPassword(value: unknown): PasswordHash {
  const what = 'password hash';
  const o = asObject(value, what);
  if (o.algorithm !== 'scrypt') throw new DecodeError(`${what}: unknown algorithm ${JSON.stringify(o.algorithm)}`);
  return {
    algorithm: 'scrypt',
    cost: positiveInt(o, 'cost', what),
    blockSize: positiveInt(o, 'blockSize', what),
    parallelization: positiveInt(o, 'parallelization', what),
    salt: bytes(o, 'salt', what),
    hash: bytes(o, 'hash', what),
  };
}

function permissionJson(p: Permission): Json {
  return { type: p.type, key: b64(p.key), rangeEnd: b64(p.rangeEnd) };
}

function toPermission(value: unknown): Permission {
  const what = 'permission';
  const o = asObject(value, what);
  const type = PERMISSION_TYPES.find((t) => t === o.type);
  if (type === undefined) throw new DecodeError(`${what}: unknown type ${JSON.stringify(o.type)}`);
  return { type, key: bytes(o, 'key', what), rangeEnd: bytes(o, 'rangeEnd', what) };
}

function optionalPassword(o: Json): { password?: PasswordHash } {
  return o.password === undefined ? {} : { password: toPassword(o.password) };
}

export function encodeAuthChange(change: AuthChange): Uint8Array {
  switch (change.op) {
    case 'enable':
      return jsonBytes({ op: change.op, tokenKey: b64(change.tokenKey) });
    case 'userAdd':
    case 'userChangePassword':
      return jsonBytes({ ...change, ...(change.password ? { password: passwordJson(change.password) } : {}) });
    case 'roleGrantPermission':
      return jsonBytes({ op: change.op, name: change.name, permission: permissionJson(change.permission) });
    case 'roleRevokePermission':
      return jsonBytes({ op: change.op, role: change.role, key: b64(change.key), rangeEnd: b64(change.rangeEnd) });
    default:
      return jsonBytes(change);
  }
}

/** Throws DecodeError naming the problem. */
export function decodeAuthChange(data: Uint8Array): AuthChange {
  const what = 'auth change';
  const o = parseObject(data, what);
  const op = o.op;
  switch (op) {
    case 'enable':
      return { op, tokenKey: bytes(o, 'tokenKey', what) };
    case 'disable':
      return { op };
    case 'userAdd':
    case 'userChangePassword':
      return { op, name: str(o, 'name', what), ...optionalPassword(o) };
    case 'userDelete':
    case 'roleAdd':
      return { op, name: str(o, 'name', what) };
    case 'userGrantRole':
      return { op, user: str(o, 'user', what), role: str(o, 'role', what) };
    case 'userRevokeRole':
      return { op, name: str(o, 'name', what), role: str(o, 'role', what) };
    case 'roleDelete':
      return { op, role: str(o, 'role', what) };
    case 'roleGrantPermission':
      return { op, name: str(o, 'name', what), permission: toPermission(o.permission) };
    case 'roleRevokePermission':
      return { op, role: str(o, 'role', what), key: bytes(o, 'key', what), rangeEnd: bytes(o, 'rangeEnd', what) };
    default:
      throw new DecodeError(`${what} has unknown op ${JSON.stringify(op)}`);
  }
}

export function encodeUser(user: AuthUser): Uint8Array {
  return jsonBytes({
    name: user.name,
    roles: user.roles,
    credentialRevision: user.credentialRevision,
    ...(user.password ? { password: passwordJson(user.password) } : {}),
  });
}

export function decodeUser(data: Uint8Array): AuthUser {
  const what = 'user';
  const o = parseObject(data, what);
  return {
    name: str(o, 'name', what),
    roles: strings(o, 'roles', what),
    credentialRevision: positiveInt(o, 'credentialRevision', what),
    ...optionalPassword(o),
  };
}

export function encodeRole(role: AuthRole): Uint8Array {
  return jsonBytes({ name: role.name, permissions: role.permissions.map(permissionJson) });
}

export function decodeRole(data: Uint8Array): AuthRole {
  const what = 'role';
  const o = parseObject(data, what);
  if (!Array.isArray(o.permissions)) throw new DecodeError(`${what}: permissions is not a list`);
  return { name: str(o, 'name', what), permissions: o.permissions.map(toPermission) };
}
