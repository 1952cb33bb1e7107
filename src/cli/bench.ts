/**
 * The load generator behind `keel bench`: `clients` concurrent loops, each sending one
 * request at a time through a target (bench-targets.ts: Keel's REST client, where every
 * loop's writes get their own session and retries are part of the measured latency, or
 * the etcd gRPC API of Keel or of etcd itself), over a key space of `keys`
 * keys, until the duration passes or `requests` have been sent. Latencies go into an
 * HDR histogram in microseconds. Requests in flight at the deadline are allowed to
 * finish and are counted; none starts after it.
 */
import type { Consistency } from '../client/index.js';
import type { BenchTarget, Watchers } from './bench-targets.js';

/**
 * keepalive: each client renews its own lease, one keep-alive at a time. txn: a compare
 * and a put in one transaction. watch: the clients put, while `watchers` watchers of the
 * key prefix each receive every put (fan-out).
 */
export type BenchOp = 'put' | 'get' | 'keepalive' | 'txn' | 'watch';

/** After a fan-out run, how long the watchers may take to receive the events still on their way. */
const watchDrainMsMax = 10_000;

export interface BenchOptions {
  readonly clients: number;
  readonly op: BenchOp;
  /** For get: linearizable (default) or serializable. */
  readonly consistency: Consistency;
  readonly valueSize: number;
  readonly keys: number;
  /** The run stops starting requests after this long. */
  readonly durationMs: number;
  /** The run stops after this many requests (counting failed ones), if given. */
  readonly requests?: number | undefined;
  readonly keyPrefix: string;
  /** For get: write every key of the key space first, so reads find values. */
  readonly prefill: boolean;
  /** For watch: how many watchers receive every put. */
  readonly watchers?: number | undefined;
}

export interface LatencySummaryMs {
  readonly min: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
}

export interface BenchResult {
  readonly target: BenchTarget['name'];
  readonly op: BenchOp;
  readonly consistency: Consistency | null;
  readonly clients: number;
  readonly valueSize: number;
  readonly keys: number;
  /** Requests that succeeded. */
  readonly ok: number;
  readonly errors: number;
  readonly errorsByCode: Readonly<Record<string, number>>;
  readonly elapsedMs: number;
  /** Successful requests per second. */
  readonly throughput: number;
  /** Latency of successful requests. */
  readonly latencyMs: LatencySummaryMs;
  readonly stoppedBy: 'duration' | 'requests';
  /** For watch: events the watchers received, of `expected` (successful puts times watchers), and per second from the first put to the last event. */
  readonly events?: { readonly watchers: number; readonly delivered: number; readonly expected: number; readonly perSecond: number };
}

export interface BenchProgress {
  readonly started: number;
  readonly ok: number;
  readonly errors: number;
  readonly elapsedMs: number;
}

export interface BenchHooks {
  /** Called about every `progressEveryMs` while the run lasts. */
  readonly onProgress?: (progress: BenchProgress) => void;
  readonly progressEveryMs?: number;
  /** Stops the run early (requests in flight finish). */
  readonly signal?: AbortSignal;
}

export const benchClientsMax = 10_000;
export const benchWatchersMax = 10_000;
export const benchWatchersDefault = 1_000;

export function checkBenchOptions(options: BenchOptions): void {
  const problems: string[] = [];
  if (!Number.isSafeInteger(options.clients) || options.clients < 1 || options.clients > benchClientsMax)
    problems.push(`--clients must be 1..${benchClientsMax}`);
  if (!Number.isSafeInteger(options.valueSize) || options.valueSize < 0) problems.push('--value-size must be a non-negative integer');
  if (!Number.isSafeInteger(options.keys) || options.keys < 1) problems.push('--keys must be a positive integer');
  if (!(Number.isFinite(options.durationMs) && options.durationMs > 0)) problems.push('--duration must be a positive number of seconds');
  if (options.requests !== undefined && (!Number.isSafeInteger(options.requests) || options.requests < 1))
    problems.push('--requests must be a positive integer');
  if (options.watchers !== undefined && (!Number.isSafeInteger(options.watchers) || options.watchers < 1 || options.watchers > benchWatchersMax))
    problems.push(`--watchers must be 1..${benchWatchersMax}`);
  if (problems.length > 0) throw new RangeError(problems.join('; '));
}

export function benchKey(options: Pick<BenchOptions, 'keyPrefix' | 'keys'>, index: number): string {
  return `${options.keyPrefix}${String(index).padStart(String(options.keys - 1).length, '0')}`;
}

/** A printable value of `size` bytes (ASCII, so it is also its own UTF-8). */
export function benchValue(size: number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  let out = '';
  for (let i = 0; i < size; i++) out += alphabet[(i * 7919 + 13) % alphabet.length];
  return out;
}

/** Writes every key once, `clients` at a time. */
export async function prefill(target: BenchTarget, options: BenchOptions, signal?: AbortSignal): Promise<void> {
  const value = benchValue(options.valueSize);
  let next = 0;
  const worker = async (id: number): Promise<void> => {
    while (next < options.keys && !signal?.aborted) {
      const index = next++;
      await target.put(id, benchKey(options, index), value);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.clients, options.keys) }, (_, id) => worker(id)));
}

export async function runBench(target: BenchTarget, options: BenchOptions, hooks: BenchHooks = {}): Promise<BenchResult> {
  checkBenchOptions(options);
  // Loaded when a benchmark runs, not by every `keel` command (a node's start-up included).
  const { build } = await import('hdr-histogram-js');
  const histogram = build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });
  const value = benchValue(options.valueSize);
  const txn = target.txn;
  if (options.op === 'txn' && !txn) throw new RangeError(`--op txn is measured through the etcd API (--target etcd-grpc), not ${target.name}`);
  const watcherCount = options.watchers ?? benchWatchersDefault;
  let watchers: Watchers | undefined;
  if (options.op === 'watch') {
    if (!target.watchers) throw new RangeError(`--op watch is measured through the etcd API (--target etcd-grpc), not ${target.name}`);
    watchers = await target.watchers(watcherCount, options.keyPrefix);
  }
  const errorsByCode: Record<string, number> = {};
  let started = 0;
  let ok = 0;
  let errors = 0;
  let stoppedBy: BenchResult['stoppedBy'] = 'duration';
  let stop = false;
  const begin = performance.now();
  const deadline = setTimeout(() => {
    stop = true;
  }, options.durationMs);
  const onAbort = (): void => {
    stop = true;
  };
  hooks.signal?.addEventListener('abort', onAbort, { once: true });
  const progress = hooks.onProgress
    ? setInterval(() => hooks.onProgress?.({ started, ok, errors, elapsedMs: performance.now() - begin }), hooks.progressEveryMs ?? 200)
    : undefined;

  const worker = async (id: number): Promise<void> => {
    for (;;) {
      if (stop) return;
      if (options.requests !== undefined && started >= options.requests) {
        stoppedBy = 'requests';
        return;
      }
      started += 1;
      const key = benchKey(options, Math.floor(Math.random() * options.keys));
      const sent = performance.now();
      try {
        if (options.op === 'put' || options.op === 'watch') await target.put(id, key, value);
        else if (options.op === 'txn') await txn?.(id, key, value);
        else if (options.op === 'keepalive') await target.keepAlive(id);
        else await target.get(id, key, options.consistency);
        histogram.recordValue(Math.max(1, Math.round((performance.now() - sent) * 1000)));
        ok += 1;
      } catch (error) {
        errors += 1;
        const code = target.errorCode(error);
        errorsByCode[code] = (errorsByCode[code] ?? 0) + 1;
      }
    }
  };
  let events: BenchResult['events'];
  let elapsedMs: number;
  try {
    await Promise.all(Array.from({ length: options.clients }, (_, id) => worker(id)));
    // The requests' time: a fan-out's events still on their way are counted apart.
    elapsedMs = performance.now() - begin;
    if (watchers) events = await drainWatchers(watchers, ok * watcherCount, watcherCount, begin);
  } finally {
    clearTimeout(deadline);
    if (progress) clearInterval(progress);
    hooks.signal?.removeEventListener('abort', onAbort);
    watchers?.close();
  }
  hooks.onProgress?.({ started, ok, errors, elapsedMs });
  // A percentile is reported as the top of its bucket; it never exceeds the largest sample.
  const ms = (micros: number): number => Math.round(Math.min(micros, histogram.maxValue)) / 1000;
  const latencyMs: LatencySummaryMs =
    ok === 0
      ? { min: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 }
      : {
          min: ms(histogram.minNonZeroValue),
          mean: ms(histogram.mean),
          p50: ms(histogram.getValueAtPercentile(50)),
          p90: ms(histogram.getValueAtPercentile(90)),
          p99: ms(histogram.getValueAtPercentile(99)),
          p999: ms(histogram.getValueAtPercentile(99.9)),
          max: ms(histogram.maxValue),
        };
  histogram.destroy();
  return {
    target: target.name,
    op: options.op,
    consistency: options.op === 'get' ? options.consistency : null,
    clients: options.clients,
    valueSize: options.valueSize,
    keys: options.keys,
    ok,
    errors,
    errorsByCode,
    elapsedMs: Math.round(elapsedMs),
    throughput: elapsedMs > 0 ? Math.round((ok / elapsedMs) * 1000 * 10) / 10 : 0,
    latencyMs,
    stoppedBy,
    ...(events ? { events } : {}),
  };
}

/** Waits (polling, at most watchDrainMsMax) until the watchers have every expected event, then counts them. */
async function drainWatchers(watchers: Watchers, expected: number, count: number, begin: number): Promise<NonNullable<BenchResult['events']>> {
  const drainDeadline = performance.now() + watchDrainMsMax;
  while (watchers.delivered() < expected && performance.now() < drainDeadline) await new Promise((resolve) => setTimeout(resolve, 10));
  const delivered = watchers.delivered();
  const seconds = (watchers.lastEventAt() - begin) / 1000;
  return { watchers: count, delivered, expected, perSecond: seconds > 0 ? Math.round(delivered / seconds) : 0 };
}

export function formatBenchResult(result: BenchResult): string {
  const seconds = (result.elapsedMs / 1000).toFixed(2);
  const what = result.op === 'get' ? `get (${result.consistency})` : result.op;
  const l = result.latencyMs;
  const lines = [
    `${what} over ${result.target}: ${result.clients} client${result.clients === 1 ? '' : 's'}, ${result.valueSize}-byte values, ${result.keys} keys, ${seconds} s (stopped by ${result.stoppedBy})`,
    `requests    ${result.ok} ok, ${result.errors} failed`,
    `throughput  ${result.throughput.toFixed(1)} ops/s`,
    `latency ms  p50 ${l.p50.toFixed(3)}  p90 ${l.p90.toFixed(3)}  p99 ${l.p99.toFixed(3)}  p99.9 ${l.p999.toFixed(3)}  max ${l.max.toFixed(3)}  (mean ${l.mean.toFixed(3)}, min ${l.min.toFixed(3)})`,
  ];
  const events = result.events;
  if (events) lines.push(`watchers    ${events.watchers}: ${events.delivered} of ${events.expected} events delivered, ${events.perSecond} events/s`);
  const codes = Object.entries(result.errorsByCode).sort((a, b) => b[1] - a[1]);
  if (codes.length > 0) lines.push(`errors      ${codes.map(([code, count]) => `${code} ${count}`).join(', ')}`);
  return `${lines.join('\n')}\n`;
}
