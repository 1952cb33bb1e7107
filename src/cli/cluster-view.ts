/**
 * What `keel status` (and the shell's `status`) show: every member's own GET /status
 * and GET /health, asked of each node directly and at once, so one slow or dead node
 * shows up as such without hiding the others.
 */
import type { KeelClient, Health, NodeStatus } from '../client/index.js';
import { table } from './format.js';

export interface NodeView {
  readonly id: number | undefined;
  readonly endpoint: string;
  readonly status?: NodeStatus;
  readonly health?: Health;
  /** Why the node did not answer. */
  readonly error?: string;
}

/** Members from /cluster/info when some node answers, else the configured endpoints. */
export async function gatherNodes(client: KeelClient): Promise<NodeView[]> {
  let targets: Array<{ id: number | undefined; endpoint: string }>;
  try {
    const info = await client.clusterInfo();
    targets = info.members.map((m) => ({ id: m.id, endpoint: m.clientUrl }));
  } catch {
    targets = client.endpoints().map((endpoint) => ({ id: undefined, endpoint }));
  }
  return Promise.all(
    targets.map(async ({ id, endpoint }): Promise<NodeView> => {
      const [status, health] = await Promise.allSettled([client.status(endpoint), client.health(endpoint)]);
      if (status.status === 'rejected') {
        return { id, endpoint, error: status.reason instanceof Error ? status.reason.message : String(status.reason) };
      }
      return {
        id: id ?? status.value.id,
        endpoint,
        status: status.value,
        ...(health.status === 'fulfilled' ? { health: health.value } : {}),
      };
    }),
  );
}

export function statusTable(nodes: readonly NodeView[]): string {
  const rows = nodes.map((n) => {
    const s = n.status;
    const health = !s ? 'down' : n.health === undefined ? '?' : n.health.ok ? 'ok' : 'no leader';
    return [
      n.id === undefined ? '?' : String(n.id),
      n.endpoint,
      s ? s.role : 'unreachable',
      s ? String(s.term) : '-',
      s ? (s.leader === null ? 'none' : String(s.leader)) : '-',
      s ? String(s.commit) : '-',
      s ? String(s.applied) : '-',
      s ? String(s.revision) : '-',
      health,
    ];
  });
  return table(['ID', 'ENDPOINT', 'ROLE', 'TERM', 'LEADER', 'COMMIT', 'APPLIED', 'REVISION', 'HEALTH'], rows, new Set([3, 5, 6, 7]));
}

export function statusJson(nodes: readonly NodeView[]): unknown[] {
  return nodes.map((n) => ({
    id: n.id ?? null,
    endpoint: n.endpoint,
    reachable: n.status !== undefined,
    ...(n.status
      ? {
          role: n.status.role,
          term: n.status.term,
          leader: n.status.leader,
          commit: n.status.commit,
          applied: n.status.applied,
          revision: n.status.revision,
          healthy: n.health?.ok ?? null,
        }
      : { error: n.error ?? 'unreachable' }),
  }));
}
