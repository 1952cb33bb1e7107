import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeCommand, decodeCommand } from '../codec/command.js';
import { MvccStore } from '../mvcc/mvcc-store.js';
import { bytes, openTempStore, withTempStore } from '../testing/temp-store.js';
import type { AuthChange, PasswordHash } from './auth-types.js';
import type { CommandResult } from '../types.js';

const hash: PasswordHash = { algorithm: 'scrypt', cost: 16384, blockSize: 8, parallelization: 1, salt: bytes('salt-salt-salt!!'), hash: bytes('h'.repeat(32)) };

/** Applies auth changes at the next log indexes, through the command encoding as the log carries them. */
function applyAll(store: MvccStore, changes: readonly AuthChange[]): CommandResult[] {
  return changes.map((change) => {
    const decoded = decodeCommand(encodeCommand({ body: { type: 'auth', change } }));
    assert.ok(decoded.ok);
    const outcome = store.apply(store.appliedIndex() + 1, decoded.value);
    assert.ok(outcome.status === 'applied');
    return outcome.result;
  });
}

const setup: AuthChange[] = [
  { op: 'userAdd', name: 'root', password: hash },
  { op: 'userGrantRole', user: 'root', role: 'root' },
  { op: 'roleAdd', name: 'app' },
  { op: 'roleGrantPermission', name: 'app', permission: { type: 'READWRITE', key: bytes('app/'), rangeEnd: bytes('app0') } },
  { op: 'userAdd', name: 'alice', password: hash },
  { op: 'userGrantRole', user: 'alice', role: 'app' },
  { op: 'enable', tokenKey: bytes('k'.repeat(32)) },
];

test('auth changes follow etcd: the root user with the root role before enable, revisions move, errors change nothing', async () => {
  await withTempStore((store) => {
    assert.equal(store.authState().revision, 1);
    const [early] = applyAll(store, [{ op: 'enable', tokenKey: bytes('k') }]);
    assert.deepEqual(early, { ok: false, error: { code: 'ROOT_USER_NOT_EXIST', message: 'root user does not exist' } });
    const [, , noRootRole] = applyAll(store, [
      { op: 'userAdd', name: 'root', password: hash },
      { op: 'roleAdd', name: 'r' },
      { op: 'enable', tokenKey: bytes('k') },
    ]);
    assert.equal(!noRootRole?.ok && noRootRole?.error.code, 'ROOT_ROLE_NOT_EXIST');
    assert.equal(store.authState().enabled, false);
    assert.equal(store.authState().revision, 3);

    const codes = (results: CommandResult[]): (string | true)[] => results.map((r) => (r.ok ? true : r.error.code));
    assert.deepEqual(
      codes(
        applyAll(store, [
          { op: 'userAdd', name: '', password: hash },
          { op: 'userAdd', name: 'root', password: hash },
          { op: 'roleAdd', name: '' },
          { op: 'roleAdd', name: 'r' },
          { op: 'userGrantRole', user: 'nobody', role: 'r' },
          { op: 'userGrantRole', user: 'root', role: 'missing' },
          { op: 'userRevokeRole', name: 'root', role: 'r' },
          { op: 'roleRevokePermission', role: 'r', key: bytes('a'), rangeEnd: new Uint8Array(0) },
          { op: 'roleGrantPermission', name: 'r', permission: { type: 'READ', key: bytes('b'), rangeEnd: bytes('a') } },
          { op: 'roleDelete', role: 'missing' },
        ]),
      ),
      [
        'USER_EMPTY',
        'USER_EXISTS',
        'ROLE_EMPTY',
        'ROLE_EXISTS',
        'USER_NOT_FOUND',
        'ROLE_NOT_FOUND',
        'ROLE_NOT_GRANTED',
        'PERMISSION_NOT_GRANTED',
        'INVALID_AUTH_MGMT',
        'ROLE_NOT_FOUND',
      ],
    );
    assert.equal(store.authState().revision, 3, 'refused changes leave the auth revision');

    assert.deepEqual(
      codes(
        applyAll(store, [
          { op: 'userGrantRole', user: 'root', role: 'root' },
          { op: 'enable', tokenKey: bytes('k') },
        ]),
      ),
      [true, true],
    );
    assert.equal(store.authState().enabled, true);
    assert.deepEqual(
      codes(
        applyAll(store, [
          { op: 'userDelete', name: 'root' },
          { op: 'userRevokeRole', name: 'root', role: 'root' },
          { op: 'roleAdd', name: 'root' },
          { op: 'roleDelete', role: 'root' },
        ]),
      ),
      ['INVALID_AUTH_MGMT', 'INVALID_AUTH_MGMT', true, 'INVALID_AUTH_MGMT'],
    );
  });
});

test('a permission granted again on the same place replaces it; deleting a role takes it from its users', async () => {
  await withTempStore((store) => {
    applyAll(store, setup);
    applyAll(store, [{ op: 'roleGrantPermission', name: 'app', permission: { type: 'READ', key: bytes('app/'), rangeEnd: bytes('app0') } }]);
    assert.deepEqual(
      store
        .authState()
        .roles.get('app')
        ?.permissions.map((p) => p.type),
      ['READ'],
    );
    applyAll(store, [{ op: 'roleDelete', role: 'app' }]);
    assert.deepEqual(store.authState().users.get('alice')?.roles, []);
  });
});

test('the auth state survives a reopen and travels in a snapshot', async () => {
  const source = openTempStore();
  const target = openTempStore();
  try {
    applyAll(source.store, setup);
    const before = source.store.authState();
    assert.equal(before.enabled, true);
    assert.equal(before.users.get('alice')?.password?.hash.length, 32);
    await source.store.close();
    const reopened = MvccStore.open({ path: source.path, sync: 'none' });
    try {
      assert.deepEqual(reopened.authState(), before);
      const { index, data } = reopened.snapshot();
      assert.equal(target.store.authState().enabled, false);
      target.store.restore(index, data);
      assert.deepEqual(target.store.authState(), before);
    } finally {
      await reopened.close();
    }
  } finally {
    await source.cleanup();
    await target.cleanup();
  }
});

test('with auth on, a write carrying its user is checked again when it applies, on the state of its log position', async () => {
  await withTempStore((store) => {
    applyAll(store, setup);
    const revision = store.authState().revision;
    const put = (key: string, auth?: { user: string; revision: number }): CommandResult => {
      const decoded = decodeCommand(encodeCommand({ body: { type: 'put', key: bytes(key), value: bytes('v') }, ...(auth ? { auth } : {}) }));
      assert.ok(decoded.ok);
      assert.deepEqual(decoded.value.auth, auth, 'the user travels in the log entry');
      const outcome = store.apply(store.appliedIndex() + 1, decoded.value);
      assert.ok(outcome.status === 'applied');
      return outcome.result;
    };
    const code = (result: CommandResult): string | true => (result.ok ? true : result.error.code);
    assert.equal(code(put('app/x', { user: 'alice', revision })), true);
    assert.equal(code(put('other', { user: 'alice', revision })), 'PERMISSION_DENIED');
    assert.equal(code(put('other', { user: 'root', revision })), true);
    assert.equal(code(put('other')), true, 'a command without a user was checked by the member that took it');
    // A revoke earlier in the log refuses a write checked before it, on every replica alike.
    applyAll(store, [{ op: 'userRevokeRole', name: 'alice', role: 'app' }]);
    assert.equal(code(put('app/x', { user: 'alice', revision })), 'AUTH_OLD_REVISION');
    assert.equal(code(put('app/x', { user: 'alice', revision: store.authState().revision })), 'PERMISSION_DENIED');
    assert.equal(store.currentRevision(), 4, 'refused writes changed nothing');
  });
});

test('names longer than the auth table takes are refused before anything changes', async () => {
  await withTempStore((store) => {
    const [long] = applyAll(store, [{ op: 'userAdd', name: 'u'.repeat(5000), password: hash }]);
    assert.equal(!long?.ok && long?.error.code, 'INVALID_ARGUMENT');
    const [role] = applyAll(store, [{ op: 'roleAdd', name: 'é'.repeat(200) }]);
    assert.equal(!role?.ok && role?.error.code, 'INVALID_ARGUMENT', '400 bytes of UTF-8');
    assert.equal(store.authState().users.size + store.authState().roles.size, 0);
    assert.equal(store.authState().revision, 1);
  });
});
