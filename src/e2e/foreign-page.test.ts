/**
 * A web page from another origin, in a real browser (Debian's chromium), tries what an
 * attacker's page would against a cluster on 127.0.0.1: writes that need no CORS
 * preflight (`text/plain` POSTs to etcd's JSON gateway, in `cors` and `no-cors` mode, and a form post),
 * raising the NOSPACE alarm, a defragmentation, a WebSocket watch and an event stream
 * from revision 1. Nothing may change and nothing may stream back, while a request
 * without an Origin (curl, etcdctl) still works.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request as httpRequest } from 'node:http';
import type { Server } from 'node:http';
import { launchChromium } from './chromium.js';
import type { LaunchedBrowser } from './chromium.js';
import { Cluster } from '../harness/cluster-harness.js';
import { describe as describeAnswer, http } from '../harness/http.js';

const pageWaitMs = 15_000;
/**
 * Deadlines, not pauses: each attempt resolves as soon as the browser reports its end
 * (a refused socket closes, a refused event stream errors); the deadline only bounds a
 * broken server that neither answers nor closes, which the assertions then report.
 */
const attemptDeadlineMs = 3_000;
const closeDeadlineMs = 5_000;

/** A WebSocket handshake from a foreign page: the status it got, and whether the server then closed the connection. */
function foreignUpgrade(url: string): Promise<{ status: number; closed: boolean }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const request = httpRequest({
      hostname,
      port,
      path: '/watch/ws',
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        origin: 'http://evil.example',
      },
      timeout: 10_000,
    });
    request.on('response', (response) => {
      response.resume();
      const timer = setTimeout(() => resolve({ status: response.statusCode ?? 0, closed: false }), closeDeadlineMs);
      response.socket.once('close', () => {
        clearTimeout(timer);
        resolve({ status: response.statusCode ?? 0, closed: true });
      });
    });
    request.on('upgrade', (response, socket) => {
      socket.destroy();
      resolve({ status: response.statusCode ?? 0, closed: false });
    });
    request.on('error', reject);
    request.end();
  });
}

/** A PUT with the Host and Origin headers a browser would send for a page of `name` (fetch will not set Host). */
function putAs(url: string, name: string, body: string): Promise<number> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      {
        hostname,
        port,
        method: 'PUT',
        path: '/kv/probe',
        headers: { host: `${name}:${port}`, origin: `http://${name}:${port}`, 'content-type': 'text/plain' },
        timeout: 10_000,
      },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      },
    );
    request.on('error', reject);
    request.on('timeout', () => request.destroy(new Error('no answer')));
    request.end(body);
  });
}

/** What the attacker's page runs: every attempt, each reporting what it could see. */
const attackScript = (node: string): string => `
const node = ${JSON.stringify(node)};
const deadlineMs = ${attemptDeadlineMs};
const results = {};
const attempt = async (name, run) => {
  try { results[name] = await run(); } catch (error) { results[name] = 'error: ' + error.message; }
};
const b64 = (text) => btoa(text);
await attempt('gatewayPut', async () => {
  const r = await fetch(node + '/v3/kv/put', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ key: b64('stolen/gateway'), value: b64('x') }) });
  return 'read ' + r.status;
});
await attempt('noCorsPut', async () => {
  await fetch(node + '/v3/kv/put', { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ key: b64('stolen/no-cors'), value: b64('x') }) });
  return 'sent';
});
await attempt('noCorsAlarm', async () => {
  await fetch(node + '/admin/alarms', { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ action: 'activate', memberId: 1, alarm: 'NOSPACE' }) });
  return 'sent';
});
await attempt('noCorsDefragment', async () => {
  await fetch(node + '/admin/defragment', { method: 'POST', mode: 'no-cors' });
  return 'sent';
});
await attempt('formPost', async () => {
  const frame = document.createElement('iframe');
  frame.name = 'sink';
  document.body.appendChild(frame);
  const form = document.createElement('form');
  form.method = 'POST';
  form.action = node + '/v3/kv/put';
  form.enctype = 'text/plain';
  form.target = 'sink';
  const input = document.createElement('input');
  input.name = '{"key":"' + b64('stolen/form') + '","value":"' + b64('x') + '","pad":"';
  input.value = '"}';
  form.appendChild(input);
  document.body.appendChild(form);
  const loaded = new Promise((resolve) => frame.addEventListener('load', resolve, { once: true }));
  form.submit();
  await Promise.race([loaded, new Promise((resolve) => setTimeout(resolve, deadlineMs))]);
  return 'submitted';
});
await attempt('webSocketWatch', () => new Promise((resolve) => {
  const socket = new WebSocket(node.replace('http', 'ws') + '/watch/ws');
  const seen = [];
  socket.onopen = () => socket.send(JSON.stringify({ create: { key: 's', prefix: true, startRevision: 1 } }));
  socket.onmessage = (event) => seen.push(String(event.data));
  socket.onclose = () => resolve('closed after ' + seen.length + ' messages');
  socket.onerror = () => undefined;
  setTimeout(() => { socket.close(); resolve('open with ' + seen.length + ' messages'); }, deadlineMs);
}));
await attempt('eventStream', () => new Promise((resolve) => {
  const source = new EventSource(node + '/watch/s?prefix=true&rev=1');
  let events = 0;
  for (const name of ['message', 'created', 'events', 'progress']) source.addEventListener(name, () => events++);
  source.onerror = () => { source.close(); resolve('failed after ' + events + ' events'); };
  setTimeout(() => { source.close(); resolve('open with ' + events + ' events'); }, deadlineMs);
}));
window.attackResults = results;
`;

describe('a page from another origin against a cluster on loopback', { timeout: 180_000 }, () => {
  let browser: LaunchedBrowser;
  let cluster: Cluster;
  let site: Server;
  let siteUrl = '';

  before(async () => {
    browser = await launchChromium();
    cluster = await Cluster.start({});
    // The attacker's site: another port on the same loopback address, so another origin.
    const node = cluster.url(1);
    site = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html><body><script type="module">${attackScript(node)}</script></body>`);
    });
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', () => resolve()));
    siteUrl = `http://127.0.0.1:${(site.address() as { port: number }).port}/`;
  });
  after(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => (site ? site.close(() => resolve()) : resolve()));
    await cluster?.destroy();
  });

  it('can neither write, raise an alarm, defragment, nor watch; requests without an Origin still work', async () => {
    const secret = await http(`${cluster.url(1)}/kv/secret`, { method: 'PUT', body: 'the key space', headers: { 'content-type': 'text/plain' } });
    assert.equal(secret.status, 200, describeAnswer(secret));
    const before = (await http(`${cluster.url(1)}/status`)).body as { revision: number };

    const context = await browser.browser.newContext();
    const page = await context.newPage();
    try {
      await page.goto(siteUrl);
      await page.waitForFunction(() => (globalThis as unknown as { attackResults?: unknown }).attackResults !== undefined, undefined, { timeout: pageWaitMs });
      const results = (await page.evaluate(() => (globalThis as unknown as { attackResults: Record<string, string> }).attackResults)) as Record<string, string>;
      // The page learns nothing: cross-origin answers are opaque or refused, the streams never open.
      assert.match(results['gatewayPut'] ?? '', /^error: /, JSON.stringify(results));
      assert.match(results['webSocketWatch'] ?? '', /^closed after 0 messages$/, JSON.stringify(results));
      assert.match(results['eventStream'] ?? '', /^failed after 0 events$/, JSON.stringify(results));
    } finally {
      await context.close();
    }

    // And nothing changed on the node: no key, no alarm, the same revision.
    for (const key of ['stolen/gateway', 'stolen/no-cors', 'stolen/form']) {
      assert.equal((await http(`${cluster.url(1)}/kv/${key}`)).status, 404, `${key} was not written`);
    }
    assert.deepEqual(((await http(`${cluster.url(1)}/admin/alarms`)).body as { alarms: unknown[] }).alarms, []);
    const afterStatus = (await http(`${cluster.url(1)}/status`)).body as { revision: number };
    assert.equal(afterStatus.revision, before.revision, 'no write reached the store');

    // The same requests with a foreign Origin get 403 FORBIDDEN_ORIGIN; without one they work.
    const refused = await http(`${cluster.url(1)}/kv/probe`, {
      method: 'PUT',
      body: 'x',
      headers: { 'content-type': 'text/plain', origin: siteUrl.replace(/\/$/, '') },
    });
    assert.equal(refused.status, 403, describeAnswer(refused));
    assert.match(describeAnswer(refused), /FORBIDDEN_ORIGIN/);
    const nullOrigin = await http(`${cluster.url(1)}/kv/probe`, { method: 'PUT', body: 'x', headers: { 'content-type': 'text/plain', origin: 'null' } });
    assert.equal(nullOrigin.status, 403, 'a sandboxed page (Origin: null) is refused too');
    const plain = await http(`${cluster.url(1)}/kv/probe`, { method: 'PUT', body: 'x', headers: { 'content-type': 'text/plain' } });
    assert.equal(plain.status, 200, describeAnswer(plain));
    // The cluster's own dashboards are served: a member's origin, and this node under another loopback name.
    const member = await http(`${cluster.url(1)}/status`, { headers: { origin: cluster.url(2) } });
    assert.equal(member.status, 200);
    assert.equal(await putAs(cluster.url(1), 'localhost', 'y'), 200, "this node's own page under the name localhost");
    // A DNS-rebinding page (its own name resolving to 127.0.0.1) is not this node under another name.
    assert.equal(await putAs(cluster.url(1), 'attacker.example', 'z'), 403, 'a page of a name that merely resolves here');
    // A refused WebSocket handshake takes its connection with it (the plugin that would close it never ran).
    assert.deepEqual(await foreignUpgrade(cluster.url(1)), { status: 403, closed: true });
  });
});
