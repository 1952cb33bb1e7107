/**
 * Records etcd's gateway answers to the scenario in gateway-scenario.ts, from a real
 * etcd (Debian's etcd-server 3.4, see scripts/setup-ci.sh) started on 127.0.0.1 in a
 * temp dir, into src/e2e/fixtures/etcd-gateway.json, which etcd-gateway-golden.test.ts
 * compares Keel with. Run after changing the scenario:
 *
 *   npx tsc -p . && node dist/e2e/record-etcd-gateway.js
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { ensureEtcd, startEtcdCluster } from './etcd-cluster.js';
import { fixturesUrl, playScenario } from './gateway-scenario.js';

const dir = mkdtempSync(join(tmpdir(), 'keel-record-etcd-'));
try {
  const etcdVersion = execFileSync(await ensureEtcd(), ['--version'], { encoding: 'utf8' }).split('\n')[0] ?? '';
  const etcd = await startEtcdCluster({ size: 1, dir });
  try {
    const recorded = await playScenario(`http://${etcd.endpoints[0]}`);
    writeFileSync(fixturesUrl, `${JSON.stringify({ recordedFrom: etcdVersion, answers: recorded }, null, 2)}\n`);
    console.log(`recorded ${recorded.length} answers from ${etcdVersion} into ${fixturesUrl.pathname}`);
  } finally {
    await etcd.stop();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
