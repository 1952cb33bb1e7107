/**
 * The client certificate's common name, as the hook reports it, over real TLS on one
 * client port (client-port.ts): an HTTP request and a gRPC call from a client holding a
 * certificate for "alice" both name her; a plain-text request names nobody.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'node:https';
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import { credentials, makeGenericClientConstructor } from '@grpc/grpc-js';
import type { ServiceDefinition } from '@grpc/grpc-js';
import { commonNameOfHttpRequest } from './client-certificate.js';
import { CallServer } from './grpc/call-server.js';
import type { ServerCall } from './grpc/server-call.js';
import type { ClientTls } from './client-tls.js';
import { listenClientPort } from './client-port.js';
import type { ClientPort } from './client-port.js';
import type { Server as HttpServer } from 'node:http';
import { createServer as createHttpServer } from 'node:http';
import { TlsFileWatcher } from '../tls/tls-files.js';
import { writeTlsBundle } from '../tls/tls-bundle.js';
import { hostsFor } from '../tls/certificates.js';
import { readFileSync } from 'node:fs';

const identity = (value: Buffer): Buffer => value;
const whoAmI: ServiceDefinition = {
  WhoAmI: {
    path: '/test.Who/WhoAmI',
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

test('the common name of a verified client certificate, for HTTP requests and gRPC calls', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'keel-cn-'));
  const files = await writeTlsBundle(dir, { serverHosts: hostsFor('127.0.0.1'), clientCommonName: 'alice' });
  const watcher = new TlsFileWatcher(
    { certFile: files.serverCertFile, keyFile: files.serverKeyFile, caFile: files.caFile },
    { onReloadError: (error) => assert.fail(error) },
  );
  const tls: ClientTls = { files: watcher, clientCertAuth: true };
  const clientTls = { ca: readFileSync(files.caFile), cert: readFileSync(files.clientCertFile), key: readFileSync(files.clientKeyFile) };

  // One app and one gRPC server behind two client ports, one with TLS, one without.
  const app = Fastify({ serverFactory: (handler) => createHttpServer(handler) }) as unknown as FastifyInstance;
  app.get('/who', async (req) => ({ cn: commonNameOfHttpRequest(req) ?? null }));
  await app.ready();
  const whoAmIMethod = {
    codec: { decode: () => ({}), encode: (answer: { name?: unknown }) => Buffer.from(String(answer.name)) },
    requestStream: false,
    serve: (call: ServerCall) => call.answer({ name: call.credentials().certificateCommonName ?? '' }),
  };
  const connections = new CallServer(new Map([['/test.Who/WhoAmI', whoAmIMethod]]), { requestBytesMax: 1024, idleMs: 60_000, arrivingBytesMax: 4096 });
  const listeners: ClientPort[] = [];
  try {
    const https = await listenClientPort({ host: '127.0.0.1', port: 0, tls, http: app.server as HttpServer, grpc: connections });
    const plain = await listenClientPort({ host: '127.0.0.1', port: 0, http: app.server as HttpServer, grpc: connections });
    listeners.push(https, plain);
    const port = https.port;

    const agent = new Agent(clientTls);
    const body = await new Promise<string>((resolve, reject) => {
      request(`https://127.0.0.1:${port}/who`, { agent }, (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += String(chunk)));
        res.on('end', () => resolve(text));
      })
        .on('error', reject)
        .end();
    });
    agent.destroy();
    assert.deepEqual(JSON.parse(body), { cn: 'alice' });

    const plainAnswer = await fetch(`${plain.url}/who`);
    assert.deepEqual(await plainAnswer.json(), { cn: null });

    const Client = makeGenericClientConstructor(whoAmI, 'Who');
    const client = new Client(`127.0.0.1:${port}`, credentials.createSsl(clientTls.ca, clientTls.key, clientTls.cert));
    const name = await new Promise<string>((resolve, reject) =>
      (client as unknown as { WhoAmI: (r: Buffer, cb: (e: Error | null, v: Buffer) => void) => void }).WhoAmI(Buffer.alloc(0), (e, v) =>
        e ? reject(e) : resolve(String(v)),
      ),
    );
    client.close();
    assert.equal(name, 'alice');
  } finally {
    await connections.close(0);
    for (const listener of listeners) listener.close();
    (app.server as HttpServer).closeAllConnections();
    await app.close();
    watcher.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
