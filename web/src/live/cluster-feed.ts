/**
 * Watches a live cluster: one WebSocket per member (the page learns the members from
 * the first node's hello), reconnecting with backoff, so the view keeps going when the
 * node that served the page dies. Keeps the latest frame per node, the messages to
 * animate, and one-second samples for the charts.
 */
import { withToken } from './auth-token';
import type { Hello, MessageSummary, StatusFrame } from './feed-types';

export interface NodeView {
  readonly id: number;
  readonly clientUrl: string;
  connected: boolean;
  frame: StatusFrame | undefined;
  /** When the last frame came (performance.now()). */
  lastFrameAt: number;
}

export interface FlyingMessage extends MessageSummary {
  readonly key: string;
  readonly bornAt: number;
}

export interface Sample {
  readonly writesPerSecond: number;
  readonly readsPerSecond: number;
  readonly p99Ms: number;
  /** Leader's last index minus each follower's match index. */
  readonly lagByFollower: Readonly<Record<number, number>>;
}

export const messageFlightMs = 700;
export const flyingMessagesMax = 80;
export const samplesMax = 120;
const reconnectMaxMs = 3_000;
/** The node's frame period (src/api/dashboard-feed.ts). */
const framePeriodMs = 250;
/** A node whose stream has been silent this long is shown as unreachable. */
export const staleAfterMs = 2_000;

export class ClusterFeed {
  hello: Hello | undefined;
  readonly nodes = new Map<number, NodeView>();
  flying: FlyingMessage[] = [];
  samples: Sample[] = [];
  private sockets = new Map<number, WebSocket>();
  private closed = false;
  private messageCounter = 0;
  private sampleTimer: number | undefined;
  /** What the frames of the current second added up to. */
  private window = { writes: 0, reads: 0, p99: 0 };
  private readonly listeners = new Set<() => void>();

  constructor(private readonly firstUrl: string) {}

  start(): void {
    this.bootstrap(0);
    this.sampleTimer = window.setInterval(() => this.sample(), 1000);
  }

  stop(): void {
    this.closed = true;
    window.clearInterval(this.sampleTimer);
    for (const socket of this.sockets.values()) socket.close();
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The leader most nodes agree on among nodes that answer, or 0. */
  leader(): number {
    const votes = new Map<number, number>();
    for (const node of this.nodes.values()) {
      const s = this.fresh(node)?.status;
      if (s && s.leader !== 0) votes.set(s.leader, (votes.get(s.leader) ?? 0) + 1);
    }
    let best = 0;
    let bestVotes = 0;
    for (const [id, n] of votes) if (n > bestVotes && this.fresh(this.nodes.get(id))?.status.role === 'leader') [best, bestVotes] = [id, n];
    return best;
  }

  /** The node's latest frame if it is recent enough to trust. */
  fresh(node: NodeView | undefined): StatusFrame | undefined {
    if (!node?.connected || !node.frame) return undefined;
    return performance.now() - node.lastFrameAt < staleAfterMs ? node.frame : undefined;
  }

  /** Client URLs of nodes that answer now, the leader first. */
  liveUrls(): string[] {
    const leader = this.leader();
    const up = [...this.nodes.values()].filter((n) => this.fresh(n));
    up.sort((a, b) => Number(b.id === leader) - Number(a.id === leader));
    return up.map((n) => n.clientUrl);
  }

  /** The first node tells who the members are; then the page watches each of them. */
  private bootstrap(attempt: number): void {
    if (this.closed) return;
    const socket = new WebSocket(withToken(`${this.firstUrl.replace(/^http/, 'ws')}/ui/events`));
    socket.onmessage = (event) => {
      const frame = JSON.parse(String(event.data)) as Hello | StatusFrame;
      if (frame.type !== 'hello' || this.hello) return;
      this.adopt(frame);
      socket.close();
    };
    socket.onclose = () => {
      if (!this.hello) window.setTimeout(() => this.bootstrap(attempt + 1), Math.min(reconnectMaxMs, 250 * 2 ** attempt));
    };
  }

  private adopt(hello: Hello): void {
    this.hello = hello;
    for (const m of hello.members) {
      // The page's own node keeps the address the page was loaded from.
      const url = m.id === hello.id ? this.firstUrl : m.clientUrl;
      this.nodes.set(m.id, { id: m.id, clientUrl: url, connected: false, frame: undefined, lastFrameAt: 0 });
      this.connect(m.id, url, 0);
    }
    this.changed();
  }

  private connect(id: number, url: string, attempt: number): void {
    if (this.closed) return;
    const socket = new WebSocket(withToken(`${url.replace(/^http/, 'ws')}/ui/events`));
    this.sockets.set(id, socket);
    socket.onopen = () => (attempt = 0);
    socket.onmessage = (event) => this.receive(JSON.parse(String(event.data)) as Hello | StatusFrame);
    socket.onclose = () => {
      const node = this.nodes.get(id);
      if (node) node.connected = false;
      this.changed();
      window.setTimeout(() => this.connect(id, url, attempt + 1), Math.min(reconnectMaxMs, 250 * 2 ** attempt));
    };
  }

  private receive(frame: Hello | StatusFrame): void {
    if (frame.type === 'hello') {
      const node = this.nodes.get(frame.id);
      if (node) node.connected = true;
      this.changed();
      return;
    }
    const node = this.nodes.get(frame.status.id);
    if (!node) return;
    const now = performance.now();
    node.frame = frame;
    node.connected = true;
    node.lastFrameAt = now;
    for (const m of frame.messages) this.flying.push({ ...m, key: `m${++this.messageCounter}`, bornAt: now });
    this.flying = this.flying.filter((m) => now - m.bornAt < messageFlightMs).slice(-flyingMessagesMax);
    this.window.writes += frame.throughput.writesPerSecond * (framePeriodMs / 1000);
    this.window.reads += frame.throughput.readsPerSecond * (framePeriodMs / 1000);
    this.window.p99 = Math.max(this.window.p99, frame.latency.p99Ms);
    this.changed();
  }

  /** Once a second: cluster throughput (sum of what each node served), worst p99, lag per follower. */
  private sample(): void {
    const leader = this.fresh(this.nodes.get(this.leader()));
    const lagByFollower: Record<number, number> = {};
    if (leader) for (const p of leader.status.peers) if (p.id !== leader.status.id) lagByFollower[p.id] = Math.max(0, leader.status.lastIndex - p.match);
    this.samples = [...this.samples, { writesPerSecond: this.window.writes, readsPerSecond: this.window.reads, p99Ms: this.window.p99, lagByFollower }].slice(
      -samplesMax,
    );
    this.window = { writes: 0, reads: 0, p99: 0 };
    this.changed();
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }
}
