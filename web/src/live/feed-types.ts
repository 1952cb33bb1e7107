/** The frames of a node's event stream (src/api/dashboard-feed.ts, dashboard-routes.ts). */
export interface Hello {
  readonly type: 'hello';
  readonly id: number;
  readonly clusterId: string;
  readonly members: readonly { readonly id: number; readonly clientUrl: string }[];
  readonly supervisorUrl: string | null;
  readonly faultInjection: boolean;
  readonly features: Readonly<Record<string, boolean>>;
}

export interface PeerStatus {
  readonly id: number;
  readonly match: number;
  readonly next: number;
  readonly state: string;
  readonly recentActive: boolean;
}

export interface NodeStatus {
  readonly id: number;
  readonly role: string;
  readonly term: number;
  readonly leader: number;
  readonly commit: number;
  readonly applied: number;
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly revision: number;
  readonly voters: readonly number[];
  readonly learners: readonly number[];
  readonly peers: readonly PeerStatus[];
}

export interface MessageSummary {
  readonly type: string;
  readonly from: number;
  readonly to: number;
  readonly term: number;
  readonly entries: number;
  readonly ok?: boolean;
}

export interface StatusFrame {
  readonly type: 'status';
  readonly status: NodeStatus;
  readonly log: readonly { readonly index: number; readonly term: number; readonly kind: string }[];
  readonly throughput: { readonly writesPerSecond: number; readonly readsPerSecond: number };
  readonly latency: { readonly count: number; readonly p99Ms: number };
  readonly messages: readonly MessageSummary[];
  readonly messageCounts: Readonly<Record<string, number>>;
}
