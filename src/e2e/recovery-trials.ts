/**
 * How long a cluster takes to take writes again after a crash, measured the same way
 * for Keel and for etcd (`npm run bench:recovery`): through etcd's v3 gRPC API, which
 * both serve, with a fresh client per attempt so that a client library's reconnect
 * back-off is not counted as the server's unavailability.
 *
 *   - whole cluster: kill -9 every member, start them all again; from the moment the
 *     processes are started to the first acknowledged put. Also measured from the
 *     moment a majority of the members' client ports accept connections ("up": those
 *     processes have loaded and opened their data, and can elect and commit), which
 *     sets start-up apart from election and the first write.
 *   - leader: kill -9 the leader; from the kill to the first acknowledged put on a
 *     survivor. The killed member is started again and caught up between trials.
 *
 * Leaders and progress are read with etcdctl's `endpoint status`, for both systems.
 */
import { connect } from 'node:net';
import { EtcdGrpcClient } from '../client/index.js';
import { etcdctl } from './etcdctl.js';
import { pause, waitFor } from '../harness/index.js';

/** A cluster under test, its members by 0-based index. */
export interface RecoveryTarget {
  readonly name: string;
  /** host:port of each member's etcd gRPC endpoint. */
  readonly endpoints: readonly string[];
  kill(index: number): Promise<void>;
  /** Starts a killed member again; may resolve before it serves. */
  start(index: number): Promise<void>;
}

export type RecoveryScenario = 'whole-cluster' | 'leader';

export interface RecoveryFigures {
  readonly target: string;
  readonly scenario: RecoveryScenario;
  /** Milliseconds to the first acknowledged put, one per trial, in trial order. */
  readonly trialsMs: readonly number[];
  readonly medianMs: number;
  readonly worstMs: number;
  /** Whole cluster only: from a majority of members' client ports accepting connections to the first acknowledged put. */
  readonly sinceUp?: { readonly trialsMs: readonly number[]; readonly medianMs: number; readonly worstMs: number };
}

const attemptTimeoutMs = 1_000;
const attemptGapMs = 20;
/** A trial that has not seen a write acknowledged by then has failed. */
const trialDeadlineMs = 60_000;
const settleTimeoutMs = 60_000;

interface EndpointStatus {
  readonly Endpoint: string;
  readonly Status: { readonly header: { readonly member_id: number }; readonly leader: number; readonly raftIndex: number };
}

async function endpointStatus(endpoints: readonly string[]): Promise<EndpointStatus[]> {
  const result = await etcdctl(endpoints.join(','), ['endpoint', 'status', '--write-out=json'], { timeoutMs: 10_000 });
  if (result.code !== 0) throw new Error(`etcdctl endpoint status: ${result.stderr.trim()}`);
  return JSON.parse(result.stdout) as EndpointStatus[];
}

/** The index of the member that leads, once every member agrees on one. */
async function leaderIndex(target: RecoveryTarget): Promise<number> {
  return waitFor(
    async () => {
      const statuses = await endpointStatus(target.endpoints);
      const leaders = new Set(statuses.map((s) => s.Status.leader));
      if (statuses.length !== target.endpoints.length || leaders.size !== 1) return undefined;
      const index = statuses.findIndex((s) => s.Status.header.member_id === s.Status.leader);
      return index >= 0 ? target.endpoints.indexOf(statuses[index]?.Endpoint.replace(/^https?:\/\//, '') ?? '') : undefined;
    },
    { timeoutMs: settleTimeoutMs, what: `${target.name}: every member following one leader`, intervalMs: 100 },
  );
}

/** Waits until every member serves and holds the same log (raft index within one entry). */
async function settled(target: RecoveryTarget): Promise<void> {
  await waitFor(
    async () => {
      const statuses = await endpointStatus(target.endpoints);
      if (statuses.length !== target.endpoints.length) return false;
      const indexes = statuses.map((s) => s.Status.raftIndex);
      return new Set(statuses.map((s) => s.Status.leader)).size === 1 && Math.max(...indexes) - Math.min(...indexes) <= 1;
    },
    { timeoutMs: settleTimeoutMs, what: `${target.name}: every member serving and caught up`, intervalMs: 100 },
  );
}

/** Resolves once `endpoint` (host:port) accepts a TCP connection, trying every `attemptGapMs`. */
async function accepting(endpoint: string, startMs: number): Promise<void> {
  const [host, port] = [endpoint.slice(0, endpoint.lastIndexOf(':')), Number(endpoint.slice(endpoint.lastIndexOf(':') + 1))];
  while (performance.now() - startMs < trialDeadlineMs) {
    const accepted = await new Promise<boolean>((resolve) => {
      const socket = connect({ host, port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (accepted) return;
    await pause(attemptGapMs);
  }
  throw new Error(`${endpoint} did not accept a connection within ${trialDeadlineMs} ms`);
}

/** Milliseconds from `startMs` to the moment a majority of `endpoints` accept connections (enough to elect and commit). */
async function quorumAcceptingMs(endpoints: readonly string[], startMs: number): Promise<number> {
  const acceptedMs = await Promise.all(endpoints.map((endpoint) => accepting(endpoint, startMs).then(() => performance.now() - startMs)));
  return [...acceptedMs].sort((a, b) => a - b)[Math.floor(endpoints.length / 2)] as number;
}

function medianAndWorst(trialsMs: readonly number[]): { medianMs: number; worstMs: number } {
  const sorted = [...trialsMs].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  const medianMs = sorted.length % 2 === 1 ? (sorted[middle] as number) : Math.round(((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2);
  return { medianMs, worstMs: sorted.at(-1) ?? 0 };
}

/** Milliseconds from `startMs` to the first put acknowledged by any of `endpoints` (a fresh client per attempt). */
export async function firstAcknowledgedPut(endpoints: readonly string[], startMs: number, key: string): Promise<number> {
  for (let attempt = 0; performance.now() - startMs < trialDeadlineMs; attempt++) {
    const clients = endpoints.map((endpoint) => new EtcdGrpcClient(endpoint, attemptTimeoutMs));
    try {
      const acknowledged = await Promise.any(clients.map((client) => client.put(key, String(attempt)))).then(
        () => true,
        () => false,
      );
      if (acknowledged) return performance.now() - startMs;
    } finally {
      for (const client of clients) client.close();
    }
    await pause(attemptGapMs);
  }
  throw new Error(`no put was acknowledged within ${trialDeadlineMs} ms`);
}

export async function runRecoveryTrials(
  target: RecoveryTarget,
  scenario: RecoveryScenario,
  trials: number,
  log: (line: string) => void,
): Promise<RecoveryFigures> {
  const trialsMs: number[] = [];
  const sinceUpMs: number[] = [];
  const all = target.endpoints.map((_, i) => i);
  for (let trial = 0; trial < trials; trial++) {
    await settled(target);
    let ms: number;
    if (scenario === 'whole-cluster') {
      await Promise.all(all.map((i) => target.kill(i)));
      const startMs = performance.now();
      const starting = Promise.all(all.map((i) => target.start(i)));
      const up = quorumAcceptingMs(target.endpoints, startMs);
      ms = await firstAcknowledgedPut(target.endpoints, startMs, `recovery/${scenario}/${trial}`);
      const upMs = await up;
      sinceUpMs.push(Math.max(0, Math.round(ms - upMs)));
      await starting;
    } else {
      const leader = await leaderIndex(target);
      await target.kill(leader);
      const startMs = performance.now();
      ms = await firstAcknowledgedPut(
        target.endpoints.filter((_, i) => i !== leader),
        startMs,
        `recovery/${scenario}/${trial}`,
      );
      await target.start(leader);
    }
    trialsMs.push(Math.round(ms));
    const sinceUp = sinceUpMs.length > trial ? `, ${sinceUpMs[trial]} ms after a quorum was up` : '';
    log(`${target.name} ${scenario} trial ${trial + 1}/${trials}: ${Math.round(ms)} ms${sinceUp}`);
  }
  return {
    target: target.name,
    scenario,
    trialsMs,
    ...medianAndWorst(trialsMs),
    ...(sinceUpMs.length > 0 ? { sinceUp: { trialsMs: sinceUpMs, ...medianAndWorst(sinceUpMs) } } : {}),
  };
}
