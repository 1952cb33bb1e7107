/**
 * The cluster secret: 32 random bytes every member holds, with which peers prove who
 * they are to each other (transport/peer-proof.ts). A node keeps it in its data
 * directory (`peer-secret`, mode 0600); the operator hands the same file to every
 * member, and `keel start --peer-secret-file FILE` copies it in on the first start.
 *
 * File format: the 32 bytes as 64 hexadecimal digits and a newline, so it survives
 * copy and paste, and a truncated or mangled copy is refused rather than used.
 */
import { randomBytes } from 'node:crypto';
import { chmod, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { clusterSecretBytes } from '../transport/index.js';

export const storedSecretName = 'peer-secret';

export class PeerSecretError extends Error {
  override name = 'PeerSecretError';
  readonly code = 'PEER_SECRET';
}

export function newClusterSecret(): Uint8Array {
  return new Uint8Array(randomBytes(clusterSecretBytes));
}

export function formatClusterSecret(secret: Uint8Array): string {
  return `${Buffer.from(secret).toString('hex')}\n`;
}

export function parseClusterSecret(text: string, path: string): Uint8Array {
  const hex = text.trim();
  if (!new RegExp(`^[0-9a-fA-F]{${2 * clusterSecretBytes}}$`).test(hex)) {
    throw new PeerSecretError(`${path} does not hold a cluster secret (${2 * clusterSecretBytes} hexadecimal digits, as keel cluster secret writes)`);
  }
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

/** Writes a fresh secret to `path` (mode 0600); refuses to replace an existing file. */
export async function writeNewSecretFile(path: string): Promise<void> {
  try {
    await writeFile(path, formatClusterSecret(newClusterSecret()), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST')
      throw new PeerSecretError(`${path} exists; a cluster secret is never overwritten (remove the file first if you mean to replace it)`);
    throw error;
  }
}

/**
 * The secret this node uses: the one in its data directory, after copying `givenFile`
 * there on the first start. Undefined when it has neither. A given file that differs
 * from the stored secret is an error: a node must never silently switch clusters.
 */
export async function loadClusterSecret(dataDir: string, givenFile: string | undefined): Promise<Uint8Array | undefined> {
  const storedPath = join(dataDir, storedSecretName);
  const stored = await readSecret(storedPath, true);
  const given = givenFile === undefined ? undefined : await readSecret(givenFile, false);
  if (givenFile !== undefined && given === undefined) throw new PeerSecretError(`--peer-secret-file ${givenFile} does not exist`);
  if (stored !== undefined) {
    if (given !== undefined && !Buffer.from(given).equals(Buffer.from(stored))) {
      throw new PeerSecretError(
        `${givenFile} holds another cluster secret than the one this node keeps in ${storedPath}; give it the cluster's secret, or leave --peer-secret-file out`,
      );
    }
    return stored;
  }
  if (given === undefined) return undefined;
  // Written whole under another name, then renamed: never a half-written secret.
  const partial = `${storedPath}.partial`;
  await writeFile(partial, formatClusterSecret(given), { mode: 0o600 });
  await chmod(partial, 0o600);
  await rename(partial, storedPath);
  return given;
}

async function readSecret(path: string, mustBePrivate: boolean): Promise<Uint8Array | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new PeerSecretError(`cannot read the cluster secret ${path}: ${(error as Error).message}`);
  }
  if (mustBePrivate && ((await stat(path)).mode & 0o077) !== 0) {
    throw new PeerSecretError(`${path} is readable by other users; run chmod 600 ${path}`);
  }
  return parseClusterSecret(text, path);
}
