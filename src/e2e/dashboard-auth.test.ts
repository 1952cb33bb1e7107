/**
 * The dashboard in a real browser (Debian's chromium) against a cluster with
 * authentication enabled: the feed needs root, so the page offers a login form; a
 * wrong password is refused with etcd's words, root's password brings the live view.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Etcd3 } from 'etcd3';
import { launchChromium, type LaunchedBrowser } from './chromium.js';
import { Cluster } from '../harness/cluster-harness.js';

const uiWaitMs = 30_000;
let cluster: Cluster;
let browser: LaunchedBrowser;

before(async () => {
  browser = await launchChromium();
  cluster = await Cluster.start({ size: 3 });
  const admin = new Etcd3({ hosts: cluster.nodes.map((n) => `http://${n.grpcEndpoint}`), dialTimeout: 3_000 });
  try {
    await admin.user('root').create('root-pw');
    await admin.user('root').addRole('root');
    await admin.user('viewer').create('viewer-pw');
    await admin.auth.authEnable({});
  } finally {
    admin.close();
  }
});
after(async () => {
  await browser?.close();
  await cluster?.destroy();
});

test('with auth on, the dashboard asks for a root login and then shows the cluster', { timeout: 120_000 }, async () => {
  const context = await browser.browser.newContext({ viewport: { width: 1280, height: 1000 } });
  try {
    const page = await context.newPage();
    await page.goto(`${cluster.url(1)}/ui/`);
    const form = page.getByRole('form', { name: 'log in' });
    await form.waitFor({ timeout: uiWaitMs });
    await form.getByLabel('User').fill('root');
    await form.getByLabel('Password').fill('wrong');
    await form.getByRole('button', { name: 'Log in' }).click();
    await form.getByText('authentication failed, invalid user ID or password').waitFor({ timeout: uiWaitMs });

    // A user without the root role logs in, but the feed still refuses it.
    await form.getByLabel('User').fill('viewer');
    await form.getByLabel('Password').fill('viewer-pw');
    await form.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('form', { name: 'log in' }).getByText('the user lacks the root role').waitFor({ timeout: uiWaitMs });

    const again = page.getByRole('form', { name: 'log in' });
    await again.getByLabel('User').fill('root');
    await again.getByLabel('Password').fill('root-pw');
    await again.getByRole('button', { name: 'Log in' }).click();
    // The live view, fed over the WebSockets that now carry root's token, finds the leader.
    await page
      .getByTestId('leader')
      .filter({ hasText: /^node [123]$/ })
      .waitFor({ timeout: uiWaitMs });
    assert.match((await page.getByTestId('leader').textContent()) ?? '', /^node [123]$/);
  } finally {
    await context.close();
  }
});
