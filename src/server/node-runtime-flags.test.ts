import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { NODE_RUNTIME_FLAGS } from './node-runtime-flags.js';

/** A file of the repository, from dist/server where this test runs. */
function repositoryFile(path: string): string {
  return readFileSync(fileURLToPath(new URL(`../../${path}`, import.meta.url)), 'utf8');
}

// deploy/keel.service is checked with systemd's own verifier in cli/systemd-unit.test.ts.
test('every way of starting a node passes the same Node.js flags', () => {
  const flags = NODE_RUNTIME_FLAGS.join(' ');
  assert.equal(repositoryFile('bin/keel.js').split('\n')[0], `#!/usr/bin/env -S node ${flags}`);
  const entrypoint = `ENTRYPOINT ${JSON.stringify(['node', ...NODE_RUNTIME_FLAGS, '/opt/keel/dist/cli/main.js']).replaceAll('","', '", "')}`;
  assert.ok(repositoryFile('Containerfile').split('\n').includes(entrypoint), `the image runs ${entrypoint}`);
  assert.ok(repositoryFile('docs/operating/deployment.md').includes(`\`node ${flags} /opt/keel/dist/cli/main.js\``), 'the deployment guide names the flags');
});
