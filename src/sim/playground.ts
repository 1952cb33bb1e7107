/**
 * An interactive cluster for the dashboard's simulation mode: the real consensus core
 * (RaftNode) on 3 or 5 simulated servers over a simulated network, driven by a clock
 * the caller moves forward (animation frames in the browser, a loop in tests). Unlike
 * the fault-finding simulator (run.ts) it favours being watched: messages travel for a
 * visible time and are listed while in flight, and a person crashes, restarts and
 * partitions nodes and sends puts and gets.
 *
 * Each server follows the Ready contract (types.ts) with an instant disk: persist, then
 * send, then apply, then advance. A crash keeps only what was persisted — which, with
 * an instant disk, is everything the core handed out — and a restart rebuilds the core
 * from it and the key-value map by applying the committed log again.
 */
import { Prng } from '../lib/index.js';
import {
  RaftNode,
  defaultRaftConfig,
  type Entry,
  type HardState,
  type LogIndex,
  type Message,
  type NodeId,
  type Ready,
  type Role,
  type Snapshot,
} from '../raft/index.js';

export interface PlaygroundOptions {
  readonly nodes: 3 | 5;
  readonly seed: number;
  /** Simulated milliseconds per Raft tick. */
  readonly tickMs?: number;
  /** A message is in flight for a time drawn from [min, max] simulated ms. */
  readonly messageDelayMinMs?: number;
  readonly messageDelayMaxMs?: number;
}

export interface InFlight {
  readonly message: Message;
  readonly sentAtMs: number;
  readonly arrivesAtMs: number;
}

export interface PlaygroundEvent {
  readonly atMs: number;
  readonly text: string;
}

export type ClientResult = { readonly ok: true; readonly value: string | undefined; readonly index: LogIndex } | { readonly ok: false; readonly error: string };

interface Disk {
  hardState: HardState;
  entries: Entry[];
  snapshot: Snapshot | undefined;
}

interface Server {
  readonly id: NodeId;
  core: RaftNode | undefined;
  readonly disk: Disk;
  kv: Map<string, string>;
  /** Side of the partition: servers on different sides cannot talk. */
  side: 0 | 1;
  nextTickAtMs: number;
}

interface PendingRequest {
  readonly node: NodeId;
  readonly key: string;
  readonly startedAtMs: number;
  readonly done: (result: ClientResult) => void;
  /** For a read: the read index once the leader confirmed it. */
  readIndex?: LogIndex;
}

type Op =
  | { readonly op: 'put'; readonly id: string; readonly key: string; readonly value: string }
  | { readonly op: 'delete'; readonly id: string; readonly key: string };

/** Client requests give up after this long, like a client's timeout. */
export const requestTimeoutMs = 8_000;
/** The event log keeps this many lines. */
export const eventsMax = 200;
/** Beyond this many messages in flight new ones are dropped (a stalled page must not grow without bound). */
export const inFlightMax = 2_000;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class Playground {
  nowMs = 0;
  readonly tickMs: number;
  readonly electionTicks = 15;
  readonly events: PlaygroundEvent[] = [];
  private readonly servers: Server[];
  private inFlight: InFlight[] = [];
  private readonly random: Prng;
  private readonly delayMinMs: number;
  private readonly delayMaxMs: number;
  private readonly writes = new Map<string, PendingRequest>();
  private readonly reads = new Map<string, PendingRequest>();
  private requestCounter = 0;

  constructor(options: PlaygroundOptions) {
    this.random = new Prng(options.seed);
    this.tickMs = options.tickMs ?? 100;
    this.delayMinMs = options.messageDelayMinMs ?? 150;
    this.delayMaxMs = options.messageDelayMaxMs ?? 350;
    this.servers = Array.from({ length: options.nodes }, (_, i) => ({
      id: i + 1,
      core: undefined,
      disk: { hardState: { term: 0, vote: 0, commit: 0 }, entries: [], snapshot: undefined },
      kv: new Map(),
      side: 0,
      nextTickAtMs: this.random.between(0, this.tickMs),
    }));
    for (const server of this.servers) this.boot(server);
  }

  get ids(): NodeId[] {
    return this.servers.map((s) => s.id);
  }

  // ---------------------------------------------------------------------------
  // What a viewer draws
  // ---------------------------------------------------------------------------

  view(id: NodeId): {
    readonly id: NodeId;
    readonly up: boolean;
    readonly side: 0 | 1;
    readonly role: Role | 'down';
    readonly term: number;
    readonly leader: NodeId;
    readonly vote: NodeId;
    readonly commit: LogIndex;
    readonly log: readonly { readonly index: LogIndex; readonly term: number }[];
    readonly timer: { readonly elapsedTicks: number; readonly timeoutTicks: number } | undefined;
    readonly kv: ReadonlyMap<string, string>;
  } {
    const server = this.server(id);
    const core = server.core;
    const status = core?.status();
    return {
      id,
      up: core !== undefined,
      side: server.side,
      role: status?.role ?? 'down',
      term: status?.term ?? server.disk.hardState.term,
      leader: status?.leader ?? 0,
      vote: status?.vote ?? server.disk.hardState.vote,
      commit: status?.commit ?? server.disk.hardState.commit,
      log: server.disk.entries.map((e) => ({ index: e.index, term: e.term })),
      timer: core?.electionTimer(),
      kv: server.kv,
    };
  }

  messagesInFlight(): readonly InFlight[] {
    return this.inFlight;
  }

  /** The leader of the highest term among live servers, or 0. */
  leader(): NodeId {
    let best: { id: NodeId; term: number } | undefined;
    for (const s of this.servers) {
      const st = s.core?.status();
      if (st?.role === 'leader' && (!best || st.term > best.term)) best = { id: s.id, term: st.term };
    }
    return best?.id ?? 0;
  }

  // ---------------------------------------------------------------------------
  // What a person does
  // ---------------------------------------------------------------------------

  crash(id: NodeId): void {
    const server = this.server(id);
    if (!server.core) return;
    server.core = undefined;
    for (const [requestId, request] of [...this.writes, ...this.reads]) {
      if (request.node === id) this.finish(requestId, { ok: false, error: `node ${id} crashed; the outcome is unknown` });
    }
    this.note(`node ${id} crashed`);
  }

  restart(id: NodeId): void {
    const server = this.server(id);
    if (server.core) return;
    this.boot(server);
    this.note(`node ${id} restarted from its disk (term ${server.disk.hardState.term}, ${server.disk.entries.length} entries)`);
  }

  /** Moves a node to the other side of the partition line (both sides start together). */
  setSide(id: NodeId, side: 0 | 1): void {
    const server = this.server(id);
    if (server.side === side) return;
    server.side = side;
    const apart = this.servers.filter((s) => s.side === 1).map((s) => s.id);
    this.note(
      apart.length === 0 || apart.length === this.servers.length
        ? 'network healed'
        : `partition: {${this.sideIds(0).join(',')}} | {${this.sideIds(1).join(',')}}`,
    );
  }

  heal(): void {
    for (const server of this.servers) server.side = 0;
    this.note('network healed');
  }

  put(via: NodeId, key: string, value: string, done: (result: ClientResult) => void): void {
    this.write(via, { op: 'put', id: this.nextRequestId(), key, value }, done);
  }

  delete(via: NodeId, key: string, done: (result: ClientResult) => void): void {
    this.write(via, { op: 'delete', id: this.nextRequestId(), key }, done);
  }

  /** A linearizable read through ReadIndex (thesis §6.4). */
  get(via: NodeId, key: string, done: (result: ClientResult) => void): void {
    const core = this.server(via).core;
    if (!core) return done({ ok: false, error: `node ${via} is down` });
    const readId = this.nextRequestId();
    const asked = core.readIndex(readId);
    if (!asked.ok) return done({ ok: false, error: `${asked.reason}: ${asked.message}` });
    this.reads.set(readId, { node: via, key, startedAtMs: this.nowMs, done });
    this.drain(this.server(via));
  }

  // ---------------------------------------------------------------------------
  // Time
  // ---------------------------------------------------------------------------

  /** Runs every tick and delivery due up to `nowMs + ms`, in time order. */
  advance(ms: number): void {
    const until = this.nowMs + ms;
    for (let next = this.nextEventAtMs(); next <= until; next = this.nextEventAtMs()) this.runAt(next);
    this.nowMs = until;
    this.expireRequests();
  }

  /** Runs the next single event (a tick or a delivery), for single-stepping. */
  stepOnce(): void {
    this.runAt(this.nextEventAtMs());
    this.expireRequests();
  }

  private nextEventAtMs(): number {
    let next = Infinity;
    for (const s of this.servers) next = Math.min(next, s.nextTickAtMs);
    for (const m of this.inFlight) next = Math.min(next, m.arrivesAtMs);
    return next;
  }

  private runAt(atMs: number): void {
    this.nowMs = Math.max(this.nowMs, atMs);
    const arriving = this.inFlight.filter((m) => m.arrivesAtMs <= atMs);
    if (arriving.length > 0) {
      this.inFlight = this.inFlight.filter((m) => m.arrivesAtMs > atMs);
      for (const { message } of arriving) this.deliver(message);
      return;
    }
    for (const server of this.servers) {
      if (server.nextTickAtMs > atMs) continue;
      server.nextTickAtMs += this.tickMs;
      if (!server.core) continue;
      server.core.tick();
      this.drain(server);
    }
  }

  private deliver(message: Message): void {
    const to = this.server(message.to);
    // A message is lost when its receiver is down or the partition lies between them.
    if (!to.core || to.side !== this.server(message.from).side) return;
    to.core.step(message);
    this.drain(to);
  }

  // ---------------------------------------------------------------------------
  // The runtime of one server (the Ready contract, types.ts)
  // ---------------------------------------------------------------------------

  private boot(server: Server): void {
    const { disk } = server;
    server.kv = new Map();
    const core = new RaftNode({
      config: { ...defaultRaftConfig, id: server.id, electionTicks: this.electionTicks, heartbeatTicks: 3 },
      persisted: { hardState: disk.hardState, snapshot: disk.snapshot, entries: disk.entries },
      bootstrap: { voters: this.ids, learners: [] },
      random: this.random.fork(),
    });
    server.core = core;
  }

  private drain(server: Server): void {
    const core = server.core;
    if (!core) return;
    while (core.hasReady()) {
      const ready = core.ready();
      this.persist(server.disk, ready);
      for (const message of ready.messages) this.send(message);
      this.apply(server, ready);
      core.advance(ready);
      if (ready.softState) this.noteRole(server.id, ready.softState.role, ready.softState.term);
    }
  }

  private persist(disk: Disk, ready: Ready): void {
    if (ready.snapshot) disk.snapshot = ready.snapshot;
    const first = ready.entries[0];
    if (first) disk.entries = [...disk.entries.filter((e) => e.index < first.index), ...ready.entries];
    if (ready.hardState) disk.hardState = ready.hardState;
  }

  private send(message: Message): void {
    if (this.inFlight.length >= inFlightMax) return;
    const delay = this.random.between(this.delayMinMs, this.delayMaxMs);
    this.inFlight.push({ message, sentAtMs: this.nowMs, arrivesAtMs: this.nowMs + delay });
  }

  private apply(server: Server, ready: Ready): void {
    for (const entry of ready.committedEntries) {
      if (entry.kind !== 'normal' || entry.data.length === 0) continue;
      const op = JSON.parse(decoder.decode(entry.data)) as Op;
      if (op.op === 'put') server.kv.set(op.key, op.value);
      else server.kv.delete(op.key);
      const pending = this.writes.get(op.id);
      if (pending && pending.node === server.id) this.finish(op.id, { ok: true, value: op.op === 'put' ? op.value : undefined, index: entry.index });
    }
    for (const state of ready.readStates) {
      const pending = this.reads.get(state.readId);
      if (pending) pending.readIndex = state.index;
    }
    // Thesis §6.4: a read is served once the state machine has applied its read index.
    const applied = Math.max(server.core?.status().applied ?? 0, ready.committedEntries[ready.committedEntries.length - 1]?.index ?? 0);
    for (const [readId, pending] of this.reads) {
      if (pending.node === server.id && pending.readIndex !== undefined && pending.readIndex <= applied) {
        this.finish(readId, { ok: true, value: server.kv.get(pending.key), index: pending.readIndex });
      }
    }
  }

  // ---------------------------------------------------------------------------

  private write(via: NodeId, op: Op, done: (result: ClientResult) => void): void {
    const server = this.server(via);
    if (!server.core) return done({ ok: false, error: `node ${via} is down` });
    const proposed = server.core.propose(encoder.encode(JSON.stringify(op)));
    if (!proposed.ok) return done({ ok: false, error: `${proposed.reason}: ${proposed.message}` });
    this.writes.set(op.id, { node: via, key: op.key, startedAtMs: this.nowMs, done });
    this.drain(server);
  }

  private expireRequests(): void {
    for (const [requestId, request] of [...this.writes, ...this.reads]) {
      if (this.nowMs - request.startedAtMs > requestTimeoutMs)
        this.finish(requestId, { ok: false, error: `no answer within ${requestTimeoutMs / 1000} s (simulated); the outcome is unknown` });
    }
  }

  private finish(requestId: string, result: ClientResult): void {
    const request = this.writes.get(requestId) ?? this.reads.get(requestId);
    this.writes.delete(requestId);
    this.reads.delete(requestId);
    request?.done(result);
  }

  private nextRequestId(): string {
    return `r${++this.requestCounter}`;
  }

  private noteRole(id: NodeId, role: Role, term: number): void {
    if (role === 'leader') this.note(`node ${id} became leader in term ${term}`);
    else if (role === 'candidate') this.note(`node ${id} timed out and campaigns in term ${term}`);
  }

  private note(text: string): void {
    this.events.push({ atMs: this.nowMs, text });
    if (this.events.length > eventsMax) this.events.splice(0, this.events.length - eventsMax);
  }

  private sideIds(side: 0 | 1): NodeId[] {
    return this.servers.filter((s) => s.side === side).map((s) => s.id);
  }

  private server(id: NodeId): Server {
    const server = this.servers[id - 1];
    if (!server) throw new Error(`no node ${id} (nodes 1..${this.servers.length})`);
    return server;
  }
}
