/**
 * How this node's peer transport proves who it is and checks who its peers are,
 * from its configuration (docs/operating/security-peers.md):
 *
 *   - the cluster secret (peer-secret.ts), proved in every handshake; and/or
 *   - TLS: certificate files (mutual TLS when peerClientCertAuth), or auto TLS
 *     (encryption only: it must come with the secret).
 *
 * A node with neither the secret nor mutual TLS verifying both ends refuses to start:
 * anyone reaching its peer port could otherwise speak as a member.
 */
import { type Logger, type NodeConfig, selfAddress } from '../replica/index.js';
import { loadClusterSecret, PeerSecretError } from './peer-secret.js';
import { autoTlsContextOptions, reloadingSecureContextOptions } from '../tls/index.js';
import type { PeerTlsOptions } from '../transport/index.js';

export interface PeerAuth {
  readonly secret?: Uint8Array;
  readonly tls?: PeerTlsOptions;
}

export async function peerAuth(config: NodeConfig, log: Logger): Promise<PeerAuth> {
  const secret = await loadClusterSecret(config.dataDir, config.peerSecretFile);
  const tls = await peerTls(config, log);
  if (secret === undefined && !(tls?.clientCertAuth === true && tls.verifyServer)) {
    throw new PeerSecretError(
      `node ${config.id} has no way to tell its peers from strangers: its data directory ${config.dataDir} holds no cluster secret, and it has no mutual TLS on the peer port. ` +
        'Create a secret once for the whole cluster (keel cluster secret --out FILE), hand the same file to every member, and start each with --peer-secret-file FILE (KEEL_PEER_SECRET_FILE); ' +
        'or give every member --peer-cert-file, --peer-key-file, --peer-trusted-ca-file and --peer-client-cert-auth. See docs/operating/security-peers.md.',
    );
  }
  return { ...(secret !== undefined ? { secret } : {}), ...(tls !== undefined ? { tls } : {}) };
}

async function peerTls(config: NodeConfig, log: Logger): Promise<PeerTlsOptions | undefined> {
  if (config.peerAutoTls) {
    const options = await autoTlsContextOptions(selfAddress(config).host);
    return { secureContextOptions: () => options, clientCertAuth: false, verifyServer: false };
  }
  if (config.peerCertFile === undefined || config.peerKeyFile === undefined) return undefined;
  const secureContextOptions = reloadingSecureContextOptions(
    {
      certFile: config.peerCertFile,
      keyFile: config.peerKeyFile,
      ...(config.peerTrustedCaFile !== undefined ? { trustedCaFile: config.peerTrustedCaFile } : {}),
    },
    (error) => log.error({ component: 'transport', err: error }, 'peer certificate files changed but do not load; still using the previous ones'),
  );
  return {
    secureContextOptions,
    clientCertAuth: config.peerClientCertAuth,
    verifyServer: config.peerTrustedCaFile !== undefined,
    ...(config.peerCertAllowedCn !== undefined ? { allowedCn: config.peerCertAllowedCn } : {}),
  };
}
