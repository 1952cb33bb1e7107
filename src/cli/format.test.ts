import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KeelClientError } from '../client/errors.js';
import { describeError, oneLine, recordJson, table } from './format.js';
import { parseEndpointList, resolveEndpoints } from './endpoints-option.js';

describe('output formatting', () => {
  it('aligns table columns, numbers to the right', () => {
    const text = table(
      ['ID', 'NAME', 'N'],
      [
        ['1', 'alpha', '5'],
        ['22', 'b', '1234'],
      ],
      new Set([2]),
    );
    assert.equal(text, 'ID  NAME      N\n1   alpha     5\n22  b      1234\n');
  });

  it('prints any value on one line', () => {
    assert.equal(oneLine(new TextEncoder().encode('a\tb\nc\\d')), 'a\\tb\\nc\\\\d');
    assert.equal(oneLine(new TextEncoder().encode('ü 日本')), 'ü 日本');
    assert.equal(oneLine(new Uint8Array([0x61, 0xff, 0x0a])), 'a\\xff\\x0a');
  });

  it('renders records as the API does: text when UTF-8, base64 otherwise', () => {
    const base = { createRevision: 1, modRevision: 2, version: 2, lease: 0 };
    const text = { ...base, key: 'k', keyBytes: new TextEncoder().encode('k'), value: 'v', valueBytes: new TextEncoder().encode('v') };
    assert.deepEqual(recordJson(text), { key: 'k', value: 'v', ...base });
    const binary = { ...text, valueBytes: new Uint8Array([0xff]) };
    assert.deepEqual(recordJson(binary), { key: 'k', valueBase64: '/w==', ...base });
  });

  it('maps errors to exit codes: 3 failed, 4 outcome unknown, 2 usage', () => {
    const failed = new KeelClientError({ code: 'NO_LEADER', message: 'PUT x: NO_LEADER: none', status: 503, outcome: 'not-applied', endpoint: 'x' });
    assert.deepEqual(describeError(failed), { code: 3, message: 'PUT x: NO_LEADER: none' });
    const unknown = new KeelClientError({ code: 'TIMEOUT', message: 'no answer', status: 0, outcome: 'unknown', endpoint: 'x' });
    assert.deepEqual(describeError(unknown), { code: 4, message: 'TIMEOUT: no answer (the write may or may not have been applied)' });
    assert.equal(describeError(new RangeError('bad endpoint')).code, 2);
  });
});

describe('endpoints', () => {
  it('reads --endpoints, then KEEL_ENDPOINTS, then the defaults', () => {
    assert.deepEqual(resolveEndpoints('a:1, http://b:2/', { KEEL_ENDPOINTS: 'http://c:3' }), ['http://a:1', 'http://b:2']);
    assert.deepEqual(resolveEndpoints(undefined, { KEEL_ENDPOINTS: 'http://c:3,http://d:4' }), ['http://c:3', 'http://d:4']);
    assert.deepEqual(resolveEndpoints(undefined, { KEEL_ENDPOINTS: '  ' }), ['http://127.0.0.1:7001', 'http://127.0.0.1:7002', 'http://127.0.0.1:7003']);
    assert.deepEqual(resolveEndpoints(undefined, {}), ['http://127.0.0.1:7001', 'http://127.0.0.1:7002', 'http://127.0.0.1:7003']);
  });

  it('refuses an empty list or a bad URL', () => {
    assert.throws(() => parseEndpointList(' , '), /no endpoints/);
    assert.throws(() => parseEndpointList('ftp://x:1'), /only http/);
    assert.throws(() => parseEndpointList('http://[bad'), /invalid endpoint/);
  });
});
