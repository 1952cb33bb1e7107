/**
 * Opens the node's client TLS files (--cert-file, --key-file, --trusted-ca-file, or
 * --auto-tls's generated pair) before the listeners start: a bad file stops the start
 * with an error naming it; a bad file at rotation is logged and the old one stays.
 */
import type { Logger } from 'pino';
import type { NodeConfig } from '../replica/index.js';
import type { ClientTls } from '../api/index.js';
import { TlsFileWatcher, type TlsFilePaths, ensureAutoTlsFiles } from '../tls/index.js';

export async function openClientTls(config: NodeConfig, host: string, log: Logger): Promise<ClientTls | undefined> {
  let paths: TlsFilePaths;
  if (config.certFile !== undefined && config.keyFile !== undefined) {
    paths = { certFile: config.certFile, keyFile: config.keyFile };
  } else if (config.autoTls) {
    paths = await ensureAutoTlsFiles(config.dataDir, host);
  } else {
    return undefined;
  }
  if (config.trustedCaFile !== undefined) paths = { ...paths, caFile: config.trustedCaFile };
  const files = new TlsFileWatcher(paths, {
    onReloadError: (error) =>
      log.error({ file: error.file, err: error }, `client TLS files changed but cannot be used; the old certificate stays: ${error.message}`),
    onReload: (material) => log.info({ serialNumber: material.serialNumber }, 'client TLS certificate reloaded'),
  });
  log.info({ certFile: paths.certFile, serialNumber: files.material().serialNumber, clientCertAuth: config.clientCertAuth }, 'client TLS on');
  return { files, clientCertAuth: config.clientCertAuth };
}
