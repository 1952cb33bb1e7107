import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  formatClusterSecret,
  loadClusterSecret,
  newClusterSecret,
  parseClusterSecret,
  PeerSecretError,
  storedSecretName,
  writeNewSecretFile,
} from './peer-secret.js';

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'keel-secret-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('cluster secret: a new file is 0600, never overwritten, and parses back to 32 bytes', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'secret');
  await writeNewSecretFile(path);
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  assert.equal(parseClusterSecret(await readFile(path, 'utf8'), path).length, 32);
  await assert.rejects(writeNewSecretFile(path), (error: unknown) => error instanceof PeerSecretError && /never overwritten/.test(error.message));
  assert.throws(() => parseClusterSecret('abc\n', 'x'), /does not hold a cluster secret/);
});

test('cluster secret: the given file is copied into the data directory on first start (0600), and the stored one is used later', async (t) => {
  const dir = await tempDir(t);
  const dataDir = join(dir, 'data');
  const given = join(dir, 'secret');
  await writeNewSecretFile(given);
  await chmod(given, 0o644); // the operator's copy may be laxer; the stored one is not
  const expected = parseClusterSecret(await readFile(given, 'utf8'), given);
  await mkdir(dataDir);
  assert.equal(await loadClusterSecret(dataDir, undefined), undefined, 'nothing yet');
  assert.deepEqual(await loadClusterSecret(dataDir, given), expected);
  const stored = join(dataDir, storedSecretName);
  assert.equal((await stat(stored)).mode & 0o777, 0o600);
  assert.deepEqual(await loadClusterSecret(dataDir, undefined), expected, 'later starts need no flag');
  assert.deepEqual(await loadClusterSecret(dataDir, given), expected, 'the same file again is fine');
});

test('cluster secret: another secret than the stored one, a missing file, or a stored file others can read is refused', async (t) => {
  const dir = await tempDir(t);
  const dataDir = join(dir, 'data');
  await mkdir(dataDir);
  const first = join(dir, 'first');
  const second = join(dir, 'second');
  await writeFile(first, formatClusterSecret(newClusterSecret()));
  await writeFile(second, formatClusterSecret(newClusterSecret()));
  await loadClusterSecret(dataDir, first);
  await assert.rejects(loadClusterSecret(dataDir, second), /holds another cluster secret than the one this node keeps/);
  await assert.rejects(loadClusterSecret(dataDir, join(dir, 'missing')), /does not exist/);
  await chmod(join(dataDir, storedSecretName), 0o644);
  await assert.rejects(loadClusterSecret(dataDir, undefined), /readable by other users; run chmod 600/);
});
