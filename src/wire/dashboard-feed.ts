/**
 * The frames of a node's dashboard event stream (WebSocket /ui/feed): written by
 * api/dashboard-feed.ts and api/dashboard-routes.ts, read by the dashboard (web/).
 */
import type { NodeStatusJson } from './status.js';

/** The first frame: who this node is and what the page may offer. */
export interface HelloFrame {
  readonly type: 'hello';
  readonly id: number;
  readonly clusterId: string;
  /** Members that have published a client URL, so a page follows members added after start-up. */
  readonly members: readonly { readonly id: number; readonly clientUrl: string }[];
  /** The `keel cluster up` process's control endpoint, when it runs this node. */
  readonly supervisorUrl: string | null;
  readonly faultInjection: boolean;
  /** Optional routes this node serves, by name. */
  readonly features: Readonly<Record<string, boolean>>;
}

/** A Raft message this node sent, described for drawing. */
export interface MessageSummary {
  readonly type: string;
  readonly from: number;
  readonly to: number;
  readonly term: number;
  /** Entries carried by an append. */
  readonly entries: number;
  /** Vote granted, append accepted; absent for requests. */
  readonly ok?: boolean;
}

/** One frame every framePeriodMs while a page watches. */
export interface StatusFrame {
  readonly type: 'status';
  readonly status: NodeStatusJson;
  /** The tail of the log, without the entries' data. */
  readonly log: readonly { readonly index: number; readonly term: number; readonly kind: string }[];
  readonly throughput: { readonly writesPerSecond: number; readonly readsPerSecond: number };
  readonly latency: { readonly count: number; readonly p99Ms: number };
  /** A sample of the messages sent since the last frame, and all of them counted by type. */
  readonly messages: readonly MessageSummary[];
  readonly messageCounts: Readonly<Record<string, number>>;
}
