/**
 * The client port's routing by first bytes, on a real loopback listener with a real
 * gRPC server (grpc/call-server.ts) and a real Node HTTP server behind it: whatever the split of the first
 * bytes into TCP writes, each server reads the connection from its first byte.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { CallServer } from './grpc/call-server.js';
import { listenClientPort, protocolOfFirstBytes } from './client-port.js';
import { http2Preface } from './http2-frames.js';

test('the HTTP/2 preface, whole or in part, and everything else', () => {
  assert.equal(protocolOfFirstBytes(http2Preface), 'http2');
  assert.equal(protocolOfFirstBytes(Buffer.concat([http2Preface, Buffer.from([0, 0, 0, 4])])), 'http2');
  assert.equal(protocolOfFirstBytes(http2Preface.subarray(0, 1)), undefined);
  assert.equal(protocolOfFirstBytes(http2Preface.subarray(0, 23)), undefined);
  assert.equal(protocolOfFirstBytes(Buffer.from('GET / HTTP/1.1\r\n')), 'http1');
  // An HTTP/1.1 request whose method starts like the preface is told apart at its first difference.
  assert.equal(protocolOfFirstBytes(Buffer.from('PRI * HTTP/1.1\r\n')), 'http1');
  assert.equal(protocolOfFirstBytes(Buffer.from([0x16, 0x03, 0x01])), 'http1');
});

/** Writes `pieces` one TCP write at a time (no Nagle), each after the last reached the kernel. */
async function writePieces(socket: Socket, pieces: readonly Buffer[]): Promise<void> {
  socket.setNoDelay(true);
  for (const piece of pieces) await new Promise<void>((resolve, reject) => socket.write(piece, (error) => (error ? reject(error) : resolve())));
}

function firstBytesFrom(socket: Socket, count: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      const all = Buffer.concat(chunks);
      if (all.length >= count) resolve(all);
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`closed after ${Buffer.concat(chunks).length} bytes`)));
  });
}

test('a preface sent a byte at a time reaches the gRPC server; a request split anywhere reaches the HTTP server', async () => {
  const http = createHttpServer((request, response) => response.end(`${request.method} ${request.url}`));
  const grpc = new CallServer(new Map(), { requestBytesMax: 1024, idleMs: 60_000, arrivingBytesMax: 4096 });
  const port = await listenClientPort({ host: '127.0.0.1', port: 0, http, grpc });
  try {
    const h2 = connect({ host: '127.0.0.1', port: port.port });
    await new Promise<void>((resolve) => h2.once('connect', resolve));
    const settings = firstBytesFrom(h2, 9);
    await writePieces(
      h2,
      [...http2Preface].map((byte) => Buffer.from([byte])),
    );
    // The server's connection preface: a SETTINGS frame (type 4, RFC 9113 §3.4).
    assert.equal((await settings)[3], 4);
    h2.destroy();

    for (const split of [1, 3, 10, 20]) {
      const client = connect({ host: '127.0.0.1', port: port.port });
      await new Promise<void>((resolve) => client.once('connect', resolve));
      const request = Buffer.from(`PRI * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      const answer = firstBytesFrom(client, 12);
      await writePieces(client, [request.subarray(0, split), request.subarray(split)]);
      // Node's HTTP server refuses the PRI method, by reading the whole request line it was given back.
      assert.match((await answer).toString('latin1'), /^HTTP\/1\.1 (400|405|501) /, `split at ${split}`);
      client.destroy();
      const get = connect({ host: '127.0.0.1', port: port.port });
      await new Promise<void>((resolve) => get.once('connect', resolve));
      const body = new Promise<string>((resolve) => {
        let text = '';
        get.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
        get.on('end', () => resolve(text));
      });
      const getRequest = Buffer.from('GET /split HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      await writePieces(get, [getRequest.subarray(0, split), getRequest.subarray(split)]);
      assert.match(await body, /GET \/split$/, `split at ${split}`);
    }
  } finally {
    port.close();
    http.closeAllConnections();
    await grpc.close(0);
  }
});

test('past connectionsMax open connections, a new one is closed on arrival', async () => {
  const http = createHttpServer((_request, response) => response.end('ok'));
  const grpc = new CallServer(new Map(), { requestBytesMax: 1024, idleMs: 60_000, arrivingBytesMax: 4096 });
  const port = await listenClientPort({
    host: '127.0.0.1',
    port: 0,
    http,
    grpc,
    connectionsMax: 2,
  });
  const open: Socket[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      const socket = connect({ host: '127.0.0.1', port: port.port });
      open.push(socket);
      // Each counts once the server has read from it: a request answered.
      const answer = firstBytesFrom(socket, 12);
      socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      assert.match((await answer).toString('latin1'), /^HTTP\/1\.1 200/);
    }
    const third = connect({ host: '127.0.0.1', port: port.port });
    open.push(third);
    third.on('error', () => undefined);
    const closed = new Promise<boolean>((resolve) => {
      third.on('data', () => resolve(false));
      third.on('close', () => resolve(true));
    });
    third.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.equal(await closed, true);
  } finally {
    for (const socket of open) socket.destroy();
    port.close();
    http.closeAllConnections();
    await grpc.close(0);
  }
});

test('a client that trickles the preface a byte at a time is closed at the deadline counted from the accept', async () => {
  const http = createHttpServer((_request, response) => response.end('ok'));
  const grpc = new CallServer(new Map(), { requestBytesMax: 1024, idleMs: 60_000, arrivingBytesMax: 4096 });
  const deadlineMs = 500;
  const port = await listenClientPort({
    host: '127.0.0.1',
    port: 0,
    http,
    grpc,
    firstBytesTimeoutMs: deadlineMs,
  });
  const socket = connect({ host: '127.0.0.1', port: port.port });
  socket.on('error', () => undefined);
  const accepted = Date.now();
  const closedAfterMs = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now() - accepted)));
  // Never the whole preface: 23 bytes, one every 100 ms (2.3 s), each a sign of life.
  let sent = 0;
  const trickle = setInterval(() => {
    if (sent < http2Preface.length - 1 && !socket.destroyed) socket.write(http2Preface.subarray(sent, ++sent));
  }, 100);
  try {
    const ms = await closedAfterMs;
    assert.ok(ms >= deadlineMs - 50 && ms < 2_000, `closed after ${ms} ms, want about ${deadlineMs} (${sent} bytes sent)`);
  } finally {
    clearInterval(trickle);
    port.close();
    await grpc.close(0);
  }
});
