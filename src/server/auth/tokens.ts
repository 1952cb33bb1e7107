/**
 * Auth tokens, as etcd's --auth-token chooses them:
 *   - simple (default): an opaque token valid for --auth-token-ttl seconds;
 *   - jwt,pub-key=FILE,priv-key=FILE,sign-method=ES256|RS256[,ttl=5m]: a signed JWT.
 * A client may send its token to any member (clients switch members), so every member
 * must accept every member's tokens: simple-tokens.ts signs them with a key that is part
 * of the replicated auth state; JWTs are checked with the public key every member has.
 */
import type { AuthState } from '../../kv/index.js';

/** Who a valid token speaks for, and the auth revision its permissions are checked at. */
export interface TokenClaims {
  readonly user: string;
  readonly authRevision: number;
}

export interface TokenProvider {
  /** A new token for `user`, who has just proven its password at `state.revision`. */
  issue(user: string, state: AuthState): Promise<string>;
  /** The token's claims, or undefined if it is forged, expired or revoked. */
  verify(token: string, state: AuthState): Promise<TokenClaims | undefined>;
}

export type TokenSettings =
  | { readonly kind: 'simple'; readonly ttlSeconds: number }
  | {
      readonly kind: 'jwt';
      readonly publicKeyFile: string;
      readonly privateKeyFile?: string;
      readonly signMethod: 'ES256' | 'RS256';
      readonly ttlSeconds: number;
    };

/** etcd's default JWT lifetime (5 minutes) and simple-token TTL (300 s). */
export const TOKEN_TTL_SECONDS_DEFAULT = 300;

/**
 * Parses etcd's --auth-token value; throws an Error naming the problem. `simpleTtlSeconds`
 * is --auth-token-ttl.
 */
export function parseTokenSettings(value: string, simpleTtlSeconds: number): TokenSettings {
  const [kind, ...options] = value.split(',');
  if (kind === 'simple') {
    if (options.length > 0) throw new Error(`--auth-token simple takes no options, got ${options.join(',')}`);
    return { kind, ttlSeconds: simpleTtlSeconds };
  }
  if (kind !== 'jwt') throw new Error(`--auth-token must be simple or jwt,..., got ${JSON.stringify(kind)}`);
  const fields = new Map<string, string>();
  for (const option of options) {
    const at = option.indexOf('=');
    if (at < 1) throw new Error(`--auth-token jwt: option ${JSON.stringify(option)} is not name=value`);
    fields.set(option.slice(0, at), option.slice(at + 1));
  }
  for (const name of fields.keys()) {
    if (!['pub-key', 'priv-key', 'sign-method', 'ttl'].includes(name)) throw new Error(`--auth-token jwt: unknown option ${name}`);
  }
  const publicKeyFile = fields.get('pub-key');
  if (!publicKeyFile) throw new Error('--auth-token jwt needs pub-key=FILE');
  const signMethod = fields.get('sign-method');
  if (signMethod !== 'ES256' && signMethod !== 'RS256')
    throw new Error(`--auth-token jwt: sign-method must be ES256 or RS256, got ${JSON.stringify(signMethod)}`);
  const privateKeyFile = fields.get('priv-key');
  const ttl = fields.get('ttl');
  return {
    kind,
    publicKeyFile,
    ...(privateKeyFile ? { privateKeyFile } : {}),
    signMethod,
    ttlSeconds: ttl === undefined ? TOKEN_TTL_SECONDS_DEFAULT : durationSeconds(ttl),
  };
}

/** A Go-style duration of whole seconds or more: "300s", "5m", "1h30m". */
function durationSeconds(text: string): number {
  const unitSeconds: Record<string, number> = { h: 3600, m: 60, s: 1 };
  const parts = [...text.matchAll(/(\d+)([hms])/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text)
    throw new Error(`--auth-token jwt: ttl ${JSON.stringify(text)} is not a duration like 5m or 300s`);
  const seconds = parts.reduce((sum, p) => sum + Number(p[1]) * (unitSeconds[p[2] as string] as number), 0);
  if (seconds < 1) throw new Error('--auth-token jwt: ttl must be at least 1s');
  return seconds;
}
