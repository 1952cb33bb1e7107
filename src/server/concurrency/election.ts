/**
 * etcd's Election service, run inside the node (etcd's v3election server runs
 * concurrency.Election the same way). A candidate's key is `<name>/<lease hex>`, its
 * value the candidate's proposal; the oldest key under `<name>/` leads.
 *   - Campaign puts the key (or finds it, and proclaims the new value over it), waits
 *     until it is the oldest, and answers with the LeaderKey {name, key, rev: the key's
 *     create revision, lease}. A candidate that gives up resigns (deletes its key).
 *   - Proclaim and Resign act on a LeaderKey only while its key still has that create
 *     revision: Proclaim otherwise fails "election: not leader"; Resign does nothing.
 *   - Leader reads the oldest key ("election: no leader" when there is none).
 *   - Observe sends the leader's key each time the leader or its value changes.
 */
import { type KeyValue, prefixEnd } from '../../kv/index.js';
import type { CallerKv } from './caller-kv.js';
import { ConcurrencyError } from './errors.js';
import { namePrefix, oldestUnder, SESSION_TTL_SECONDS, sessionKey } from './session-key.js';
import { waitForTurn } from './wait-turn.js';
import { WatchQueue } from './watch-queue.js';

/** etcd's LeaderKey: what proves leadership to Proclaim and Resign. */
export interface LeaderKey {
  readonly name: Uint8Array;
  readonly key: Uint8Array;
  /** The key's create revision while this candidate holds it. */
  readonly rev: number;
  readonly lease: number;
}

export async function campaign(
  kv: CallerKv,
  name: Uint8Array,
  leaseId: number,
  value: Uint8Array,
  signal: AbortSignal,
): Promise<{ readonly leader: LeaderKey; readonly revision: number }> {
  signal.throwIfAborted();
  const lease = leaseId !== 0 ? leaseId : await kv.grantLease(SESSION_TTL_SECONDS);
  const prefix = namePrefix(name);
  const key = sessionKey(prefix, lease);
  const { revision, response } = await kv.txn({
    compare: [{ key, target: 'create', result: 'equal', operand: 0 }],
    success: [{ type: 'put', key, value, lease }],
    failure: [{ type: 'range', key }],
  });
  const existing = response.responses[0]?.type === 'range' ? response.responses[0].kvs[0] : undefined;
  const leader: LeaderKey = { name, key, rev: response.succeeded || !existing ? revision : existing.createRevision, lease };
  try {
    // The lease campaigned before under another value: the value is the new proposal.
    if (existing && !Buffer.from(existing.value).equals(value)) await proclaim(kv, leader, value);
    signal.throwIfAborted();
    await waitForTurn(kv, { prefix, ownKey: key, ownRevision: leader.rev, expired: 'ELECTION_SESSION_EXPIRED' }, signal);
  } catch (error) {
    if (!(error instanceof ConcurrencyError && error.code === 'ELECTION_SESSION_EXPIRED')) await resign(kv, leader).catch(() => undefined);
    throw error;
  }
  // etcd answers with the header of the campaign's own transaction.
  return { leader, revision };
}

/** Sets the leader's value; answers with the revision of the change. */
export async function proclaim(kv: CallerKv, leader: LeaderKey, value: Uint8Array): Promise<number> {
  const { revision, response } = await kv.txn({
    compare: [{ key: leader.key, target: 'create', result: 'equal', operand: leader.rev }],
    success: [{ type: 'put', key: leader.key, value, lease: leader.lease }],
    failure: [],
  });
  if (!response.succeeded) throw new ConcurrencyError('ELECTION_NOT_LEADER');
  return revision;
}

/** Deletes the leader key if it is still this leader's; answers with the revision after. */
export async function resign(kv: CallerKv, leader: LeaderKey): Promise<number> {
  const { revision } = await kv.txn({
    compare: [{ key: leader.key, target: 'create', result: 'equal', operand: leader.rev }],
    success: [{ type: 'deleteRange', key: leader.key }],
    failure: [],
  });
  return revision;
}

export async function currentLeader(kv: CallerKv, name: Uint8Array): Promise<{ readonly kv: KeyValue; readonly revision: number }> {
  const read = await kv.read(oldestUnder(namePrefix(name)));
  const leader = read.kvs[0];
  if (!leader) throw new ConcurrencyError('ELECTION_NO_LEADER');
  return { kv: leader, revision: read.revision };
}

/** Receives each leader (or new value of it) and the revision it was seen at; may wait (backpressure). */
export type LeaderSink = (leader: KeyValue, revision: number) => Promise<void>;

/** Sends the leader to `sink` each time it changes, until `signal` aborts (then rejects). */
export async function observe(kv: CallerKv, name: Uint8Array, sink: LeaderSink, signal: AbortSignal): Promise<never> {
  const prefix = namePrefix(name);
  const oldest = oldestUnder(prefix);
  for (;;) {
    signal.throwIfAborted();
    const read = await kv.read(oldest);
    const found = read.kvs[0] ? { leader: read.kvs[0], revision: read.revision } : await firstCandidate(kv, prefix, read.revision, signal);
    if (!found) continue;
    await sink(found.leader, found.revision);
    await followLeader(kv, found.leader.key, found.revision, sink, signal);
  }
}

/** No candidate at `revision`: the first put under the prefix after it (undefined: read again). */
async function firstCandidate(
  kv: CallerKv,
  prefix: Uint8Array,
  revision: number,
  signal: AbortSignal,
): Promise<{ leader: KeyValue; revision: number } | undefined> {
  const watches = new WatchQueue(kv.node);
  try {
    watches.watch({ key: prefix, rangeEnd: prefixEnd(prefix), startRevision: revision + 1, noPut: false, noDelete: true });
    for (;;) {
      const message = await watches.next(signal);
      if (message.type === 'canceled') return undefined;
      const first = message.type === 'events' ? message.events[0] : undefined;
      if (first) return { leader: first.kv, revision: first.kv.modRevision };
    }
  } finally {
    watches.close();
  }
}

/** Sends each new value of the leader's key until it is deleted (or its history compacted). */
async function followLeader(kv: CallerKv, key: Uint8Array, revision: number, sink: LeaderSink, signal: AbortSignal): Promise<void> {
  const watches = new WatchQueue(kv.node);
  try {
    watches.watch({ key, startRevision: revision + 1, noPut: false, noDelete: false });
    for (;;) {
      const message = await watches.next(signal);
      if (message.type === 'canceled') return;
      if (message.type !== 'events') continue;
      for (const event of message.events) {
        if (event.type === 'delete') return;
        await sink(event.kv, event.kv.modRevision);
      }
    }
  } finally {
    watches.close();
  }
}
