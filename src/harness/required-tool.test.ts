import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requireExecutable, requireTool } from './required-tool.js';

test('requireTool: the path of a program on PATH', () => {
  assert.match(requireTool('sh', 'dash'), /^\/(usr\/)?bin\/sh$/);
});

test('requireTool: a missing program fails at once, naming the package and scripts/setup-ci.sh', () => {
  assert.throws(
    () => requireTool('keel-no-such-program', 'keel-no-such-package'),
    /keel-no-such-program \(not on PATH\) is missing: run scripts\/setup-ci\.sh as root once .*apt-get install keel-no-such-package/,
  );
});

test('requireExecutable: a missing file fails the same way; a present one is returned', () => {
  assert.throws(() => requireExecutable('/usr/bin/keel-no-such-browser', 'chromium'), /\/usr\/bin\/keel-no-such-browser is missing: run scripts\/setup-ci\.sh/);
  assert.equal(requireExecutable(process.execPath, 'nodejs'), process.execPath);
});
