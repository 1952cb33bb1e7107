/**
 * A body refused for its size is read to its end before the refusal goes, so the
 * connection carries the client's next request; beyond the drain's limit it is closed.
 * On a real loopback socket, with a raw client that writes the whole body as a client
 * unaware of the refusal does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { discardRestOfBody, type DrainLimits } from './refused-body.js';

const bodyBytesMax = 1024;

/** A server that refuses any body over bodyBytesMax at once, as fastify does, then answers as the API's error handler does. */
async function withServer(limits: DrainLimits, body: (port: number) => Promise<void>): Promise<void> {
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    if (Number(request.headers['content-length']) > bodyBytesMax) {
      response.setHeader('connection', 'close');
      void discardRestOfBody(request, limits).then((ended) => {
        if (ended) response.removeHeader('connection');
        response.statusCode = 413;
        response.end('too large');
      });
      return;
    }
    request.resume();
    request.on('end', () => response.end('ok'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await body((server.address() as AddressInfo).port);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Sends `requests` on one connection, writing each whole, and returns all the server sent until it closed the connection. */
async function exchange(port: number, requests: readonly Buffer[]): Promise<string> {
  const socket = connect({ host: '127.0.0.1', port });
  let text = '';
  return new Promise((resolve, reject) => {
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
    });
    socket.on('close', () => resolve(text));
    socket.on('error', (error: NodeJS.ErrnoException) => (error.code === 'EPIPE' || error.code === 'ECONNRESET' ? undefined : reject(error)));
    for (const request of requests) socket.write(request);
  });
}

const put = (bytes: number, last = false): Buffer =>
  Buffer.concat([
    Buffer.from(`PUT /k HTTP/1.1\r\nhost: keel\r\ncontent-length: ${bytes}\r\n${last ? 'connection: close\r\n' : ''}\r\n`, 'latin1'),
    Buffer.alloc(bytes, 0x61),
  ]);

test('a body over the limit is read to its end: the 413 keeps the connection, which answers the next request', async () => {
  await withServer({ bytesMax: 8 * 1024 * 1024, ms: 10_000 }, async (port) => {
    const text = await exchange(port, [put(2 * 1024 * 1024), put(10, true)]);
    const [refusal, next] = text.split(/(?=HTTP\/1\.1 200 )/);
    assert.match(refusal ?? '', /^HTTP\/1\.1 413 .*too large$/s, text);
    assert.doesNotMatch(refusal ?? '', /connection: close/i, text);
    assert.match(next ?? '', /ok$/, text);
  });
});

test('a body over the drain limit is not waited for: the 413 goes at once and closes the connection', async () => {
  await withServer({ bytesMax: 64 * 1024, ms: 10_000 }, async (port) => {
    const text = await exchange(port, [put(2 * 1024 * 1024), put(10, true)]);
    assert.match(text, /^HTTP\/1\.1 413 .*connection: close.*too large$/is);
  });
});

test('a body that stops arriving is given up on after the drain time: the 413 goes and the connection closes', async () => {
  await withServer({ bytesMax: 8 * 1024 * 1024, ms: 50 }, async (port) => {
    // Declares 2 MiB, sends 1 KiB and waits: the refusal must come all the same.
    const text = await exchange(port, [put(2 * 1024 * 1024).subarray(0, 1200)]);
    assert.match(text, /^HTTP\/1\.1 413 .*connection: close.*too large$/is);
  });
});
