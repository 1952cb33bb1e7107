/**
 * etcd's Auth service: enabling and disabling auth, logins, users, roles and their
 * permissions (server/auth/node-auth.ts does the work). As in etcd, every call but
 * Authenticate needs the root role once auth is on, except that a user may read
 * itself (UserGet) and the roles it has (RoleGet).
 */
import { status } from './status.js';
import { type AuthNode, type Caller, NEEDS_ANYONE, NEEDS_ROOT, NEEDS_USER } from '../../server/index.js';
import { ROOT_ROLE, type Permission, type PermissionType, kvError, KvRequestError, hasRootRole } from '../../kv/index.js';
import type { Message } from './convert.js';
import { GrpcError } from './errors.js';
import { responseHeader } from './header.js';
import type { EtcdService, UnaryMethod } from './service.js';

const PERMISSION_TYPES: readonly PermissionType[] = ['READ', 'WRITE', 'READWRITE'];
/** etcd answers RoleGet of the root role with this one permission: everything. */
const ROOT_PERMISSION: Permission = { type: 'READWRITE', key: new Uint8Array(0), rangeEnd: Uint8Array.of(0) };

const text = (value: unknown): string => (typeof value === 'string' ? value : '');
const bytes = (value: unknown): Uint8Array => (value instanceof Uint8Array ? value : new Uint8Array(0));

function permissionMessage(p: Permission): Message {
  return { permType: p.type, key: Buffer.from(p.key), range_end: Buffer.from(p.rangeEnd) };
}

function permissionFromMessage(value: unknown): Permission {
  if (typeof value !== 'object' || value === null) throw new KvRequestError(kvError('PERMISSION_NOT_GIVEN', 'permission not given'));
  const message = value as Message;
  const type = PERMISSION_TYPES.find((t) => t === (message.permType ?? 'READ'));
  if (type === undefined) throw new GrpcError(status.INVALID_ARGUMENT, `etcdserver: unknown permission type ${JSON.stringify(message.permType)}`);
  return { type, key: bytes(message.key), rangeEnd: bytes(message.range_end) };
}

/** etcd 3.5's clients may send a bcrypt hash instead of the password; Keel hashes passwords itself. */
function refuseClientHash(request: Message): void {
  if (text(request.hashedPassword) !== '') {
    throw new GrpcError(status.INVALID_ARGUMENT, 'etcdserver: hashedPassword is not supported; send the password and the server hashes it (scrypt)');
  }
}

/** A user may read itself, and the roles it has; anything else needs root. */
function requireSelfOrRoot(node: AuthNode, caller: Caller | undefined, allowed: boolean): void {
  const state = node.auth.state();
  if (!state.enabled || allowed) return;
  if (caller && hasRootRole(state, caller.user)) return;
  throw new KvRequestError(kvError('PERMISSION_DENIED', `permission denied: user ${caller?.user ?? ''} does not have the root role`));
}

export function authService(node: AuthNode): EtcdService {
  const header = (): Message => ({ ...responseHeader(node) });
  /** An administration call: root once auth is on; answers an empty header. */
  const admin = (path: string, run: (request: Message) => Promise<void>): UnaryMethod => ({
    need: () => NEEDS_ROOT,
    gatewayPaths: [path],
    handle: async (request) => {
      await run(request);
      return { header: header() };
    },
  });

  return {
    name: 'Auth',
    unary: {
      AuthEnable: admin('/v3/auth/enable', () => node.auth.enable()),
      AuthDisable: admin('/v3/auth/disable', () => node.auth.disable()),
      AuthStatus: {
        need: () => NEEDS_ROOT,
        gatewayPaths: ['/v3/auth/status'],
        handle: async () => {
          const state = await node.auth.current();
          return { header: header(), enabled: state.enabled, authRevision: String(state.revision) };
        },
      },
      Authenticate: {
        need: () => NEEDS_ANYONE,
        gatewayPaths: ['/v3/auth/authenticate'],
        handle: async (request) => ({ header: header(), token: await node.auth.authenticate(text(request.name), text(request.password)) }),
      },
      UserAdd: admin('/v3/auth/user/add', async (request) => {
        refuseClientHash(request);
        const options = (request.options ?? {}) as Message;
        await node.auth.userAdd(text(request.name), text(request.password), options.no_password === true);
      }),
      UserGet: {
        need: () => NEEDS_USER,
        gatewayPaths: ['/v3/auth/user/get'],
        handle: async (request, caller) => {
          const name = text(request.name);
          requireSelfOrRoot(node, caller, caller?.user === name);
          return { header: header(), roles: [...(await node.auth.user(name)).roles] };
        },
      },
      UserList: {
        need: () => NEEDS_ROOT,
        gatewayPaths: ['/v3/auth/user/list'],
        handle: async () => ({ header: header(), users: [...(await node.auth.current()).users.keys()].sort() }),
      },
      UserDelete: admin('/v3/auth/user/delete', (request) => node.auth.change({ op: 'userDelete', name: text(request.name) })),
      UserChangePassword: admin('/v3/auth/user/changepw', async (request) => {
        refuseClientHash(request);
        await node.auth.userChangePassword(text(request.name), text(request.password));
      }),
      UserGrantRole: admin('/v3/auth/user/grant', (request) => node.auth.change({ op: 'userGrantRole', user: text(request.user), role: text(request.role) })),
      UserRevokeRole: admin('/v3/auth/user/revoke', (request) =>
        node.auth.change({ op: 'userRevokeRole', name: text(request.name), role: text(request.role) }),
      ),
      RoleAdd: admin('/v3/auth/role/add', (request) => node.auth.change({ op: 'roleAdd', name: text(request.name) })),
      RoleGet: {
        need: () => NEEDS_USER,
        gatewayPaths: ['/v3/auth/role/get'],
        handle: async (request, caller) => {
          const name = text(request.role);
          const state = node.auth.state();
          requireSelfOrRoot(node, caller, caller !== undefined && (state.users.get(caller.user)?.roles.includes(name) ?? false));
          const role = await node.auth.role(name);
          const permissions = name === ROOT_ROLE ? [ROOT_PERMISSION] : role.permissions;
          return { header: header(), perm: permissions.map(permissionMessage) };
        },
      },
      RoleList: {
        need: () => NEEDS_ROOT,
        gatewayPaths: ['/v3/auth/role/list'],
        handle: async () => ({ header: header(), roles: [...(await node.auth.current()).roles.keys()].sort() }),
      },
      RoleDelete: admin('/v3/auth/role/delete', (request) => node.auth.change({ op: 'roleDelete', role: text(request.role) })),
      RoleGrantPermission: admin('/v3/auth/role/grant', (request) =>
        node.auth.change({ op: 'roleGrantPermission', name: text(request.name), permission: permissionFromMessage(request.perm) }),
      ),
      RoleRevokePermission: admin('/v3/auth/role/revoke', (request) =>
        node.auth.change({ op: 'roleRevokePermission', role: text(request.role), key: bytes(request.key), rangeEnd: bytes(request.range_end) }),
      ),
    },
  };
}
