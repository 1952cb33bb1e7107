/**
 * A scriptable stand-in for a Keel cluster's REST API, for testing the client's own
 * behaviour: leader discovery, retries, backoff, timeouts and sessions. It is not a
 * model of Keel: one in-memory map shared by every "node", no replication. Each node
 * is a real HTTP server on 127.0.0.1 (port from the OS); tests script faults that the
 * next requests meet (503s, hangs, dropped connections, 504s, before or after the
 * write is applied) and read back every request received and every write applied.
 *
 * Sessions follow the state machine's rules (src/kv/mvcc/sessions.ts): per client id the
 * last seq applied and its result; the same seq again is a duplicate answered with the
 * saved result; a lower seq, or seq > 1 for an unknown client id, is SESSION_EXPIRED.
 */
import type { NodeStatusJson } from '../../wire/status.js';
import Fastify from 'fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export type Fault =
  /** Answer with this error (503 carries Retry-After), without applying. */
  | { readonly kind: 'error'; readonly status: number; readonly code: string; readonly outcome?: 'not-applied' | 'unknown' }
  /** Never answer; the write is not applied. */
  | { readonly kind: 'hang' }
  /** Apply the write, then never answer. */
  | { readonly kind: 'apply-then-hang' }
  /** Close the connection without answering; the write is not applied. */
  | { readonly kind: 'drop' }
  /** Apply the write, then close the connection without answering. */
  | { readonly kind: 'apply-then-drop' }
  /** Apply the write, then answer 504 TIMEOUT (outcome unknown). */
  | { readonly kind: 'apply-then-504' };

export interface ScriptedFault {
  readonly fault: Fault;
  /** Only requests to this node meet it (default: any). */
  readonly node?: number;
  /** Only requests whose "METHOD /path" starts with this meet it (default: data routes /kv and /batch). */
  readonly route?: string;
}

export interface ReceivedRequest {
  readonly node: number;
  readonly method: string;
  readonly url: string;
  readonly clientId: string | undefined;
  readonly seq: number | undefined;
}

export interface AppliedWrite {
  readonly description: string;
  readonly revision: number;
}

interface StoredValue {
  readonly value: Buffer;
  readonly createRevision: number;
  readonly modRevision: number;
  readonly version: number;
}

interface Answer {
  readonly status: number;
  readonly body: unknown;
}

interface SessionRecord {
  readonly lastSeq: number;
  readonly answer: Answer;
}

type BatchOpJson = { op?: unknown; key?: unknown; keyBase64?: unknown; value?: unknown; valueBase64?: unknown };

export class FakeCluster {
  /** The node that acts as leader; null: no leader (NO_LEADER). */
  leader: number | null;
  /** Consumed in order by matching requests. */
  readonly faults: ScriptedFault[] = [];
  readonly received: ReceivedRequest[] = [];
  readonly applied: AppliedWrite[] = [];
  readonly store = new Map<string, StoredValue>();
  readonly sessions = new Map<string, SessionRecord>();
  revision = 1;
  /** Followers forward writes to the leader (true) or answer NOT_LEADER (false). */
  followersForward = false;
  private readonly apps: FastifyInstance[] = [];
  private readonly urls: string[] = [];
  private readonly hanging = new Set<FastifyRequest>();

  private constructor(leader: number | null) {
    this.leader = leader;
  }

  static async start(options: { readonly nodes?: number; readonly leader?: number | null } = {}): Promise<FakeCluster> {
    const cluster = new FakeCluster(options.leader === undefined ? 1 : options.leader);
    for (let id = 1; id <= (options.nodes ?? 3); id++) await cluster.startNode(id);
    return cluster;
  }

  /** Client URLs, node 1 first. */
  endpoints(): string[] {
    return [...this.urls];
  }

  url(node: number): string {
    return this.urls[node - 1]!;
  }

  /** Requests to the data routes (/kv, /batch), in arrival order. */
  dataRequests(): ReceivedRequest[] {
    return this.received.filter((r) => r.url.startsWith('/kv') || r.url.startsWith('/batch'));
  }

  inject(fault: Fault, where: Omit<ScriptedFault, 'fault'> = {}): void {
    this.faults.push({ fault, ...where });
  }

  /** Stops one node: its port refuses connections from now on. */
  async stopNode(node: number): Promise<void> {
    await this.apps[node - 1]!.close();
  }

  async close(): Promise<void> {
    for (const request of this.hanging) request.raw.socket?.destroy();
    await Promise.all(this.apps.map((app) => app.close()));
  }

  private async startNode(id: number): Promise<void> {
    const app = Fastify({ logger: false, forceCloseConnections: true });
    app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
    app.addHook('onRequest', async (request) => {
      const clientId = header(request, 'x-keel-client-id');
      const seqText = header(request, 'x-keel-seq');
      this.received.push({ node: id, method: request.method, url: request.url, clientId, seq: seqText === undefined ? undefined : Number(seqText) });
    });
    app.get(
      '/status',
      async (): Promise<NodeStatusJson> => ({
        id,
        role: this.leader === id ? 'leader' : 'follower',
        term: 3,
        leader: this.leader ?? 0,
        commit: this.revision,
        applied: this.revision,
        firstIndex: 1,
        lastIndex: this.revision,
        revision: this.revision,
        compactedRevision: 0,
        compactionPending: false,
        voters: this.urls.map((_url, i) => i + 1),
        learners: [],
        isLearner: false,
        pendingWrites: 0,
        pendingReads: 0,
        watchers: 0,
        peers: [],
        version: 'scripted',
        dbSize: 0,
        dbSizeInUse: 0,
        quotaBackendBytes: 0,
        alarms: [],
        disk: { freeBytes: 0, reserveBytes: 0, low: false },
      }),
    );
    app.get('/cluster/info', async () => ({
      clusterId: 'fake',
      leader: this.leader,
      members: this.urls.map((url, i) => {
        const port = Number(new URL(url).port);
        return { id: i + 1, host: '127.0.0.1', peerPort: port + 1000, clientPort: port, clientUrl: url, voter: true };
      }),
    }));
    app.get('/health', async (_request, reply) =>
      this.leader === null ? reply.code(503).send({ ok: false, leader: null }) : { ok: true, leader: this.leader },
    );
    app.put('/kv/*', (request, reply) => this.write(id, request, reply, () => this.put(keyOf(request), bodyBytes(request.body))));
    app.delete('/kv/*', (request, reply) => this.write(id, request, reply, () => this.remove(keyOf(request))));
    app.post('/batch', (request, reply) => this.write(id, request, reply, () => this.batch(request.body)));
    app.get('/kv/*', (request, reply) => this.read(id, request, reply, () => this.get(keyOf(request))));
    app.get('/kv', (request, reply) => this.read(id, request, reply, () => this.scan(request.query as Record<string, string>)));
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    if (address === null || typeof address === 'string') throw new Error('fake node has no TCP address');
    this.apps.push(app);
    this.urls.push(`http://127.0.0.1:${address.port}`);
  }

  private takeFault(node: number, request: FastifyRequest): Fault | undefined {
    const route = `${request.method} ${request.url}`;
    const index = this.faults.findIndex(
      (f) => (f.node === undefined || f.node === node) && (f.route === undefined ? /^\w+ \/(kv|batch)/.test(route) : route.startsWith(f.route)),
    );
    if (index < 0) return undefined;
    return this.faults.splice(index, 1)[0]!.fault;
  }

  private notLeader(node: number, reply: FastifyReply): FastifyReply | undefined {
    if (this.leader === null) return sendError(reply, 503, 'NO_LEADER', 'no leader');
    if (this.leader !== node && !this.followersForward) return sendError(reply, 503, 'NOT_LEADER', `node ${node} is not the leader (${this.leader} is)`);
    return undefined;
  }

  private read(node: number, request: FastifyRequest, reply: FastifyReply, serve: () => Answer): FastifyReply | Promise<never> | undefined {
    const fault = this.takeFault(node, request);
    if (fault) return this.misbehave(request, reply, fault, undefined);
    const serializable = (request.query as Record<string, string>)['consistency'] === 'serializable';
    if (!serializable) {
      const refused = this.notLeader(node, reply);
      if (refused) return refused;
    }
    const answer = serve();
    return reply.code(answer.status).send(answer.body);
  }

  private write(node: number, request: FastifyRequest, reply: FastifyReply, apply: () => Answer): FastifyReply | Promise<never> | undefined {
    const fault = this.takeFault(node, request);
    if (fault && (fault.kind === 'error' || fault.kind === 'hang' || fault.kind === 'drop')) return this.misbehave(request, reply, fault, undefined);
    const refused = this.notLeader(node, reply);
    if (refused) return refused;
    const answer = this.applyOnce(request, apply);
    if (fault) return this.misbehave(request, reply, fault, answer);
    return reply.code(answer.status).send(answer.body);
  }

  /** Applies the command unless the session says it is a duplicate or expired. */
  private applyOnce(request: FastifyRequest, apply: () => Answer): Answer {
    const clientId = header(request, 'x-keel-client-id');
    const seqText = header(request, 'x-keel-seq');
    if (clientId === undefined || seqText === undefined) return apply();
    const seq = Number(seqText);
    const session = this.sessions.get(clientId);
    if (session && seq === session.lastSeq) return session.answer;
    if ((session && seq < session.lastSeq) || (!session && seq !== 1)) {
      return { status: 409, body: { error: { code: 'SESSION_EXPIRED', message: `session ${clientId} cannot take seq ${seq}` } } };
    }
    const answer = apply();
    this.sessions.set(clientId, { lastSeq: seq, answer });
    return answer;
  }

  private misbehave(request: FastifyRequest, reply: FastifyReply, fault: Fault, _answer: Answer | undefined): FastifyReply | Promise<never> {
    switch (fault.kind) {
      case 'error':
        return sendError(reply, fault.status, fault.code, `injected ${fault.code}`, fault.outcome);
      case 'apply-then-504':
        return sendError(reply, 504, 'TIMEOUT', 'injected timeout', 'unknown');
      case 'hang':
      case 'apply-then-hang':
        this.hanging.add(request);
        reply.hijack();
        return new Promise<never>(() => {});
      case 'drop':
      case 'apply-then-drop':
        reply.hijack();
        request.raw.socket?.destroy();
        return reply;
    }
  }

  private put(key: Buffer, value: Buffer): Answer {
    const id = key.toString('latin1');
    const previous = this.store.get(id);
    this.revision += 1;
    this.store.set(id, {
      value,
      createRevision: previous?.createRevision ?? this.revision,
      modRevision: this.revision,
      version: (previous?.version ?? 0) + 1,
    });
    this.applied.push({ description: `put ${key.toString()}=${value.toString()}`, revision: this.revision });
    return { status: 200, body: { revision: this.revision } };
  }

  private remove(key: Buffer): Answer {
    const id = key.toString('latin1');
    const existed = this.store.delete(id);
    if (existed) this.revision += 1;
    this.applied.push({ description: `delete ${key.toString()}`, revision: this.revision });
    return { status: 200, body: { deleted: existed ? 1 : 0, revision: this.revision } };
  }

  private get(key: Buffer): Answer {
    const stored = this.store.get(key.toString('latin1'));
    if (!stored) return { status: 404, body: { error: { code: 'KEY_NOT_FOUND', message: `key not found: ${key.toString()}` } } };
    return { status: 200, body: { ...kvJson(key, stored), revision: this.revision } };
  }

  private scan(query: Record<string, string>): Answer {
    const prefix = Buffer.from(query['prefix'] ?? '', 'utf8');
    const limit = query['limit'] === undefined ? Infinity : Number(query['limit']);
    const matching = [...this.store.entries()]
      .map(([id, stored]) => ({ key: Buffer.from(id, 'latin1'), stored }))
      .filter(({ key }) => key.subarray(0, prefix.length).equals(prefix))
      .sort((a, b) => Buffer.compare(a.key, b.key));
    const kvs = matching.slice(0, limit).map(({ key, stored }) => kvJson(key, stored));
    return { status: 200, body: { kvs, count: matching.length, more: matching.length > kvs.length, revision: this.revision } };
  }

  private batch(body: unknown): Answer {
    const ops = (body as { ops?: BatchOpJson[] }).ops ?? [];
    const results: unknown[] = [];
    for (const op of ops) {
      const key = jsonBytes(op.key, op.keyBase64);
      if (op.op === 'set') {
        this.put(key, jsonBytes(op.value, op.valueBase64));
        results.push({ op: 'set' });
      } else if (op.op === 'delete') {
        const answer = this.remove(key);
        results.push({ op: 'delete', deleted: (answer.body as { deleted: number }).deleted });
      } else {
        const stored = this.store.get(key.toString('latin1'));
        results.push({ op: 'get', kv: stored ? kvJson(key, stored) : null });
      }
    }
    return { status: 200, body: { revision: this.revision, results } };
  }
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' ? value : undefined;
}

/** The key after /kv/, percent-decoded to bytes (not through UTF-8, so any byte survives). */
function keyOf(request: FastifyRequest): Buffer {
  const raw = request.url.slice('/kv/'.length).split('?')[0]!;
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === '%') {
      bytes.push(parseInt(raw.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(raw[i]!, 'utf8'));
    }
  }
  return Buffer.from(bytes);
}

function bodyBytes(body: unknown): Buffer {
  if (Buffer.isBuffer(body)) return body;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  const value = (body as { value?: unknown } | undefined)?.value;
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value ?? null), 'utf8');
}

function jsonBytes(text: unknown, base64: unknown): Buffer {
  if (typeof text === 'string') return Buffer.from(text, 'utf8');
  if (typeof base64 === 'string') return Buffer.from(base64, 'base64');
  return Buffer.alloc(0);
}

function field(name: string, bytes: Buffer): Record<string, string> {
  try {
    return { [name]: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
  } catch {
    return { [`${name}Base64`]: bytes.toString('base64') };
  }
}

function kvJson(key: Buffer, stored: StoredValue): Record<string, unknown> {
  return {
    ...field('key', key),
    ...field('value', stored.value),
    createRevision: stored.createRevision,
    modRevision: stored.modRevision,
    version: stored.version,
    lease: 0,
  };
}

function sendError(reply: FastifyReply, status: number, code: string, message: string, outcome?: string): FastifyReply {
  if (status === 503) reply.header('retry-after', '1');
  return reply.code(status).send({ error: { code, message, ...(outcome ? { outcome } : {}) } });
}
