/**
 * How a node calls another member's client port (forwarding a membership change to the
 * leader, asking whether it was removed). With client TLS on, the members' client URLs
 * are https: the node verifies them with --trusted-ca-file and, for members that
 * require client certificates, presents its own certificate (which must then allow
 * client authentication, as etcd requires of its server certificates for its gateway).
 * Without a CA to verify with (--auto-tls), it trusts whoever answers, as --auto-tls
 * clients do. The files are read at each call, so rotated ones are used at once; the
 * calls are rare (membership changes, a leaderless node's check).
 */
import { readFileSync } from 'node:fs';
import { fetchWithTls, type FetchFunction } from '../tls/index.js';
import { type NodeConfig, clientTlsEnabled } from '../replica/index.js';

export function memberFetchFor(config: NodeConfig): FetchFunction {
  if (!clientTlsEnabled(config)) return fetchWithTls(undefined);
  return (url, init) => {
    const ca = config.trustedCaFile !== undefined ? readFileSync(config.trustedCaFile) : undefined;
    const identity =
      config.clientCertAuth && config.certFile !== undefined && config.keyFile !== undefined
        ? { cert: readFileSync(config.certFile), key: readFileSync(config.keyFile) }
        : {};
    return fetchWithTls({ ...(ca !== undefined ? { ca } : { insecureSkipVerify: config.autoTls }), ...identity }, { keepAlive: false })(url, init);
  };
}
