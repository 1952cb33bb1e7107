import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeHeaderBlock, encodeInteger, HeaderBlockDecoder, HpackError } from './header-block.js';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s/g, ''), 'hex');

test('decodes the three Huffman-coded requests of RFC 7541 C.4 on one connection', () => {
  const decoder = new HeaderBlockDecoder();
  assert.deepEqual(decoder.decode(hex('8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff')), [
    [':method', 'GET'],
    [':scheme', 'http'],
    [':path', '/'],
    [':authority', 'www.example.com'],
  ]);
  assert.deepEqual(decoder.decode(hex('8286 84be 5886 a8eb 1064 9cbf')), [
    [':method', 'GET'],
    [':scheme', 'http'],
    [':path', '/'],
    [':authority', 'www.example.com'],
    ['cache-control', 'no-cache'],
  ]);
  assert.deepEqual(decoder.decode(hex('8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf')), [
    [':method', 'GET'],
    [':scheme', 'https'],
    [':path', '/index.html'],
    [':authority', 'www.example.com'],
    ['custom-key', 'custom-value'],
  ]);
});

test('evicts as RFC 7541 C.5 does with a 256-byte table', () => {
  const decoder = new HeaderBlockDecoder(256);
  const date = 'Mon, 21 Oct 2013 20:13:21 GMT';
  decoder.decode(
    hex(`4803 3330 3258 0770 7269 7661 7465 611d ${Buffer.from(date).toString('hex')} 6e17 ${Buffer.from('https://www.example.com').toString('hex')}`),
  );
  // :status 302 was evicted to make room for 307; the other three are found by index.
  assert.deepEqual(decoder.decode(hex('4803 3330 37c1 c0bf')), [
    [':status', '307'],
    ['cache-control', 'private'],
    ['date', date],
    ['location', 'https://www.example.com'],
  ]);
});

test('refuses indexes past both tables, a table size above the limit and a truncated block', () => {
  assert.throws(() => new HeaderBlockDecoder().decode(hex('be')), HpackError);
  assert.throws(() => new HeaderBlockDecoder(4096).decode(encodeInteger(8192, 5, 0x20)), HpackError);
  assert.throws(() => new HeaderBlockDecoder().decode(hex('4105 6162')), HpackError);
});

test('what the encoder writes decodes to the same fields, long strings included', () => {
  const fields: [string, string][] = [
    [':authority', '127.0.0.1:2379'],
    ['x-long', 'v'.repeat(300)],
    ['empty', ''],
  ];
  assert.deepEqual(new HeaderBlockDecoder().decode(encodeHeaderBlock(fields)), fields);
});
