/**
 * Nodes on a circle and the messages between them as dots moving from sender to
 * receiver. `progress` of a message runs from 0 (sent) to 1 (arrived).
 */
export interface MapNode {
  readonly id: number;
  readonly role: string;
  readonly label: string;
  /** 0..1 of the election timeout elapsed, drawn as a ring; undefined: no ring. */
  readonly timer?: number;
}

export interface MapMessage {
  readonly key: string;
  readonly type: string;
  readonly from: number;
  readonly to: number;
  readonly progress: number;
}

const size = 320;
const radius = 115;
const nodeRadius = 30;
const laneOffset = 5;

export function nodePosition(index: number, count: number): { x: number; y: number } {
  const angle = -Math.PI / 2 + (2 * Math.PI * index) / count;
  return { x: size / 2 + radius * Math.cos(angle), y: size / 2 + radius * Math.sin(angle) };
}

export function MessageMap(props: {
  nodes: readonly MapNode[];
  messages: readonly MapMessage[];
  onNodeClick?: (id: number) => void;
  nodeActionLabel?: (node: MapNode) => string;
  /** Links the network drops (a partition, an isolated node), drawn dashed in red. */
  isCut?: (a: number, b: number) => boolean;
}) {
  const { nodes, messages, onNodeClick, nodeActionLabel, isCut } = props;
  const where = new Map(nodes.map((n, i) => [n.id, nodePosition(i, nodes.length)]));
  return (
    <svg class="message-map" viewBox={`0 0 ${size} ${size}`} role="group" aria-label="cluster map: nodes and the messages between them">
      {nodes.flatMap((a, i) =>
        nodes.slice(i + 1).map((b) => {
          const p = where.get(a.id)!;
          const q = where.get(b.id)!;
          return <line key={`${a.id}-${b.id}`} x1={p.x} y1={p.y} x2={q.x} y2={q.y} class={isCut?.(a.id, b.id) ? 'link cut' : 'link'} />;
        }),
      )}
      {messages.map((m) => {
        const p = where.get(m.from);
        const q = where.get(m.to);
        if (!p || !q) return null;
        // Each direction travels on its own side of the link, so a request and its
        // answer do not hide each other.
        const length = Math.hypot(q.x - p.x, q.y - p.y) || 1;
        const side = m.from < m.to ? laneOffset : -laneOffset;
        const x = p.x + (q.x - p.x) * m.progress + ((q.y - p.y) / length) * side;
        const y = p.y + (q.y - p.y) * m.progress - ((q.x - p.x) / length) * side;
        return <circle key={m.key} cx={x} cy={y} r={m.type.startsWith('append') && m.type !== 'appendResponse' ? 6 : 4} class={`msg msg-${m.type}`} />;
      })}
      {nodes.map((n) => {
        const p = where.get(n.id)!;
        const ring =
          n.timer === undefined ? null : (
            <circle
              cx={p.x}
              cy={p.y}
              r={nodeRadius + 5}
              class="timer"
              pathLength={1}
              stroke-dasharray={`${Math.min(1, n.timer)} 1`}
              transform={`rotate(-90 ${p.x} ${p.y})`}
            />
          );
        const body = (
          <>
            {ring}
            <circle cx={p.x} cy={p.y} r={nodeRadius} class={`node node-${n.role}`} />
            <text x={p.x} y={p.y - 3} text-anchor="middle" class="node-id">
              {n.id}
            </text>
            <text x={p.x} y={p.y + 12} text-anchor="middle" class="node-label">
              {n.label}
            </text>
          </>
        );
        if (!onNodeClick) return <g key={n.id}>{body}</g>;
        return (
          <g
            key={n.id}
            class="clickable"
            tabIndex={0}
            role="button"
            aria-label={nodeActionLabel?.(n) ?? `node ${n.id}`}
            onClick={() => onNodeClick(n.id)}
            onKeyDown={(e) => {
              if (e.key === 'Enter' || e.key === ' ') {
                e.preventDefault();
                onNodeClick(n.id);
              }
            }}
          >
            {body}
          </g>
        );
      })}
    </svg>
  );
}
