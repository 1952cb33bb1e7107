/**
 * Certificates and TLS contexts, for the node, the CLI, the client and the tests.
 * This file is what other folders may use of it (scripts/check-imports.mjs).
 */
export { ensureAutoTlsFiles } from './auto-tls.js';
export { fetchWithTls } from './https-fetch.js';
export type { ClientTlsOptions, FetchFunction } from './https-fetch.js';
export { autoTlsContextOptions, reloadingSecureContextOptions } from './peer-tls-files.js';
export type { TlsBundle, TlsBundleFiles } from './tls-bundle.js';
export { TlsFileWatcher } from './tls-files.js';
export type { TlsFilePaths, TlsMaterial } from './tls-files.js';
