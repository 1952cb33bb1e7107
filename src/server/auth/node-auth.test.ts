import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuthState, AuthUser } from '../../kv/auth/auth-types.js';
import { KvRequestError } from '../../kv/errors.js';
import type { CommandBody, CommandResult } from '../../kv/types.js';
import { hashPassword } from './password-hash.js';
import { NodeAuth, NEEDS_ROOT, NEEDS_USER } from './node-auth.js';
import { JwtTokens } from './jwt-tokens.js';
import { parseTokenSettings } from './tokens.js';
import { KeelError } from '../../replica/errors.js';

const b = (text: string): Uint8Array => Buffer.from(text);

async function stateWith(revision: number): Promise<AuthState> {
  const password = await hashPassword('pw');
  const users: AuthUser[] = [
    { name: 'root', roles: ['root'], credentialRevision: 1, password },
    { name: 'alice', roles: ['app'], credentialRevision: 1, password },
  ];
  return {
    enabled: true,
    revision,
    tokenKey: Buffer.alloc(32, 1),
    users: new Map(users.map((u) => [u.name, u])),
    roles: new Map([['app', { name: 'app', permissions: [{ type: 'READWRITE', key: b('app/'), rangeEnd: b('app0') }] }]]),
  };
}

function nodeAuth(state: () => AuthState, tokens: JwtTokens): NodeAuth {
  return new NodeAuth(
    {
      authState: state,
      write: async (_body: CommandBody): Promise<CommandResult> => ({ ok: true, revision: 1, response: { type: 'auth' } }),
      readBarrier: async () => undefined,
      leaseKeys: () => [],
    },
    tokens,
    { clientCertAuth: false },
  );
}

const code =
  (expected: string) =>
  (error: unknown): boolean =>
    error instanceof KvRequestError && error.code === expected;

test('JWT tokens (ES256 and RS256): issued after a password check, carry their auth revision and go stale as etcd says', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'keel-jwt-'));
  try {
    for (const [signMethod, type] of [
      ['ES256', 'ec'],
      ['RS256', 'rsa'],
    ] as const) {
      const keys = type === 'ec' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('rsa', { modulusLength: 2048 });
      const pub = join(dir, `${type}.pub`);
      const priv = join(dir, `${type}.key`);
      writeFileSync(pub, keys.publicKey.export({ type: 'spki', format: 'pem' }));
      writeFileSync(priv, keys.privateKey.export({ type: 'pkcs8', format: 'pem' }));
      const tokens = await JwtTokens.load(
        parseTokenSettings(`jwt,pub-key=${pub},priv-key=${priv},sign-method=${signMethod},ttl=5m`, 300) as Parameters<typeof JwtTokens.load>[0],
      );
      let state = await stateWith(3);
      const auth = nodeAuth(() => state, tokens);
      await assert.rejects(auth.authenticate('alice', 'wrong'), code('AUTH_FAILED'));
      await assert.rejects(auth.authenticate('nobody', 'pw'), code('AUTH_FAILED'));
      const token = await auth.authenticate('alice', 'pw');
      assert.equal(token.split('.').length, 3, 'a JWT');
      const caller = await auth.authorize({ token }, { kind: 'keys', access: [{ kind: 'write', key: b('app/x') }] });
      assert.deepEqual(caller, { user: 'alice', authRevision: 3 });
      await assert.rejects(auth.authorize({ token }, { kind: 'keys', access: [{ kind: 'read', key: b('other') }] }), code('PERMISSION_DENIED'));
      await assert.rejects(auth.authorize({ token }, NEEDS_ROOT), code('PERMISSION_DENIED'));
      await assert.rejects(auth.authorize({}, NEEDS_USER), code('USER_EMPTY'));
      // Another first character of the signature: its six bits all count, so this is another signature.
      const [header, payload, signature] = token.split('.') as [string, string, string];
      const forged = `${header}.${payload}.${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`;
      await assert.rejects(auth.authorize({ token: forged }, NEEDS_USER), code('INVALID_AUTH_TOKEN'));
      // The auth state moved on: key requests with the old token are stale; others still pass.
      state = { ...state, revision: 4 };
      await assert.rejects(auth.authorize({ token }, { kind: 'keys', access: [{ kind: 'write', key: b('app/x') }] }), code('AUTH_OLD_REVISION'));
      assert.equal((await auth.authorize({ token }, NEEDS_USER))?.user, 'alice');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--auth-token settings are checked: unknown kinds, options, methods and durations are refused by name', () => {
  assert.deepEqual(parseTokenSettings('simple', 60), { kind: 'simple', ttlSeconds: 60 });
  assert.equal((parseTokenSettings('jwt,pub-key=a,sign-method=RS256,ttl=1h30m', 300) as { ttlSeconds: number }).ttlSeconds, 5400);
  assert.throws(() => parseTokenSettings('opaque', 300), /must be simple or jwt/);
  assert.throws(() => parseTokenSettings('simple,ttl=5', 300), /takes no options/);
  assert.throws(() => parseTokenSettings('jwt,sign-method=ES256', 300), /needs pub-key/);
  assert.throws(() => parseTokenSettings('jwt,pub-key=a,sign-method=HS256', 300), /ES256 or RS256/);
  assert.throws(() => parseTokenSettings('jwt,pub-key=a,sign-method=ES256,ttl=5 minutes', 300), /not a duration/);
  assert.throws(() => parseTokenSettings('jwt,pub-key=a,sign-method=ES256,colour=blue', 300), /unknown option colour/);
});

test('password checks beyond the running and waiting bounds are refused with OVERLOADED, not queued without end', async () => {
  const state = await stateWith(3);
  const auth = nodeAuth(() => state, undefined as unknown as JwtTokens);
  const attempts = Array.from({ length: 80 }, () =>
    auth.authorize({ basic: { user: 'alice', password: 'pw' } }, NEEDS_USER).then(
      () => 'ok',
      (error: unknown) => (error instanceof KeelError ? error.code : String(error)),
    ),
  );
  const outcomes = await Promise.all(attempts);
  assert.equal(outcomes.filter((o) => o === 'ok').length, 66, 'two running and 64 waiting');
  assert.equal(outcomes.filter((o) => o === 'OVERLOADED').length, 14);
});
