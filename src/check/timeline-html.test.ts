import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pairOperations } from './history.js';
import { events } from './history-notation.test-support.js';
import { checkOperations } from './linearizability.js';
import { randomHistory } from './random-history.js';
import { renderTimelineHtml } from './timeline-html.js';

const history = events(`
  1 invoke write a 1
  2 invoke write <b> "<i>"
  1 ok write a 1
  2 ok write <b> "<i>"
  3 invoke write <b> 2
  3 info write <b> 2
  4 invoke write <b> 3
  4 fail write <b> 3
  1 invoke read <b> null
  1 ok read <b> 3
  5 invoke write a 9
`);

function render(): string {
  const operations = pairOperations(history);
  return renderTimelineHtml({ title: 'h.jsonl', operations, result: checkOperations(operations) });
}

test('the page stands alone: no scripts, links or addresses to fetch', () => {
  const html = render();
  assert.match(html, /^<!doctype html>/);
  assert.doesNotMatch(html, /https?:|<script|<link|<img|@import|url\(/i);
});

test('draws a section per key, the violating one first, with the operation marked', () => {
  const html = render();
  const sections = [...html.matchAll(/<h2>key (.*?) </g)].map((match) => match[1]);
  assert.deepEqual(sections, ['&quot;&lt;b&gt;&quot;', '&quot;a&quot;']);
  assert.match(html, /Not linearizable/);
  assert.match(html, /<g class="op ok violation" id="violation">/);
  assert.match(html, /✗ read\(\) → 3/);
  assert.equal(html.match(/id="violation"/g)?.length, 1);
});

test('escapes values, and draws unknown outcomes with a tail and failures apart', () => {
  const html = render();
  assert.match(html, /write\(&quot;&lt;i&gt;&quot;\)/);
  assert.doesNotMatch(html, /<i>/);
  assert.equal(html.match(/<g class="op unknown">/g)?.length, 2);
  assert.equal(html.match(/<line /g)?.length, 2, 'both unknown writes may still take effect');
  assert.match(html, /<g class="op fail">/);
  assert.match(html, /never completed/);
});

test('a key with many operations shows a window of them', () => {
  const operations = pairOperations(randomHistory({ seed: 1, operations: 1000, processes: 4, keys: ['x'], kind: 'register' }));
  const html = renderTimelineHtml({ title: 'long', operations, result: checkOperations(operations) });
  assert.match(html, /Linearizable/);
  assert.match(html, /1000 operations; showing 300 of them/);
});
