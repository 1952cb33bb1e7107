import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MvccStore } from '../mvcc/mvcc-store.js';
import { MvccStore as Store } from '../mvcc/mvcc-store.js';
import { bytes, openTempStore, text, withTempStore } from '../testing/temp-store.js';
import type { CommandBody, CommandResult, KvEvent, PutRequest } from '../types.js';
import { LEASE_TTL_MAX_SECONDS } from '../validate.js';

function applier(store: MvccStore): (body: CommandBody) => { result: CommandResult; events: readonly KvEvent[] } {
  return (body) => {
    const outcome = store.apply(store.appliedIndex() + 1, { body });
    assert.ok(outcome.status === 'applied');
    return { result: outcome.result, events: outcome.events };
  };
}

const put = (key: string, lease = 0): PutRequest => ({ type: 'put', key: bytes(key), value: bytes(`v-${key}`), ...(lease ? { lease } : {}) });
const keysOf = (store: MvccStore, id: number): string[] | undefined => store.leaseInfo(id)?.keys.map(text);
const errorCode = (result: CommandResult): string | undefined => (result.ok ? undefined : result.error.code);

test('lease grant: stored with its TTL and the index of the grant; a taken id fails LEASE_EXISTS and changes nothing', async () => {
  await withTempStore((store) => {
    const apply = applier(store);
    const granted = apply({ type: 'leaseGrant', id: 5, ttl: 30 }).result;
    assert.deepEqual(granted, { ok: true, revision: 1, response: { type: 'leaseGrant', id: 5, ttl: 30 } });
    assert.deepEqual(store.leases(), [{ id: 5, ttl: 30, renewedIndex: 1 }]);
    const again = apply({ type: 'leaseGrant', id: 5, ttl: 99 }).result;
    assert.equal(errorCode(again), 'LEASE_EXISTS');
    assert.match(again.ok ? '' : again.error.message, /lease 5 already exists/);
    assert.deepEqual(store.leases(), [{ id: 5, ttl: 30, renewedIndex: 1 }]);
    assert.equal(store.currentRevision(), 1, 'leases do not move the revision');
  });
});

test('lease grant: TTL and id are checked on apply (too large TTL, zero id, zero TTL)', async () => {
  await withTempStore((store) => {
    const apply = applier(store);
    assert.equal(errorCode(apply({ type: 'leaseGrant', id: 1, ttl: LEASE_TTL_MAX_SECONDS + 1 }).result), 'LEASE_TTL_TOO_LARGE');
    assert.equal(errorCode(apply({ type: 'leaseGrant', id: 0, ttl: 10 }).result), 'INVALID_ARGUMENT');
    assert.equal(errorCode(apply({ type: 'leaseGrant', id: 1, ttl: 0 }).result), 'INVALID_ARGUMENT');
    assert.deepEqual(store.leases(), []);
    assert.equal(errorCode(apply({ type: 'leaseGrant', id: 2 ** 53 - 1, ttl: LEASE_TTL_MAX_SECONDS }).result), undefined);
  });
});

test('put with an unknown lease fails LEASE_NOT_FOUND and changes nothing, alone or inside a txn', async () => {
  await withTempStore((store) => {
    const apply = applier(store);
    apply({ type: 'leaseGrant', id: 1, ttl: 10 });
    const alone = apply(put('a', 404)).result;
    assert.equal(errorCode(alone), 'LEASE_NOT_FOUND');
    assert.match(alone.ok ? '' : alone.error.message, /requested lease 404 not found/);
    const inTxn = apply({ type: 'txn', compare: [], success: [put('b', 1), put('c', 404)], failure: [] }).result;
    assert.equal(errorCode(inTxn), 'LEASE_NOT_FOUND');
    assert.equal(store.currentRevision(), 1);
    assert.deepEqual(keysOf(store, 1), []);
    // Only the branch taken is checked, as in etcd.
    const otherBranch = apply({
      type: 'txn',
      compare: [{ key: bytes('x'), target: 'version', result: 'equal', operand: 0 }],
      success: [put('b', 1)],
      failure: [put('c', 404)],
    });
    assert.ok(otherBranch.result.ok);
    assert.deepEqual(keysOf(store, 1), ['b']);
  });
});

test('attachments follow the keys: overwrite with another lease or none moves them, delete drops them, ignoreLease keeps them', async () => {
  await withTempStore((store) => {
    const apply = applier(store);
    apply({ type: 'leaseGrant', id: 1, ttl: 10 });
    apply({ type: 'leaseGrant', id: 2, ttl: 10 });
    apply(put('a', 1));
    apply(put('b', 1));
    apply(put('c', 1));
    assert.deepEqual(keysOf(store, 1), ['a', 'b', 'c']);
    apply(put('a', 2));
    apply(put('b'));
    apply({ type: 'put', key: bytes('c'), value: bytes('kept'), ignoreLease: true });
    assert.deepEqual([keysOf(store, 1), keysOf(store, 2)], [['c'], ['a']]);
    apply({ type: 'deleteRange', key: bytes('a'), rangeEnd: bytes('d') });
    assert.deepEqual([keysOf(store, 1), keysOf(store, 2)], [[], []]);
  });
});

test('revoke deletes every attached key at one revision, returns their delete events, and forgets the lease', async () => {
  await withTempStore((store) => {
    const apply = applier(store);
    apply({ type: 'leaseGrant', id: 9, ttl: 10 });
    apply(put('x/1', 9));
    apply(put('x/2', 9));
    apply(put('y'));
    const revoked = apply({ type: 'leaseRevoke', id: 9 });
    assert.deepEqual(revoked.result, { ok: true, revision: 5, response: { type: 'leaseRevoke', revoked: true, deleted: 2 } });
    assert.deepEqual(
      revoked.events.map((e) => `${e.type} ${text(e.kv.key)}@${e.kv.modRevision} was lease ${e.prevKv?.lease}`),
      ['delete x/1@5 was lease 9', 'delete x/2@5 was lease 9'],
    );
    assert.deepEqual(store.leases(), []);
    const left = store.range({ type: 'range', key: bytes('\0'), rangeEnd: bytes('\0') });
    assert.deepEqual(left.ok && left.value.kvs.map((kv) => text(kv.key)), ['y']);
    assert.equal(errorCode(apply({ type: 'leaseRevoke', id: 9 }).result), 'LEASE_NOT_FOUND');
    assert.equal(errorCode(apply({ type: 'leaseKeepAlive', id: 9 }).result), 'LEASE_NOT_FOUND');
    // A lease without keys revokes without moving the revision.
    apply({ type: 'leaseGrant', id: 10, ttl: 10 });
    assert.deepEqual(apply({ type: 'leaseRevoke', id: 10 }).result, { ok: true, revision: 5, response: { type: 'leaseRevoke', revoked: true, deleted: 0 } });
  });
});

test('expiry revoke: applies only if no keep-alive renewed the lease after the renewal it was decided on', async () => {
  await withTempStore((store) => {
    const apply = applier(store);
    apply({ type: 'leaseGrant', id: 3, ttl: 10 }); // index 1
    apply(put('k', 3));
    const kept = apply({ type: 'leaseKeepAlive', id: 3 }); // index 3
    assert.deepEqual(kept.result, { ok: true, revision: 2, response: { type: 'leaseKeepAlive', id: 3, ttl: 10 } });
    assert.deepEqual(store.leases(), [{ id: 3, ttl: 10, renewedIndex: 3 }]);
    const stale = apply({ type: 'leaseRevoke', id: 3, onlyIfRenewedAt: 1 });
    assert.deepEqual(stale.result, { ok: true, revision: 2, response: { type: 'leaseRevoke', revoked: false, deleted: 0 } });
    assert.deepEqual(keysOf(store, 3), ['k']);
    const current = apply({ type: 'leaseRevoke', id: 3, onlyIfRenewedAt: 3 });
    assert.deepEqual(current.result, { ok: true, revision: 3, response: { type: 'leaseRevoke', revoked: true, deleted: 1 } });
    assert.equal(store.leaseInfo(3), undefined);
  });
});

test('leases survive a restart and travel in snapshots, attachments included', async () => {
  const source = openTempStore();
  const target = openTempStore();
  try {
    const apply = applier(source.store);
    apply({ type: 'leaseGrant', id: 1, ttl: 10 });
    apply({ type: 'leaseGrant', id: 2, ttl: 20 });
    apply(put('a', 1));
    apply(put('b', 2));
    const snapshot = source.store.snapshot();
    target.store.restore(snapshot.index, snapshot.data);
    for (const store of [source.store, target.store]) {
      assert.deepEqual(
        store.leases().map((l) => [l.id, l.ttl]),
        [
          [1, 10],
          [2, 20],
        ],
      );
      assert.deepEqual([keysOf(store, 1), keysOf(store, 2)], [['a'], ['b']]);
    }
    // Revoking on the restored copy deletes the same keys.
    const revoked = applier(target.store)({ type: 'leaseRevoke', id: 2 });
    assert.deepEqual(
      revoked.events.map((e) => text(e.kv.key)),
      ['b'],
    );
    await target.store.close();
    const reopened = Store.open({ path: target.path, sync: 'none' });
    try {
      assert.deepEqual(
        reopened.leases().map((l) => l.id),
        [1],
      );
      assert.deepEqual(reopened.leaseInfo(1)?.keys.map(text), ['a']);
    } finally {
      await reopened.close();
    }
  } finally {
    await source.cleanup();
    await target.cleanup();
  }
});

test('a retried grant in a session gets the saved answer, not LEASE_EXISTS', async () => {
  await withTempStore((store) => {
    const command = { body: { type: 'leaseGrant', id: 77, ttl: 10 } as CommandBody, session: { clientId: 'c', seq: 1 } };
    const first = store.apply(1, command);
    const retry = store.apply(2, command);
    assert.ok(retry.status === 'duplicate' && first.status === 'applied');
    assert.deepEqual(retry.result, first.result);
  });
});
