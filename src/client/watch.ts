/**
 * Watching keys over the REST API's server-sent events (GET /watch/KEY), with Node's
 * built-in fetch. The stream resumes by itself: when a node stops answering, the
 * connection drops or the node shuts down, the watch moves to the next endpoint and
 * starts at the last revision it delivered + 1, so no event is lost or repeated.
 * Only a watch whose history was compacted away (COMPACTED) or a bad request ends it
 * with an error.
 */
import type { WatchEventJson, WatchMessageJson } from '../wire/index.js';
import { backoffDelayMs, sleep, type BackoffPolicy } from './backoff.js';
import { percentEncode, type Bytes } from './bytes.js';
import { integer, keyValue, object, ShapeError } from './decode.js';
import { KeelClientError } from './errors.js';
import type { KeyValueRecord } from './types.js';
import type { FetchFunction } from './tls.js';

export interface WatchOptions {
  /** Watch every key starting with the key. */
  readonly prefix?: boolean;
  /** The first revision to deliver; default: the next change. */
  readonly revision?: number;
  /** Deliver each event with the key as it was before it. */
  readonly prevKv?: boolean;
  readonly noPut?: boolean;
  readonly noDelete?: boolean;
  /** Ask for empty batches with the current revision while idle (the server's interval). */
  readonly progressNotify?: boolean;
  /** Ends the watch (the iteration finishes without an error). */
  readonly signal?: AbortSignal;
}

export interface WatchEvent {
  readonly type: 'put' | 'delete';
  /** A put: the key as written; a delete: key and modRevision (the deleting revision), the rest zero. */
  readonly kv: KeyValueRecord;
  readonly prevKv?: KeyValueRecord;
}

/** Events of whole revisions; `revision`: every event of the watch up to it has been delivered. */
export interface WatchBatch {
  readonly revision: number;
  /** Empty for a progress notification. */
  readonly events: readonly WatchEvent[];
}

export interface WatchContext {
  readonly fetch: FetchFunction;
  readonly endpoints: () => readonly string[];
  readonly backoff: BackoffPolicy;
  readonly random: () => number;
}

/** Consecutive failed connections before the watch gives up with the last error. */
const reconnectsMax = 30;

export async function* watchEvents(context: WatchContext, key: Bytes, options: WatchOptions): AsyncGenerator<WatchBatch> {
  // The last revision delivered; the next connection asks for the one after it.
  let delivered = options.revision !== undefined && options.revision > 0 ? options.revision - 1 : undefined;
  let failures = 0;
  let turn = 0;
  for (;;) {
    if (options.signal?.aborted) return;
    const endpoints = context.endpoints();
    const endpoint = endpoints[turn++ % endpoints.length] as string;
    let lastError: KeelClientError;
    try {
      for await (const message of readEventStream(context.fetch, endpoint, watchPath(key, options, delivered), options.signal)) {
        const json = object<WatchMessageJson>(JSON.parse(message.data), 'watch message');
        switch (message.event) {
          case 'created':
            delivered ??= integer(json, 'revision', 'created');
            failures = 0;
            break;
          case 'events':
          case 'progress': {
            const batch = watchBatch(json);
            delivered = batch.revision;
            yield batch;
            break;
          }
          case 'canceled':
            if (json['code'] === 'STOPPING') break;
            throw new KeelClientError({
              code: String(json['code']),
              message: `${endpoint}: watch canceled: ${String(json['reason'])}`,
              status: 200,
              outcome: 'not-applied',
              endpoint,
            });
        }
      }
      lastError = new KeelClientError({ code: 'NETWORK_ERROR', message: `${endpoint}: the watch stream ended`, status: 0, outcome: 'not-applied', endpoint });
    } catch (error) {
      if (options.signal?.aborted) return;
      if (error instanceof KeelClientError && error.status >= 400 && error.status < 500) throw error;
      if (error instanceof KeelClientError && error.status === 200) throw error;
      if (error instanceof ShapeError || error instanceof SyntaxError) {
        throw new KeelClientError({
          code: 'BAD_RESPONSE',
          message: `${endpoint}: bad watch message: ${error.message}`,
          status: 200,
          outcome: 'not-applied',
          endpoint,
        });
      }
      lastError =
        error instanceof KeelClientError
          ? error
          : new KeelClientError({
              code: 'NETWORK_ERROR',
              message: `${endpoint}: ${(error as Error).message}`,
              status: 0,
              outcome: 'not-applied',
              endpoint,
              cause: error,
            });
    }
    if (++failures > reconnectsMax) throw lastError;
    await sleep(backoffDelayMs(context.backoff, failures - 1, context.random), options.signal).catch(() => undefined);
  }
}

function watchPath(key: Bytes, options: WatchOptions, delivered: number | undefined): string {
  const query = new URLSearchParams();
  for (const flag of ['prefix', 'prevKv', 'noPut', 'noDelete', 'progressNotify'] as const) if (options[flag]) query.set(flag, 'true');
  if (delivered !== undefined) query.set('rev', String(delivered + 1));
  return `/watch/${percentEncode(key)}?${query.toString()}`;
}

function watchBatch(json: Record<string, unknown>): WatchBatch {
  const events = json['events'] ?? [];
  if (!Array.isArray(events)) throw new ShapeError('watch message.events is not an array');
  return {
    revision: integer(json, 'revision', 'watch message'),
    events: events.map((e, i): WatchEvent => {
      const event = object<WatchEventJson>(e, `events[${i}]`);
      const type = event['type'];
      if (type !== 'put' && type !== 'delete') throw new ShapeError(`events[${i}].type is ${JSON.stringify(type)}`);
      const kv = type === 'put' ? keyValue(event['kv'], `events[${i}].kv`) : deletedKey(event['kv'], i);
      return { type, kv, ...(event['prevKv'] ? { prevKv: keyValue(event['prevKv'], `events[${i}].prevKv`) } : {}) };
    }),
  };
}

function deletedKey(value: unknown, i: number): KeyValueRecord {
  const json = object<WatchEventJson['kv']>(value, `events[${i}].kv`);
  return keyValue({ ...json, value: '', createRevision: 0, version: 0, lease: 0 }, `events[${i}].kv`);
}

interface SseMessage {
  readonly event: string;
  readonly data: string;
}

/** The messages of a text/event-stream response; an HTTP error answer becomes a KeelClientError. */
async function* readEventStream(fetch: FetchFunction, endpoint: string, path: string, signal: AbortSignal | undefined): AsyncGenerator<SseMessage> {
  const response = await fetch(`${endpoint}${path}`, { headers: { accept: 'text/event-stream' }, ...(signal ? { signal } : {}) });
  if (response.status !== 200 || !response.body) {
    const text = await response.text();
    let code = `HTTP_${response.status}`;
    let message = text;
    try {
      const error = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error;
      code = error?.code ?? code;
      message = error?.message ?? text;
    } catch {
      // not JSON: keep the text
    }
    throw new KeelClientError({ code, message: `${endpoint}${path}: ${message}`, status: response.status, outcome: 'not-applied', endpoint });
  }
  const decoder = new TextDecoder();
  let buffered = '';
  for await (const chunk of response.body ?? []) {
    buffered += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffered.indexOf('\n\n')) >= 0) {
      const block = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      yield { event, data: data.join('\n') };
    }
  }
}
