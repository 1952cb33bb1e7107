import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeCommand } from '../codec/command.js';
import type { MvccStore, MvccStoreOptions } from './mvcc-store.js';
import { SessionTable, defaultSessionPolicy } from './sessions.js';
import type { Table } from '../env/kv-env.js';
import { bytes, withTempStore } from '../testing/temp-store.js';
import type { Command, CommandBody } from '../types.js';
import type { Entry } from '../../raft/types.js';

const put = (key: string, value: string): CommandBody => ({ type: 'put', key: bytes(key), value: bytes(value) });
const ALL = new Uint8Array([0]);

function next(store: MvccStore, command: Command) {
  return store.apply(store.appliedIndex() + 1, command);
}

const everything = (store: MvccStore): unknown => store.range({ type: 'range', key: ALL, rangeEnd: ALL });

test('exactly once: a duplicate of the last command returns its saved result and changes nothing', async () => {
  await withTempStore((store) => {
    const command: Command = { body: put('counter', '1'), session: { clientId: 'client-a', seq: 1 } };
    const first = next(store, command);
    assert.ok(first.status === 'applied' && first.result.ok);
    const state = everything(store);
    const revision = store.currentRevision();
    // The client timed out and retried: the log now holds the command twice.
    const retry = next(store, command);
    assert.equal(retry.status, 'duplicate');
    assert.ok(retry.status === 'duplicate');
    assert.deepEqual(retry.result, first.result);
    assert.deepEqual(retry.events, []);
    assert.equal(store.currentRevision(), revision);
    assert.deepEqual(everything(store), state);
    assert.equal(store.appliedIndex(), 2, 'the duplicate entry is still applied (as nothing)');
    // The next command goes through.
    const second = next(store, { body: put('counter', '2'), session: { clientId: 'client-a', seq: 2 } });
    assert.ok(second.status === 'applied' && second.result.ok && second.result.revision === revision + 1);
  });
});

test('an older sequence number than the last, or a session that does not exist, is SESSION_EXPIRED', async () => {
  await withTempStore((store) => {
    next(store, { body: put('a', '1'), session: { clientId: 'c', seq: 1 } });
    next(store, { body: put('a', '2'), session: { clientId: 'c', seq: 2 } });
    const old = next(store, { body: put('a', '1'), session: { clientId: 'c', seq: 1 } });
    assert.ok(old.status === 'duplicate' && !old.result.ok && old.result.error.code === 'SESSION_EXPIRED');
    assert.match(old.result.error.message, /the result of seq 1 of client "c" is no longer kept \(the session is at seq 2\)/);
    const unknown = next(store, { body: put('a', '9'), session: { clientId: 'stranger', seq: 5 } });
    assert.ok(unknown.status === 'duplicate' && !unknown.result.ok && unknown.result.error.code === 'SESSION_EXPIRED');
    assert.equal(store.currentRevision(), 3);
    // Sequence numbers may skip ahead.
    const ahead = next(store, { body: put('a', '3'), session: { clientId: 'c', seq: 10 } });
    assert.ok(ahead.status === 'applied' && ahead.result.ok);
  });
});

test('a duplicate of a command that failed returns the same failure', async () => {
  await withTempStore((store) => {
    const command: Command = { body: { type: 'put', key: bytes('missing'), value: bytes(''), ignoreValue: true }, session: { clientId: 'c', seq: 1 } };
    const first = next(store, command);
    assert.ok(first.status === 'applied' && !first.result.ok && first.result.error.code === 'KEY_NOT_FOUND');
    next(store, { body: put('missing', 'now here') });
    const retry = next(store, command);
    assert.ok(retry.status === 'duplicate');
    assert.deepEqual(retry.result, first.result, 'not re-run against the new state');
  });
});

test('the session table is bounded: beyond sessionsMax the least recently used session is evicted', async () => {
  await withTempStore(
    (store) => {
      for (const client of ['a', 'b', 'c']) next(store, { body: put(client, '1'), session: { clientId: client, seq: 1 } });
      next(store, { body: put('a', '2'), session: { clientId: 'a', seq: 2 } }); // a is now the most recent
      next(store, { body: put('d', '1'), session: { clientId: 'd', seq: 1 } }); // evicts b
      assert.equal(store.stats().sessions, 3);
      const b = next(store, { body: put('b', '2'), session: { clientId: 'b', seq: 2 } });
      assert.ok(b.status === 'duplicate' && !b.result.ok && b.result.error.code === 'SESSION_EXPIRED', 'b was evicted');
      const c = next(store, { body: put('c', '1'), session: { clientId: 'c', seq: 1 } });
      assert.ok(c.status === 'duplicate' && c.result.ok, 'c was kept');
      const a = next(store, { body: put('a', '2'), session: { clientId: 'a', seq: 2 } });
      assert.ok(a.status === 'duplicate' && a.result.ok, 'a, recently used, was kept');
      // The caveat of sessions that start implicitly at seq 1 (thesis §6.3 registers them
      // instead): a retry of seq 1 arriving after its session was evicted runs again.
      const again = next(store, { body: put('b', '1'), session: { clientId: 'b', seq: 1 } });
      assert.equal(again.status, 'applied');
    },
    { sessions: { sessionsMax: 3 } },
  );
});

test('sessions expire after sessionTtlEntries applied entries', async () => {
  await withTempStore(
    (store) => {
      const command: Command = { body: put('k', 'v'), session: { clientId: 'slow', seq: 1 } };
      next(store, command); // index 1
      for (let i = 0; i < 4; i++) next(store, { body: { type: 'noop' } }); // indexes 2..5
      assert.equal(next(store, command).status, 'duplicate'); // index 6: 5 entries later, still kept
      assert.equal(store.stats().sessions, 1);
      next(store, { body: { type: 'noop' } }); // index 7: 6 entries after its last use
      assert.equal(store.stats().sessions, 0);
    },
    { sessions: { sessionTtlEntries: 5, sessionTtlMs: 0 } },
  );
});

test('sessions expire by the clock carried in commands, never by the local clock; that clock never goes back', async () => {
  await withTempStore(
    (store) => {
      next(store, { body: put('k', 'v'), session: { clientId: 'c', seq: 1 }, timeMs: 10_000 });
      next(store, { body: { type: 'noop' } }); // no time: the clock stays
      next(store, { body: { type: 'noop' }, timeMs: 10_900 });
      assert.equal(store.stats().sessions, 1);
      next(store, { body: { type: 'noop' }, timeMs: 11_001 }); // 1001 ms after the last use
      assert.equal(store.stats().sessions, 0);
      next(store, { body: put('k', 'v'), session: { clientId: 'd', seq: 1 }, timeMs: 5_000 }); // a late, older stamp
      next(store, { body: { type: 'noop' }, timeMs: 12_000 });
      assert.equal(store.stats().sessions, 1, 'd was used at clock 11001 (the clock did not go back), 999 ms ago');
    },
    { sessions: { sessionTtlMs: 1000 } },
  );
});

test('every replica evicts identically: the same entries in different batches give byte-identical stores', async () => {
  const log: Entry[] = [];
  for (let i = 1; i <= 300; i++) {
    const command: Command = {
      body: i % 50 === 0 ? { type: 'compact', revision: i - 20 } : put(`key${i % 23}`, `v${i}`),
      session: { clientId: `client${(i * 7) % 13}`, seq: i },
      timeMs: 1000 + i * 10,
    };
    log.push({ term: 1, index: i, kind: 'normal', data: encodeCommand(command) });
  }
  const options: Omit<MvccStoreOptions, 'path'> = { sessions: { sessionsMax: 5, sessionTtlMs: 500 }, compactionStepRecordsMax: 3 };
  const one = await withTempStore((store) => {
    for (const entry of log) store.applyEntries([entry]);
    return store.snapshot();
  }, options);
  const batched = await withTempStore((store) => {
    for (let i = 0; i < log.length; i += 37) store.applyEntries(log.slice(i, i + 37));
    return store.snapshot();
  }, options);
  assert.equal(one.index, 300);
  assert.deepEqual(batched, one);
});

test('with no session at all, expiring reads no table (a cluster used only through the etcd API has none)', () => {
  const unread = { getCount: () => 0, getRange: () => assert.fail('expire() read a table with no session in it') } as unknown as Table;
  const table = new SessionTable(unread, unread, defaultSessionPolicy);
  for (let index = 1; index <= 100; index++) table.expire(index, index * 1_000_000);
  assert.equal(table.size(), 0);
});
