/**
 * Single REST attempts for the chaos workloads, each classified the way the checker
 * needs it: `ok` (with the answer), `fail` (certainly not applied: the node said so,
 * or a read that changes nothing got no answer) or `info` (unknown: a timeout, no
 * answer, or an error that may have applied). Nothing is retried here — each attempt
 * is its own operation in the history, which is what lets the checker judge it.
 */
import { HttpUnreachable, http } from '../e2e/http.js';
import type { HttpAnswer, HttpOptions } from '../e2e/http.js';

export type Attempt<T> = { readonly kind: 'ok'; readonly value: T } | { readonly kind: 'fail' | 'info'; readonly why: string };

/** The reason of a fail the cluster decided on its own (a guard that did not hold). */
export const guardFailed = 'the guard did not hold';

/** A write: 200 is ok; an error the server marks not-applied is a fail; anything else unknown. */
export async function writeAttempt<T>(url: string, options: HttpOptions, onOk: (answer: HttpAnswer) => Attempt<T>): Promise<Attempt<T>> {
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
export async function readAttempt<T>(url: string, options: HttpOptions, onAnswer: (answer: HttpAnswer) => Attempt<T>): Promise<Attempt<T>> {
  try {
    const answer = await http(url, options);
    if (answer.status === 200 || answer.status === 404) return onAnswer(answer);
    return { kind: 'fail', why: String(answer.status) };
  } catch (error) {
    if (!(error instanceof HttpUnreachable)) throw error;
    return { kind: 'fail', why: error.message };
  }
}

export interface BatchKv {
  readonly key: string;
  readonly value: string;
  readonly modRevision: number;
}

/** The kvs of a POST /batch answer's get results (null: absent). */
export function batchGets(answer: HttpAnswer): (BatchKv | null)[] {
  const body = answer.body as { results: { op: string; kv?: BatchKv | null }[] };
  return body.results.filter((r) => r.op === 'get').map((r) => r.kv ?? null);
}
