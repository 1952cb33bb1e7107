/**
 * etcd's JWT tokens (--auth-token jwt,...): signed with the member's private key (ES256
 * or RS256), checked with the public key, with etcd's claims: `username`, `revision`
 * (the auth revision at issue) and `exp`. A JWT carries its auth revision: once the
 * auth state moves past it, key requests answer "revision of auth store is old" and
 * clients log in again, as with etcd. A member with only the public key checks tokens
 * but cannot issue them (etcd's verify-only mode).
 */
import { readFile } from 'node:fs/promises';
import { importPKCS8, importSPKI, jwtVerify, SignJWT } from 'jose';
import type { CryptoKey } from 'jose';
import type { AuthState } from '../../kv/index.js';
import type { TokenClaims, TokenProvider, TokenSettings } from './tokens.js';

export class JwtTokens implements TokenProvider {
  private constructor(
    private readonly signMethod: 'ES256' | 'RS256',
    private readonly ttlSeconds: number,
    private readonly publicKey: CryptoKey,
    private readonly privateKey: CryptoKey | undefined,
  ) {}

  static async load(settings: Extract<TokenSettings, { kind: 'jwt' }>): Promise<JwtTokens> {
    const { signMethod } = settings;
    const publicKey = await importKey(settings.publicKeyFile, 'pub-key', (pem) => importSPKI(pem, signMethod));
    const privateKey = settings.privateKeyFile ? await importKey(settings.privateKeyFile, 'priv-key', (pem) => importPKCS8(pem, signMethod)) : undefined;
    const tokens = new JwtTokens(signMethod, settings.ttlSeconds, publicKey, privateKey);
    if (privateKey && !(await tokens.verifyClaims(await tokens.sign('key-check', 0)))) {
      throw new Error(`--auth-token jwt: the public key ${settings.publicKeyFile} does not match the private key ${settings.privateKeyFile}`);
    }
    return tokens;
  }

  async issue(user: string, state: AuthState): Promise<string> {
    return this.sign(user, state.revision);
  }

  async verify(token: string): Promise<TokenClaims | undefined> {
    return this.verifyClaims(token);
  }

  private async sign(user: string, revision: number): Promise<string> {
    if (!this.privateKey) throw new Error('--auth-token jwt: this member has no priv-key, so it cannot issue tokens');
    return new SignJWT({ username: user, revision })
      .setProtectedHeader({ alg: this.signMethod })
      .setExpirationTime(`${this.ttlSeconds}s`)
      .sign(this.privateKey);
  }

  private async verifyClaims(token: string): Promise<TokenClaims | undefined> {
    try {
      const { payload } = await jwtVerify(token, this.publicKey, { algorithms: [this.signMethod], requiredClaims: ['exp'] });
      const { username, revision } = payload as Record<string, unknown>;
      if (typeof username !== 'string' || typeof revision !== 'number' || !Number.isSafeInteger(revision)) return undefined;
      return { user: username, authRevision: revision };
    } catch {
      return undefined;
    }
  }
}

/** A PEM key file (SPKI public, PKCS#8 private); an Error naming the option and file if it is not one. */
async function importKey(file: string, option: string, parse: (pem: string) => Promise<CryptoKey>): Promise<CryptoKey> {
  try {
    return await parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new Error(`--auth-token jwt: cannot use ${option} ${file}: ${(error as Error).message}`);
  }
}
