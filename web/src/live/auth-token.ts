/**
 * The token the page sends when the cluster has authentication enabled: got from etcd's
 * gateway login (POST /v3/auth/authenticate), kept for this tab only (sessionStorage),
 * sent as `Authorization: Bearer` on REST calls and as `?token=` on the WebSockets
 * (browsers cannot set headers on those). Simple tokens expire (300 s by default): the
 * page then shows the login form again.
 */
const storageKey = 'keel-auth-token';

export function currentToken(): string | undefined {
  return sessionStorage.getItem(storageKey) ?? undefined;
}

export function setToken(token: string | undefined): void {
  if (token === undefined) sessionStorage.removeItem(storageKey);
  else sessionStorage.setItem(storageKey, token);
}

export function authHeaders(): Record<string, string> {
  const token = currentToken();
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** A WebSocket URL with the token, if there is one. */
export function withToken(url: string): string {
  const token = currentToken();
  return token ? `${url}${url.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}` : url;
}
