/**
 * The chaos workloads' operations over Keel's REST API: GET/PUT /kv, and POST /batch
 * with an "if" guard for compare-and-set and guarded transfers. Nothing is retried
 * here — each attempt is its own operation in the history.
 */
import { HttpUnreachable, describe, http, type HttpAnswer, type HttpOptions } from '../harness/index.js';
import type { Attempt } from './attempt.js';
import { guardFailed } from './attempt.js';
import type { ChaosClient, StoredValue } from './chaos-client.js';

export class RestChaosClient implements ChaosClient {
  readonly kind = 'rest';

  constructor(
    private readonly urlOf: (node: number) => string,
    private readonly timeoutMs: number,
  ) {}

  read(node: number, key: string): Promise<Attempt<string | null>> {
    return readAttempt(`${this.urlOf(node)}/kv/${key}`, { timeoutMs: this.timeoutMs }, (answer) => ({
      kind: 'ok',
      value: answer.status === 404 ? null : (answer.body as { value: string }).value,
    }));
  }

  write(node: number, key: string, value: string): Promise<Attempt<true>> {
    return writeAttempt(`${this.urlOf(node)}/kv/${key}`, { method: 'PUT', body: value, timeoutMs: this.timeoutMs }, () => ({ kind: 'ok', value: true }));
  }

  cas(node: number, key: string, expected: string | null, value: string): Promise<Attempt<true>> {
    const guard = expected === null ? { key, version: 0 } : { key, value: expected };
    return this.guardedBatch(node, [guard], [{ op: 'set', key, value }]);
  }

  readAll(node: number, keys: readonly string[]): Promise<Attempt<(StoredValue | null)[]>> {
    const body = { ops: keys.map((key) => ({ op: 'get', key })) };
    return readAttempt(`${this.urlOf(node)}/batch`, { method: 'POST', body, timeoutMs: this.timeoutMs }, (answer) => {
      if (answer.status !== 200) return { kind: 'fail', why: String(answer.status) };
      const results = (answer.body as { results: { kv?: StoredValue | null }[] }).results;
      return { kind: 'ok', value: results.map((r) => (r.kv ? { key: r.kv.key, value: r.kv.value, modRevision: r.kv.modRevision } : null)) };
    });
  }

  guardedSet(node: number, guards: readonly StoredValue[], sets: readonly { key: string; value: string }[]): Promise<Attempt<true>> {
    return this.guardedBatch(
      node,
      guards.map((g) => ({ key: g.key, modRevision: g.modRevision })),
      sets.map((s) => ({ op: 'set', ...s })),
    );
  }

  async listPrefix(node: number, prefix: string): Promise<Set<string>> {
    const answer = await http(`${this.urlOf(node)}/kv?prefix=${encodeURIComponent(prefix)}`, { timeoutMs: this.timeoutMs });
    if (answer.status !== 200) throw new Error(`GET /kv?prefix=${prefix}: ${describe(answer)}`);
    const body = answer.body as { kvs: { key: string }[]; more: boolean };
    if (body.more) throw new Error(`the listing of ${prefix} is incomplete (more: true)`);
    return new Set(body.kvs.map((kv) => kv.key.slice(prefix.length)));
  }

  close(): void {}

  private guardedBatch(node: number, guard: readonly object[], ops: readonly object[]): Promise<Attempt<true>> {
    return writeAttempt(`${this.urlOf(node)}/batch`, { method: 'POST', body: { if: guard, ops }, timeoutMs: this.timeoutMs }, (answer) =>
      (answer.body as { succeeded: boolean }).succeeded ? { kind: 'ok', value: true } : { kind: 'fail', why: guardFailed },
    );
  }
}

/** A write: 200 is ok; an error the server marks not-applied (or a 4xx) is a fail; anything else unknown. */
async function writeAttempt<T>(url: string, options: HttpOptions, onOk: (answer: HttpAnswer) => Attempt<T>): Promise<Attempt<T>> {
  let answer: HttpAnswer;
  try {
    answer = await http(url, options);
  } catch (error) {
    if (!(error instanceof HttpUnreachable)) throw error;
    // The request may have reached the node before the answer was lost.
    return { kind: 'info', why: error.message };
  }
  if (answer.status === 200) return onOk(answer);
  const body = answer.body as { error?: { outcome?: unknown; code?: unknown } } | undefined;
  const why = `${answer.status} ${String(body?.error?.code ?? '')}`;
  // 4xx: refused at validation, nothing proposed.
  if (body?.error?.outcome === 'not-applied' || (answer.status >= 400 && answer.status < 500)) return { kind: 'fail', why };
  return { kind: 'info', why };
}

/** A read: it changes nothing, so any answer but 200/404 (or none) is a fail. */
async function readAttempt<T>(url: string, options: HttpOptions, onAnswer: (answer: HttpAnswer) => Attempt<T>): Promise<Attempt<T>> {
  try {
    const answer = await http(url, options);
    if (answer.status === 200 || answer.status === 404) return onAnswer(answer);
    return { kind: 'fail', why: String(answer.status) };
  } catch (error) {
    if (!(error instanceof HttpUnreachable)) throw error;
    return { kind: 'fail', why: error.message };
  }
}
