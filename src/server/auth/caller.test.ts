import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuthState, AuthUser } from '../../kv/auth/auth-types.js';
import { KvRequestError } from '../../kv/errors.js';
import { resolveCaller } from './caller.js';
import { SimpleTokens } from './simple-tokens.js';

function state(users: readonly AuthUser[], revision = 4, enabled = true): AuthState {
  return { enabled, revision, tokenKey: Buffer.alloc(32, 7), users: new Map(users.map((u) => [u.name, u])), roles: new Map() };
}
const alice: AuthUser = { name: 'alice', roles: [], credentialRevision: 2 };
const certOn = { clientCertAuth: true };
const certOff = { clientCertAuth: false };

async function invalid(promise: Promise<unknown>): Promise<void> {
  await assert.rejects(promise, (error: unknown) => error instanceof KvRequestError && error.code === 'INVALID_AUTH_TOKEN');
}

test('a simple token names its user on any member holding the same auth state', async () => {
  const issuer = new SimpleTokens(300);
  const other = new SimpleTokens(300);
  const token = await issuer.issue('alice', state([alice]));
  assert.deepEqual(await resolveCaller(state([alice], 9), other, { token }, certOff), { user: 'alice', authRevision: 9 });
});

test('forged, expired and revoked tokens are refused with INVALID_AUTH_TOKEN', async () => {
  let now = 1_000_000;
  const tokens = new SimpleTokens(300, () => now);
  const token = await tokens.issue('alice', state([alice]));
  const [payload, mac] = token.split('.') as [string, string];
  const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), u: 'root' })).toString('base64url');
  await invalid(resolveCaller(state([alice]), tokens, { token: `${forged}.${mac}` }, certOff));
  await invalid(resolveCaller(state([alice]), tokens, { token: 'garbage' }, certOff));
  await invalid(resolveCaller({ ...state([alice]), tokenKey: Buffer.alloc(32, 8) }, tokens, { token }, certOff));
  // The user's password changed after the token was issued (at revision 4).
  await invalid(resolveCaller(state([{ ...alice, credentialRevision: 5 }]), tokens, { token }, certOff));
  await invalid(resolveCaller(state([]), tokens, { token }, certOff));
  now += 300_000;
  await invalid(resolveCaller(state([alice]), tokens, { token }, certOff));
});

test('a certificate common name is the user only with --client-cert-auth, and a token wins over it', async () => {
  const tokens = new SimpleTokens(300);
  assert.deepEqual(await resolveCaller(state([alice]), tokens, { certificateCommonName: 'alice' }, certOn), { user: 'alice', authRevision: 4 });
  assert.equal(await resolveCaller(state([alice]), tokens, { certificateCommonName: 'alice' }, certOff), undefined);
  const token = await tokens.issue('alice', state([alice, { name: 'bob', roles: [], credentialRevision: 1 }]));
  assert.equal((await resolveCaller(state([alice]), tokens, { token, certificateCommonName: 'bob' }, certOn))?.user, 'alice');
  await invalid(resolveCaller(state([alice]), tokens, { token: 'bad', certificateCommonName: 'alice' }, certOn));
});

test('with auth off nobody is resolved, whatever comes', async () => {
  assert.equal(await resolveCaller(state([alice], 4, false), new SimpleTokens(300), { token: 'anything', certificateCommonName: 'alice' }, certOn), undefined);
});
