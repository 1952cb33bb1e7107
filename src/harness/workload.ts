/**
 * Client workloads for the real-process tests: writers that retry through any node
 * with a client session (so a retry applies at most once, thesis §6.3), a bounded
 * pool of them, and reads of a whole key prefix from one node.
 */
import { randomBytes } from 'node:crypto';
import { HttpUnreachable, describe, http } from './http.js';
import { pause } from './wait-for.js';

/** A write the cluster acknowledged (answered 200). */
export interface Acked {
  readonly key: string;
  readonly value: string;
  readonly revision: number;
}

/** A key as GET /kv?prefix= lists it. */
export interface StoredKey {
  readonly value: string;
  readonly version: number;
  readonly createRevision: number;
  readonly modRevision: number;
}

const retryPauseMs = 25;

/**
 * One client session: writes numbered 1, 2, 3..., one at a time. A write is retried
 * with the same number, through whichever node `pickUrl` gives, until a node answers
 * 200 or the deadline passes: a 503 (no leader, leader changed, overloaded), a 504
 * (outcome unknown) or no answer at all are retried; any other answer is a failure.
 */
export class SessionClient {
  private seq = 0;
  readonly clientId: string;

  constructor(
    private readonly pickUrl: () => string,
    private readonly attemptTimeoutMs: number,
    name = 'client',
  ) {
    this.clientId = `${name}-${randomBytes(6).toString('hex')}`;
  }

  async put(key: string, value: string, deadlineMs: number): Promise<Acked> {
    const seq = ++this.seq;
    let last = 'no attempt';
    for (let attemptsMax = 10_000; attemptsMax > 0 && performance.now() < deadlineMs; attemptsMax--) {
      const url = `${this.pickUrl()}/kv/${key}`;
      try {
        const answer = await http(url, {
          method: 'PUT',
          body: value,
          headers: { 'x-keel-client-id': this.clientId, 'x-keel-seq': String(seq) },
          timeoutMs: this.attemptTimeoutMs,
        });
        if (answer.status === 200) return { key, value, revision: (answer.body as { revision: number }).revision };
        if (answer.status !== 503 && answer.status !== 504) throw new Error(`PUT ${url} (session ${this.clientId}#${seq}): ${describe(answer)}`);
        last = describe(answer);
      } catch (error) {
        if (!(error instanceof HttpUnreachable)) throw error;
        last = error.message;
      }
      await pause(retryPauseMs);
    }
    throw new Error(`PUT /kv/${key} (session ${this.clientId}#${seq}) was not acknowledged before its deadline; last answer: ${last}`);
  }
}

export interface WriteLoadOptions {
  /** Writes in flight at once (one session each). */
  readonly concurrency: number;
  /** Writes issued at most; the load also ends when stop() is called. */
  readonly writesMax: number;
  readonly keyPrefix: string;
  readonly pickUrl: () => string;
  readonly attemptTimeoutMs: number;
  /** Each write must be acknowledged within this long, retries included. */
  readonly writeDeadlineMs: number;
}

/**
 * `concurrency` sessions writing distinct keys `<prefix><n>` with value `v<n>` until
 * `writesMax` are issued or stop() is called. Every write issued is retried until
 * acknowledged; one that cannot be fails the load.
 */
export class WriteLoad {
  readonly acked: Acked[] = [];
  private issued = 0;
  private stopped = false;
  private readonly done: Promise<void>;

  constructor(private readonly options: WriteLoadOptions) {
    const workers = Array.from({ length: options.concurrency }, (_, i) =>
      this.work(new SessionClient(options.pickUrl, options.attemptTimeoutMs, `${options.keyPrefix}w${i}`)),
    );
    this.done = Promise.all(workers).then(() => undefined);
    // Failures surface from finished(); this only keeps them from going unhandled first.
    this.done.catch(() => {});
  }

  get issuedCount(): number {
    return this.issued;
  }

  /** Issues no more writes; resolves with every acknowledged one once in-flight ones end. */
  async stop(): Promise<Acked[]> {
    this.stopped = true;
    return this.finished();
  }

  /** Resolves when every write is issued and acknowledged (or rejects on a failure). */
  async finished(): Promise<Acked[]> {
    await this.done;
    return this.acked;
  }

  private async work(client: SessionClient): Promise<void> {
    while (!this.stopped && this.issued < this.options.writesMax) {
      const n = this.issued++;
      try {
        this.acked.push(await client.put(`${this.options.keyPrefix}${n}`, `v${n}`, performance.now() + this.options.writeDeadlineMs));
      } catch (error) {
        // One failure fails the load: the other sessions stop issuing writes.
        this.stopped = true;
        throw error;
      }
    }
  }
}

/** Writes `count` keys with `concurrency` sessions and returns once all are acknowledged. */
export async function writeKeys(options: Omit<WriteLoadOptions, 'writesMax'> & { count: number }): Promise<Acked[]> {
  return new WriteLoad({ ...options, writesMax: options.count }).finished();
}

/** Every key under `prefix` as node `url` reads it, with the given consistency. */
export async function readPrefix(url: string, prefix: string, consistency: 'linearizable' | 'serializable'): Promise<Map<string, StoredKey>> {
  const target = `${url}/kv?prefix=${encodeURIComponent(prefix)}&consistency=${consistency}`;
  const answer = await http(target);
  if (answer.status !== 200) throw new Error(`GET ${target}: ${describe(answer)}`);
  const body = answer.body as { kvs: (StoredKey & { key: string })[]; count: number; more: boolean };
  if (body.more || body.count !== body.kvs.length) throw new Error(`GET ${target}: ${body.kvs.length} of ${body.count} keys listed (more: ${body.more})`);
  return new Map(body.kvs.map(({ key, value, version, createRevision, modRevision }) => [key, { value, version, createRevision, modRevision }]));
}

/**
 * The acknowledged writes that `stored` does not hold exactly as acknowledged: lacking,
 * with another value, or applied more than once (each key here is written once, in one
 * session, so a retry that applied twice shows as version 2 or a later revision).
 */
export function missingWrites(acked: readonly Acked[], stored: ReadonlyMap<string, StoredKey>): string[] {
  return acked
    .filter((a) => {
      const kv = stored.get(a.key);
      return kv?.value !== a.value || kv.version !== 1 || kv.modRevision !== a.revision;
    })
    .map((a) => `${a.key}=${a.value} at revision ${a.revision} (found ${JSON.stringify(stored.get(a.key) ?? null)})`);
}
