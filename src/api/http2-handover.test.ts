import assert from 'node:assert/strict';
import { connect, createServer } from 'node:http2';
import type { ClientHttp2Session, Http2Server } from 'node:http2';
import { createServer as createHttpServer } from 'node:http';
import { after, before, test } from 'node:test';
import type { Duplex } from 'node:stream';
import { listenClientPort } from './client-port.js';
import type { ClientPort } from './client-port.js';
import { waitFor } from '../harness/wait-for.js';

// An HTTP/2 server that answers each request with the :authority it was given, and
// whether its connection came as the socket itself (it has a remote address) or through
// the rewriting stream.
let h2: Http2Server;
let port: ClientPort;
let sessionsHandedOver = 0;
before(async () => {
  h2 = createServer();
  h2.on('session', () => {
    sessionsHandedOver += 1;
  });
  h2.on('stream', (stream, headers) => {
    stream.respond({ ':status': 200 });
    stream.end(JSON.stringify({ authority: headers[':authority'], direct: stream.session?.socket.remoteAddress !== undefined }));
  });
  port = await listenClientPort({
    host: '127.0.0.1',
    port: 0,
    http: createHttpServer(),
    grpc: { injectConnection: (connection: Duplex) => h2.emit('connection', connection) } as never,
    firstRequestWaitMs: 100,
  });
});
after(() => {
  port.close();
  h2.close();
});

async function ask(session: ClientHttp2Session, authority?: string): Promise<{ authority: string; direct: boolean }> {
  const request = session.request({ ':path': '/', ...(authority ? { ':authority': authority } : {}) });
  let body = '';
  request.setEncoding('utf8');
  request.on('data', (chunk: string) => {
    body += chunk;
  });
  await new Promise<void>((resolve, reject) => {
    request.on('end', resolve);
    request.on('error', reject);
  });
  return JSON.parse(body) as { authority: string; direct: boolean };
}

test('a client whose :authority is a URL (etcd 3.4 dialing http://...) is served, request after request, with host:port', async () => {
  const session = connect(port.url);
  try {
    const url = `http://127.0.0.1:${port.port}`;
    // Three requests on one connection: the later ones name the authority through the client's dynamic table.
    for (let i = 0; i < 3; i += 1) assert.deepEqual(await ask(session, url), { authority: `127.0.0.1:${port.port}`, direct: false });
    assert.deepEqual(await ask(session, `${url}/with/a/path`), { authority: `127.0.0.1:${port.port}`, direct: false });
  } finally {
    session.close();
  }
});

test('every other client is handed to the server as the socket itself, its :authority untouched', async () => {
  const session = connect(port.url);
  try {
    assert.deepEqual(await ask(session), { authority: `127.0.0.1:${port.port}`, direct: true });
    assert.deepEqual(await ask(session, 'keel.example:2379'), { authority: 'keel.example:2379', direct: true });
  } finally {
    session.close();
  }
});

test('a client that connects and makes its first request later is handed over as it is once the wait is over', async () => {
  const handedOverBefore = sessionsHandedOver;
  const session = connect(port.url);
  try {
    // No request yet: firstRequestWaitMs (100 ms) after the acknowledgement, the server has the connection.
    await waitFor(async () => sessionsHandedOver > handedOverBefore, { timeoutMs: 5_000, what: 'the idle connection handed over' });
    assert.deepEqual(await ask(session), { authority: `127.0.0.1:${port.port}`, direct: true });
  } finally {
    session.close();
  }
});
