/**
 * deploy/keel.service, the systemd unit docs/operating/deployment.md installs, is a
 * unit systemd accepts as it is: `systemd-analyze verify` finds no problem and prints
 * nothing (an unknown or misspelt directive is only a warning, so its output counts),
 * and it starts the command this build ships.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { requireTool } from '../harness/required-tool.js';
import { NODE_RUNTIME_FLAGS } from '../server/index.js';

const unit = fileURLToPath(new URL('../../deploy/keel.service', import.meta.url));

test('deploy/keel.service passes systemd-analyze verify without a word, and runs keel start', async () => {
  const analyze = requireTool('systemd-analyze', 'systemd');
  const { stdout, stderr } = await promisify(execFile)(analyze, ['verify', unit], { timeout: 30_000 });
  assert.equal(`${stdout}${stderr}`.trim(), '', 'systemd-analyze verify had something to say');
  const execStart = `ExecStart=/usr/bin/node ${NODE_RUNTIME_FLAGS.join(' ')} /opt/keel/dist/cli/main.js start`;
  assert.ok((await readFile(unit, 'utf8')).split('\n').includes(execStart), `the unit runs ${execStart}`);
});
