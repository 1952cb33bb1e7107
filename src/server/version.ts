/**
 * Versions a node reports: Keel's own (package.json), and the etcd API version it
 * answers etcd clients with (StatusResponse.version, GET /version), which is the etcd
 * release whose v3 API Keel serves whole: etcdctl and client libraries print it, and
 * some turn features on by it. 3.4: every call of etcd 3.4 is served; 3.5's Downgrade
 * is not, so claiming 3.5 would promise a call that answers UNIMPLEMENTED.
 */
import { readFileSync } from 'node:fs';

export const ETCD_API_VERSION = '3.4.0';

export const KEEL_VERSION: string = (() => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
})();
