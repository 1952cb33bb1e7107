/**
 * The HTML report of a chaos run: a self-contained page (inline CSS and SVG) with
 * the verdict, the operation counts, availability per second with the nemesis
 * intervals shaded, every register key's operations on the same time axis (so a
 * violation can be seen against the fault that caused it), recovery times, and links
 * to the artifacts. The checker's own, more detailed timeline is in timeline.html.
 */
import { pairOperations, type Operation } from '../check/index.js';
import type { ChaosOutcome } from './chaos-run.js';
import type { FaultInterval } from './metrics.js';

const chartWidthPx = 1000;
const chartHeightPx = 140;
const laneHeightPx = 16;
const keysDrawnMax = 60;

export function renderChaosReport(outcome: ChaosOutcome, artifacts: readonly string[]): string {
  const totalMs = Math.max(outcome.durationMs, 1);
  const x = (ms: number): number => Math.round((Math.min(ms, totalMs) / totalMs) * chartWidthPx);
  const verdict =
    outcome.failures.length === 0
      ? '<p class="verdict ok">No violations, no lost acknowledged writes</p>'
      : `<p class="verdict bad">${outcome.failures.length} problem(s)</p><ul>${outcome.failures.map((f) => `<li>${escapeHtml(f)}</li>`).join('')}</ul>`;
  const o = outcome.options;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Keel chaos run, seed ${o.seed}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px; color: #222; max-width: 1100px; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 24px; }
table { border-collapse: collapse; } td, th { border: 1px solid #ddd; padding: 3px 8px; text-align: left; }
.verdict { font-size: 18px; font-weight: 600; } .ok { color: #2e7d32; } .bad { color: #c62828; }
.band { fill: #f4b400; fill-opacity: 0.18; } .band-label { font-size: 10px; fill: #8a6500; }
code { font-family: ui-monospace, Menlo, Consolas, monospace; }
</style></head><body>
<h1>Keel chaos run — seed ${o.seed}</h1>
${verdict}
<p>${o.nodes} nodes, ${o.client === 'grpc' ? 'etcd v3 gRPC' : 'REST'} clients, ${(outcome.durationMs / 1000).toFixed(1)} s of load, nemeses ${escapeHtml(o.nemeses.join(', '))}${o.mixed ? ' (mixed)' : ''}, workloads ${escapeHtml(o.workloads.join(', '))}.<br>
Network: ${escapeHtml(outcome.networkDescription)}.${outcome.skippedNemeses.length > 0 ? `<br>Skipped: ${escapeHtml(outcome.skippedNemeses.join('; '))}.` : ''}<br>
Replay the same schedule: <code>keel chaos --nodes ${o.nodes} --time ${o.timeSeconds} --nemesis ${escapeHtml(o.mixed ? `mixed:${o.nemeses.join(',')}` : o.nemeses.join(','))} --workload ${escapeHtml(o.workloads.join(','))} --client ${o.client} --fault-seconds ${o.faultSeconds} --quiet-seconds ${o.quietSeconds}${o.ports ? ` --base-port ${o.ports.low} --port-count ${o.ports.high - o.ports.low}` : ''} --seed ${o.seed}</code> (faults and choices follow the seed; timing does not).</p>
<h2>Workloads</h2>
${workloadTable(outcome)}
<h2>Availability (share of operations that succeeded, per second)</h2>
<p>Before faults: ${percent(outcome.availability.before)} · during: ${percent(outcome.availability.during)} · after: ${percent(outcome.availability.after)}</p>
${availabilityChart(outcome, x)}
<h2>Faults and recovery</h2>
${faultTable(outcome)}
<p>Longest time without an acknowledged write, from a fault's start to the next fault, worst per kind: ${outcome.writeGaps.length > 0 ? escapeHtml(outcome.writeGaps.map((g) => `${g.nemesis} ${g.longestMs} ms`).join(' · ')) : 'n/a'}</p>
<h2>Register operations over time</h2>
<p>One lane per key; green ok, grey failed, orange unknown outcome (drawn to the end of the run); shaded: nemesis intervals.</p>
${registerLanes(outcome, x)}
<h2>Artifacts</h2>
<ul>${artifacts.map((a) => `<li><a href="${escapeHtml(a)}">${escapeHtml(a)}</a></li>`).join('')}</ul>
</body></html>
`;
}

function workloadTable(outcome: ChaosOutcome): string {
  const rows = outcome.workloads.map(
    (w) =>
      `<tr><td>${w.name}</td><td>${w.operations.ok}</td><td>${w.operations.fail}</td><td>${w.operations.info}</td><td>${w.violations.length}</td><td>${w.lostWrites.length}</td><td>${w.unexpected.length}</td><td>${w.details.map(escape).join('<br>')}${w.unchecked.length > 0 ? `<br>unchecked: ${w.unchecked.map(escape).join('<br>')}` : ''}</td></tr>`,
  );
  return `<table><tr><th>workload</th><th>ok</th><th>fail</th><th>unknown</th><th>violations</th><th>lost writes</th><th>unexpected</th><th>details</th></tr>${rows.join('')}</table>`;
}

function faultTable(outcome: ChaosOutcome): string {
  const rows = outcome.intervals.map((interval, i) => {
    const recovery = outcome.recoveries[i]?.ms;
    return `<tr><td>${(interval.startMs / 1000).toFixed(1)}–${(interval.endMs / 1000).toFixed(1)} s</td><td>${interval.nemesis}</td><td>${escapeHtml(interval.what)}</td><td>${recovery === null || recovery === undefined ? 'no write acknowledged before the next fault' : `${recovery} ms`}</td></tr>`;
  });
  return `<table><tr><th>when</th><th>nemesis</th><th>what</th><th>first acknowledged write after the heal</th></tr>${rows.join('')}</table>`;
}

function bands(intervals: readonly FaultInterval[], x: (ms: number) => number, height: number): string {
  return intervals
    .map(
      (i) =>
        `<rect class="band" x="${x(i.startMs)}" y="0" width="${Math.max(1, x(i.endMs) - x(i.startMs))}" height="${height}"><title>${escapeHtml(`${i.nemesis}: ${i.what}`)}</title></rect><text class="band-label" x="${x(i.startMs) + 2}" y="10">${escapeHtml(i.nemesis)}</text>`,
    )
    .join('');
}

function availabilityChart(outcome: ChaosOutcome, x: (ms: number) => number): string {
  const bars = outcome.availability.perSecond.map((c, second) => {
    const all = c.ok + c.fail + c.info;
    const share = all === 0 ? 0 : c.ok / all;
    const h = Math.round(share * (chartHeightPx - 14));
    const w = Math.max(1, x((second + 1) * 1000) - x(second * 1000) - 1);
    return `<rect x="${x(second * 1000)}" y="${chartHeightPx - h}" width="${w}" height="${h}" fill="${share > 0.9 ? '#59a14f' : share > 0.5 ? '#f28e2b' : '#e15759'}"><title>${second} s: ${c.ok} ok, ${c.fail} failed, ${c.info} unknown</title></rect>`;
  });
  return `<svg width="${chartWidthPx}" height="${chartHeightPx}" style="border:1px solid #ddd">${bands(outcome.intervals, x, chartHeightPx)}${bars.join('')}</svg>`;
}

function registerLanes(outcome: ChaosOutcome, x: (ms: number) => number): string {
  const history = outcome.workloads.find((w) => w.name === 'register')?.history ?? [];
  const byKey = new Map<string, Operation[]>();
  for (const op of pairOperations(history)) byKey.set(op.key, [...(byKey.get(op.key) ?? []), op]);
  const keys = [...byKey.keys()].slice(0, keysDrawnMax);
  if (keys.length === 0) return '<p>(no register workload in this run)</p>';
  const height = keys.length * laneHeightPx + 12;
  const lanes = keys.map((key, lane) => {
    const y = 12 + lane * laneHeightPx;
    const ops = (byKey.get(key) as Operation[]).map((op) => {
      const end = op.outcome === 'unknown' ? outcome.durationMs : op.responseTime;
      const colour = op.outcome === 'ok' ? '#59a14f' : op.outcome === 'fail' ? '#999' : '#f28e2b';
      return `<rect x="${x(op.invokeTime)}" y="${y + 2}" width="${Math.max(1, x(end) - x(op.invokeTime))}" height="${laneHeightPx - 5}" fill="${colour}" fill-opacity="${op.outcome === 'unknown' ? 0.35 : 0.8}"><title>${escapeHtml(`${key} p${op.process} ${op.f} ${JSON.stringify(op.input)} → ${op.outcome}${op.outcome === 'ok' && op.f === 'read' ? ` ${JSON.stringify(op.output)}` : ''}`)}</title></rect>`;
    });
    return `<text x="2" y="${y + 11}" font-size="10" fill="#444">${escapeHtml(key.slice(-6))}</text>${ops.join('')}`;
  });
  const more = byKey.size > keysDrawnMax ? `<p>(first ${keysDrawnMax} of ${byKey.size} keys)</p>` : '';
  return `<svg width="${chartWidthPx}" height="${height}" style="border:1px solid #ddd">${bands(outcome.intervals, x, height)}${lanes.join('')}</svg>${more}`;
}

function percent(share: number | null): string {
  return share === null ? 'n/a' : `${(share * 100).toFixed(1)}%`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}
