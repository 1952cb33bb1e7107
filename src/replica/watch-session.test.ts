/**
 * A watch stream's rules, on a real store and hub driven step by step: etcd's watch
 * ids, the per-stream and per-node limits, a progress request answered only once
 * every watcher is caught up, and flow control (nothing is taken while the output is
 * full, nothing is lost when it drains).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withTempStore, bytes } from '../kv/testing/temp-store.js';
import type { MvccStore } from '../kv/mvcc/mvcc-store.js';
import { WatchHub } from '../kv/watch/watch-hub.js';
import type { WatchSpec } from '../kv/watch/watcher.js';
import { NO_WATCH_ID, WatchSession, type StreamMessage } from './watch-session.js';

const spec = (key: string, startRevision = 0): WatchSpec => ({
  key: bytes(key),
  startRevision,
  prevKv: false,
  noPut: false,
  noDelete: false,
  progressNotify: false,
});

function harness(store: MvccStore, limits: { watchersPerStreamMax?: number; watchersMax?: number } = {}) {
  const tasks: (() => void)[] = [];
  const hub = new WatchHub({
    source: store,
    schedule: (task) => tasks.push(task),
    limits: { watchersMax: limits.watchersMax ?? 100, catchUpRecordsPerStep: 1 },
  });
  const sent: StreamMessage[] = [];
  let writable = true;
  const session = new WatchSession({
    hub,
    output: { send: (m) => sent.push(m), writable: () => writable },
    watchersPerStreamMax: limits.watchersPerStreamMax ?? 10,
    currentRevision: () => store.currentRevision(),
  });
  let index = store.appliedIndex();
  const put = (key: string, value: string): void => {
    const outcomes = store.applyBatch([{ index: ++index, command: { body: { type: 'put', key: bytes(key), value: bytes(value) } } }]);
    hub.publish(
      outcomes.flatMap((o) => (o.status === 'skipped' ? [] : o.events)),
      store.currentRevision(),
    );
  };
  const settle = (): void => {
    for (let i = 0; tasks.length > 0; i++) {
      assert.ok(i < 1000, 'did not settle');
      tasks.shift()?.();
    }
  };
  return { hub, session, sent, put, settle, setWritable: (w: boolean) => (writable = w) };
}

test('watch ids: 0 lets the server choose the lowest free id from 0; a chosen id in use is refused', async () => {
  await withTempStore((store) => {
    const { session, sent } = harness(store);
    session.create({ ...spec('a'), watchId: 1 });
    session.create({ ...spec('a'), watchId: 0 });
    session.create({ ...spec('a'), watchId: 0 });
    session.create({ ...spec('a'), watchId: 1 });
    assert.deepEqual(
      sent.map((m) => (m.type === 'created' ? m.watchId : m.type)),
      [1, 0, 2, 'createFailed'],
    );
    assert.match((sent[3] as { reason: string }).reason, /watch id 1 is already in use/);
    assert.equal(session.cancel(5), false);
    assert.equal(session.cancel(2), true);
    assert.equal(sent.at(-1)?.type, 'canceled');
  });
});

test('the per-stream and per-node watcher limits refuse with their names', async () => {
  await withTempStore((store) => {
    const stream = harness(store, { watchersPerStreamMax: 2 });
    for (let i = 0; i < 3; i++) stream.session.create({ ...spec('k'), watchId: 0 });
    assert.equal(stream.sent[2]?.type, 'createFailed');
    assert.match((stream.sent[2] as { reason: string }).reason, /watchersPerStreamMax 2/);
    const node = harness(store, { watchersMax: 1 });
    node.session.create({ ...spec('k'), watchId: 0 });
    node.session.create({ ...spec('k'), watchId: 0 });
    assert.equal((node.sent[1] as { code: string }).code, 'TOO_MANY_WATCHERS');
    assert.match((node.sent[1] as { reason: string }).reason, /watchersMax 1/);
  });
});

test('a progress request is answered once every watcher of the stream has caught up', async () => {
  await withTempStore((store) => {
    const { session, sent, put, settle } = harness(store);
    for (let i = 0; i < 5; i++) put('k', String(i));
    session.create({ ...spec('k', 2), watchId: 0 });
    session.requestProgress();
    assert.equal(sent.filter((m) => m.type === 'progress').length, 0, 'answered before the watcher caught up');
    settle();
    const progressAt = sent.findIndex((m) => m.type === 'progress');
    assert.ok(progressAt > 0, 'no answer after catching up');
    assert.deepEqual(sent[progressAt], { type: 'progress', watchId: NO_WATCH_ID, revision: store.currentRevision() });
    const events = sent.slice(0, progressAt).flatMap((m) => (m.type === 'events' ? m.events : []));
    assert.deepEqual(
      events.map((e) => e.kv.modRevision),
      [2, 3, 4, 5, 6],
    );
  });
});

test('nothing is taken while the output is full; everything arrives, in order, once it drains', async () => {
  await withTempStore((store) => {
    const { session, sent, put, settle, setWritable } = harness(store);
    session.create({ ...spec('k'), watchId: 0 });
    setWritable(false);
    put('k', 'a');
    put('k', 'b');
    settle();
    assert.deepEqual(
      sent.map((m) => m.type),
      ['created'],
    );
    setWritable(true);
    session.pump();
    settle();
    const values = sent.flatMap((m) => (m.type === 'events' ? m.events.map((e) => Buffer.from(e.kv.value).toString()) : []));
    assert.deepEqual(values, ['a', 'b']);
  });
});
