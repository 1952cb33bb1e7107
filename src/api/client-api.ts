/**
 * Everything a node serves to clients, on its client port: the HTTP/1.1 app (REST, the
 * JSON gateway, /version, /health, /metrics, the dashboard, WebSocket, SSE) and the
 * etcd v3 gRPC API, one listener for both (client-port.ts). A node may open more client
 * ports (a member's legacy separate gRPC port): each serves everything.
 */
import type { FastifyInstance } from 'fastify';
import type { Server as HttpServer } from 'node:http';
import type { ApiNode } from '../server/index.js';
import { buildHttpApp } from './http-server.js';
import { createGrpcApi } from './grpc/grpc-server.js';
import { listenClientPort } from './client-port.js';
import { ConnectionBudget } from './connection-budget.js';
import type { ClientPort } from './client-port.js';
import type { ClientTls } from './client-tls.js';

export interface ClientApiOptions {
  readonly node: ApiNode;
  readonly host: string;
  /** The ports to listen on (0: one the system chooses); the first is the node's URL. */
  readonly ports: readonly [number, ...number[]];
  readonly requestBytesMax: number;
  /** Serve TLS (HTTPS, WSS, gRPC over TLS) with these certificate files; absent: plain text. */
  readonly tls?: ClientTls;
  readonly log?: { error(fields: object, message: string): void };
  /** See client-port.ts. */
  readonly firstBytesTimeoutMs?: number;
  readonly connectionsMax?: number;
}

export interface ClientApi {
  readonly app: FastifyInstance;
  /** The URL of the first port. */
  readonly url: string;
  readonly urls: readonly string[];
  close(): Promise<void>;
}

export async function startClientApi(options: ClientApiOptions): Promise<ClientApi> {
  // One budget per connection, whichever port and protocol it came by.
  const writeBudget = new ConnectionBudget(options.node.config.connectionWriteBytesMax);
  const grpc = createGrpcApi(options.node, options.requestBytesMax, writeBudget);
  const app = buildHttpApp({
    node: options.node,
    requestBytesMax: options.requestBytesMax,
    writeBudget,
    grpcCallsWaiting: grpc.callsWaitingToArrive,
    ...(options.log ? { log: options.log } : {}),
  });
  await app.ready();
  const listeners: ClientPort[] = [];
  try {
    for (const port of options.ports) {
      listeners.push(
        await listenClientPort({
          host: options.host,
          port,
          http: app.server as HttpServer,
          grpc: grpc.connections,
          ...(options.tls ? { tls: options.tls } : {}),
          ...(options.firstBytesTimeoutMs !== undefined ? { firstBytesTimeoutMs: options.firstBytesTimeoutMs } : {}),
          ...(options.connectionsMax !== undefined ? { connectionsMax: options.connectionsMax } : {}),
        }),
      );
    }
  } catch (error) {
    for (const listener of listeners) listener.close();
    await grpc.close();
    await app.close();
    throw error;
  }
  const urls = listeners.map((l) => l.url);
  return {
    app,
    url: urls[0] as string,
    urls,
    close: async () => {
      // No new connections first; then each server ends its own.
      for (const listener of listeners) listener.close();
      const http = app.server as HttpServer;
      http.closeIdleConnections();
      await Promise.all([grpc.close(), app.close()]);
      http.closeAllConnections();
    },
  };
}
