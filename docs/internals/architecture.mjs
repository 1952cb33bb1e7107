#!/usr/bin/env node
// Draws architecture.svg (beside this file): one Keel node, its layers, what talks to
// it and the Ready loop that drives it. The picture is data — boxes and arrows below —
// so changing it means editing this file and running `npm run docs:diagram`;
// `npm run lint` checks that the committed SVG is what this file draws.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const width = 960;
const height = 640;

const colors = {
  client: '#eef2f7',
  api: '#e3f0ff',
  server: '#fff4d6',
  pure: '#e6f6e6',
  io: '#f3e8ff',
  peer: '#f4f4f4',
  line: '#44546a',
  text: '#1d2733',
  muted: '#5b6675',
};

/** Boxes: x, y, w, h in pixels; `lines` under the title in a smaller font. */
const boxes = [
  {
    id: 'clients',
    x: 20,
    y: 20,
    w: 700,
    h: 62,
    fill: colors.client,
    title: 'Clients',
    lines: ['keel CLI · TypeScript client · etcdctl and etcd clients · curl · the dashboard in a browser'],
  },
  {
    id: 'api',
    x: 20,
    y: 120,
    w: 700,
    h: 78,
    fill: colors.api,
    title: 'api/ — adapters: parse, validate, map errors',
    lines: [
      'REST + etcd JSON gateway + SSE/WebSocket watches (fastify, client port)',
      'etcd v3 gRPC: KV · Watch · Lease · Cluster · Maintenance (Node HTTP/2, the same client port)',
    ],
  },
  {
    id: 'server',
    x: 20,
    y: 236,
    w: 700,
    h: 96,
    fill: colors.server,
    title: 'replica/ — Replica, the node runtime (server/ — KeelNode, its Node.js shell)',
    lines: [
      'timers → tick() · proposals with request ids · ReadIndex waits · pending answers',
      'leases\u2019 deadlines (leader expires) · membership checks · snapshots every N entries',
      'the Ready loop (right) — a pipeline: applies overlap the next batch\u2019s fsync',
    ],
  },
  {
    id: 'raft',
    x: 20,
    y: 372,
    w: 220,
    h: 104,
    fill: colors.pure,
    title: 'raft/ — consensus core',
    lines: ['pure: no I/O, clocks,', 'timers or randomness', 'in: tick, step, propose', 'out: ready, persisted, applied'],
  },
  {
    id: 'storage',
    x: 260,
    y: 372,
    w: 140,
    h: 104,
    fill: colors.io,
    title: 'storage/',
    lines: ['WAL segments', 'group commit', '(fdatasync)', 'snapshot files'],
  },
  { id: 'kv', x: 420, y: 372, w: 150, h: 104, fill: colors.io, title: 'kv/', lines: ['MVCC store on', 'LMDB: revisions,', 'txn, leases,', 'watch hub'] },
  {
    id: 'transport',
    x: 590,
    y: 372,
    w: 130,
    h: 104,
    fill: colors.io,
    title: 'transport/',
    lines: ['peer TCP links', 'framing, codec,', 'handshake,', 'fault hooks'],
  },
  { id: 'disk', x: 260, y: 520, w: 310, h: 56, fill: colors.peer, title: 'data directory', lines: ['raft/wal · raft/snap · kv (LMDB)'] },
  { id: 'peers', x: 590, y: 520, w: 130, h: 56, fill: colors.peer, title: 'other nodes', lines: ['peer port'] },
  { id: 'loop', x: 740, y: 120, w: 205, h: 456, fill: '#ffffff', title: 'The Ready loop', lines: [] },
];

/** Arrows between box edges: [from, to, label, bend]. Points are computed from the boxes. */
const arrows = [
  { from: [370, 82], to: [370, 120], label: 'HTTP/1.1 · HTTP/2' },
  { from: [370, 198], to: [370, 236], label: 'write · read · watch · member · admin' },
  { from: [130, 332], to: [130, 372], label: '' },
  { from: [330, 332], to: [330, 372], label: '' },
  { from: [495, 332], to: [495, 372], label: '' },
  { from: [655, 332], to: [655, 372], label: '' },
  { from: [330, 476], to: [330, 520], label: '' },
  { from: [495, 476], to: [495, 520], label: '' },
  { from: [655, 476], to: [655, 520], label: 'Raft messages', both: true, labelLeft: true },
];

/** The Ready loop as Replica.drain() runs it (src/replica/replica.ts): 1 and 2 overlap 3. */
const loopSteps = [
  ['0', 'send early', 'what promises nothing', 'durable: appends,', 'heartbeats (§10.2.1)'],
  ['1', 'write lane', 'snapshot, entries, hard', 'state: one fsync in', 'flight; queued Readys', 'share the next one'],
  ['2', 'once durable', 'send votes and acks;', 'core: persisted()'],
  ['3', 'apply, meanwhile', 'committed entries', 'durable here, one LMDB', 'txn; answer; applied()'],
  ['4', 'maybe snapshot', 'every N entries'],
];

const escapeHtml = (text) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function box(b) {
  const parts = [`<rect x="${b.x}" y="${b.y}" width="${b.w}" height="${b.h}" rx="8" fill="${b.fill}" stroke="${colors.line}" stroke-width="1.2"/>`];
  parts.push(`<text x="${b.x + 12}" y="${b.y + 22}" class="title">${escapeHtml(b.title)}</text>`);
  b.lines.forEach((line, i) => parts.push(`<text x="${b.x + 12}" y="${b.y + 42 + i * 17}" class="line">${escapeHtml(line)}</text>`));
  return parts.join('\n');
}

function arrow(a) {
  const [x1, y1] = a.from;
  const [x2, y2] = a.to;
  const start = a.both ? ' marker-start="url(#head)"' : '';
  const line = `<line x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2 - 2}" stroke="${colors.line}" stroke-width="1.5" marker-end="url(#head)"${start}/>`;
  const anchor = a.labelLeft ? `x="${x1 - 8}" text-anchor="end"` : `x="${x1 + 8}"`;
  const label = a.label ? `<text ${anchor} y="${(y1 + y2) / 2 + 4}" class="label">${escapeHtml(a.label)}</text>` : '';
  return line + label;
}

function loop() {
  const b = boxes.find((x) => x.id === 'loop');
  const parts = [];
  let y = b.y + 48;
  for (const [number, title, ...detail] of loopSteps) {
    parts.push(`<circle cx="${b.x + 22}" cy="${y - 5}" r="10" fill="${colors.server}" stroke="${colors.line}"/>`);
    parts.push(`<text x="${b.x + 22}" y="${y - 1}" class="step" text-anchor="middle">${number}</text>`);
    parts.push(`<text x="${b.x + 40}" y="${y}" class="title small">${escapeHtml(title)}</text>`);
    detail.forEach((line, i) => parts.push(`<text x="${b.x + 40}" y="${y + 16 + i * 14}" class="line small">${escapeHtml(line)}</text>`));
    y += 30 + detail.length * 14 + 6;
  }
  // The loop goes round while the core has a Ready.
  const right = b.x + b.w - 12;
  y -= 8;
  parts.push(
    `<path d="M ${b.x + 40} ${y} L ${right} ${y} L ${right} ${b.y + 43} L ${b.x + 174} ${b.y + 43}" fill="none" stroke="${colors.muted}" stroke-dasharray="4 3" marker-end="url(#head)"/>`,
  );
  parts.push(`<text x="${b.x + 40}" y="${y + 16}" class="line small">again while the core</text>`);
  parts.push(`<text x="${b.x + 40}" y="${y + 30}" class="line small">has a Ready</text>`);
  return parts.join('\n');
}

const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="title desc">
<title id="title">Keel: one node, its layers and the Ready loop</title>
<desc id="desc">Clients reach the api adapters over HTTP and gRPC; the api calls the server runtime, which drives the pure Raft core and the storage, key-value and transport layers. The Ready loop sends, hands the write to a lane that fsyncs one batch at a time and then sends acknowledgements, and meanwhile applies durable committed entries.</desc>
<defs>
  <marker id="head" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="${colors.line}"/></marker>
  <style>
    text { font-family: 'DejaVu Sans', 'Helvetica Neue', Arial, sans-serif; fill: ${colors.text}; }
    .title { font-size: 14px; font-weight: bold; }
    .line { font-size: 12px; fill: ${colors.muted}; }
    .label { font-size: 11px; fill: ${colors.muted}; font-style: italic; }
    .small { font-size: 11px; }
    .title.small { font-size: 12.5px; }
    .step { font-size: 11px; font-weight: bold; }
  </style>
</defs>
<rect width="${width}" height="${height}" fill="#ffffff"/>
${boxes.map(box).join('\n')}
${arrows.map(arrow).join('\n')}
${loop()}
<text x="20" y="${height - 24}" class="line">One node; every node runs the same code. Green: pure (also runs in the simulator and the browser). Violet: real I/O.</text>
</svg>
`;

// --check (run by npm run lint): fail when the committed SVG is not what this file draws.
const out = new URL('./architecture.svg', import.meta.url);
if (process.argv.includes('--check')) {
  const committed = existsSync(out) ? readFileSync(out, 'utf8') : '';
  if (committed !== svg) {
    console.error(`${out.pathname} is out of date: run npm run docs:diagram`);
    process.exit(1);
  }
  console.log('architecture.svg: up to date');
} else {
  writeFileSync(out, svg);
  console.log(`wrote ${out.pathname}`);
}
