import { LogStrip } from '../components/log-strip';
import type { ClusterFeed, NodeView } from './cluster-feed';

export interface NodeActions {
  readonly kill?: (id: number) => void;
  readonly restart?: (id: number) => void;
  readonly isolate?: (id: number) => void;
  readonly heal?: (id: number) => void;
  readonly transferTo?: (id: number) => void;
  /** Why kill/restart are unavailable, shown beside the disabled buttons. */
  readonly supervisorReason?: string;
  readonly faultsReason?: string;
}

/** One node: role, term, leader, indexes, health, log strip, and its controls. */
export function NodeCard(props: { feed: ClusterFeed; node: NodeView; isolated: boolean; actions: NodeActions }) {
  const { feed, node, isolated, actions } = props;
  const frame = feed.fresh(node);
  const s = frame?.status;
  const health = !frame ? 'unreachable' : s?.leader === 0 ? 'no leader known' : 'ok';
  const role = s?.role ?? 'down';
  return (
    <article class={`card role-${role}`} data-testid={`node-card-${node.id}`} data-role={role} aria-label={`node ${node.id}`}>
      <header>
        <h3>Node {node.id}</h3>
        <span class={`badge badge-${role}`}>{role}</span>
        <span class={`health health-${health === 'ok' ? 'ok' : 'bad'}`}>{health}</span>
      </header>
      <dl>
        <dt>term</dt>
        <dd>{s?.term ?? '–'}</dd>
        <dt>leader</dt>
        <dd>{s ? s.leader || 'none' : '–'}</dd>
        <dt>commit</dt>
        <dd>{s?.commit ?? '–'}</dd>
        <dt>applied</dt>
        <dd>{s?.applied ?? '–'}</dd>
        <dt>last index</dt>
        <dd>{s?.lastIndex ?? '–'}</dd>
      </dl>
      <LogStrip entries={frame?.log ?? []} commit={s?.commit ?? 0} label={`log of node ${node.id}`} />
      <small class="url">{node.clientUrl}</small>
      {isolated && <p class="warn">isolated by a fault rule</p>}
      <div class="actions">
        <button type="button" disabled={!actions.kill || !frame} onClick={() => actions.kill?.(node.id)} title={actions.supervisorReason}>
          Kill node {node.id}
        </button>
        <button type="button" disabled={!actions.restart || !!frame} onClick={() => actions.restart?.(node.id)} title={actions.supervisorReason}>
          Restart node {node.id}
        </button>
        {isolated ? (
          <button type="button" disabled={!actions.heal || !frame} onClick={() => actions.heal?.(node.id)} title={actions.faultsReason}>
            Heal node {node.id}
          </button>
        ) : (
          <button type="button" disabled={!actions.isolate || !frame} onClick={() => actions.isolate?.(node.id)} title={actions.faultsReason}>
            Isolate node {node.id}
          </button>
        )}
        <button type="button" disabled={!actions.transferTo || !frame || role === 'leader'} onClick={() => actions.transferTo?.(node.id)}>
          Make node {node.id} leader
        </button>
      </div>
    </article>
  );
}
