import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('./main.js', import.meta.url));
const directory = mkdtempSync(join(tmpdir(), 'keel-check-history-'));
after(() => rmSync(directory, { recursive: true, force: true }));

function historyFile(name: string, lines: readonly object[]): string {
  const path = join(directory, name);
  writeFileSync(path, `${lines.map((line) => JSON.stringify(line)).join('\n')}\n`);
  return path;
}

function keel(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8' });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

const writeThenRead = (seen: unknown): object[] => [
  { process: 1, type: 'invoke', f: 'write', key: 'x', value: 1 },
  { process: 1, type: 'ok', f: 'write', key: 'x', value: 1 },
  { process: 2, type: 'invoke', f: 'read', key: 'x', value: null },
  { process: 2, type: 'ok', f: 'read', key: 'x', value: seen },
];

test('a linearizable history exits 0', () => {
  const run = keel('check-history', historyFile('good.jsonl', writeThenRead(1)));
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^linearizable\n {2}checked 2 operations on 1 keys\n$/);
});

test('a violation exits 1 and names the key, process, operation and lines', () => {
  const run = keel('check-history', historyFile('bad.jsonl', writeThenRead(null)));
  assert.equal(run.code, 1, run.stderr);
  assert.equal(
    run.stdout,
    [
      'not linearizable',
      '  key:       "x"',
      '  process:   2',
      '  operation: read() → null',
      '  line:      3 (invoke), 4 (completion)',
      '  cannot be placed after the longest linearizable prefix found: 1 operations, leaving "x" = 1',
      '',
    ].join('\n'),
  );
});

test('running out of time exits 2 with unknown', () => {
  const run = keel('check-history', historyFile('slow.jsonl', writeThenRead(1)), '--timeout', '0.000001');
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stdout, /^unknown \(timed out while checking key "x"; 0 of 1 keys checked\)\n/);
});

test('unusable input exits 2 with a clear message', () => {
  const missing = keel('check-history', join(directory, 'missing.jsonl'));
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /missing\.jsonl: cannot read it: ENOENT/);
  const broken = join(directory, 'broken.jsonl');
  writeFileSync(broken, '{"process":1,"type":"invoke","f":"read","key":"x","value":null}\n{"process":1,\n');
  const parse = keel('check-history', broken);
  assert.equal(parse.code, 2);
  assert.match(parse.stderr, /broken\.jsonl: line 2: bad JSON/);
  assert.equal(parse.stdout, '');
});

test('usage mistakes exit 2, help exits 0', () => {
  assert.equal(keel('check-history').code, 2);
  const badTimeout = keel('check-history', historyFile('t.jsonl', writeThenRead(1)), '--timeout', 'soon');
  assert.equal(badTimeout.code, 2);
  assert.match(badTimeout.stderr, /positive number of seconds/);
  const help = keel('check-history', '--help');
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Exit codes: 0 linearizable, 1 not linearizable, 2 unknown/);
});

test('--html writes the timeline next to the verdict', () => {
  const page = join(directory, 'timeline.html');
  const run = keel('check-history', historyFile('drawn.jsonl', writeThenRead(null)), '--html', page);
  assert.equal(run.code, 1, run.stderr);
  const html = readFileSync(page, 'utf8');
  assert.match(html, /<svg /);
  assert.match(html, /id="violation"/);
  const unwritable = keel('check-history', historyFile('drawn2.jsonl', writeThenRead(1)), '--html', join(directory, 'no', 'such', 'dir.html'));
  assert.equal(unwritable.code, 2);
  assert.match(unwritable.stderr, /cannot write .*dir\.html/);
});
