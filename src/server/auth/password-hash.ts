/**
 * Password hashes: scrypt (node:crypto, run on libuv's thread pool, off the event loop)
 * with a random 16-byte salt per hash and the parameters stored beside it, so a later
 * version can raise them and still check old hashes. The node that receives a password
 * hashes it before anything is proposed: the log, the WAL and snapshots hold hashes only.
 *
 * Parameters: N = 2^14, r = 8, p = 1 (16 MiB and about 50 ms per hash on one core),
 * the interactive-login setting scrypt's paper recommends. etcd uses bcrypt cost 10,
 * comparable in time.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import type { PasswordHash } from '../../kv/index.js';

export const SCRYPT_PARAMETERS = { cost: 1 << 14, blockSize: 8, parallelization: 1 } as const;
const SALT_BYTES = 16;
const HASH_BYTES = 32;
/** Refuse stored parameters that would take a node's memory (a corrupt or hostile record). */
const SCRYPT_MEMORY_BYTES_MAX = 64 * 1024 * 1024;

function derive(password: string, salt: Uint8Array, p: { cost: number; blockSize: number; parallelization: number }, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, length, { N: p.cost, r: p.blockSize, p: p.parallelization, maxmem: SCRYPT_MEMORY_BYTES_MAX }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

export async function hashPassword(password: string): Promise<PasswordHash> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(password, salt, SCRYPT_PARAMETERS, HASH_BYTES);
  return { algorithm: 'scrypt', ...SCRYPT_PARAMETERS, salt: new Uint8Array(salt), hash: new Uint8Array(hash) };
}

/** True if `password` is the one `stored` was made from; compares in constant time. */
export async function verifyPassword(password: string, stored: PasswordHash): Promise<boolean> {
  // Only full-length hashes: a shorter one would match a prefix of the derived key.
  if (stored.hash.length !== HASH_BYTES) return false;
  const candidate = await derive(password, stored.salt, stored, stored.hash.length);
  return timingSafeEqual(candidate, stored.hash);
}

/**
 * A hash to check passwords of unknown users against, so that a login for a user who
 * does not exist costs as much as one with a wrong password (no user enumeration by timing).
 */
let decoy: Promise<PasswordHash> | undefined;
export function decoyHash(): Promise<PasswordHash> {
  decoy ??= hashPassword(randomBytes(16).toString('hex'));
  return decoy;
}
