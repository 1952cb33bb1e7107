/**
 * What `keel cluster up` keeps while its cluster runs: the node processes, and a small
 * control endpoint on 127.0.0.1 through which the dashboard kills (SIGKILL, a crash)
 * and restarts them:
 *
 *   GET  /nodes               {"nodes": [{"id", "pid", "running"}]}
 *   POST /nodes/{id}/kill     kills node id; 409 if it is not running
 *   POST /nodes/{id}/restart  starts node id again with the same arguments; 409 if running
 *
 * Every request must carry the token that `keel cluster up` prints in the dashboard's
 * address (`#supervisor-token=...`) in the `x-keel-supervisor-token` header: a process
 * or page that can reach 127.0.0.1 but never saw the terminal cannot stop the cluster.
 * The fragment of a URL never leaves the browser, the dashboard keeps the token in its
 * own origin's session storage, and browsers may call the endpoint only from pages
 * served by the cluster's own nodes (CORS), so no other page can read it or use it.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

const host = '127.0.0.1';
/** The header that carries the supervisor token. */
export const supervisorTokenHeader = 'x-keel-supervisor-token';

export interface SupervisorOptions {
  readonly ids: readonly number[];
  /** Starts node `id` and returns its process. */
  readonly spawnNode: (id: number) => ChildProcess;
  /** Page origins allowed to call the control endpoint (the nodes' client URLs). */
  readonly allowedOrigins: ReadonlySet<string>;
  /** Told when a node exits, with how. */
  readonly onExit: (id: number, how: string, expected: boolean) => void;
  /** Told when the set of processes changes (to rewrite cluster.json). */
  readonly onChange: () => void;
}

export class Supervisor {
  private readonly children = new Map<number, ChildProcess>();
  /** Nodes killed on purpose, whose exit is not news. */
  private readonly killing = new Set<number>();
  private server: Server | undefined;
  url = '';
  /** What every control request must carry (random per cluster up, never written to disk). */
  readonly token = randomBytes(24).toString('base64url');

  constructor(private readonly options: SupervisorOptions) {}

  /** Opens the control endpoint (port chosen by the OS); nodes are told its URL at spawn. */
  async listen(): Promise<string> {
    const server = createServer((request, response) => void this.handle(request, response));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, host, () => resolve());
    });
    const address = server.address();
    if (typeof address !== 'object' || address === null) throw new Error('supervisor: no listening address');
    this.url = `http://${host}:${address.port}`;
    return this.url;
  }

  startAll(): void {
    for (const id of this.options.ids) this.start(id);
  }

  processes(): ChildProcess[] {
    return [...this.children.values()];
  }

  pids(): number[] {
    return this.processes()
      .map((c) => c.pid)
      .filter((pid): pid is number => pid !== undefined);
  }

  running(id: number): boolean {
    const child = this.children.get(id);
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  /** Stops accepting control requests; the caller stops the processes. */
  async close(): Promise<void> {
    this.killing.clear();
    for (const id of this.options.ids) this.killing.add(id);
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private start(id: number): void {
    const child = this.options.spawnNode(id);
    this.children.set(id, child);
    child.on('exit', (code, signal) => {
      const expected = this.killing.delete(id);
      this.options.onExit(id, signal ?? `code ${code}`, expected);
    });
    this.options.onChange();
  }

  private kill(id: number): Promise<void> {
    const child = this.children.get(id);
    if (!child) return Promise.resolve();
    this.killing.add(id);
    return new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  private tokenMatches(offered: string | string[] | undefined): boolean {
    return typeof offered === 'string' && constantTimeEqual(offered, this.token);
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const origin = request.headers.origin;
    if (origin !== undefined) {
      if (!this.options.allowedOrigins.has(origin))
        return reply(response, 403, { error: { code: 'FORBIDDEN', message: `origin ${origin} is not a node of this cluster` } });
      response.setHeader('access-control-allow-origin', origin);
      response.setHeader('vary', 'origin');
    }
    if (request.method === 'OPTIONS') {
      response.setHeader('access-control-allow-methods', 'GET, POST');
      response.setHeader('access-control-allow-headers', supervisorTokenHeader);
      response.writeHead(204).end();
      return;
    }
    if (!this.tokenMatches(request.headers[supervisorTokenHeader])) {
      return reply(response, 401, {
        error: {
          code: 'UNAUTHORIZED',
          message: `the supervisor needs the token keel cluster up printed (the #supervisor-token=... of the dashboard address), in the ${supervisorTokenHeader} header`,
        },
      });
    }
    const url = new URL(request.url ?? '/', this.url);
    if (request.method === 'GET' && url.pathname === '/nodes') {
      return reply(response, 200, { nodes: this.options.ids.map((id) => ({ id, pid: this.children.get(id)?.pid ?? null, running: this.running(id) })) });
    }
    const match = /^\/nodes\/(\d+)\/(kill|restart)$/.exec(url.pathname);
    if (request.method !== 'POST' || !match)
      return reply(response, 404, { error: { code: 'NOT_FOUND', message: `no route ${request.method} ${url.pathname}` } });
    const id = Number(match[1]);
    if (!this.options.ids.includes(id))
      return reply(response, 404, { error: { code: 'NOT_FOUND', message: `no node ${id} in this cluster (nodes ${this.options.ids.join(', ')})` } });
    if (match[2] === 'kill') {
      if (!this.running(id)) return reply(response, 409, { error: { code: 'NOT_RUNNING', message: `node ${id} is not running` } });
      await this.kill(id);
      return reply(response, 200, { ok: true, id, running: false });
    }
    if (this.running(id)) return reply(response, 409, { error: { code: 'RUNNING', message: `node ${id} is already running` } });
    this.start(id);
    return reply(response, 200, { ok: true, id, running: true, pid: this.children.get(id)?.pid ?? null });
  }
}

function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function reply(response: ServerResponse, status: number, body: object): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
