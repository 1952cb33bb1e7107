/**
 * HTTP helpers for the real-process tests: every request has its own timeout, and a
 * failure to reach a node (refused, reset, timed out) is an HttpUnreachable error the
 * tests can tell apart from an answer.
 */

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Headers;
  /** The body parsed as JSON when it is JSON, else the text. */
  readonly body: unknown;
}

export interface HttpOptions {
  readonly method?: 'GET' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';
  /** A string or bytes is sent as is; anything else as JSON. */
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  readonly timeoutMs?: number;
  /** Default: Node's fetch; a TLS cluster's harness passes one with its CA and client certificate. */
  readonly fetch?: (url: string, init: RequestInit) => Promise<Response>;
}

/** The node did not answer: connection refused or reset, or no answer in time. */
export class HttpUnreachable extends Error {
  override name = 'HttpUnreachable';
}

/**
 * How long the tests give a node to answer beyond its own request timeout (after which
 * it must answer, 504 at worst) before they call it unresponsive. Generous on purpose:
 * on a loaded or briefly paused machine every process can stall at once, and such a
 * stall must not read as a node that never answers.
 */
export const answerMarginMs = 10_000;

export const httpTimeoutMsDefault = 10_000;

export async function http(url: string, options: HttpOptions = {}): Promise<HttpAnswer> {
  const { method = 'GET', body, timeoutMs = httpTimeoutMsDefault } = options;
  const headers: Record<string, string> = { ...options.headers };
  let payload: string | Uint8Array | undefined;
  if (typeof body === 'string' || body instanceof Uint8Array) {
    payload = body;
    headers['content-type'] ??= 'application/octet-stream';
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    headers['content-type'] ??= 'application/json';
  }
  let response: Response;
  let text: string;
  try {
    response = await (options.fetch ?? fetch)(url, {
      method,
      headers,
      ...(payload !== undefined ? { body: payload } : {}),
      signal: AbortSignal.timeout(timeoutMs),
    });
    text = await response.text();
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const reason = cause?.code ?? cause?.message ?? (error as Error).message;
    throw new HttpUnreachable(`${method} ${url}: no answer (${reason})`);
  }
  let parsed: unknown = text;
  if (response.headers.get('content-type')?.includes('application/json')) {
    try {
      parsed = JSON.parse(text);
    } catch {
      // Left as text: the assertion that reads it will say what it got.
    }
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

/** `http`, but undefined when the node is unreachable (for polling). */
export async function tryHttp(url: string, options: HttpOptions = {}): Promise<HttpAnswer | undefined> {
  try {
    return await http(url, options);
  } catch (error) {
    if (error instanceof HttpUnreachable) return undefined;
    throw error;
  }
}

/** The `error.code` of a Keel error answer, or undefined. */
export function errorCode(answer: HttpAnswer): string | undefined {
  const body = answer.body as { error?: { code?: unknown } } | undefined;
  return typeof body?.error?.code === 'string' ? body.error.code : undefined;
}

/** Describes an answer for assertion messages. */
export function describe(answer: HttpAnswer): string {
  return `${answer.status} ${typeof answer.body === 'string' ? answer.body.slice(0, 300) : JSON.stringify(answer.body).slice(0, 300)}`;
}
