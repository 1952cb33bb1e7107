/**
 * TLS on the client listeners (HTTP and gRPC), as etcd's --cert-file, --key-file,
 * --trusted-ca-file and --client-cert-auth configure it. Both listeners follow one
 * TlsFileWatcher, so a rotated certificate reaches both.
 */
import type { ServerOptions as HttpsServerOptions } from 'node:https';
import type { SecureContextOptions } from 'node:tls';
import type { TlsFileWatcher, TlsMaterial } from '../tls/index.js';

export interface ClientTls {
  readonly files: TlsFileWatcher;
  /** Clients must present a certificate signed by the watcher's CA; others fail the handshake. */
  readonly clientCertAuth: boolean;
}

/** The part of a TLS server's options a rotation replaces (setSecureContext). */
export function secureContextOptions(material: TlsMaterial, tls: ClientTls): SecureContextOptions {
  return { cert: material.cert, key: material.key, ...(tls.clientCertAuth && material.ca !== undefined ? { ca: material.ca } : {}) };
}

export function httpsServerOptions(tls: ClientTls): HttpsServerOptions {
  return {
    ...secureContextOptions(tls.files.material(), tls),
    // Without --client-cert-auth no certificate is asked for, so none is ever trusted.
    requestCert: tls.clientCertAuth,
    rejectUnauthorized: tls.clientCertAuth,
  };
}
