/**
 * How a removed node learns that it was removed when it never applied its own removal.
 *
 * A configuration takes effect when its entry is appended (thesis §4.1), so the leader
 * stops replicating to a node the moment it appends that node's removal: the node
 * usually never receives the entry. It then hears no leader, and its pre-votes are
 * ignored (pre-vote and check-quorum keep it from disturbing the cluster, thesis §4.2.3),
 * but it would sit there forever. etcd's peers answer such a member's messages with
 * "member removed" and it shuts down; here a node that has heard no leader for a while
 * asks the other members' REST API for the member list, and stops if its id is among
 * the removed ones. The answer comes from the replicated list, so a node is never
 * stopped on a guess: only a member list that names it as removed does it.
 */
import type { MemberList } from '../kv/index.js';
import type { NodeId } from '../raft/index.js';
import type { Logger } from '../replica/index.js';
import type { FetchFunction } from '../tls/index.js';

export interface RemovalCheckOptions {
  readonly self: NodeId;
  /** Ask only after this long without a leader, and at most once per this interval. */
  readonly leaderlessMsMax: number;
  readonly log: Logger;
  readonly onRemoved: () => void;
  /** How to call another member's client URL (TLS when the members' client ports speak it). */
  readonly fetch: FetchFunction;
}

/** One peer's answer must come within this. */
const askTimeoutMs = 1_000;

export class RemovalCheck {
  private leaderlessSinceMs: number | undefined;
  private lastAskMs = 0;
  private asking = false;
  private stopped = false;

  constructor(private readonly options: RemovalCheckOptions) {}

  tick(nowMs: number, leader: NodeId, list: () => MemberList): void {
    if (leader !== 0) {
      this.leaderlessSinceMs = undefined;
      return;
    }
    this.leaderlessSinceMs ??= nowMs;
    const { leaderlessMsMax } = this.options;
    if (this.asking || this.stopped || nowMs - this.leaderlessSinceMs < leaderlessMsMax || nowMs - this.lastAskMs < leaderlessMsMax) return;
    this.lastAskMs = nowMs;
    this.asking = true;
    void this.ask(list()).finally(() => {
      this.asking = false;
    });
  }

  stop(): void {
    this.stopped = true;
  }

  private async ask(list: MemberList): Promise<void> {
    const urls = list.members.filter((m) => m.id !== this.options.self).flatMap((m) => m.clientUrls.slice(0, 1));
    const answers = await Promise.all(urls.map((url) => removedIdsAt(url, this.options.fetch)));
    if (this.stopped) return;
    const removedBy = urls.filter((_url, i) => answers[i]?.includes(this.options.self));
    if (removedBy.length > 0) {
      this.options.log.warn({ removedBy }, 'the cluster lists this node as removed');
      this.stopped = true;
      this.options.onRemoved();
    }
  }
}

async function removedIdsAt(url: string, fetch: FetchFunction): Promise<number[] | undefined> {
  try {
    const response = await fetch(`${url}/members`, { signal: AbortSignal.timeout(askTimeoutMs) });
    if (!response.ok) return undefined;
    const body = (await response.json()) as { removed?: unknown };
    return Array.isArray(body.removed) ? body.removed.filter((id): id is number => typeof id === 'number') : undefined;
  } catch {
    return undefined;
  }
}
