/**
 * Draws a checked history as a self-contained HTML page (inline CSS and SVG, nothing
 * fetched): one timeline per key, a row per process, a bar per operation from its
 * invoke to its completion. Operations with an unknown outcome are dashed and pale,
 * with a thin tail running to the right edge (they may take effect at any later point);
 * failed ones are grey; the operation that cannot be placed is outlined in red.
 *
 * Horizontal positions follow the order of events, not their exact times: each bar is
 * made wide enough for its label, so crowded moments stretch and idle ones shrink.
 */
import type { Operation, OperationName } from './history.js';
import type { CheckResult } from './linearizability.js';
import { describeOperation } from './operation-text.js';

export interface Timeline {
  readonly title: string;
  /** Every operation of the history, failed ones included. */
  readonly operations: readonly Operation[];
  readonly result: CheckResult;
  /** The line of each event in the history file, for tooltips; event positions otherwise. */
  readonly lineNumbers?: readonly number[];
}

/** Keys with more operations than this show a window of them: around the violation
 * on the key that has one, the first ones elsewhere. */
const operationsPerKeyMax = 300;
/** Of a window around a violation, how many operations invoked after it to show. */
const operationsAfterViolationMax = 12;
const labelCharactersMax = 28;
const characterWidthPx = 6.6;
const barPaddingPx = 10;
const eventGapPx = 6;
const rowHeightPx = 30;
const barHeightPx = 20;
const unknownTailPx = 90;
/** Timelines wider than this, on the violating key, open scrolled to their end, where
 * the violation is (CSS only: a right-to-left scroll box starts at its right). */
const scrolledToEndWidthPx = 1200;

const kindColours: Record<OperationName, string> = {
  read: '#4e79a7',
  get: '#4e79a7',
  write: '#59a14f',
  put: '#59a14f',
  cas: '#e8871e',
  delete: '#9c6ba3',
};

type Violation = Extract<CheckResult, { status: 'not linearizable' }>;

export function renderTimelineHtml(timeline: Timeline): string {
  const violation = timeline.result.status === 'not linearizable' ? timeline.result : undefined;
  const lineOf = (eventIndex: number): number => timeline.lineNumbers?.[eventIndex] ?? eventIndex + 1;
  const sections = keysInDrawingOrder(timeline.operations, violation).map(([key, operations]) =>
    keySection({ key, operations, violation: violation?.key === key ? violation : undefined, lineOf }),
  );
  return page(timeline.title, summary(timeline.result, lineOf), sections.join('\n'));
}

/** The key with the violation first, then the others in order of first appearance. */
function keysInDrawingOrder(operations: readonly Operation[], violation: Violation | undefined): [string, Operation[]][] {
  const byKey = new Map<string, Operation[]>();
  if (violation) byKey.set(violation.key, []);
  for (const operation of operations) {
    if (!byKey.has(operation.key)) byKey.set(operation.key, []);
    byKey.get(operation.key)?.push(operation);
  }
  return [...byKey];
}

function summary(result: CheckResult, lineOf: (eventIndex: number) => number): string {
  const size = `${result.operations} operations on ${result.keys} keys`;
  if (result.status === 'linearizable') return `<p class="verdict ok">Linearizable <span>(${size})</span></p>`;
  if (result.status === 'unknown') return `<p class="verdict unknown">Unknown: ${escapeHtml(result.reason)} <span>(${size})</span></p>`;
  const operation = result.operation;
  return `<p class="verdict bad">Not linearizable <span>(${size})</span></p>
<p>On key <b>${escapeHtml(JSON.stringify(result.key))}</b>, <a href="#violation">process ${operation.process}: <code>${escapeHtml(describeOperation(operation))}</code></a>
(line ${lineOf(operation.invokeEvent)}) cannot be placed. The longest linearizable prefix found places ${result.longestPrefix.length}
operations and leaves the key holding <code>${escapeHtml(JSON.stringify(result.valueAfterPrefix))}</code>; their order is in each bar's tooltip.</p>`;
}

interface KeyDrawing {
  readonly key: string;
  readonly operations: readonly Operation[];
  readonly violation: Violation | undefined;
  readonly lineOf: (eventIndex: number) => number;
}

function keySection(drawing: KeyDrawing): string {
  const shown = windowOf(drawing.operations, drawing.violation?.operation);
  const processes = [...new Set(shown.map((operation) => operation.process))].sort((a, b) => a - b);
  const violatingEvent = drawing.violation?.operation.invokeEvent;
  const labelOf = (operation: Operation): string => label(operation, operation.invokeEvent === violatingEvent);
  const geometry = layout(shown, labelOf);
  const prefixOrder = new Map(drawing.violation?.longestPrefix.map((operation, index) => [operation.invokeEvent, index + 1]));
  const bars = shown.map((operation) => bar(operation, processes.indexOf(operation.process), geometry, { ...drawing, prefixOrder, labelOf }));
  const height = processes.length * rowHeightPx + 10;
  const rows = processes.map((process, row) => `<div class="process" style="top:${row * rowHeightPx + 5}px">process ${process}</div>`);
  const lanes = processes.map((_, row) => `<rect class="lane" x="0" y="${row * rowHeightPx + 5}" width="${geometry.width}" height="${rowHeightPx}"/>`);
  const windowNote =
    shown.length < drawing.operations.length ? `; showing ${shown.length} of them${drawing.violation ? ', up to shortly after the violation' : ''}` : '';
  const scrollClass = drawing.violation && geometry.width > scrolledToEndWidthPx ? 'scroll from-end' : 'scroll';
  return `<section${drawing.violation ? ' class="violating"' : ''}>
<h2>key ${escapeHtml(JSON.stringify(drawing.key))} <span class="note">${drawing.operations.length} operations${drawing.violation ? ', not linearizable' : ''}${windowNote}</span></h2>
<div class="timeline"><div class="processes" style="height:${height}px">${rows.join('')}</div>
<div class="${scrollClass}"><svg width="${geometry.width}" height="${height}">
${lanes.join('\n')}
${bars.join('\n')}
</svg></div></div>
</section>`;
}

/** All of a key's operations when they are few; else a window around the violation
 * (ending a little after it), or the first ones. */
function windowOf(operations: readonly Operation[], violating: Operation | undefined): readonly Operation[] {
  if (operations.length <= operationsPerKeyMax) return operations;
  const at = violating ? operations.findIndex((operation) => operation.invokeEvent === violating.invokeEvent) : -1;
  if (at < 0) return operations.slice(0, operationsPerKeyMax);
  const end = Math.min(operations.length, at + 1 + operationsAfterViolationMax);
  return operations.slice(Math.max(0, end - operationsPerKeyMax), end);
}

interface Geometry {
  /** Horizontal position of each operation's invoke and completion, by invokeEvent. */
  readonly start: Map<number, number>;
  readonly end: Map<number, number>;
  readonly width: number;
}

/**
 * Places events left to right in time order, a small gap apart, pushing each
 * completion far enough right that its bar fits its label. Bars end at the completion
 * event, "info" included; operations never completed end past the last event.
 */
function layout(operations: readonly Operation[], labelOf: (operation: Operation) => string): Geometry {
  const labelWidth = (operation: Operation): number => Math.ceil(labelOf(operation).length * characterWidthPx) + barPaddingPx;
  const events = operations.flatMap((operation) => [
    { operation, time: operation.invokeTime, isInvoke: true },
    { operation, time: operation.completionTime ?? Number.POSITIVE_INFINITY, isInvoke: false },
  ]);
  events.sort((a, b) => a.time - b.time || Number(b.isInvoke) - Number(a.isInvoke));
  const start = new Map<number, number>();
  const end = new Map<number, number>();
  let x = 0;
  let previousTime = Number.NEGATIVE_INFINITY;
  for (const { operation, time, isInvoke } of events) {
    if (time === Number.POSITIVE_INFINITY) break;
    if (time !== previousTime) x += eventGapPx;
    previousTime = time;
    if (isInvoke) start.set(operation.invokeEvent, x);
    else end.set(operation.invokeEvent, (x = Math.max(x, (start.get(operation.invokeEvent) ?? x) + labelWidth(operation))));
  }
  const lastEnd = x + unknownTailPx;
  let width = lastEnd;
  for (const operation of operations) {
    if (end.has(operation.invokeEvent)) continue;
    end.set(operation.invokeEvent, Math.max(lastEnd, (start.get(operation.invokeEvent) ?? 0) + labelWidth(operation)));
    width = Math.max(width, end.get(operation.invokeEvent) ?? 0);
  }
  return { start, end, width: width + eventGapPx };
}

/** The operation in short, marked when it is the one that cannot be placed. */
function label(operation: Operation, isViolation: boolean): string {
  const text = describeOperation(operation);
  const short = text.length <= labelCharactersMax ? text : `${text.slice(0, labelCharactersMax - 1)}…`;
  return isViolation ? `✗ ${short}` : short;
}

interface BarContext extends KeyDrawing {
  readonly prefixOrder: Map<number, number>;
  readonly labelOf: (operation: Operation) => string;
}

function bar(operation: Operation, row: number, geometry: Geometry, context: BarContext): string {
  const x = geometry.start.get(operation.invokeEvent) ?? 0;
  const width = (geometry.end.get(operation.invokeEvent) ?? x) - x;
  const y = row * rowHeightPx + 5 + (rowHeightPx - barHeightPx) / 2;
  const isViolation = context.violation?.operation.invokeEvent === operation.invokeEvent;
  const classes = ['op', operation.outcome, isViolation ? 'violation' : ''].filter((name) => name !== '').join(' ');
  const fill = operation.outcome === 'fail' ? '#d9d9d9' : kindColours[operation.f];
  const tail = mayTakeEffectLater(operation)
    ? `\n<line x1="${x + width}" x2="${geometry.width}" y1="${y + barHeightPx + 2}" y2="${y + barHeightPx + 2}" stroke="${fill}"/>`
    : '';
  return `<g class="${classes}"${isViolation ? ' id="violation"' : ''}><title>${escapeHtml(tooltip(operation, context))}</title>${tail}
<rect x="${x}" y="${y}" width="${width}" height="${barHeightPx}" rx="3" fill="${fill}"/>
<text x="${x + barPaddingPx / 2}" y="${y + barHeightPx / 2 + 4}">${escapeHtml(context.labelOf(operation))}</text></g>`;
}

/** A write-like operation with an unknown outcome; a read's outcome changes nothing. */
function mayTakeEffectLater(operation: Operation): boolean {
  return operation.outcome === 'unknown' && operation.f !== 'read' && operation.f !== 'get';
}

function tooltip(operation: Operation, context: BarContext): string {
  const lines = [`process ${operation.process}: ${describeOperation(operation)}`];
  const completion = operation.completionEvent === undefined ? 'never completed' : `completed at line ${context.lineOf(operation.completionEvent)}`;
  lines.push(`invoked at line ${context.lineOf(operation.invokeEvent)}, ${completion}`);
  if (mayTakeEffectLater(operation)) lines.push('outcome unknown: may have taken effect at any point after its invoke, or never');
  else if (operation.outcome === 'unknown') lines.push('outcome unknown: a read that returned nothing tells nothing, so it is left out of the check');
  if (operation.outcome === 'fail') lines.push('failed: did not take effect, so it is left out of the check');
  const order = context.prefixOrder.get(operation.invokeEvent);
  if (order !== undefined) lines.push(`#${order} in the longest linearizable prefix found`);
  if (context.violation?.operation.invokeEvent === operation.invokeEvent) lines.push('cannot be placed after the longest linearizable prefix');
  return lines.join('\n');
}

function legend(): string {
  const swatch = (fill: string, text: string, extra = ''): string =>
    `<span class="key"><svg width="34" height="14"><rect x="1" y="1" width="32" height="12" rx="3" fill="${fill}" ${extra}/></svg>${text}</span>`;
  return `<p class="legend">${swatch(kindColours.read, 'read / get')}${swatch(kindColours.write, 'write / put')}${swatch(kindColours.cas, 'cas')}${swatch(kindColours.delete, 'delete')}${swatch(kindColours.write, 'unknown outcome (→ ?)', 'fill-opacity="0.4" stroke="#555" stroke-dasharray="3 2"')}${swatch('#d9d9d9', 'failed (left out)', 'stroke="#888" stroke-dasharray="3 2"')}${swatch('#fff', 'cannot be placed', 'stroke="#d62728" stroke-width="2.5"')}</p>
<p class="note">Bars run from invoke to completion; a dashed tail marks an operation that may still take effect later. Horizontal position follows the order of events, not their exact times. Hover a bar for details.</p>`;
}

function page(title: string, summaryHtml: string, sectionsHtml: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}: linearizability</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 20px; margin: 0 0 8px; } h2 { font-size: 16px; margin: 22px 0 6px; }
code, .op text, .process { font-family: ui-monospace, Menlo, Consolas, monospace; }
.verdict { font-size: 18px; font-weight: 600; margin: 4px 0; } .verdict span, .note { font-weight: normal; color: #666; font-size: 13px; }
.ok { color: #2e7d32; } .bad { color: #c62828; } .unknown { color: #a66a00; }
.legend .key { display: inline-flex; align-items: center; gap: 4px; margin-right: 16px; font-size: 13px; }
.timeline { display: flex; border: 1px solid #ddd; border-radius: 4px; }
section.violating .timeline { border-color: #d62728; }
.processes { position: relative; flex: 0 0 92px; border-right: 1px solid #ddd; background: #fafafa; }
.process { position: absolute; left: 8px; height: ${rowHeightPx}px; line-height: ${rowHeightPx}px; font-size: 12px; color: #444; }
.scroll { overflow-x: auto; flex: 1; } .scroll.from-end { direction: rtl; } .scroll.from-end svg { direction: ltr; }
.lane:nth-of-type(odd) { fill: #f6f8fa; } .lane:nth-of-type(even) { fill: #fff; }
.op text { font-size: 11px; fill: #fff; pointer-events: none; }
.op.unknown rect { fill-opacity: 0.4; stroke: #555; stroke-dasharray: 3 2; } .op.unknown text { fill: #222; }
.op.unknown line { stroke-width: 2; stroke-dasharray: 6 4; stroke-opacity: 0.8; }
.op.fail rect { stroke: #888; stroke-dasharray: 3 2; } .op.fail text { fill: #555; }
.op.violation rect { stroke: #d62728; stroke-width: 3; } .op.violation text { font-weight: 700; }
.op:hover rect { filter: brightness(1.1); stroke: #000; }
</style></head>
<body>
<h1>${escapeHtml(title)}</h1>
${summaryHtml}
${legend()}
${sectionsHtml}
</body></html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
