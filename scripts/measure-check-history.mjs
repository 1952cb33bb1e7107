#!/usr/bin/env node
// How long `keel check-history` takes on big generated register histories (a benchmark,
// not a test). Run after `npm run build`:
//   node scripts/measure-check-history.mjs [operations] [runs]
// Each history is written to a temporary file and checked by the CLI in a fresh process,
// so the times include starting node and parsing the file.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { randomHistory } from '../dist/check/random-history.js';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const operations = Number(process.argv[2] ?? 10_000);
const runs = Number(process.argv[3] ?? 3);
const keys = (count) => Array.from({ length: count }, (_, index) => `k${index}`);
const base = { seed: 1, operations, processes: 10, kind: 'register' };

const cases = [
  { name: '10 keys, fresh values', options: { ...base, keys: keys(10) } },
  { name: '1 key, fresh values', options: { ...base, keys: keys(1) } },
  { name: '1 key, 5 values', options: { ...base, keys: keys(1), valueRange: 5 } },
  { name: '10 keys, 5 values, 2% fail, 2% unknown', options: { ...base, keys: keys(10), valueRange: 5, failChance: 0.02, unknownChance: 0.02 } },
  { name: '1 key, fresh values, 2% fail, 2% unknown', options: { ...base, keys: keys(1), failChance: 0.02, unknownChance: 0.02 } },
  { name: '1 key, 5 values, 2% fail, 2% unknown', options: { ...base, keys: keys(1), valueRange: 5, failChance: 0.02, unknownChance: 0.02 } },
  { name: '1 key, fresh values, 2% unknown, stale read at 90%', options: { ...base, keys: keys(1), unknownChance: 0.02 }, staleReadAt: 0.9 },
];

/** Makes the read completing at `fraction` of the history return a value never written. */
function withStaleRead(events, fraction) {
  const from = Math.floor(events.length * fraction);
  const at = events.findIndex((event, index) => index >= from && event.type === 'ok' && event.f === 'read');
  return events.map((event, index) => (index === at ? { ...event, value: 'never written' } : event));
}

const directory = mkdtempSync(join(tmpdir(), 'keel-measure-'));
try {
  console.log(`keel check-history, ${operations} operations, 10 processes, fastest of ${runs} runs`);
  for (const { name, options, staleReadAt } of cases) {
    const generated = randomHistory(options);
    const events = staleReadAt === undefined ? generated : withStaleRead(generated, staleReadAt);
    const file = join(directory, 'history.jsonl');
    writeFileSync(file, `${events.map((event) => JSON.stringify(event)).join('\n')}\n`);
    const times = [];
    let verdict = '';
    for (let run = 0; run < runs; run += 1) {
      const start = performance.now();
      const result = spawnSync(process.execPath, [join(root, 'dist/cli/main.js'), 'check-history', file, '--timeout', '120'], { encoding: 'utf8' });
      times.push(performance.now() - start);
      verdict = result.stdout.split('\n')[0] ?? result.stderr;
    }
    // The fastest run is the one least disturbed by whatever else the machine was doing.
    console.log(`  ${name.padEnd(52)} ${String(Math.round(Math.min(...times))).padStart(6)} ms  ${verdict}`);
  }
} finally {
  rmSync(directory, { recursive: true, force: true });
}
