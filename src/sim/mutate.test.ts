import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

// The quick subset of the mutation catalogue (docs/internals/mutation-testing.md): each
// of its planted bugs is built in a scratch copy and must be caught by `keel sim` of
// that copy within a few seeds. This keeps the catalogue applying to the code as it
// changes, and the simulator able to see the bugs it saw before.
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function quickMutations(): string[] {
  const folder = join(root, 'mutations');
  return readdirSync(folder)
    .filter((name) => name.endsWith('.mutation') && /^quick: yes$/m.test(readFileSync(join(folder, name), 'utf8')))
    .map((name) => name.replace(/\.mutation$/, ''));
}

test('npm run mutate --quick: the simulator catches every bug of the quick subset', { timeout: 180_000 }, () => {
  const names = quickMutations();
  assert.ok(names.length >= 3, `the quick subset has ${names.length} mutations`);
  const result = spawnSync(process.execPath, [join(root, 'scripts', 'mutate.mjs'), '--quick'], { cwd: root, encoding: 'utf8', timeout: 170_000 });
  const report = `${result.stdout}\n${result.stderr}`;
  assert.equal(result.status, 0, report);
  assert.match(result.stdout, /^\| \(control: no mutation\) \| clean \| clean \(0\/\d+\) \|/m, report);
  for (const name of names) {
    assert.match(result.stdout, new RegExp(`^\\| ${name} \\| caught \\| caught \\(\\d+/\\d+\\) \\| \\d+ \\|.*\\| ok \\|$`, 'm'), report);
  }
});
