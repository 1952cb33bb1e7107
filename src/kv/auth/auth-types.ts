/**
 * etcd's authentication data model (authpb): users with a password hash and roles,
 * roles with key permissions, an enabled flag and an auth revision that moves with
 * every change (clients holding a JWT minted at an older revision must log in again).
 *
 * The state is replicated: every change is a command in the log (AuthRequest), applied
 * by auth-table.ts. Passwords never enter the log: the node that receives a request
 * hashes the password first (server/auth/password-hash.ts) and proposes the hash.
 */

/** etcd's authpb.Permission.Type. READWRITE grants both. */
export type PermissionType = 'READ' | 'WRITE' | 'READWRITE';

/**
 * A permission on a key, a range or a prefix, in etcd's encoding: `rangeEnd` empty =
 * the single key `key`; `rangeEnd` = [0x00] = every key >= `key`; otherwise [key, rangeEnd).
 */
export interface Permission {
  readonly type: PermissionType;
  readonly key: Uint8Array;
  readonly rangeEnd: Uint8Array;
}

/** A salted scrypt hash with the parameters it was made with (so they can change later). */
export interface PasswordHash {
  readonly algorithm: 'scrypt';
  /** scrypt's N (CPU and memory cost), r (block size) and p (parallelization). */
  readonly cost: number;
  readonly blockSize: number;
  readonly parallelization: number;
  readonly salt: Uint8Array;
  readonly hash: Uint8Array;
}

export interface AuthUser {
  readonly name: string;
  /** Absent for a user added with no password (etcd's --no-password): it cannot log in. */
  readonly password?: PasswordHash;
  /** Role names, sorted. */
  readonly roles: readonly string[];
  /**
   * The auth revision at which the user was created or its password last set. A simple
   * token issued before it is no longer valid (etcd drops such tokens on a password
   * change or a delete).
   */
  readonly credentialRevision: number;
}

export interface AuthRole {
  readonly name: string;
  /** Sorted by key (as etcd keeps them); one per (key, rangeEnd). */
  readonly permissions: readonly Permission[];
}

export interface AuthState {
  readonly enabled: boolean;
  /** Starts at 1 and moves with every change (etcd's auth revision). */
  readonly revision: number;
  /**
   * The secret simple tokens are signed with, chosen by the node that proposed the
   * last AuthEnable (server/auth/simple-tokens.ts); a new one at each enable.
   */
  readonly tokenKey: Uint8Array | undefined;
  readonly users: ReadonlyMap<string, AuthUser>;
  readonly roles: ReadonlyMap<string, AuthRole>;
}

export const ROOT_USER = 'root';
export const ROOT_ROLE = 'root';

/** One change of the auth state, as etcd's Auth service requests it. */
export type AuthChange =
  | { readonly op: 'enable'; readonly tokenKey: Uint8Array }
  | { readonly op: 'disable' }
  | { readonly op: 'userAdd'; readonly name: string; readonly password?: PasswordHash }
  | { readonly op: 'userDelete'; readonly name: string }
  | { readonly op: 'userChangePassword'; readonly name: string; readonly password?: PasswordHash }
  | { readonly op: 'userGrantRole'; readonly user: string; readonly role: string }
  | { readonly op: 'userRevokeRole'; readonly name: string; readonly role: string }
  | { readonly op: 'roleAdd'; readonly name: string }
  | { readonly op: 'roleDelete'; readonly role: string }
  | { readonly op: 'roleGrantPermission'; readonly name: string; readonly permission: Permission }
  | { readonly op: 'roleRevokePermission'; readonly role: string; readonly key: Uint8Array; readonly rangeEnd: Uint8Array };

/** Changes the auth state (auth-table.ts); no key, no revision of the key space. */
export interface AuthRequest {
  readonly type: 'auth';
  readonly change: AuthChange;
}

export interface AuthResponse {
  readonly type: 'auth';
}
