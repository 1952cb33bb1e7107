import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Trace } from './trace.js';

test('the ring buffer keeps the newest lines and says how many it dropped', () => {
  const trace = new Trace(true, 3);
  for (let i = 1; i <= 5; i++) trace.event(i, 1, [i], () => `line ${i}`);
  const lines = trace.text().split('\n');
  assert.match(lines[0] ?? '', /2 earlier lines dropped/);
  assert.deepEqual(
    lines.slice(1).map((l) => l.trim()),
    ['3 line 3', '4 line 4', '5 line 5'],
  );
});

test('the fingerprint ignores whether tracing is on, and sees every event', () => {
  const on = new Trace(true, 10);
  const off = new Trace(false, 10);
  let formatted = 0;
  for (const trace of [on, off]) trace.event(1, 2, [3, 4], () => `x${++formatted}`);
  assert.equal(on.fingerprint(), off.fingerprint());
  assert.equal(formatted, 1, 'lines are built only when tracing');
  off.event(2, 2, [3, 5], () => '');
  assert.notEqual(on.fingerprint(), off.fingerprint());
  assert.equal(off.text(), '');
});
