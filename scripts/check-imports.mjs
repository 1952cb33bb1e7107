#!/usr/bin/env node
// Keeps the layering of docs/internals/design.md true: each folder under src/ may import only the
// folders listed for it. Test files (*.test.ts) may import anything. The consensus
// core must also stay pure: no node: modules, clocks, timers or Math.random, so it is
// deterministic and bundles for the browser.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, dirname, resolve, sep } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const src = join(root, 'src');

/** folder -> folders it may import (besides itself). `node` = node:* builtins. */
const allowed = {
  lib: [],
  // The JSON of the REST API and the dashboard feed, declared once for the node, its
  // clients and the dashboard: types only, pure.
  wire: [],
  raft: ['lib'],
  check: ['lib'],
  // pkg: the processor's CRC-32C through a native module (storage/crc32c.ts).
  storage: ['lib', 'raft', 'node', 'pkg'],
  kv: ['lib', 'raft', 'node', 'pkg'],
  transport: ['lib', 'raft', 'node'],
  // etcd's v3 API descriptions (proto/), shared by the gRPC server and gRPC clients.
  proto: ['node', 'pkg'],
  // Certificates and TLS contexts, shared by the node, the CLI, the client and the tests.
  tls: ['lib', 'node', 'pkg'],
  server: ['tls', 'lib', 'raft', 'storage', 'kv', 'transport', 'replica', 'node', 'pkg'],
  // storage: only the disk fault hooks' limits, for /admin/faults/disk.
  api: ['tls', 'lib', 'wire', 'server', 'replica', 'kv', 'raft', 'transport', 'storage', 'proto', 'node', 'pkg'],
  client: ['tls', 'lib', 'wire', 'proto', 'node', 'pkg'],
  // One replica: the core, its storage and state machine, pending requests, sessions,
  // leases, member metadata and the Ready loop; all I/O comes through injected ports
  // (replica/ports.ts), so it runs unchanged under the simulator.
  replica: ['lib', 'raft', 'storage', 'kv'],
  // The simulator drives the production replica (sim/replica-host.ts) on simulated ports.
  sim: ['lib', 'raft', 'check', 'replica', 'storage', 'kv'],
  cli: ['tls', 'lib', 'raft', 'check', 'sim', 'storage', 'kv', 'transport', 'proto', 'server', 'replica', 'api', 'client', 'chaos', 'node', 'pkg'],
  // Real processes for tests, benchmarks and `keel chaos`: the process-cluster harness,
  // free ports, waiting with a deadline, a workload over HTTP.
  harness: ['tls', 'lib', 'wire', 'server', 'client', 'node', 'pkg'],
  // Real-process tests of a cluster: they drive `keel` as a user would, over HTTP.
  e2e: ['tls', 'lib', 'raft', 'check', 'sim', 'storage', 'kv', 'transport', 'proto', 'server', 'replica', 'api', 'client', 'cli', 'harness', 'node', 'pkg'],
  // Tests of the container image and compose cluster, through podman (npm run test:containers).
  containers: ['lib', 'harness', 'cli', 'node', 'pkg'],
  // The chaos harness: real clusters (through the e2e harness), real faults, checked histories.
  chaos: ['tls', 'lib', 'check', 'harness', 'transport', 'storage', 'kv', 'client', 'node', 'pkg'],
};
/** Folders that must stay deterministic and free of the process: see the check below. */
const pureFolders = ['raft', 'lib', 'wire', 'check', 'sim', 'replica'];
const impurePattern = /\bDate\.now\b|\bnew Date\(|\bMath\.random\b|\bsetTimeout\b|\bsetInterval\b|\bsetImmediate\b|\bprocess\./;

/** Whether a path (relative to src/) lies in a testing/ folder: fixtures, models and benchmarks. */
const inTesting = (path) => path.split(sep).includes('testing');

function* walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* walk(path);
    else if (name.endsWith('.ts') || name.endsWith('.tsx')) yield path;
  }
}

const problems = [];
for (const file of walk(src)) {
  const rel = relative(src, file);
  const folder = rel.split(sep)[0];
  const isTest = file.endsWith('.test.ts');
  const rules = allowed[folder];
  if (!rules) {
    problems.push(`${rel}: folder "${folder}" has no import rule in scripts/check-imports.mjs`);
    continue;
  }
  const text = readFileSync(file, 'utf8');
  if (isTest) continue;
  for (const match of text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]/g)) {
    const spec = match[1];
    if (spec.startsWith('.')) {
      const targetPath = relative(src, resolve(dirname(file), spec)).replace(/\.js$/, '.ts');
      const target = targetPath.split(sep)[0];
      // A testing/ folder holds test fixtures, models and benchmarks: only tests and its own files use it.
      if (inTesting(targetPath) && !inTesting(rel)) {
        problems.push(`${rel}: imports ${spec}, which is for tests and benchmarks only`);
      }
      // Another folder is reached through its entry point, its index.ts, which says what
      // it offers; within a folder, files import each other directly. Exempt: what only
      // tests use (testing/ folders, on either side).
      if (target !== folder && targetPath !== join(target, 'index.ts') && !inTesting(targetPath) && !inTesting(rel)) {
        problems.push(`${rel}: imports ${spec}; another folder is imported through its entry point, ${relative(dirname(file), join(src, target, 'index.js'))}`);
      }
      if (target !== folder && !rules.includes(target)) {
        problems.push(
          `${rel}: imports ${spec} (folder "${target}"), but ${folder}/ may import only ${rules.filter((r) => r !== 'node' && r !== 'pkg').join(', ') || 'itself'}`,
        );
      }
    } else if (spec.startsWith('node:')) {
      if (!rules.includes('node')) problems.push(`${rel}: imports ${spec}; ${folder}/ must not use node: modules`);
    } else if (!rules.includes('pkg')) {
      problems.push(`${rel}: imports package ${spec}; ${folder}/ must not depend on packages`);
    }
  }
  // A lazy import() loads one module when a command needs it (keel chaos, keel sim), so
  // it names that module rather than the folder's entry point; the folder rules hold.
  for (const match of text.matchAll(/\bimport\(\s*['"](\.[^'"]+)['"]\s*\)/g)) {
    const target = relative(src, resolve(dirname(file), match[1])).split(sep)[0];
    if (target !== folder && !rules.includes(target)) problems.push(`${rel}: imports ${match[1]} lazily, but ${folder}/ may not import ${target}/`);
  }
  if (pureFolders.includes(folder)) {
    // sim/settle.ts waits for the microtask queue to drain with setImmediate, which is
    // deterministic (it says why); no other file may use a timer.
    const line =
      rel === join('sim', 'settle.ts')
        ? -1
        : text.split('\n').findIndex((l) => impurePattern.test(l) && !l.trim().startsWith('//') && !l.trim().startsWith('*'));
    if (line >= 0) problems.push(`${rel}:${line + 1}: ${folder}/ must stay pure (no clocks, timers, Math.random or process)`);
  }
}

// The dashboard (web/) runs in a browser: of ours it bundles only the pure folders
// (the consensus core and the simulator built on it), and no node: modules.
const webSrc = join(root, 'web', 'src');
const webMayBundle = ['raft', 'lib', 'sim', 'check', 'wire'];
for (const file of walk(webSrc)) {
  const rel = relative(root, file);
  const text = readFileSync(file, 'utf8');
  for (const match of text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]/g)) {
    const spec = match[1];
    if (spec.startsWith('node:')) problems.push(`${rel}: imports ${spec}; web/ runs in a browser`);
    if (!spec.startsWith('.')) continue;
    const target = relative(root, resolve(dirname(file), spec)).split(sep);
    if (target[0] === 'src' && !webMayBundle.includes(target[1])) {
      problems.push(`${rel}: imports ${spec}; web/ may bundle only src/${webMayBundle.join(', src/')}`);
    }
    // Through each folder's entry point, but for the simulator: its entry point offers
    // the node-side runner, so the browser takes sim/playground.ts, its pure entry.
    const entry = target.slice(1).join('/').replace(/\.js$/, '');
    if (target[0] === 'src' && entry !== `${target[1]}/index` && entry !== 'sim/playground') {
      problems.push(`${rel}: imports ${spec}; web/ imports src/ through each folder's index (or src/sim/playground)`);
    }
  }
}

// docs/internals/code-layout.md's table says the same as `allowed`: a row per folder, and
// its last column names exactly the folders (in backticks), `node:` and packages allowed.
const layoutDoc = join(root, 'docs', 'internals', 'code-layout.md');
const rows = new Map();
for (const match of readFileSync(layoutDoc, 'utf8').matchAll(/^\| `src\/([a-z0-9]+)\/` \|.*\| (.*) \|$/gm)) rows.set(match[1], match[2]);
for (const [folder, folders] of Object.entries(allowed)) {
  const cell = rows.get(folder);
  if (cell === undefined) {
    problems.push(`docs/internals/code-layout.md: no row for src/${folder}/`);
    continue;
  }
  const named = new Set([...cell.matchAll(/`([a-z0-9]+)`/g)].map((m) => m[1]).filter((name) => name in allowed && name !== folder));
  if (cell.includes('`node:`')) named.add('node');
  if (/\bpackages\b/.test(cell)) named.add('pkg');
  const expected = new Set(folders);
  const missing = [...expected].filter((name) => !named.has(name));
  const extra = [...named].filter((name) => !expected.has(name));
  if (missing.length > 0 || extra.length > 0) {
    problems.push(
      `docs/internals/code-layout.md: the row of src/${folder}/ ${missing.length > 0 ? `leaves out ${missing.join(', ')}` : ''}${missing.length > 0 && extra.length > 0 ? ' and ' : ''}${extra.length > 0 ? `names ${extra.join(', ')}` : ''} (scripts/check-imports.mjs allows ${folders.join(', ') || 'nothing'})`,
    );
  }
}

if (problems.length > 0) {
  console.error(`Import rules broken (${problems.length}):\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log('import rules: ok');
