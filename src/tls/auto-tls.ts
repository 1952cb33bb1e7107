/**
 * --auto-tls: a certificate for the client listeners made by the node itself, signed by
 * a throwaway CA nobody keeps, so clients can verify nothing about it (they connect with
 * --insecure-skip-tls-verify). It encrypts traffic against someone who only listens; it
 * does not stop someone who can intercept and answer in the node's place.
 *
 * Made once and kept under the data directory, so the node presents the same
 * certificate across restarts.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TlsFilePaths } from './tls-files.js';

export async function ensureAutoTlsFiles(dataDir: string, host: string): Promise<TlsFilePaths> {
  const dir = join(dataDir, 'auto-tls');
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  if (existsSync(certFile) && existsSync(keyFile)) return { certFile, keyFile };
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Loaded only when made: the X.509 library is a good part of a node's start-up, which
  // bounds how fast a restarted cluster serves again (docs/internals/performance.md).
  const { createCertificateAuthority, hostsFor, issueCertificate } = await import('./certificates.js');
  const ca = await createCertificateAuthority('keel auto-tls');
  const pair = await issueCertificate(ca, { commonName: 'keel', hosts: hostsFor(host), usage: 'server' });
  // Key first: a crash between the two writes leaves no certificate, so the next start makes both again.
  writeFileSync(keyFile, pair.key, { mode: 0o600 });
  writeFileSync(certFile, pair.cert, { mode: 0o644 });
  return { certFile, keyFile };
}
