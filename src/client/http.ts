/**
 * One HTTP exchange with one node, through Node's global fetch, bounded by a timeout.
 * It answers with the status and parsed JSON body, or throws a KeelClientError that
 * says whether the request can have reached the node (refused connection: certainly
 * not; reset, dropped or timed out after sending: unknown).
 */
import { KeelClientError } from './errors.js';
import type { Outcome } from './errors.js';
import type { FetchFunction } from './tls.js';

export interface HttpRequest {
  readonly method: 'GET' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';
  /** Path and query, starting with '/'. */
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Uint8Array | string;
}

export interface HttpResponse {
  readonly status: number;
  readonly json: unknown;
  readonly retryAfterMs: number | undefined;
  readonly endpoint: string;
}

/** Errors from connecting: the request never left this process. */
const notSentCauses = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'UND_ERR_CONNECT_TIMEOUT']);

export async function sendOnce(
  endpoint: string,
  request: HttpRequest,
  options: { readonly timeoutMs: number; readonly signal?: AbortSignal | undefined; readonly fetch?: FetchFunction },
): Promise<HttpResponse> {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  const url = endpoint + request.path;
  let response: Response;
  let text: string;
  try {
    response = await (options.fetch ?? fetch)(url, {
      method: request.method,
      signal,
      ...(request.headers ? { headers: request.headers } : {}),
      ...(request.body === undefined ? {} : { body: request.body }),
    });
    text = await response.text();
  } catch (error) {
    throw transportError(endpoint, request, error, options, timeout);
  }
  let json: unknown;
  if (text.length > 0) {
    try {
      json = JSON.parse(text);
    } catch {
      throw new KeelClientError({
        code: 'BAD_RESPONSE',
        message: `${describeRequest(endpoint, request)}: HTTP ${response.status} with a body that is not JSON: ${JSON.stringify(text.slice(0, 200))}`,
        status: response.status,
        outcome: response.ok ? 'not-applied' : 'unknown',
        endpoint,
      });
    }
  }
  return { status: response.status, json, retryAfterMs: parseRetryAfter(response.headers.get('retry-after')), endpoint };
}

function transportError(
  endpoint: string,
  request: HttpRequest,
  error: unknown,
  options: { readonly timeoutMs: number; readonly signal?: AbortSignal | undefined },
  timeout: AbortSignal,
): KeelClientError {
  const what = describeRequest(endpoint, request);
  if (options.signal?.aborted) {
    return new KeelClientError({ code: 'ABORTED', message: `${what}: aborted by the caller`, status: 0, outcome: 'unknown', endpoint, cause: error });
  }
  if (timeout.aborted) {
    return new KeelClientError({
      code: 'TIMEOUT',
      message: `${what}: no answer within ${options.timeoutMs} ms`,
      status: 0,
      outcome: 'unknown',
      endpoint,
      cause: error,
    });
  }
  const cause = causeCode(error);
  const outcome: Outcome = cause !== undefined && notSentCauses.has(cause) ? 'not-applied' : 'unknown';
  const detail = cause ?? (error instanceof Error ? error.message : String(error));
  return new KeelClientError({ code: 'NETWORK_ERROR', message: `${what}: ${detail}`, status: 0, outcome, endpoint, cause: error });
}

/** The system or undici error code under fetch's "fetch failed" TypeError. */
function causeCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depthMax = 5; depthMax > 0 && current !== undefined && current !== null; depthMax--) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    const errors = (current as { errors?: unknown }).errors;
    if (Array.isArray(errors) && errors.length > 0) {
      current = errors[0];
      continue;
    }
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

const pathShownMax = 100;

/** "PUT http://host:port/kv/key" for messages, with a long path cut short. */
export function describeRequest(endpoint: string, request: HttpRequest): string {
  const path = request.path.length > pathShownMax ? `${request.path.slice(0, pathShownMax)}...(${request.path.length} characters)` : request.path;
  return `${request.method} ${endpoint}${path}`;
}

function parseRetryAfter(header: string | null): number | undefined {
  if (header === null) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** The code of the API's `{"error": {"code": ...}}` body, if the answer has one. */
export function errorCode(response: HttpResponse): string | undefined {
  const code = (response.json as { error?: { code?: unknown } } | undefined)?.error?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The KeelClientError for a non-2xx answer with the API's `{"error": {...}}` body. */
export function responseError(response: HttpResponse, request: HttpRequest): KeelClientError {
  const body = (response.json as { error?: { code?: unknown; message?: unknown; outcome?: unknown } } | undefined)?.error;
  const code = typeof body?.code === 'string' ? body.code : `HTTP_${response.status}`;
  const message = typeof body?.message === 'string' ? body.message : `HTTP ${response.status}`;
  return new KeelClientError({
    code,
    message: `${describeRequest(response.endpoint, request)}: ${code}: ${message}`,
    status: response.status,
    outcome: outcomeOf(response.status, body?.outcome),
    endpoint: response.endpoint,
    ...(response.retryAfterMs === undefined ? {} : { retryAfterMs: response.retryAfterMs }),
  });
}

/** 503: refused before it was proposed. 504: the node says (default unknown). 4xx: refused. Other 5xx: unknown. */
function outcomeOf(status: number, said: unknown): Outcome {
  if (said === 'not-applied' || said === 'unknown') return status === 503 ? 'not-applied' : said;
  if (status === 503) return 'not-applied';
  if (status >= 400 && status < 500) return 'not-applied';
  return 'unknown';
}
