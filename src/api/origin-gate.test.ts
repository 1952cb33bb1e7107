import { test } from 'node:test';
import assert from 'node:assert/strict';
import { originRefusal } from './origin-gate.js';
import type { OriginPolicy } from './origin-gate.js';
import { parseOrigins } from '../cli/node-config.js';

const policy: OriginPolicy = {
  isMemberOrigin: (origin) => origin === 'http://10.0.0.1:2379' || origin === 'http://10.0.0.2:2379',
  allowedOrigins: new Set(['https://ops.example:8443']),
  memberHosts: () => new Set(['10.0.0.1', '10.0.0.2', 'db1.internal']),
};
const request = (fields: Partial<Parameters<typeof originRefusal>[0]>): Parameters<typeof originRefusal>[0] => ({
  method: 'POST',
  origin: undefined,
  host: '10.0.0.1:2379',
  secure: false,
  fetchSite: undefined,
  ...fields,
});

test('origin gate: programs without an Origin pass; members, allowed origins and this node under a known name pass', () => {
  assert.equal(originRefusal(request({}), policy), undefined, 'curl, etcdctl, the client library');
  assert.equal(originRefusal(request({ origin: 'http://10.0.0.2:2379' }), policy), undefined, "another member's dashboard");
  assert.equal(originRefusal(request({ origin: 'https://ops.example:8443' }), policy), undefined, 'an origin allowed with --cors');
  assert.equal(originRefusal(request({ origin: 'http://localhost:2379', host: 'localhost:2379' }), policy), undefined, 'this node as localhost');
  assert.equal(originRefusal(request({ origin: 'http://[::1]:2379', host: '[::1]:2379' }), policy), undefined, 'this node as ::1');
  assert.equal(originRefusal(request({ origin: 'http://db1.internal:2379', host: 'db1.internal:2379' }), policy), undefined, "this node under a member's name");
  assert.equal(
    originRefusal(request({ origin: 'https://ops.example:2379', host: 'ops.example:2379', secure: true }), policy),
    undefined,
    "this node under an allowed origin's name",
  );
  assert.equal(
    originRefusal(request({ method: 'GET', fetchSite: 'cross-site' }), policy),
    undefined,
    'a cross-site GET without Origin reads nothing the page can see',
  );
});

test('origin gate: foreign pages, sandboxed pages, rebinding pages and marked cross-site writes are refused', () => {
  assert.match(originRefusal(request({ origin: 'http://evil.example' }), policy) ?? '', /pages from http:\/\/evil\.example may not call this node/);
  assert.ok(originRefusal(request({ method: 'GET', origin: 'http://evil.example' }), policy), 'a GET too: a WebSocket handshake is a GET');
  assert.ok(originRefusal(request({ origin: 'null' }), policy), 'Origin: null (a sandboxed frame, a file)');
  assert.ok(
    originRefusal(request({ origin: 'http://evil.example:2379', host: 'evil.example:2379' }), policy),
    'DNS rebinding: same origin, but not a name of this node',
  );
  assert.ok(originRefusal(request({ origin: 'https://10.0.0.1:2379', host: '10.0.0.1:2379', secure: false }), policy), 'another scheme is another origin');
  assert.ok(originRefusal(request({ fetchSite: 'cross-site' }), policy), 'a browser-marked cross-site POST without Origin');
  assert.ok(originRefusal(request({ origin: 'http://10.0.0.1:2380' }), policy), 'a member host on another port is another origin');
});

test('--cors takes origins, and refuses "*", paths and other schemes', () => {
  assert.deepEqual(parseOrigins('https://ops.example:8443, http://127.0.0.1:8080'), ['https://ops.example:8443', 'http://127.0.0.1:8080']);
  assert.deepEqual(parseOrigins(['https://a.example']), ['https://a.example']);
  assert.deepEqual(parseOrigins(undefined), []);
  assert.throws(() => parseOrigins('*'), /"\*" would let every web page drive the cluster/);
  assert.throws(() => parseOrigins('https://a.example/ui'), /is not an origin/);
  assert.throws(() => parseOrigins('ftp://a.example'), /is not an origin/);
  assert.throws(() => parseOrigins('nonsense'), /is not an origin/);
});
