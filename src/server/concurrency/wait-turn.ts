/**
 * Waiting for one's turn under a prefix, as etcd's lock and election recipes do
 * (concurrency.waitDeletes): the holder is the key with the lowest create revision, so
 * a waiter whose key was created at `ownRevision` holds the prefix once every key
 * created before it is gone. It watches only the newest of those (the one just before
 * it, not the holder: no herd wakes when the holder goes) and reads again when that one
 * is deleted.
 *
 * Unlike etcd 3.4, it also watches its own key: when the waiter's lease expires, its key
 * goes, and the wait fails at once with `expired` instead of later "succeeding" without
 * a key (etcd 3.5 checks the key at the end; this notices sooner).
 */
import { prefixEnd } from '../../kv/index.js';
import type { CallerKv } from './caller-kv.js';
import { ConcurrencyError } from './errors.js';
import type { ConcurrencyErrorCode } from './errors.js';
import { WatchQueue } from './watch-queue.js';

export interface Turn {
  readonly prefix: Uint8Array;
  readonly ownKey: Uint8Array;
  readonly ownRevision: number;
  /** The error when the waiter's own key is gone. */
  readonly expired: ConcurrencyErrorCode;
}

/** Resolves with the revision at which the waiter was seen to hold the prefix. */
export async function waitForTurn(kv: CallerKv, turn: Turn, signal: AbortSignal): Promise<number> {
  for (;;) {
    signal.throwIfAborted();
    const before = await kv.read({
      key: turn.prefix,
      rangeEnd: prefixEnd(turn.prefix),
      maxCreateRevision: turn.ownRevision - 1,
      sortTarget: 'create',
      sortOrder: 'descend',
      limit: 1,
      keysOnly: true,
    });
    // The same local state the read above saw, or newer: no second round trip.
    if ((await kv.get(turn.ownKey, 'serializable')) === undefined) throw new ConcurrencyError(turn.expired);
    const newest = before.kvs[0];
    if (!newest) return before.revision;
    await untilDeleted(kv, newest.key, turn, before.revision, signal);
  }
}

/** Until `key` is deleted after `revision` (or its history is compacted: read again). */
async function untilDeleted(kv: CallerKv, key: Uint8Array, turn: Turn, revision: number, signal: AbortSignal): Promise<void> {
  const watches = new WatchQueue(kv.node);
  try {
    const deletesOnly = { startRevision: revision + 1, noPut: true, noDelete: false };
    const own = watches.watch({ key: turn.ownKey, ...deletesOnly });
    const other = watches.watch({ key, ...deletesOnly });
    for (;;) {
      const message = await watches.next(signal);
      if (message.type === 'canceled') return;
      if (message.type !== 'events' || message.events.length === 0) continue;
      if (message.watchId === own) throw new ConcurrencyError(turn.expired);
      if (message.watchId === other) return;
    }
  } finally {
    watches.close();
  }
}
