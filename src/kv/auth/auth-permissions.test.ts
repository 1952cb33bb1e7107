import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuthState, Permission, PermissionType } from './auth-types.js';
import { isPermitted, type KeyAccess } from './auth-permissions.js';
import { requiredAccess } from './auth-access.js';

const b = (text: string): Uint8Array => Buffer.from(text);
const OPEN = Uint8Array.of(0);

function stateWith(permissions: readonly Permission[], roles: readonly string[] = ['r']): AuthState {
  return {
    enabled: true,
    revision: 5,
    tokenKey: undefined,
    users: new Map([['u', { name: 'u', roles, credentialRevision: 2 }]]),
    roles: new Map([['r', { name: 'r', permissions }]]),
  };
}
const perm = (type: PermissionType, key: string, rangeEnd: Uint8Array = new Uint8Array(0)): Permission => ({ type, key: b(key), rangeEnd });
const read = (key: string, rangeEnd?: Uint8Array): KeyAccess => (rangeEnd ? { kind: 'read', key: b(key), rangeEnd } : { kind: 'read', key: b(key) });
const write = (key: string, rangeEnd?: Uint8Array): KeyAccess => (rangeEnd ? { kind: 'write', key: b(key), rangeEnd } : { kind: 'write', key: b(key) });

test('a single-key permission covers that key only', () => {
  const state = stateWith([perm('READ', 'k')]);
  assert.equal(isPermitted(state, 'u', read('k')), true);
  assert.equal(isPermitted(state, 'u', read('k2')), false);
  assert.equal(isPermitted(state, 'u', read('j')), false);
  assert.equal(isPermitted(state, 'u', write('k')), false, 'READ does not grant write');
  assert.equal(isPermitted(state, 'u', read('k', b('l'))), false, 'a range beyond the key');
});

test('a prefix permission [p, p+1) covers keys and sub-ranges inside, nothing that crosses its end', () => {
  const state = stateWith([perm('READWRITE', 'app/', b('app0'))]);
  assert.equal(isPermitted(state, 'u', write('app/x')), true);
  assert.equal(isPermitted(state, 'u', read('app/', b('app0'))), true);
  assert.equal(isPermitted(state, 'u', read('app/a', b('app/b'))), true);
  assert.equal(isPermitted(state, 'u', read('app/a', b('app1'))), false);
  assert.equal(isPermitted(state, 'u', read('app', b('app0'))), false, 'starts before the prefix');
  assert.equal(isPermitted(state, 'u', read('app0')), false);
  assert.equal(isPermitted(state, 'u', read('app/', OPEN)), false, 'an open-ended read is wider than the prefix');
});

test('open-ended permissions and requests: [k, \\0) is every key from k on', () => {
  const state = stateWith([perm('WRITE', 'm', OPEN)]);
  assert.equal(isPermitted(state, 'u', write('zzz')), true);
  assert.equal(isPermitted(state, 'u', write('m', OPEN)), true);
  assert.equal(isPermitted(state, 'u', write('n', OPEN)), true);
  assert.equal(isPermitted(state, 'u', write('l', OPEN)), false);
  assert.equal(isPermitted(state, 'u', write('a')), false);
  const all = stateWith([perm('READ', '\0', OPEN)]);
  assert.equal(isPermitted(all, 'u', read('\0', OPEN)), true, 'every key');
});

test('several permissions together cover a range with no gap; a gap refuses it', () => {
  const joined = stateWith([perm('READ', 'a', b('c')), perm('READ', 'c', b('e'))]);
  assert.equal(isPermitted(joined, 'u', read('a', b('e'))), true);
  const gap = stateWith([perm('READ', 'a', b('c')), perm('READ', 'd', b('e'))]);
  assert.equal(isPermitted(gap, 'u', read('a', b('e'))), false);
  assert.equal(isPermitted(gap, 'u', read('d', b('e'))), true);
});

test('the root role may do anything; an unknown user nothing; roles combine', () => {
  assert.equal(isPermitted(stateWith([], ['root']), 'u', write('\0', OPEN)), true);
  assert.equal(isPermitted(stateWith([perm('READ', 'k')]), 'nobody', read('k')), false);
  assert.equal(isPermitted(stateWith([perm('READ', 'k')], []), 'u', read('k')), false, 'permissions of a role not granted');
});

test('requests need what etcd checks: prevKv reads, txn compares and both branches, lease keys', () => {
  const kinds = (needs: KeyAccess[]): string[] =>
    needs.map((n) => `${n.kind}:${Buffer.from(n.key).toString()}${n.rangeEnd ? `-${Buffer.from(n.rangeEnd).toString()}` : ''}`);
  assert.deepEqual(kinds(requiredAccess({ type: 'put', key: b('k'), value: b('v'), prevKv: true, lease: 7 }, (id) => (id === 7 ? [b('leased')] : []))), [
    'write:k',
    'read:k',
    'write:leased',
  ]);
  assert.deepEqual(kinds(requiredAccess({ type: 'deleteRange', key: b('a'), rangeEnd: b('b') }, () => [])), ['write:a-b']);
  assert.deepEqual(
    kinds(
      requiredAccess(
        {
          type: 'txn',
          compare: [{ key: b('c'), target: 'version', result: 'equal', operand: 1 }],
          success: [{ type: 'range', key: b('s'), rangeEnd: b('t') }],
          failure: [{ type: 'put', key: b('f'), value: b('') }],
        },
        () => [],
      ),
    ),
    ['read:c', 'read:s-t', 'write:f'],
  );
});
