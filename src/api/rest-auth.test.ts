import { test } from 'node:test';
import assert from 'node:assert/strict';
import { routeClass } from './rest-auth.js';

test('REST routes fall in the class their data calls for; anything unlisted needs root', () => {
  for (const url of ['/status', '/health', '/version', '/cluster/info', '/metrics', '/ui/*']) assert.equal(routeClass('GET', url), 'open', url);
  assert.equal(routeClass('GET', '/members'), 'open');
  for (const url of ['/kv/*', '/kv', '/batch', '/history/*', '/records/*', '/leases/:id', '/watch/ws', '/watch/*'])
    assert.equal(routeClass('GET', url), 'keys', url);
  for (const url of ['/v3/kv/range', '/v3/auth/authenticate', '/v3/watch', '/v3beta/kv/put', '/v3alpha/watch'])
    assert.equal(routeClass('POST', url), 'self', url);
  for (const [method, url] of [
    ['POST', '/members'],
    ['DELETE', '/members/:id'],
    ['GET', '/admin/snapshot'],
    ['PUT', '/admin/faults'],
    ['GET', '/ui/events'],
    ['GET', '/some/new/route'],
  ] as const) {
    assert.equal(routeClass(method, url), 'root', `${method} ${url}`);
  }
  assert.equal(routeClass('GET', undefined), 'open', 'no route: the not-found answer');
});
