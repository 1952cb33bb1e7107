/**
 * A throwaway CA with one server certificate and one client certificate, written as
 * PEM files in the layout etcd's examples use (ca.pem, server.pem, server-key.pem,
 * client.pem, client-key.pem). `keel cluster up --tls` and the tests use it; keys are
 * readable by their owner only.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCertificateAuthority, issueCertificate } from './certificates.js';
import type { CertificateAuthority } from './certificates.js';

export interface TlsBundleFiles {
  readonly caFile: string;
  readonly serverCertFile: string;
  readonly serverKeyFile: string;
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
}

export interface TlsBundleOptions {
  /** Names and addresses the server certificate is valid for (e.g. hostsFor('127.0.0.1')). */
  readonly serverHosts: readonly string[];
  /** The client certificate's common name: the user it stands for. Default "root". */
  readonly clientCommonName?: string;
}

export interface TlsBundle extends TlsBundleFiles {
  /** The CA, with its key in memory only: to issue more certificates (a rotation) while it lives. */
  readonly authority: CertificateAuthority;
}

export async function writeTlsBundle(dir: string, options: TlsBundleOptions): Promise<TlsBundle> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ca = await createCertificateAuthority('keel throwaway CA');
  // Server and client authentication both: a node presents it when it calls another
  // member's client port (forwarding a membership change) under --client-cert-auth.
  const server = await issueCertificate(ca, { commonName: 'keel server', hosts: options.serverHosts, usage: 'peer' });
  const client = await issueCertificate(ca, { commonName: options.clientCommonName ?? 'root', usage: 'client' });
  const files: TlsBundleFiles = {
    caFile: join(dir, 'ca.pem'),
    serverCertFile: join(dir, 'server.pem'),
    serverKeyFile: join(dir, 'server-key.pem'),
    clientCertFile: join(dir, 'client.pem'),
    clientKeyFile: join(dir, 'client-key.pem'),
  };
  writeFileSync(files.caFile, ca.cert, { mode: 0o644 });
  writeFileSync(files.serverCertFile, server.cert, { mode: 0o644 });
  writeFileSync(files.serverKeyFile, server.key, { mode: 0o600 });
  writeFileSync(files.clientCertFile, client.cert, { mode: 0o644 });
  writeFileSync(files.clientKeyFile, client.key, { mode: 0o600 });
  return { ...files, authority: ca };
}
