/**
 * Exponential backoff with full jitter: before retry n (0-based) the client waits a
 * uniformly random time in [0, min(maxMs, initialMs · multiplier^n)). Jitter spreads
 * the retries of many clients that failed together (a leader crash), so they do not
 * all arrive at the new leader in the same instant.
 */
export interface BackoffOptions {
  /** The ceiling of the first delay. Default 50 ms. */
  readonly initialMs?: number;
  /** No delay is longer. Default 2000 ms. */
  readonly maxMs?: number;
  /** Growth per retry. Default 2. */
  readonly multiplier?: number;
}

export interface BackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly multiplier: number;
}

export const defaultBackoff: BackoffPolicy = { initialMs: 50, maxMs: 2_000, multiplier: 2 };

export function backoffPolicy(options: BackoffOptions | undefined): BackoffPolicy {
  const policy = { ...defaultBackoff, ...definedFields(options ?? {}) };
  if (!(policy.initialMs >= 0) || !(policy.maxMs >= policy.initialMs) || !(policy.multiplier >= 1)) {
    throw new RangeError(`invalid backoff ${JSON.stringify(policy)}: need 0 <= initialMs <= maxMs and multiplier >= 1`);
  }
  return policy;
}

/** The most a delay before retry `retry` (0 = the first retry) can be. */
export function backoffCeilingMs(policy: BackoffPolicy, retry: number): number {
  return Math.min(policy.maxMs, policy.initialMs * policy.multiplier ** Math.min(retry, 64));
}

/** A delay before retry `retry`; `random` returns a number in [0, 1). */
export function backoffDelayMs(policy: BackoffPolicy, retry: number, random: () => number): number {
  return Math.floor(random() * backoffCeilingMs(policy, retry));
}

/** Waits `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function definedFields<T extends object>(object: T): Partial<T> {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined)) as Partial<T>;
}
