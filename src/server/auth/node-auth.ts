/**
 * A node's authentication: etcd's Auth service requests (changes go through the log as
 * auth commands; passwords are hashed here first), logins, and the check every API
 * surface makes before serving a request (authorize()).
 */
import { randomBytes } from 'node:crypto';
import {
  type AuthChange,
  type AuthRole,
  type AuthState,
  type AuthUser,
  kvError,
  KvRequestError,
  type KvError,
  type KvErrorCode,
  type CommandBody,
  type CommandResult,
  type DeleteRangeRequest,
  type PutRequest,
  type RangeRequest,
  type TxnRequest,
  leaseAccess,
  requiredAccess,
  hasRootRole,
  isPermitted,
  type KeyAccess,
} from '../../kv/index.js';
import { resolveCaller, type Caller, type Credentials } from './caller.js';
import { decoyHash, hashPassword, verifyPassword } from './password-hash.js';
import type { TokenProvider } from './tokens.js';
import { KeelError } from '../../replica/index.js';

/** What a request needs from its caller while auth is enabled. */
export type Need =
  /** Nothing, and credentials are not even looked at (Authenticate, Status, MemberList), as etcd. */
  | { readonly kind: 'anyone' }
  /** Nothing, but credentials that come must be valid (the caller of a stream is resolved once). */
  | { readonly kind: 'nothing' }
  /** Any authenticated user (LeaseGrant, LeaseKeepAlive). */
  | { readonly kind: 'user' }
  /** The root role (membership, maintenance, compaction, auth administration). */
  | { readonly kind: 'root' }
  /** These key permissions (key-value requests, watches, lease revokes). */
  | { readonly kind: 'keys'; readonly access: readonly KeyAccess[] };

export const NEEDS_ANYONE: Need = { kind: 'anyone' };
export const NEEDS_NOTHING: Need = { kind: 'nothing' };
export const NEEDS_USER: Need = { kind: 'user' };
export const NEEDS_ROOT: Need = { kind: 'root' };

export interface NodeAuthHost {
  /** The auth state as applied on this node. */
  authState(): AuthState;
  /** Proposes a command and resolves with its result once applied here. */
  write(body: CommandBody): Promise<CommandResult>;
  /** Resolves once this node has applied everything committed when it was called (ReadIndex). */
  readBarrier(): Promise<void>;
  /** The keys attached to a lease, none if it does not exist. */
  leaseKeys(leaseId: number): readonly Uint8Array[];
}

const refuse = (code: KvErrorCode, message: string): KvRequestError => new KvRequestError(kvError(code, message));

/**
 * Password checks running at once on a node. Each is a scrypt hash on libuv's thread
 * pool (4 threads), which the WAL's writes and fsyncs share: a flood of logins (or of
 * REST Basic requests) must leave threads to the log. Checks beyond wait in a bounded
 * line; beyond that they are refused at once with OVERLOADED ("too many requests").
 */
export const PASSWORD_CHECKS_RUNNING_MAX = 2;
export const PASSWORD_CHECKS_WAITING_MAX = 64;

export class NodeAuth {
  private passwordChecksRunning = 0;
  private readonly passwordChecksWaiting: (() => void)[] = [];

  constructor(
    private readonly host: NodeAuthHost,
    private readonly tokens: TokenProvider,
    private readonly options: { readonly clientCertAuth: boolean },
  ) {}

  enabled(): boolean {
    return this.host.authState().enabled;
  }

  /**
   * The caller of a request, after checking it may make it; throws a KvRequestError with
   * etcd's code (USER_EMPTY with no credentials, INVALID_AUTH_TOKEN, PERMISSION_DENIED,
   * AUTH_OLD_REVISION, USER_NOT_FOUND). Undefined when auth is off.
   */
  async authorize(credentials: Credentials, need: Need): Promise<Caller | undefined> {
    const state = this.host.authState();
    if (!state.enabled || need.kind === 'anyone') return undefined;
    const caller = credentials.basic
      ? await this.passwordCaller(state, credentials.basic.user, credentials.basic.password)
      : await resolveCaller(state, this.tokens, credentials, this.options);
    this.check(state, caller, need);
    return caller;
  }

  /** A caller proven by its password (HTTP Basic): AUTH_FAILED if it is wrong. */
  private async passwordCaller(state: AuthState, name: string, password: string): Promise<Caller> {
    const user = state.users.get(name);
    // Unknown users and users without a password cost a hash too: no enumeration by timing.
    const stored = user?.password ?? (await decoyHash());
    const matches = await this.withPasswordSlot(() => verifyPassword(password, stored));
    if (!user?.password || !matches) throw refuse('AUTH_FAILED', 'authentication failed, invalid user ID or password');
    return { user: name, authRevision: state.revision };
  }

  /** Runs a password hash or check in one of the bounded slots (PASSWORD_CHECKS_RUNNING_MAX). */
  private async withPasswordSlot<T>(task: () => Promise<T>): Promise<T> {
    if (this.passwordChecksRunning < PASSWORD_CHECKS_RUNNING_MAX) {
      this.passwordChecksRunning++;
    } else if (this.passwordChecksWaiting.length >= PASSWORD_CHECKS_WAITING_MAX) {
      throw new KeelError(
        'OVERLOADED',
        `${this.passwordChecksWaiting.length} password checks are waiting (at most ${PASSWORD_CHECKS_WAITING_MAX}); retry later, or log in once and send the token`,
      );
    } else {
      // The slot is handed over by the check that ends (below), so the count stays.
      await new Promise<void>((resolve) => this.passwordChecksWaiting.push(resolve));
    }
    try {
      return await task();
    } finally {
      const next = this.passwordChecksWaiting.shift();
      if (next) next();
      else this.passwordChecksRunning--;
    }
  }

  /** The same check with a caller resolved earlier (a stream's later requests). */
  check(state: AuthState, caller: Caller | undefined, need: Need): void {
    if (!state.enabled || need.kind === 'anyone' || need.kind === 'nothing') return;
    if (!caller) throw refuse('USER_EMPTY', 'user name is empty: this request needs credentials (auth is enabled)');
    switch (need.kind) {
      case 'user':
        return;
      case 'root':
        if (!state.users.has(caller.user)) throw refuse('USER_NOT_FOUND', `user ${caller.user} not found`);
        if (!hasRootRole(state, caller.user)) throw refuse('PERMISSION_DENIED', `permission denied: user ${caller.user} does not have the root role`);
        return;
      case 'keys':
        if (caller.authRevision < state.revision)
          throw refuse(
            'AUTH_OLD_REVISION',
            `revision of auth store is old: the token was issued at auth revision ${caller.authRevision}, now ${state.revision}`,
          );
        for (const access of need.access) {
          if (!isPermitted(state, caller.user, access))
            throw refuse('PERMISSION_DENIED', `permission denied: user ${caller.user} may not ${access.kind} ${describe(access)}`);
        }
        return;
    }
  }

  /** What a key-value request needs (kv/auth-access.ts). */
  needsFor(request: RangeRequest | PutRequest | DeleteRangeRequest | TxnRequest): Need {
    if (!this.enabled()) return NEEDS_NOTHING;
    return { kind: 'keys', access: requiredAccess(request, (id) => this.host.leaseKeys(id)) };
  }

  /**
   * What a request on a lease needs (as etcd): revoking it, write on every key attached
   * to it; reading its time to live, read on them.
   */
  needsForLease(leaseId: number, kind: 'read' | 'write'): Need {
    if (!this.enabled()) return NEEDS_NOTHING;
    return { kind: 'keys', access: leaseAccess(leaseId, (id) => this.host.leaseKeys(id)).map((access) => ({ ...access, kind })) };
  }

  /**
   * For a watch stream whose caller was resolved when it opened: why a watch may not
   * start (read on its range is needed, as etcd checks at each create), if it may not.
   */
  watchRefusal(caller: Caller | undefined): (watch: { readonly key: Uint8Array; readonly rangeEnd?: Uint8Array }) => KvError | undefined {
    return (watch) => {
      const state = this.host.authState();
      if (!state.enabled) return undefined;
      const access: KeyAccess =
        watch.rangeEnd && watch.rangeEnd.length > 0 ? { kind: 'read', key: watch.key, rangeEnd: watch.rangeEnd } : { kind: 'read', key: watch.key };
      try {
        this.check(state, caller, { kind: 'keys', access: [access] });
        return undefined;
      } catch (error) {
        if (error instanceof KvRequestError) return kvError(error.code, error.message);
        throw error;
      }
    };
  }

  /** The state for checks that the Auth service makes itself (UserGet of oneself...). */
  state(): AuthState {
    return this.host.authState();
  }

  /**
   * etcd's Authenticate: checks the password against this node's state once it has
   * applied everything committed (ReadIndex), then issues a token any member accepts.
   */
  async authenticate(name: string, password: string): Promise<string> {
    await this.host.readBarrier();
    const state = this.host.authState();
    if (!state.enabled) throw refuse('AUTH_NOT_ENABLED', 'authentication is not enabled');
    await this.passwordCaller(state, name, password);
    // Issued at the revision the password was checked at: if it changed meanwhile, the
    // token is already invalid (simple-tokens.ts, credentialRevision).
    return this.tokens.issue(name, state);
  }

  async enable(): Promise<void> {
    await this.change({ op: 'enable', tokenKey: new Uint8Array(randomBytes(32)) });
  }

  async disable(): Promise<void> {
    await this.change({ op: 'disable' });
  }

  /** etcd's UserAdd; a user with `noPassword` cannot log in (a certificate names it). */
  async userAdd(name: string, password: string, noPassword: boolean): Promise<void> {
    if (name === '') throw refuse('USER_EMPTY', 'user name is empty');
    await this.change({ op: 'userAdd', name, ...(noPassword ? {} : { password: await this.withPasswordSlot(() => hashPassword(password)) }) });
  }

  async userChangePassword(name: string, password: string): Promise<void> {
    const user = this.host.authState().users.get(name);
    if (!user) throw refuse('USER_NOT_FOUND', `user ${name} not found`);
    // A user added without a password stays without one (as etcd).
    await this.change({ op: 'userChangePassword', name, ...(user.password ? { password: await this.withPasswordSlot(() => hashPassword(password)) } : {}) });
  }

  /** Any change without a password (users' roles, roles, permissions, deletes). */
  async change(change: AuthChange): Promise<void> {
    const result = await this.host.write({ type: 'auth', change });
    if (!result.ok) throw new KvRequestError(result.error);
  }

  /** Linearizable reads of the state (UserGet, UserList, RoleGet, RoleList, AuthStatus). */
  async user(name: string): Promise<AuthUser> {
    await this.host.readBarrier();
    const user = this.host.authState().users.get(name);
    if (!user) throw refuse('USER_NOT_FOUND', `user ${name} not found`);
    return user;
  }

  async role(name: string): Promise<AuthRole> {
    await this.host.readBarrier();
    const role = this.host.authState().roles.get(name);
    if (!role) throw refuse('ROLE_NOT_FOUND', `role ${name} not found`);
    return role;
  }

  async current(): Promise<AuthState> {
    await this.host.readBarrier();
    return this.host.authState();
  }
}

function describe(access: KeyAccess): string {
  const key = JSON.stringify(Buffer.from(access.key).toString('utf8'));
  if (!access.rangeEnd || access.rangeEnd.length === 0) return `key ${key}`;
  if (access.rangeEnd.length === 1 && access.rangeEnd[0] === 0) return `keys from ${key} on`;
  return `range [${key}, ${JSON.stringify(Buffer.from(access.rangeEnd).toString('utf8'))})`;
}
