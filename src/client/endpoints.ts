/**
 * Which node to talk to. Requests go to the leader when the client knows it (writes
 * and linearizable reads are served there without a forwarding hop); otherwise they
 * go round the known endpoints. The client learns the leader by asking every endpoint
 * for GET /status at once (a node that says role=leader wins; else the leader id the
 * nodes name, mapped to an endpoint through the statuses or GET /cluster/info), and
 * asks again after a failure or a NOT_LEADER / LEADER_CHANGED answer.
 */
import type { HttpResponse } from './http.js';

export type Probe = (endpoint: string, path: string) => Promise<HttpResponse>;

export function normalizeEndpoint(endpoint: string): string {
  const trimmed = endpoint.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `http://${trimmed}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new RangeError(`invalid endpoint ${JSON.stringify(endpoint)}: expected a URL like http://127.0.0.1:7001`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new RangeError(`invalid endpoint ${JSON.stringify(endpoint)}: only http:// and https:// are supported`);
  }
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
}

interface StatusAnswer {
  readonly endpoint: string;
  readonly id: number | undefined;
  readonly role: string | undefined;
  readonly leader: number | undefined;
}

export class EndpointTracker {
  private readonly known: string[];
  private cursor = 0;
  private leaderEndpoint: string | undefined;
  private stale = true;
  private discovering: Promise<void> | undefined;
  /** Member id -> an endpoint that answered as that member (or its advertised clientUrl). */
  private readonly byId = new Map<number, string>();
  private membersLearned = false;

  constructor(
    seeds: readonly string[],
    private readonly probe: Probe,
  ) {
    if (seeds.length === 0) throw new RangeError('KeelClient needs at least one endpoint');
    this.known = [...new Set(seeds.map(normalizeEndpoint))];
  }

  /** Every endpoint known: the seeds, then members learned from the cluster. */
  endpoints(): readonly string[] {
    return this.known;
  }

  leader(): string | undefined {
    return this.leaderEndpoint;
  }

  /** Where the next request goes: the leader if known, else the next endpoint in turn. */
  async pick(): Promise<string> {
    if (this.stale) await this.discover();
    return this.leaderEndpoint ?? this.known[this.cursor % this.known.length]!;
  }

  /** The endpoint failed (no answer, or refused): move on, and look for the leader again. */
  failed(endpoint: string): void {
    if (this.leaderEndpoint === endpoint) this.leaderEndpoint = undefined;
    const index = this.known.indexOf(endpoint);
    if (index >= 0 && index === this.cursor % this.known.length) this.cursor = index + 1;
    this.stale = true;
  }

  /** The endpoint says it is not the leader, or leadership is moving. */
  leaderLost(endpoint: string): void {
    if (this.leaderEndpoint === endpoint) this.leaderEndpoint = undefined;
    this.stale = true;
  }

  /** Asks the cluster who leads; concurrent callers share one round. */
  discover(): Promise<void> {
    this.discovering ??= this.discoverRound().finally(() => {
      this.discovering = undefined;
    });
    return this.discovering;
  }

  private async discoverRound(): Promise<void> {
    this.stale = false;
    // The first round also learns the members, so a client given one endpoint can fail over.
    const learning = this.membersLearned ? undefined : this.learnMembers([...this.known]);
    const answers = await firstLeaderOrAll(this.known.map((endpoint) => this.askStatus(endpoint)));
    await learning;
    for (const answer of answers) {
      if (answer.id !== undefined) this.byId.set(answer.id, answer.endpoint);
    }
    const self = answers.find((a) => a.role === 'leader');
    if (self) {
      this.leaderEndpoint = self.endpoint;
      return;
    }
    const named = mostNamedLeader(answers);
    if (named === undefined) {
      this.leaderEndpoint = undefined;
      return;
    }
    if (!this.byId.has(named)) await this.learnMembers(answers.map((a) => a.endpoint));
    this.leaderEndpoint = this.byId.get(named);
  }

  private async askStatus(endpoint: string): Promise<StatusAnswer | undefined> {
    try {
      const response = await this.probe(endpoint, '/status');
      if (response.status !== 200 || typeof response.json !== 'object' || response.json === null) return undefined;
      const json = response.json as { id?: unknown; role?: unknown; leader?: unknown };
      return {
        endpoint,
        id: positiveInteger(json.id),
        role: typeof json.role === 'string' ? json.role : undefined,
        leader: positiveInteger(json.leader),
      };
    } catch {
      return undefined;
    }
  }

  /** Reads /cluster/info from the first endpoint that answers, and adds the members' client URLs. */
  private async learnMembers(responders: readonly string[]): Promise<void> {
    for (const endpoint of responders) {
      try {
        const response = await this.probe(endpoint, '/cluster/info');
        if (response.status !== 200) continue;
        const members = (response.json as { members?: unknown }).members;
        if (!Array.isArray(members)) continue;
        for (const member of members as Array<{ id?: unknown; clientUrl?: unknown }>) {
          const id = positiveInteger(member.id);
          if (id === undefined || typeof member.clientUrl !== 'string') continue;
          let url: string;
          try {
            url = normalizeEndpoint(member.clientUrl);
          } catch {
            continue;
          }
          if (!this.byId.has(id)) this.byId.set(id, url);
          if (!this.known.includes(url)) this.known.push(url);
        }
        this.membersLearned = true;
        return;
      } catch {}
    }
  }
}

/** Resolves with the first answer from a leader, or with every answer once all have settled. */
function firstLeaderOrAll(probes: ReadonlyArray<Promise<StatusAnswer | undefined>>): Promise<StatusAnswer[]> {
  return new Promise((resolve) => {
    const answers: StatusAnswer[] = [];
    let pending = probes.length;
    if (pending === 0) resolve(answers);
    for (const probe of probes) {
      void probe.then((answer) => {
        if (answer) answers.push(answer);
        if (answer?.role === 'leader') resolve([...answers]);
        if (--pending === 0) resolve(answers);
      });
    }
  });
}

/** The leader id named by most answers (ties: the first named). */
function mostNamedLeader(answers: readonly StatusAnswer[]): number | undefined {
  const votes = new Map<number, number>();
  for (const answer of answers) {
    if (answer.leader !== undefined) votes.set(answer.leader, (votes.get(answer.leader) ?? 0) + 1);
  }
  let best: number | undefined;
  for (const [id, count] of votes) if (best === undefined || count > votes.get(best)!) best = id;
  return best;
}

function positiveInteger(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : undefined;
}
