/**
 * The web dashboard in a real browser (Debian's chromium driven by playwright-core)
 * against a real 3-node cluster started by `keel cluster up`, and its simulation mode.
 * Screenshots go to test-artifacts/dashboard/ for people to look at.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { launchChromium } from './chromium.js';
import type { LaunchedBrowser } from './chromium.js';
import { startClusterUp } from './cluster-up.js';
import type { ClusterUp } from './cluster-up.js';
import { http } from '../harness/http.js';
import { serveStatic } from './static-server.js';
import { waitFor } from '../harness/wait-for.js';
import { shownLeader, textOf, uiWaitMs, watchErrors } from './dashboard-page.js';

const artifacts = fileURLToPath(new URL('../../test-artifacts/dashboard/', import.meta.url));
const webRoot = fileURLToPath(new URL('../web/', import.meta.url));

describe('web dashboard', { timeout: 240_000 }, () => {
  let browser: LaunchedBrowser;

  before(async () => {
    mkdirSync(artifacts, { recursive: true });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });

  describe('live mode against keel cluster up', () => {
    let cluster: ClusterUp;
    before(async () => {
      cluster = await startClusterUp({ nodes: 3, enableFaultInjection: true });
    });
    after(async () => {
      await cluster?.stop();
    });

    it('shows the leader, puts a key through the UI that every node serves, and shows a new leader after the UI kills the leader', async () => {
      const context = await browser.browser.newContext({ viewport: { width: 1280, height: 1000 } });
      const page = await context.newPage();
      const errors = watchErrors(page);
      try {
        assert.match(cluster.dashboardUrl, new RegExp(`^${cluster.endpoints[0]}/ui/#supervisor-token=[A-Za-z0-9_-]{32}$`));
        await page.goto(cluster.dashboardUrl);
        // The page keeps the token in its session storage and takes it out of the address bar.
        await waitFor(async () => page.url() === `${cluster.endpoints[0]}/ui/`, { timeoutMs: uiWaitMs, what: 'the token to leave the address bar' });
        const leader = await waitFor(() => shownLeader(page), { timeoutMs: uiWaitMs, what: 'the dashboard to show a leader' });
        // Every node's card is connected and agrees on that leader.
        for (let id = 1; id <= 3; id++) {
          await waitFor(async () => (await page.getByTestId(`node-card-${id}`).getAttribute('data-role')) !== 'down', {
            timeoutMs: uiWaitMs,
            what: `node ${id}'s card to show its role`,
          });
        }
        const roles = await Promise.all([1, 2, 3].map((id) => page.getByTestId(`node-card-${id}`).getAttribute('data-role')));
        assert.deepEqual(
          roles.map((r, i) => (i + 1 === leader ? r === 'leader' : r === 'follower')),
          [true, true, true],
          `roles shown: ${roles.join(', ')}`,
        );
        await page.screenshot({ path: `${artifacts}live-loaded.png`, fullPage: true });
        assert.equal(errors.length, 0, `the page loads without console errors:\n${errors.join('\n')}`);

        // A put made in the UI appears in the key browser and is readable from every node.
        await page.getByLabel('Key', { exact: true }).fill('dashboard/greeting');
        await page.getByLabel('Value', { exact: true }).fill('hello from the browser');
        await page.getByRole('button', { name: 'Put', exact: true }).click();
        await waitFor(async () => (await textOf(page, 'kv-result')).startsWith('put dashboard/greeting'), {
          timeoutMs: uiWaitMs,
          what: 'the put to be acknowledged in the UI',
          explain: async () => `result line: ${await textOf(page, 'kv-result')}`,
        });
        await page.getByLabel('Prefix').fill('dashboard/');
        await page.getByRole('button', { name: 'Scan' }).click();
        await waitFor(async () => ((await page.getByTestId('key-table').textContent()) ?? '').includes('hello from the browser'), {
          timeoutMs: uiWaitMs,
          what: 'the key browser to list the key',
        });
        for (const endpoint of cluster.endpoints) {
          const answer = await http(`${endpoint}/kv/dashboard/greeting`);
          assert.equal(answer.status, 200, `${endpoint}: ${JSON.stringify(answer.body)}`);
          assert.equal((answer.body as { value: string }).value, 'hello from the browser');
          const local = await waitFor(
            async () => {
              const a = await http(`${endpoint}/kv/dashboard/greeting?consistency=serializable`);
              return a.status === 200 && a;
            },
            { timeoutMs: uiWaitMs, what: `${endpoint} to have applied the put locally` },
          );
          assert.equal((local.body as { value: string }).value, 'hello from the browser');
        }
        await page.screenshot({ path: `${artifacts}live-after-put.png`, fullPage: true });
        assert.equal(errors.length, 0, `no console errors while putting:\n${errors.join('\n')}`);

        // Killing the leader from the UI (through the supervisor) leads to a new leader shown.
        await page.getByRole('button', { name: `Kill node ${leader}` }).click();
        await waitFor(async () => (await textOf(page, 'notice')) === `kill node ${leader}: done`, { timeoutMs: uiWaitMs, what: 'the kill to be confirmed' });
        const supervised = (await http(`${cluster.supervisorUrl}/nodes`, { headers: cluster.supervisorHeaders })).body as {
          nodes: { id: number; running: boolean }[];
        };
        assert.equal(supervised.nodes.find((n) => n.id === leader)?.running, false, 'the supervisor killed the leader');
        const next = await waitFor(
          async () => {
            const shown = await shownLeader(page);
            return shown !== undefined && shown !== leader && shown;
          },
          { timeoutMs: uiWaitMs, what: 'a new leader to be shown', explain: async () => `shown: ${await textOf(page, 'leader')}` },
        );
        const health = await http(`${cluster.endpoints[next - 1]}/health`);
        assert.equal((health.body as { leader: number }).leader, next, 'the node shown as leader is the leader');
        assert.equal(await page.getByTestId(`node-card-${leader}`).getAttribute('data-role'), 'down');
        await page.screenshot({ path: `${artifacts}live-after-kill.png`, fullPage: true });
        // A killed node's address refuses connections, and the browser logs each attempt
        // to reach it (the page keeps trying, to follow it when it comes back). Those
        // are the only errors allowed, and only about that node.
        const killedOrigin = cluster.endpoints[leader - 1]!.replace('http://', '');
        const unexpected = errors.filter((e) => !(e.includes(killedOrigin) && /ERR_CONNECTION_REFUSED|WebSocket connection/.test(e)));
        assert.equal(unexpected.length, 0, `no console errors besides failed connections to the killed node:\n${unexpected.join('\n')}`);

        // Restart from the UI: the node comes back as a follower.
        await page.getByRole('button', { name: `Restart node ${leader}` }).click();
        await waitFor(async () => (await page.getByTestId(`node-card-${leader}`).getAttribute('data-role')) === 'follower', {
          timeoutMs: uiWaitMs,
          what: 'the restarted node to be shown as a follower',
        });

        await page.setViewportSize({ width: 390, height: 844 });
        await page.screenshot({ path: `${artifacts}live-phone.png`, fullPage: true });
      } finally {
        await context.close();
      }
    });
    it('isolates and heals a node through its fault hooks, and transfers leadership, from the UI', async () => {
      const context = await browser.browser.newContext({ viewport: { width: 1280, height: 1000 } });
      const page = await context.newPage();
      const errors = watchErrors(page);
      try {
        await page.goto(cluster.dashboardUrl);
        const leader = await waitFor(() => shownLeader(page), { timeoutMs: uiWaitMs, what: 'the dashboard to show a leader' });
        const follower = [1, 2, 3].find((id) => id !== leader)!;
        await waitFor(async () => (await page.getByTestId(`node-card-${follower}`).getAttribute('data-role')) === 'follower', {
          timeoutMs: uiWaitMs,
          what: `node ${follower} to be shown as a follower`,
        });

        // A transfer to a node still catching up gives up after an election timeout
        // (thesis §3.10), so the test hands leadership to a follower that holds the log.
        await waitFor(
          async () => {
            const status = (await http(`${cluster.endpoints[leader - 1]}/status`)).body as { lastIndex: number; peers: { id: number; match: number }[] };
            return status.peers.find((p) => p.id === follower)?.match === status.lastIndex;
          },
          { timeoutMs: uiWaitMs, what: `node ${follower} to hold the leader's whole log` },
        );
        await page.getByRole('button', { name: `Make node ${follower} leader` }).click();
        await waitFor(async () => (await shownLeader(page)) === follower, {
          timeoutMs: uiWaitMs,
          what: `node ${follower} to be shown as leader after the transfer`,
          explain: async () => `notice: ${await textOf(page, 'notice')}`,
        });
        assert.equal(((await http(`${cluster.endpoints[follower - 1]}/status`)).body as { role: string }).role, 'leader');

        const isolated = leader;
        await page.getByRole('button', { name: `Isolate node ${isolated}` }).click();
        await waitFor(async () => (await textOf(page, 'notice')) === `isolate node ${isolated}: done`, {
          timeoutMs: uiWaitMs,
          what: 'the isolation to be confirmed',
        });
        const rules = (await http(`${cluster.endpoints[isolated - 1]}/admin/faults`)).body as { rules: unknown[] };
        assert.deepEqual(rules.rules, [{ peer: '*', direction: 'both', dropFraction: 1 }]);
        await page.screenshot({ path: `${artifacts}live-isolated.png`, fullPage: true });
        await page.getByRole('button', { name: `Heal node ${isolated}` }).click();
        await waitFor(async () => (await textOf(page, 'notice')) === `heal node ${isolated}: done`, { timeoutMs: uiWaitMs, what: 'the heal to be confirmed' });
        assert.deepEqual(((await http(`${cluster.endpoints[isolated - 1]}/admin/faults`)).body as { rules: unknown[] }).rules, []);
        assert.equal(errors.length, 0, `no console errors:\n${errors.join('\n')}`);
      } finally {
        await context.close();
      }
    });

    it('the supervisor endpoint refuses requests without its token, pages of other origins, unknown nodes, and killing or restarting twice', async () => {
      const headers = cluster.supervisorHeaders;
      const foreign = await http(`${cluster.supervisorUrl}/nodes/1/kill`, { method: 'POST', headers: { ...headers, origin: 'http://example.invalid' } });
      assert.equal(foreign.status, 403);
      // A local process that never saw the terminal: no token, or a wrong one, kills nothing.
      const before = ((await http(`${cluster.supervisorUrl}/nodes`, { headers })).body as { nodes: { id: number; running: boolean }[] }).nodes;
      const target = before.find((n) => n.running);
      assert.ok(target, 'a node runs');
      const attempts: Record<string, string>[] = [
        {},
        { 'x-keel-supervisor-token': 'guess' },
        { 'x-keel-supervisor-token': `${headers['x-keel-supervisor-token']}x` },
      ];
      for (const attempt of attempts) {
        const refused = await http(`${cluster.supervisorUrl}/nodes/${target.id}/kill`, { method: 'POST', headers: attempt });
        assert.equal(refused.status, 401, JSON.stringify(refused.body));
        assert.match(JSON.stringify(refused.body), /supervisor-token/);
        assert.equal((await http(`${cluster.supervisorUrl}/nodes`, { headers: attempt })).status, 401, 'listing needs the token too');
      }
      const after = ((await http(`${cluster.supervisorUrl}/nodes`, { headers })).body as { nodes: { id: number; running: boolean }[] }).nodes;
      assert.equal(after.find((n) => n.id === target.id)?.running, true, 'nothing was killed');
      const nodes = await http(`${cluster.supervisorUrl}/nodes`, { headers: { ...headers, origin: cluster.endpoints[1]! } });
      assert.equal(nodes.status, 200);
      assert.equal(nodes.headers.get('access-control-allow-origin'), cluster.endpoints[1]);
      assert.deepEqual(
        (nodes.body as { nodes: { id: number }[] }).nodes.map((n) => n.id),
        [1, 2, 3],
      );
      assert.equal((await http(`${cluster.supervisorUrl}/nodes/9/kill`, { method: 'POST', headers })).status, 404);
      assert.equal((await http(`${cluster.supervisorUrl}/nodes/1/stop`, { method: 'POST', headers })).status, 404);
      const running = (nodes.body as { nodes: { id: number; running: boolean }[] }).nodes.find((n) => n.running);
      assert.ok(running, 'a node runs');
      assert.equal((await http(`${cluster.supervisorUrl}/nodes/${running.id}/restart`, { method: 'POST', headers })).status, 409);
      // The nodes answer CORS for the cluster's own pages only.
      const own = await http(`${cluster.endpoints[0]}/status`, { headers: { origin: cluster.endpoints[2]! } });
      assert.equal(own.headers.get('access-control-allow-origin'), cluster.endpoints[2]);
      const other = await http(`${cluster.endpoints[0]}/status`, { headers: { origin: 'http://example.invalid' } });
      assert.equal(other.headers.get('access-control-allow-origin'), null);
    });
  });

  it('simulation mode elects a leader, replicates a put, re-elects after a crash and partitions by drag, with no server behind it', async () => {
    // The built files from a plain file server: no Keel node anywhere.
    const files = await serveStatic(webRoot, '/ui/');
    const context = await browser.browser.newContext({ viewport: { width: 1280, height: 1000 } });
    const page = await context.newPage();
    const errors = watchErrors(page);
    try {
      await page.goto(`${files.url}#sim`);
      const leader = await waitFor(
        async () => {
          const match = /^node (\d+)$/.exec((await textOf(page, 'sim-leader')).trim());
          return match ? Number(match[1]) : undefined;
        },
        { timeoutMs: uiWaitMs, what: 'the simulation to elect a leader' },
      );
      assert.equal(await page.getByTestId(`sim-node-${leader}`).getAttribute('data-role'), 'leader');
      await page.getByLabel('Key', { exact: true }).fill('color');
      await page.getByLabel('Value', { exact: true }).fill('blue');
      await page.getByRole('button', { name: 'Put', exact: true }).click();
      await waitFor(async () => /^put color=blue via node \d: ok/.test(await textOf(page, 'sim-answer')), {
        timeoutMs: uiWaitMs,
        what: 'the simulated put to be acknowledged',
        explain: async () => `answer: ${await textOf(page, 'sim-answer')}`,
      });
      for (let id = 1; id <= 3; id++) {
        await waitFor(async () => (await textOf(page, `sim-kv-${id}`)).includes('color=blue'), {
          timeoutMs: uiWaitMs,
          what: `simulated node ${id} to apply the put`,
        });
      }
      await page.screenshot({ path: `${artifacts}sim-replicated.png`, fullPage: true });
      // Crash the leader by clicking it: another node takes over.
      await page.getByRole('button', { name: `crash node ${leader} (leader)` }).click();
      await waitFor(
        async () => {
          const match = /^node (\d+)$/.exec((await textOf(page, 'sim-leader')).trim());
          return match !== null && Number(match[1]) !== leader;
        },
        { timeoutMs: uiWaitMs, what: 'the simulation to elect a new leader after the crash' },
      );
      await page.screenshot({ path: `${artifacts}sim-after-crash.png`, fullPage: true });
      // Drag a node across the partition line: the simulation cuts it off.
      const moved = leader === 1 ? 2 : 1;
      await page.getByRole('button', { name: `node ${moved} on side A; move it to side B` }).dragTo(page.getByText('side B'));
      await page.getByRole('button', { name: `node ${moved} on side B; move it to side A` }).waitFor({ timeout: uiWaitMs });
      await waitFor(async () => ((await page.getByLabel('simulation events').textContent()) ?? '').includes('partition: {'), {
        timeoutMs: uiWaitMs,
        what: 'the partition to be noted in the events',
      });
      await page.screenshot({ path: `${artifacts}sim-partitioned.png`, fullPage: true });
      assert.equal(errors.length, 0, `no console errors in simulation mode:\n${errors.join('\n')}`);
    } finally {
      await context.close();
      await files.close();
    }
  });
});
