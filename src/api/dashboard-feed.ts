/**
 * The dashboard's live event stream of one node: every `framePeriodMs` one frame with
 * this node's Raft status, the tail of its log, request throughput and p99 latency,
 * and a sample of the Raft messages it sent and received (all of them counted by type,
 * at most `messagesPerFrameMax` described, so a busy node does not flood the page).
 * One timer serves every open socket; nothing runs while nobody watches.
 */
import type { Message } from '../raft/index.js';
import type { ObservedNode } from '../server/index.js';
import { LatencyWindow } from './latency-window.js';
import { statusJson } from './cluster-routes.js';
import type { HelloFrame, MessageSummary, StatusFrame } from '../wire/index.js';

export const framePeriodMs = 250;
export const messagesPerFrameMax = 24;
export const logTailEntriesMax = 48;

/** What the feed needs of a WebSocket. */
export interface FeedSocket {
  /** 1 while open (the WebSocket constants). */
  readonly readyState: number;
  send(text: string): void;
}

const socketOpen = 1;

export class DashboardFeed {
  readonly latency = new LatencyWindow();
  private readonly sockets = new Set<FeedSocket>();
  private timer: NodeJS.Timeout | undefined;
  private unobserve: (() => void) | undefined;
  private sampled: MessageSummary[] = [];
  private counts: Record<string, number> = {};
  private lastCounters = { writes: 0, reads: 0, at: performance.now() };

  constructor(private readonly node: ObservedNode) {}

  add(socket: FeedSocket, hello: HelloFrame): void {
    socket.send(JSON.stringify(hello));
    this.sockets.add(socket);
    if (this.timer) return;
    this.unobserve = this.node.observeMessages((message, direction) => this.sample(message, direction));
    this.lastCounters = { writes: this.node.counters.writes, reads: this.node.counters.reads, at: performance.now() };
    this.timer = setInterval(() => this.broadcast(), framePeriodMs);
  }

  remove(socket: FeedSocket): void {
    this.sockets.delete(socket);
    if (this.sockets.size > 0 || !this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.unobserve?.();
    this.unobserve = undefined;
  }

  close(): void {
    for (const socket of [...this.sockets]) this.remove(socket);
  }

  private sample(message: Message, direction: 'in' | 'out'): void {
    // A message between two nodes is seen by both: the sender describes it, the
    // receiver only counts it, so a page watching every node draws it once.
    this.counts[message.type] = (this.counts[message.type] ?? 0) + 1;
    if (direction === 'in' || this.sampled.length >= messagesPerFrameMax) return;
    this.sampled.push(summarize(message));
  }

  private broadcast(): void {
    const frame = JSON.stringify(this.frame());
    for (const socket of this.sockets) if (socket.readyState === socketOpen) socket.send(frame);
  }

  private frame(): StatusFrame {
    const now = performance.now();
    const seconds = Math.max(0.001, (now - this.lastCounters.at) / 1000);
    const { writes, reads } = this.node.counters;
    const throughput = { writesPerSecond: (writes - this.lastCounters.writes) / seconds, readsPerSecond: (reads - this.lastCounters.reads) / seconds };
    this.lastCounters = { writes, reads, at: now };
    const frame: StatusFrame = {
      type: 'status',
      status: statusJson(this.node),
      log: this.node.logTail(logTailEntriesMax),
      throughput,
      latency: this.latency.take(),
      messages: this.sampled,
      messageCounts: this.counts,
    };
    this.sampled = [];
    this.counts = {};
    return frame;
  }
}

function summarize(m: Message): MessageSummary {
  const base = { type: m.type, from: m.from, to: m.to, term: m.term };
  switch (m.type) {
    case 'append':
      return { ...base, entries: m.entries.length };
    case 'appendResponse':
      return { ...base, entries: 0, ok: m.success };
    case 'voteResponse':
    case 'preVoteResponse':
      return { ...base, entries: 0, ok: m.granted };
    default:
      return { ...base, entries: 0 };
  }
}
