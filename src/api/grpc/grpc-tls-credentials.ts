/**
 * The gRPC listener's credentials: insecure, or TLS that follows the node's certificate
 * files. grpc-js rotates a server's certificate through its certificate-provider API
 * (experimental.createCertificateProviderServerCredentials): every update a provider
 * announces is applied with setSecureContext to the listening HTTP/2 server, so new
 * connections get it. This provider announces what the node's TlsFileWatcher reads,
 * and never announces "no certificate" (grpc-js would then drop new connections): a
 * bad file at rotation leaves the old certificate serving.
 */
import { ServerCredentials, experimental } from '@grpc/grpc-js';
import type { ClientTls } from '../client-tls.js';
import type { TlsMaterial } from '../../tls/tls-files.js';

type CaListener = experimental.CaCertificateUpdateListener;
type IdentityListener = experimental.IdentityCertificateUpdateListener;

class WatchedCertificateProvider implements experimental.CertificateProvider {
  private readonly caListeners = new Set<CaListener>();
  private readonly identityListeners = new Set<IdentityListener>();
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly tls: ClientTls) {}

  addCaCertificateListener(listener: CaListener): void {
    this.caListeners.add(listener);
    this.follow();
    // grpc-js subscribes before it registers the server that applies updates: announce after.
    queueMicrotask(() => announceCa(listener, this.tls.files.material()));
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.caListeners.delete(listener);
    this.maybeStop();
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.add(listener);
    this.follow();
    queueMicrotask(() => announceIdentity(listener, this.tls.files.material()));
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.delete(listener);
    this.maybeStop();
  }

  private follow(): void {
    this.unsubscribe ??= this.tls.files.onChange((material) => {
      for (const listener of this.caListeners) announceCa(listener, material);
      for (const listener of this.identityListeners) announceIdentity(listener, material);
    });
  }

  private maybeStop(): void {
    if (this.caListeners.size > 0 || this.identityListeners.size > 0) return;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }
}

function announceCa(listener: CaListener, material: TlsMaterial): void {
  if (material.ca !== undefined) listener({ caCertificate: material.ca });
}

function announceIdentity(listener: IdentityListener, material: TlsMaterial): void {
  listener({ certificate: material.cert, privateKey: material.key });
}

export function grpcServerCredentials(tls: ClientTls | undefined): ServerCredentials {
  if (tls === undefined) return ServerCredentials.createInsecure();
  const provider = new WatchedCertificateProvider(tls);
  // The CA provider asks clients for a certificate; with requireClientCertificate, one the
  // CA did not sign (or none) fails the handshake. Without --client-cert-auth: no CA, no ask.
  // (grpc-js's declared parameter order differs from the one it uses; one provider serves as both.)
  return experimental.createCertificateProviderServerCredentials(provider, tls.clientCertAuth ? provider : null, tls.clientCertAuth);
}
