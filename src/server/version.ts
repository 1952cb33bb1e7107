/**
 * Versions a node reports: Keel's own (package.json), and the etcd API version it
 * answers etcd clients with (StatusResponse.version), which is the etcd release whose
 * v3 API Keel follows: etcdctl and client libraries print it and some compare it.
 */
import { readFileSync } from 'node:fs';

export const ETCD_API_VERSION = '3.5.0';

export const KEEL_VERSION: string = (() => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
})();
