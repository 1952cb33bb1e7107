/**
 * The one error type the client library throws. `code` is the server's stable code
 * (NOT_LEADER, KEY_TOO_LARGE, TIMEOUT, ...) or one of the client's own
 * (NETWORK_ERROR, TIMEOUT, ABORTED, BAD_RESPONSE). `outcome` answers the question a
 * caller of a failed write must ask: could it have been applied? 'not-applied' means
 * certainly not; 'unknown' means it may have been (a timeout or a dropped connection
 * after the request was sent, and retries did not settle it).
 */
export type Outcome = 'not-applied' | 'unknown';

/** Codes the client produces itself, without an answer from a server. */
export type ClientSideCode = 'NETWORK_ERROR' | 'TIMEOUT' | 'ABORTED' | 'BAD_RESPONSE' | 'INVALID_ARGUMENT';

export interface KeelClientErrorFields {
  readonly code: string;
  readonly message: string;
  /** HTTP status, or 0 when no response arrived. */
  readonly status: number;
  readonly outcome: Outcome;
  /** The endpoint of the last attempt ('' when none was tried). */
  readonly endpoint: string;
  /** How many requests were sent for this call (1 = no retry). */
  readonly attempts?: number;
  /** The server's Retry-After, in milliseconds, when it sent one. */
  readonly retryAfterMs?: number;
  readonly cause?: unknown;
}

export class KeelClientError extends Error {
  override name = 'KeelClientError';
  readonly code: string;
  readonly status: number;
  readonly outcome: Outcome;
  readonly endpoint: string;
  readonly attempts: number;
  readonly retryAfterMs: number | undefined;

  constructor(fields: KeelClientErrorFields) {
    super(fields.message, fields.cause === undefined ? undefined : { cause: fields.cause });
    this.code = fields.code;
    this.status = fields.status;
    this.outcome = fields.outcome;
    this.endpoint = fields.endpoint;
    this.attempts = fields.attempts ?? 1;
    this.retryAfterMs = fields.retryAfterMs;
  }

  /** The same error after `attempts` requests, with the outcome of the whole call. */
  withAttempts(attempts: number, outcome: Outcome): KeelClientError {
    const suffix = attempts > 1 ? ` (after ${attempts} attempts)` : '';
    return new KeelClientError({
      code: this.code,
      message: this.message.endsWith(suffix) ? this.message : `${this.message}${suffix}`,
      status: this.status,
      outcome,
      endpoint: this.endpoint,
      attempts,
      ...(this.retryAfterMs === undefined ? {} : { retryAfterMs: this.retryAfterMs }),
      ...(this.cause === undefined ? {} : { cause: this.cause }),
    });
  }
}

/** 503 codes: the node refused the request before doing anything; try again elsewhere or later. */
export const unavailableCodes: ReadonlySet<string> = new Set(['NO_LEADER', 'NOT_LEADER', 'LEADER_CHANGED', 'TRANSFERRING', 'OVERLOADED', 'STOPPING']);

/** Codes after which the client should look for the leader again. */
export const leaderLostCodes: ReadonlySet<string> = new Set(['NO_LEADER', 'NOT_LEADER', 'LEADER_CHANGED', 'TRANSFERRING']);

export function invalidArgument(message: string): KeelClientError {
  return new KeelClientError({ code: 'INVALID_ARGUMENT', message, status: 0, outcome: 'not-applied', endpoint: '' });
}
