/**
 * Waiting for a condition with a deadline. Tests never sleep to synchronize: they
 * poll what the system says about itself (/status, /health, a read) until it says
 * what they expect, and the deadline is only a safety net for a broken system.
 */

export interface WaitOptions {
  /** Give up after this long. */
  readonly timeoutMs: number;
  /** What is awaited, for the error message: "a leader among nodes 1, 2". */
  readonly what: string;
  /** Pause between probes. */
  readonly intervalMs?: number;
  /** Describes the state at the deadline, for the error message. */
  readonly explain?: () => Promise<string>;
}

/** A probe's answer that means "not yet". */
type NotYet = undefined | false | null;

/**
 * Resolves with the first answer of `probe` that is not undefined, false or null.
 * A probe that throws counts as "not yet"; the last error is reported at the deadline.
 */
export async function waitFor<T>(probe: () => Promise<T | NotYet>, options: WaitOptions): Promise<T> {
  const { timeoutMs, what, intervalMs = 25 } = options;
  const deadline = performance.now() + timeoutMs;
  let lastError: unknown;
  for (let probesMax = 1_000_000; probesMax > 0; probesMax--) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false && value !== null) return value;
    } catch (error) {
      lastError = error;
    }
    if (performance.now() > deadline) break;
    await pause(intervalMs);
  }
  let message = `timed out after ${timeoutMs} ms waiting for ${what}`;
  if (lastError !== undefined) message += `; last probe error: ${lastError instanceof Error ? lastError.message : String(lastError)}`;
  if (options.explain) {
    try {
      message += `\n${await options.explain()}`;
    } catch (error) {
      message += `\n(could not describe the state: ${(error as Error).message})`;
    }
  }
  throw new Error(message);
}

/** A pause between attempts or probes; never a way to wait for something to happen. */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
