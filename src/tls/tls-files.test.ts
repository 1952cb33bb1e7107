import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTlsMaterial, TlsFileError } from './tls-files.js';
import { writeTlsBundle } from './tls-bundle.js';
import { hostsFor } from './certificates.js';

test('a bad certificate, key or CA file is an error naming the file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'keel-tls-files-'));
  try {
    const files = await writeTlsBundle(dir, { serverHosts: hostsFor('127.0.0.1') });
    const good = { certFile: files.serverCertFile, keyFile: files.serverKeyFile, caFile: files.caFile };
    assert.match(readTlsMaterial(good).serialNumber, /^[0-9A-F]+$/);
    const bad = join(dir, 'bad.pem');
    writeFileSync(bad, 'not PEM');
    for (const paths of [
      { ...good, certFile: bad },
      { ...good, keyFile: bad },
      { ...good, caFile: bad },
      { ...good, certFile: join(dir, 'missing.pem') },
    ]) {
      const named = paths.certFile !== good.certFile ? paths.certFile : paths.keyFile !== good.keyFile ? paths.keyFile : paths.caFile;
      assert.throws(
        () => readTlsMaterial(paths),
        (error: unknown) => error instanceof TlsFileError && error.file === named && error.message.includes(named),
      );
    }
    // A key that is not the certificate's.
    assert.throws(
      () => readTlsMaterial({ ...good, keyFile: files.clientKeyFile }),
      (error: unknown) => error instanceof TlsFileError && error.message.includes('is not the key of'),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
