/**
 * etcd's "simple" tokens, made verifiable on every member without a log entry per
 * login: a token is `payload.mac`, where payload = base64url(JSON {u: user, r: auth
 * revision at issue, e: expiry in ms since the epoch, n: nonce}) and mac =
 * HMAC-SHA256(payload) under the token key of the replicated auth state (chosen at
 * random by the member that proposed AuthEnable; a new one at each enable).
 *
 * As etcd's simple tokens: a token stops working when it expires, when auth is
 * disabled, or when its user is deleted or its password changed (the user's
 * credentialRevision moves past the token's revision); it does not go stale when
 * other auth changes happen (its permissions are checked at the current revision).
 * Unlike etcd's, the TTL is fixed at issue rather than renewed by each use, and expiry
 * is judged by each member's clock (members' clocks should agree within seconds).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AuthState } from '../../kv/index.js';
import type { TokenClaims, TokenProvider } from './tokens.js';

export class SimpleTokens implements TokenProvider {
  constructor(
    private readonly ttlSeconds: number,
    private readonly nowMs: () => number = Date.now,
  ) {}

  async issue(user: string, state: AuthState): Promise<string> {
    if (!state.tokenKey) throw new Error('simple tokens: auth is not enabled (no token key)');
    const claims = { u: user, r: state.revision, e: this.nowMs() + this.ttlSeconds * 1000, n: randomBytes(9).toString('base64url') };
    const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return `${payload}.${mac(state.tokenKey, payload)}`;
  }

  async verify(token: string, state: AuthState): Promise<TokenClaims | undefined> {
    if (!state.tokenKey) return undefined;
    const dot = token.indexOf('.');
    if (dot < 1) return undefined;
    const payload = token.slice(0, dot);
    const expected = Buffer.from(mac(state.tokenKey, payload));
    const given = Buffer.from(token.slice(dot + 1));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    const claims = parseClaims(payload);
    if (!claims || claims.e <= this.nowMs()) return undefined;
    const user = state.users.get(claims.u);
    if (!user || user.credentialRevision > claims.r) return undefined;
    return { user: claims.u, authRevision: state.revision };
  }
}

function mac(key: Uint8Array, payload: string): string {
  return createHmac('sha256', key).update(payload).digest('base64url');
}

function parseClaims(payload: string): { u: string; r: number; e: number } | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    if (typeof value !== 'object' || value === null) return undefined;
    const { u, r, e } = value as Record<string, unknown>;
    if (typeof u !== 'string' || typeof r !== 'number' || typeof e !== 'number') return undefined;
    return { u, r, e };
  } catch {
    return undefined;
  }
}
