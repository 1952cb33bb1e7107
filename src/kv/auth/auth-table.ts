/**
 * The auth state in its LMDB table, and etcd's rules for changing it (server/auth/store.go
 * in etcd), applied identically on every replica:
 *
 *   enabled          -> 0 | 1
 *   revision         -> varint (the auth revision; 1 in a new store)
 *   token-key        -> bytes (simple tokens' signing secret, set by each enable)
 *   user/<name>      -> user (auth-codec.ts)
 *   role/<name>      -> role
 *
 * The state is read on every request while auth is on, so it is cached in memory and
 * re-read after each change, restore or reopen.
 */
import { ByteReader, ByteWriter } from '../../lib/index.js';
import { decodeRole, decodeUser, encodeRole, encodeUser } from './auth-codec.js';
import { ROOT_ROLE, ROOT_USER } from './auth-types.js';
import type { AuthChange, AuthRole, AuthState, AuthUser, Permission } from './auth-types.js';
import { kvError, type KvError } from '../errors.js';
import type { Table } from '../env/kv-env.js';

const latin1 = (text: string): Buffer => Buffer.from(text, 'latin1');
const KEY = { enabled: latin1('enabled'), revision: latin1('revision'), tokenKey: latin1('token-key') } as const;
const USER_PREFIX = 'user/';
const ROLE_PREFIX = 'role/';
const utf8Key = (prefix: string, name: string): Buffer => Buffer.concat([latin1(prefix), Buffer.from(name, 'utf8')]);

export class AuthTable {
  private cached: AuthState | undefined;

  constructor(private readonly table: Table) {}

  state(): AuthState {
    this.cached ??= this.read();
    return this.cached;
  }

  /** Forget the cache (after a restore or a failed transaction). */
  reload(): void {
    this.cached = undefined;
  }

  /** Applies one change inside the caller's write transaction; an error changes nothing. */
  apply(change: AuthChange): KvError | undefined {
    const state = this.state();
    const problem = this.change(state, change);
    this.cached = undefined;
    return problem;
  }

  private change(state: AuthState, change: AuthChange): KvError | undefined {
    const next = state.revision + 1;
    switch (change.op) {
      case 'enable': {
        // etcd ignores an enable of an enabled store (and keeps its tokens valid).
        if (state.enabled) return undefined;
        const root = state.users.get(ROOT_USER);
        if (!root) return kvError('ROOT_USER_NOT_EXIST', 'root user does not exist');
        if (!root.roles.includes(ROOT_ROLE)) return kvError('ROOT_ROLE_NOT_EXIST', 'root user does not have root role');
        this.table.putSync(KEY.enabled, Uint8Array.of(1));
        this.table.putSync(KEY.tokenKey, change.tokenKey);
        return undefined;
      }
      case 'disable':
        if (!state.enabled) return undefined;
        this.table.putSync(KEY.enabled, Uint8Array.of(0));
        this.table.removeSync(KEY.tokenKey);
        return this.bump(next);
      case 'userAdd': {
        if (change.name === '') return kvError('USER_EMPTY', 'user name is empty');
        if (state.users.has(change.name)) return kvError('USER_EXISTS', 'user name already exists');
        this.putUser({ name: change.name, roles: [], credentialRevision: next, ...(change.password ? { password: change.password } : {}) });
        return this.bump(next);
      }
      case 'userDelete': {
        if (state.enabled && change.name === ROOT_USER)
          return kvError('INVALID_AUTH_MGMT', 'invalid auth management: cannot delete the root user while auth is enabled');
        if (!state.users.has(change.name)) return kvError('USER_NOT_FOUND', 'user name not found');
        this.table.removeSync(utf8Key(USER_PREFIX, change.name));
        return this.bump(next);
      }
      case 'userChangePassword': {
        const user = state.users.get(change.name);
        if (!user) return kvError('USER_NOT_FOUND', 'user name not found');
        const { password: _old, ...rest } = user;
        this.putUser({ ...rest, credentialRevision: next, ...(change.password ? { password: change.password } : {}) });
        return this.bump(next);
      }
      case 'userGrantRole': {
        const user = state.users.get(change.user);
        if (!user) return kvError('USER_NOT_FOUND', 'user name not found');
        // The root role need not exist as a role to be granted (as in etcd).
        if (change.role !== ROOT_ROLE && !state.roles.has(change.role)) return kvError('ROLE_NOT_FOUND', 'role name not found');
        if (user.roles.includes(change.role)) return undefined;
        this.putUser({ ...user, roles: [...user.roles, change.role].sort() });
        return this.bump(next);
      }
      case 'userRevokeRole': {
        if (state.enabled && change.name === ROOT_USER && change.role === ROOT_ROLE) {
          return kvError('INVALID_AUTH_MGMT', 'invalid auth management: cannot revoke the root role from the root user while auth is enabled');
        }
        const user = state.users.get(change.name);
        if (!user) return kvError('USER_NOT_FOUND', 'user name not found');
        if (!user.roles.includes(change.role)) return kvError('ROLE_NOT_GRANTED', 'role is not granted to the user');
        this.putUser({ ...user, roles: user.roles.filter((r) => r !== change.role) });
        return this.bump(next);
      }
      case 'roleAdd': {
        if (change.name === '') return kvError('ROLE_EMPTY', 'role name is empty');
        if (state.roles.has(change.name)) return kvError('ROLE_EXISTS', 'role name already exists');
        this.putRole({ name: change.name, permissions: [] });
        return this.bump(next);
      }
      case 'roleDelete': {
        if (state.enabled && change.role === ROOT_ROLE)
          return kvError('INVALID_AUTH_MGMT', 'invalid auth management: cannot delete the root role while auth is enabled');
        if (!state.roles.has(change.role)) return kvError('ROLE_NOT_FOUND', 'role name not found');
        this.table.removeSync(utf8Key(ROLE_PREFIX, change.role));
        for (const user of state.users.values()) {
          if (user.roles.includes(change.role)) this.putUser({ ...user, roles: user.roles.filter((r) => r !== change.role) });
        }
        return this.bump(next);
      }
      case 'roleGrantPermission': {
        const problem = permissionProblem(change.permission);
        if (problem) return problem;
        const role = state.roles.get(change.name);
        if (!role) return kvError('ROLE_NOT_FOUND', 'role name not found');
        const p = change.permission;
        const others = role.permissions.filter((q) => !samePlace(q, p.key, p.rangeEnd));
        this.putRole({ ...role, permissions: [...others, p].sort((a, b) => Buffer.compare(a.key, b.key) || Buffer.compare(a.rangeEnd, b.rangeEnd)) });
        return this.bump(next);
      }
      case 'roleRevokePermission': {
        const role = state.roles.get(change.role);
        if (!role) return kvError('ROLE_NOT_FOUND', 'role name not found');
        const kept = role.permissions.filter((q) => !samePlace(q, change.key, change.rangeEnd));
        if (kept.length === role.permissions.length) return kvError('PERMISSION_NOT_GRANTED', 'permission is not granted to the role');
        this.putRole({ ...role, permissions: kept });
        return this.bump(next);
      }
    }
  }

  private bump(revision: number): undefined {
    this.table.putSync(KEY.revision, new ByteWriter(10).varint(revision).finish());
    return undefined;
  }

  private putUser(user: AuthUser): void {
    this.table.putSync(utf8Key(USER_PREFIX, user.name), encodeUser(user));
  }

  private putRole(role: AuthRole): void {
    this.table.putSync(utf8Key(ROLE_PREFIX, role.name), encodeRole(role));
  }

  private read(): AuthState {
    const revisionBytes = this.table.get(KEY.revision);
    const users = new Map<string, AuthUser>();
    for (const value of this.values(USER_PREFIX)) {
      const user = decodeUser(value);
      users.set(user.name, user);
    }
    const roles = new Map<string, AuthRole>();
    for (const value of this.values(ROLE_PREFIX)) {
      const role = decodeRole(value);
      roles.set(role.name, role);
    }
    const tokenKey = this.table.get(KEY.tokenKey);
    return {
      enabled: this.table.get(KEY.enabled)?.[0] === 1,
      revision: revisionBytes ? new ByteReader(revisionBytes).varint() : 1,
      tokenKey: tokenKey ? new Uint8Array(tokenKey) : undefined,
      users,
      roles,
    };
  }

  private *values(prefix: string): Iterable<Buffer> {
    const start = latin1(prefix);
    for (const { key, value } of this.table.getRange({ start })) {
      if (!key.subarray(0, start.length).equals(start)) return;
      yield value;
    }
  }
}

function samePlace(p: Permission, key: Uint8Array, rangeEnd: Uint8Array): boolean {
  return Buffer.from(p.key).equals(key) && Buffer.from(p.rangeEnd).equals(rangeEnd);
}

/**
 * etcd's isValidPermissionRange: a key is needed; the range end is empty (one key),
 * [0x00] (open-ended) or above the key.
 */
function permissionProblem(p: Permission): KvError | undefined {
  if (p.key.length === 0) return kvError('INVALID_AUTH_MGMT', 'invalid auth management: a permission needs a key');
  if (p.rangeEnd.length === 0 || (p.rangeEnd.length === 1 && p.rangeEnd[0] === 0)) return undefined;
  if (Buffer.compare(p.key, p.rangeEnd) < 0) return undefined;
  return kvError('INVALID_AUTH_MGMT', 'invalid auth management: the range end of a permission must be above its key');
}
