import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

test("the package exports its client: import { KeelClient } from 'keel/client' works, with type declarations", async () => {
  // Through the package's own name (Node resolves a package's self-reference through
  // its "exports"), as an application that depends on keel would import it.
  const specifier = 'keel/client';
  const client = (await import(specifier)) as Record<string, unknown>;
  assert.equal(typeof client['KeelClient'], 'function');
  assert.equal(typeof client['KeelClientError'], 'function');
  assert.ok(existsSync(fileURLToPath(new URL('./index.d.ts', import.meta.url))), 'dist/client/index.d.ts is built for TypeScript users');
  await assert.rejects(import('keel/server/keel-node' as string), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' }, 'internals are not part of the package surface');
});
