/**
 * TLS material for the peer port: read from files (and read again when they change,
 * so certificates rotate without a restart), or made up at start (auto TLS).
 */
import { statSync, readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import type { SecureContextOptions } from 'node:tls';

export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  readonly trustedCaFile?: string;
}

/**
 * A function giving the current key, certificate and CAs: it checks the files'
 * size, time and inode on every call (a handful of stat calls per new connection)
 * and reads them again when one changed. A set that does not load (a key replaced
 * before its certificate, say) is reported to `onReloadError` and the last good one
 * stays in use; the first load throws.
 */
export function reloadingSecureContextOptions(files: TlsFiles, onReloadError: (error: Error) => void): () => SecureContextOptions {
  const paths = [files.certFile, files.keyFile, ...(files.trustedCaFile !== undefined ? [files.trustedCaFile] : [])];
  const versionOf = (): string =>
    paths
      .map((path) => {
        const s = statSync(path);
        return `${s.ino}:${s.size}:${s.mtimeMs}`;
      })
      .join('|');
  const load = (): SecureContextOptions => ({
    cert: readFileSync(files.certFile, 'utf8'),
    key: readFileSync(files.keyFile, 'utf8'),
    ...(files.trustedCaFile !== undefined ? { ca: readFileSync(files.trustedCaFile, 'utf8') } : {}),
  });
  let version = versionOf();
  let current = checked(load());
  return () => {
    try {
      const now = versionOf();
      if (now !== version) {
        current = checked(load());
        version = now;
      }
    } catch (error) {
      onReloadError(error as Error);
    }
    return current;
  };
}

/** Auto TLS: a throwaway CA and a peer certificate it signs, made for this run only. */
export async function autoTlsContextOptions(host: string): Promise<SecureContextOptions> {
  // Loaded only when made: the X.509 library is a good part of a node's start-up, which
  // bounds how fast a restarted cluster serves again (docs/internals/performance.md).
  const { createCertificateAuthority, hostsFor, issueCertificate } = await import('./certificates.js');
  const ca = await createCertificateAuthority(`keel peer auto TLS ${host}`, 365);
  const pair = await issueCertificate(ca, { commonName: `keel peer ${host}`, hosts: hostsFor(host), usage: 'peer' });
  return { cert: `${pair.cert}\n${ca.cert}`, key: pair.key };
}

/** Builds a context from `options` to find a bad key, certificate or pair now, not at the next connection. */
function checked(options: SecureContextOptions): SecureContextOptions {
  // Throws on unreadable PEM, or a key that does not match its certificate.
  createSecureContext(options);
  return options;
}
