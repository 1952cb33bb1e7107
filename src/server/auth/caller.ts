/**
 * Who sent a request, resolved the way etcd does (EtcdServer.AuthInfoFromCtx): a token
 * if one came (an invalid one is an error, never a fall-back to anonymous); otherwise,
 * when --client-cert-auth is on, the common name of the client's verified TLS
 * certificate; otherwise nobody. Transports hand over what they saw as Credentials;
 * this is the one place that turns them into a Caller.
 */
import { type AuthState, kvError, KvRequestError, type CommandAuth } from '../../kv/index.js';
import type { TokenProvider } from './tokens.js';

export interface Credentials {
  /** gRPC metadata `token` (or `authorization`), HTTP Authorization: Bearer. */
  readonly token?: string;
  /** The CN of a client certificate the TLS layer verified, if any. */
  readonly certificateCommonName?: string;
  /** HTTP Basic (REST only): checked against the password hash on each request. */
  readonly basic?: { readonly user: string; readonly password: string };
}

export interface Caller {
  readonly user: string;
  /** Key permissions are refused with AUTH_OLD_REVISION if the auth state moved past it. */
  readonly authRevision: number;
}

export interface ResolveOptions {
  /** etcd's --client-cert-auth: a verified certificate's CN names the user. */
  readonly clientCertAuth: boolean;
}

/** The caller, undefined for nobody (or when auth is off); throws INVALID_AUTH_TOKEN. */
export async function resolveCaller(state: AuthState, tokens: TokenProvider, credentials: Credentials, options: ResolveOptions): Promise<Caller | undefined> {
  if (!state.enabled) return undefined;
  if (credentials.token !== undefined && credentials.token !== '') {
    const claims = await tokens.verify(credentials.token, state);
    if (!claims) throw new KvRequestError(kvError('INVALID_AUTH_TOKEN', 'invalid auth token'));
    return claims;
  }
  if (options.clientCertAuth && credentials.certificateCommonName) {
    return { user: credentials.certificateCommonName, authRevision: state.revision };
  }
  return undefined;
}

/** The user a write is proposed for, checked again when it applies (kv/auth-check.ts). */
export function commandAuth(caller: Caller | undefined): CommandAuth | undefined {
  return caller ? { user: caller.user, revision: caller.authRevision } : undefined;
}
