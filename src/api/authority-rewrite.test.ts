import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AuthorityRewriter, authorityRefused, authorityWithoutScheme, firstAuthorityRefused } from './authority-rewrite.js';
import { encodeHeaderBlock, HeaderBlockDecoder } from './hpack/header-block.js';
import { emptySettingsFrame, frameFlag, frameHeader, FrameSplitter, frameType, headersFrameParts, http2Preface } from './http2-frames.js';

test('nghttp2 refuses an authority with a scheme; host:port, IPv6 and userinfo pass', () => {
  assert.equal(authorityRefused('http://127.0.0.1:2379'), true);
  assert.equal(authorityRefused('127.0.0.1:2379'), false);
  assert.equal(authorityRefused('[::1]:2379'), false);
  assert.equal(authorityRefused('user@host:1'), false);
  assert.equal(authorityWithoutScheme('http://127.0.0.1:2379'), '127.0.0.1:2379');
  assert.equal(authorityWithoutScheme('unix://host:1/x?y'), 'host:1');
  assert.equal(authorityWithoutScheme('127.0.0.1:2379'), '127.0.0.1:2379');
});

test('the first header block decides: a URL-shaped :authority is refused, none or host:port is not', () => {
  assert.equal(firstAuthorityRefused(encodeHeaderBlock([[':authority', 'http://a:1']])), true);
  assert.equal(firstAuthorityRefused(encodeHeaderBlock([[':authority', 'a:1']])), false);
  assert.equal(firstAuthorityRefused(encodeHeaderBlock([[':path', '/']])), false);
  // Not HPACK: the server reports it.
  assert.equal(firstAuthorityRefused(Buffer.from([0xff])), false);
});

test('rewrites a padded, prioritised header block split over CONTINUATION, fed one byte at a time; other frames pass as they are', () => {
  const block = encodeHeaderBlock([
    [':method', 'POST'],
    [':authority', 'http://10.0.0.1:2379'],
    [':path', '/etcdserverpb.Maintenance/Status'],
  ]);
  const half = Math.floor(block.length / 2);
  const padding = Buffer.alloc(3);
  const priority = Buffer.from([0, 0, 0, 0, 15]);
  const headersPayload = Buffer.concat([Buffer.from([padding.length]), priority, block.subarray(0, half), padding]);
  const data = Buffer.concat([frameHeader(5, 0x0, frameFlag.endStream, 1), Buffer.from('hello')]);
  const client = Buffer.concat([
    http2Preface,
    emptySettingsFrame,
    frameHeader(headersPayload.length, frameType.headers, frameFlag.padded | frameFlag.priority, 1),
    headersPayload,
    frameHeader(block.length - half, frameType.continuation, frameFlag.endHeaders, 1),
    block.subarray(half),
    data,
  ]);
  const rewriter = new AuthorityRewriter();
  const out = Buffer.concat([...client].map((byte) => rewriter.push(Buffer.from([byte]))));
  assert.deepEqual(out.subarray(0, http2Preface.length), http2Preface);
  const frames = new FrameSplitter().push(out.subarray(http2Preface.length));
  assert.deepEqual(
    frames.map((frame) => frame.type),
    [frameType.settings, frameType.headers, 0x0],
  );
  const [, headers, dataOut] = frames as [never, (typeof frames)[number], (typeof frames)[number]];
  assert.equal(headers.flags, frameFlag.priority | frameFlag.endHeaders);
  const parts = headersFrameParts(headers);
  assert.deepEqual(parts.priority, priority);
  assert.deepEqual(new HeaderBlockDecoder().decode(parts.fragment), [
    [':method', 'POST'],
    [':authority', '10.0.0.1:2379'],
    [':path', '/etcdserverpb.Maintenance/Status'],
  ]);
  assert.deepEqual(dataOut.raw, data);
});

test('a frame other than CONTINUATION inside a header block is refused', () => {
  const rewriter = new AuthorityRewriter();
  const open = Buffer.concat([frameHeader(1, frameType.headers, 0, 1), Buffer.from([0x82])]);
  assert.throws(() => rewriter.push(Buffer.concat([http2Preface, open, emptySettingsFrame])), /inside a header block/);
});
