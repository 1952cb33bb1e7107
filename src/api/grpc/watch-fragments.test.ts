import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fragmentsOf } from './watch-fragments.js';
import type { KvEvent } from '../../kv/types.js';
import type { StreamMessage } from '../../replica/watch-session.js';

const event = (key: string, valueBytes: number): KvEvent => ({
  type: 'put',
  kv: { key: Buffer.from(key), value: new Uint8Array(valueBytes), createRevision: 5, modRevision: 5, version: 1, lease: 0 },
});

const events = [event('a', 600), event('b', 600), event('c', 600)];
const message = (fragment: boolean): StreamMessage => ({ type: 'events', watchId: 3, events, revision: 5, ...(fragment ? { fragment } : {}) });

test('a watcher that asked for fragment gets an events message over the limit in pieces, all but the last marked', () => {
  const pieces = fragmentsOf(message(true), 1_400);
  assert.deepEqual(
    pieces.map((p) => [p.more, p.message.type === 'events' ? p.message.events.map((e) => Buffer.from(e.kv.key).toString()) : []]),
    [
      [true, ['a', 'b']],
      [false, ['c']],
    ],
  );
  for (const { message: piece } of pieces) assert.deepEqual([piece.type, 'watchId' in piece && piece.watchId, piece.revision], ['events', 3, 5]);
});

test('one event larger than the limit is one piece; a small message or a watcher without fragment is sent whole', () => {
  assert.deepEqual(
    fragmentsOf(message(true), 100).map((p) => p.more),
    [true, true, false],
  );
  assert.equal(fragmentsOf(message(true), 10_000).length, 1);
  assert.equal(fragmentsOf(message(false), 100).length, 1);
  const progress: StreamMessage = { type: 'progress', watchId: 3, revision: 5 };
  assert.deepEqual(fragmentsOf(progress, 1), [{ message: progress, more: false }]);
});
