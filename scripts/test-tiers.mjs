#!/usr/bin/env node
// The test tiers: every test file under src/ belongs to exactly one, so that the tiers
// together are the whole suite and `npm test` (which runs them all) leaves nothing out.
//
//   node scripts/test-tiers.mjs unit|sim|e2e|chaos|browser|containers   run one tier (from dist/)
//   node scripts/test-tiers.mjs e2e watch leases              only the tier's files whose path holds a word
//   node scripts/test-tiers.mjs all                          run every tier at once
//   node scripts/test-tiers.mjs --check                      only check the partition
//
// A tier is the test files under its folders plus the files it names, minus the files
// another tier names. Running any tier first checks the partition, so a new test file
// cannot be forgotten: it lands in its folder's tier, or the check names it.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname, sep } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const src = join(root, 'src');

/** Test files that start a process (a `keel` node, the CLI, etcd, etcdctl) outside the e2e folder. */
const startsProcesses = [
  'cli/e2e.test.ts',
  'cli/lease-commands.test.ts',
  'cli/check-history-command.test.ts',
  'cli/repair-command.test.ts',
  'cli/systemd-unit.test.ts',
  'cli/version-flag.test.ts',
  'kv/env/unsynced-marker.test.ts',
];

const tiers = {
  // Starts no process and no browser: loopback sockets and temp dirs at most. Under a
  // minute with an incremental compile; the tier to run after every change.
  unit: {
    folders: ['raft', 'lib', 'storage', 'kv', 'replica', 'check', 'client', 'transport', 'tls', 'proto', 'server', 'api', 'cli', 'chaos'],
    files: ['harness/required-tool.test.ts', 'harness/port-claims.test.ts', 'harness/process-work.test.ts'],
  },
  // The deterministic simulator: thousands of seeds, pure CPU.
  sim: { folders: ['sim'], files: [] },
  // Real `keel` processes, real etcd clients.
  e2e: { folders: ['e2e'], files: startsProcesses },
  // Real clusters under real faults: network namespaces and iptables (as root), power
  // cuts, libfaketime, the `keel chaos` command.
  chaos: {
    folders: [],
    files: [
      'chaos/chaos-matrix.test.ts',
      'chaos/netns-network.test.ts',
      'chaos/power-loss.test.ts',
      'chaos/three-machines.test.ts',
      'cli/chaos-command.test.ts',
    ],
  },
  // Debian's chromium driven by playwright-core.
  browser: { folders: [], files: ['e2e/dashboard.test.ts', 'e2e/dashboard-auth.test.ts', 'e2e/dashboard-tls.test.ts', 'e2e/foreign-page.test.ts'] },
  // The container image built and run as a compose cluster with rootful podman (as root).
  containers: { folders: ['containers'], files: [] },
};

/**
 * Test files that judge latency against an absolute bound (etcd's own checks: `etcdctl
 * check perf` fails on one request over 0.5 s). They run after the others, one at a
 * time: on a two-core machine another file's cluster starting beside them is a stall
 * of their own (a 0.506 s request, once, in a full run).
 */
const runAlone = ['e2e/etcdctl-check-perf.test.ts'];

/** What marks a test file as one that starts a process or a browser: not allowed in the unit tier. */
const processMarkers = [/node:child_process/, /cluster-harness/, /playwright/, /\.\/chromium\.js/];

function* walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* walk(path);
    else if (name.endsWith('.test.ts')) yield relative(src, path).split(sep).join('/');
  }
}

/** tier name -> its test files (src-relative), and the problems that make the partition wrong. */
function partition() {
  const all = [...walk(src)].sort();
  const named = new Map();
  const problems = [];
  for (const [name, tier] of Object.entries(tiers)) {
    for (const file of tier.files) {
      if (!all.includes(file)) problems.push(`tier ${name} names ${file}, which does not exist`);
      if (named.has(file)) problems.push(`${file} is named by both tier ${named.get(file)} and tier ${name}`);
      named.set(file, name);
    }
  }
  const members = Object.fromEntries(Object.keys(tiers).map((name) => [name, []]));
  for (const file of all) {
    const folder = file.split('/')[0];
    const owners = named.has(file) ? [named.get(file)] : Object.keys(tiers).filter((name) => tiers[name].folders.includes(folder));
    if (owners.length !== 1) {
      problems.push(`${file} belongs to ${owners.length === 0 ? 'no tier' : `tiers ${owners.join(', ')}`}: add it to one in scripts/test-tiers.mjs`);
      continue;
    }
    members[owners[0]].push(file);
  }
  for (const file of members.unit) {
    const text = readFileSync(join(src, file), 'utf8');
    const marker = processMarkers.find((pattern) => pattern.test(text));
    if (marker) problems.push(`${file} is in the unit tier but looks like it starts a process or a browser (${marker}): name it in another tier`);
  }
  const counted = Object.values(members).reduce((sum, files) => sum + files.length, 0);
  if (problems.length === 0 && counted !== all.length) problems.push(`the tiers hold ${counted} files, src/ has ${all.length}`);
  return { all, members, problems };
}

function main(argument, words) {
  const { all, members, problems } = partition();
  if (problems.length > 0) {
    console.error(`test tiers: ${problems.length} problem(s):\n  ${problems.join('\n  ')}`);
    process.exit(1);
  }
  if (argument === '--check') {
    const counts = Object.entries(members)
      .map(([name, files]) => `${name} ${files.length}`)
      .join(', ');
    console.log(`test tiers: ${all.length} test files, each in one tier (${counts})`);
    return;
  }
  const tier = argument === 'all' ? Object.values(members).flat() : members[argument];
  if (!tier) {
    console.error(`usage: node scripts/test-tiers.mjs ${Object.keys(tiers).join('|')}|all|--check [word...]`);
    process.exit(2);
  }
  const files = words.length === 0 ? tier : tier.filter((file) => words.some((word) => file.includes(word)));
  if (files.length === 0) {
    console.error(`test tiers: no file of tier ${argument} matches ${words.join(', ')}`);
    process.exit(2);
  }
  const compiled = (list) => list.map((file) => join('dist', file.replace(/\.ts$/, '.js')));
  const missing = compiled(files).filter((file) => !existsSync(join(root, file)));
  if (missing.length > 0) {
    console.error(`test tiers: not compiled (run npm run build first): ${missing.join(', ')}`);
    process.exit(1);
  }
  const together = files.filter((file) => !runAlone.includes(file));
  const alone = files.filter((file) => runAlone.includes(file));
  let status = 0;
  for (const [list, concurrency] of [
    [together, 2],
    [alone, 1],
  ]) {
    if (list.length === 0) continue;
    const result = spawnSync(process.execPath, ['--test', `--test-concurrency=${concurrency}`, ...compiled(list)], { cwd: root, stdio: 'inherit' });
    if (result.status !== 0) status = result.status ?? 1;
  }
  process.exit(status);
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) main(process.argv[2] ?? '--check', process.argv.slice(3));
