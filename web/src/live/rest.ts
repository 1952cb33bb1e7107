/**
 * REST calls from the page: to the nodes that answer now, the leader first, trying the
 * next one on a network error or a 503 (the same rule as the client library), and to
 * the supervisor of `keel cluster up`. Errors come back as text to show, never thrown
 * past the caller.
 */
import { authHeaders } from './auth-token';

export type RestResult<T> =
  | { readonly ok: true; readonly status: number; readonly body: T }
  | { readonly ok: false; readonly status: number; readonly message: string };

const requestTimeoutMs = 6_000;

export async function callAny<T>(urls: readonly string[], path: string, init: RequestInit = {}): Promise<RestResult<T>> {
  if (urls.length === 0) return { ok: false, status: 0, message: 'no node answers right now' };
  let last: RestResult<T> = { ok: false, status: 0, message: 'no node answered' };
  for (const url of urls) {
    last = await call<T>(url + path, init);
    if (last.ok || (last.status !== 0 && last.status !== 503)) return last;
  }
  return last;
}

export async function call<T>(url: string, init: RequestInit = {}): Promise<RestResult<T>> {
  try {
    const headers = { ...authHeaders(), ...(init.headers as Record<string, string> | undefined) };
    const response = await fetch(url, { ...init, headers, signal: AbortSignal.timeout(requestTimeoutMs) });
    const text = await response.text();
    const body = text === '' ? undefined : (JSON.parse(text) as unknown);
    if (response.ok) return { ok: true, status: response.status, body: body as T };
    const error = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
    return { ok: false, status: response.status, message: `${response.status} ${error?.code ?? ''}: ${error?.message ?? text}` };
  } catch (error) {
    return { ok: false, status: 0, message: `${url}: ${(error as Error).message}` };
  }
}

export function json(method: string, body: unknown): RequestInit {
  return { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

export function keyPath(key: string): string {
  return `/kv/${key.split('/').map(encodeURIComponent).join('/')}`;
}
