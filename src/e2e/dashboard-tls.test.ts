/**
 * The dashboard over https, in a real browser, against `keel cluster up --tls`: the
 * browser presents the cluster's client certificate (the nodes run with
 * --client-cert-auth), loads the page from one node and follows every member over
 * https:// and wss://, showing the same leader on every card; a put made in the page
 * is acknowledged.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { launchChromium } from './chromium.js';
import type { LaunchedBrowser } from './chromium.js';
import { startClusterUp } from './cluster-up.js';
import type { ClusterUp } from './cluster-up.js';
import { waitFor } from '../harness/wait-for.js';
import { shownLeader, textOf, uiWaitMs, watchErrors } from './dashboard-page.js';

describe('web dashboard over https', { timeout: 240_000 }, () => {
  let browser: LaunchedBrowser;
  let cluster: ClusterUp;

  before(async () => {
    browser = await launchChromium();
    cluster = await startClusterUp({ nodes: 3, tls: true });
  });
  after(async () => {
    await cluster?.stop();
    await browser?.close();
  });

  it('loads from an https member and follows every member with the client certificate', async () => {
    assert.match(cluster.dashboardUrl, /^https:\/\//);
    const tls = join(cluster.dataDir, 'tls');
    const context = await browser.browser.newContext({
      // The throwaway CA is not in the browser's store; the certificate chain is checked by the other TLS tests.
      ignoreHTTPSErrors: true,
      clientCertificates: cluster.endpoints.map((origin) => ({ origin, certPath: join(tls, 'client.pem'), keyPath: join(tls, 'client-key.pem') })),
    });
    const page = await context.newPage();
    const errors = watchErrors(page);
    try {
      await page.goto(cluster.dashboardUrl);
      const leader = await waitFor(() => shownLeader(page), {
        timeoutMs: uiWaitMs,
        what: 'the dashboard to show a leader',
        explain: async () => `errors: ${errors.join('\n')}\npage: ${(await page.content()).slice(0, 1500)}`,
      });
      for (let id = 1; id <= 3; id++) {
        await waitFor(async () => (await page.getByTestId(`node-card-${id}`).getAttribute('data-role')) !== 'down', {
          timeoutMs: uiWaitMs,
          what: `node ${id}'s card to show its role over wss`,
        });
      }
      const roles = await Promise.all([1, 2, 3].map((id) => page.getByTestId(`node-card-${id}`).getAttribute('data-role')));
      assert.deepEqual(
        roles.map((r, i) => (i + 1 === leader ? r === 'leader' : r === 'follower')),
        [true, true, true],
        `roles shown: ${roles.join(', ')}`,
      );

      await page.getByLabel('Key', { exact: true }).fill('dashboard/tls');
      await page.getByLabel('Value', { exact: true }).fill('over https');
      await page.getByRole('button', { name: 'Put', exact: true }).click();
      await waitFor(async () => (await textOf(page, 'kv-result')).startsWith('put dashboard/tls'), {
        timeoutMs: uiWaitMs,
        what: 'the put to be acknowledged in the UI',
        explain: async () => `result line: ${await textOf(page, 'kv-result')}`,
      });
      assert.equal(errors.length, 0, `no console errors:\n${errors.join('\n')}`);
    } finally {
      await context.close();
    }
  });
});
