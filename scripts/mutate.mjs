#!/usr/bin/env node
// Mutation testing: plants each bug of the catalogue (mutations/*.mutation) in a
// scratch copy of the sources, builds it, and asks whether the simulator (`keel sim`
// of that build) and the unit tests of src/raft and src/storage catch it.
//
//   node scripts/mutate.mjs                     the whole catalogue, 200 seeds each
//   node scripts/mutate.mjs --seeds 500         more seeds per mutation
//   node scripts/mutate.mjs --only a,b          just these mutations
//   node scripts/mutate.mjs --quick             the quick subset, few seeds, no unit tests, no type check (CI)
//   node scripts/mutate.mjs --check             only check that every mutation still applies (npm run lint)
//
// Prints a markdown table; exits 1 when a mutation marked `expect: caught` got past
// the simulator, when the unmutated control run fails, or when a mutation no longer
// applies or compiles. See docs/internals/mutation-testing.md.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { applyMutation, checkMutation, MutationApplyError, parseMutation } from './mutation-file.mjs';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const catalogue = join(root, 'mutations');
const unitFolders = ['raft', 'storage', 'replica'];
const quickSeeds = 6;

function usage(problem) {
  console.error(`mutate: ${problem}\nusage: node scripts/mutate.mjs [--only name[,name...]] [--seeds N] [--start S] [--quick]`);
  process.exit(2);
}

function parseArgs(argv) {
  const options = { only: undefined, seeds: undefined, start: 1, quick: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) usage(`${arg} needs a value`);
      return v;
    };
    const count = (text, min) => {
      const n = Number(text);
      if (!Number.isSafeInteger(n) || n < min) usage(`${arg} expects an integer >= ${min}, got "${text}"`);
      return n;
    };
    if (arg === '--only')
      options.only = value()
        .split(',')
        .filter((name) => name !== '');
    else if (arg === '--seeds') options.seeds = count(value(), 1);
    else if (arg === '--start') options.start = count(value(), 0);
    else if (arg === '--quick') options.quick = true;
    else usage(`unknown argument ${arg}`);
  }
  options.seeds ??= options.quick ? quickSeeds : 200;
  return options;
}

function loadCatalogue(options) {
  const all = readdirSync(catalogue)
    .filter((name) => name.endsWith('.mutation'))
    .sort()
    .map((name) => parseMutation(`mutations/${name}`, readFileSync(join(catalogue, name), 'utf8')));
  if (options.only) {
    const unknown = options.only.filter((name) => !all.some((m) => m.name === name));
    if (unknown.length > 0) usage(`no such mutation: ${unknown.join(', ')}`);
    return all.filter((m) => options.only.includes(m.name));
  }
  return options.quick ? all.filter((m) => m.quick) : all;
}

/** Process groups of the commands running now, killed if this script is interrupted. */
const running = new Set();

/** Runs a command in its own process group; resolves with its exit code (or 'timeout'), stdout and stderr. */
function run(command, args, { cwd, timeoutMs, onLine }) {
  return new Promise((resolvePromise) => {
    const child = spawn(command, args, { cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child.pid);
    let stdout = '';
    let stderr = '';
    let partial = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      process.kill(-child.pid, 'SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (chunk) => {
      const text = chunk.toString();
      stdout += text;
      if (!onLine) return;
      partial += text;
      const lines = partial.split('\n');
      partial = lines.pop();
      for (const line of lines) onLine(line);
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk.toString();
    });
    child.on('close', (code) => {
      running.delete(child.pid);
      clearTimeout(timer);
      if (onLine && partial !== '') onLine(partial);
      resolvePromise({ code: timedOut ? 'timeout' : code, stdout, stderr });
    });
  });
}

const tscPath = join(root, 'node_modules', 'typescript', 'bin', 'tsc');

/**
 * The quick build of a mutant: only the files it edits are transpiled, over the base
 * copy's build, without type checking (a whole-program tsc costs about 15 s of CPU
 * even when incremental). The full run builds every mutant with tsc.
 */
async function transpileEdited(dir, mutation) {
  const { default: ts } = await import('typescript');
  for (const file of new Set(mutation.edits.map((edit) => edit.file))) {
    const source = readFileSync(join(dir, file), 'utf8');
    const output = ts.transpileModule(source, {
      fileName: file,
      reportDiagnostics: true,
      compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ES2022 },
    });
    const problems = output.diagnostics ?? [];
    if (problems.length > 0) return problems.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')).join('\n');
    writeFileSync(join(dir, 'dist', file.replace(/^src\//, '').replace(/\.ts$/, '.js')), output.outputText);
  }
  return undefined;
}

/** Builds the copy in `dir`; a mutant's build rechecks only the files it changed and their direct importers. */
async function compile(dir, mutant) {
  const args = [tscPath, '-p', '.', '--incremental', '--tsBuildInfoFile', 'dist/.tsbuildinfo'];
  if (mutant) args.push('--assumeChangesOnlyAffectDirectDependencies');
  const result = await run(process.execPath, args, { cwd: dir, timeoutMs: 300_000 });
  if (result.code !== 0) return `${result.stdout}${result.stderr}`.trim().split('\n').slice(0, 10).join('\n');
  return undefined;
}

/** A scratch copy of the repository's sources, ready to build and run. */
function makeCopy(dir, from) {
  mkdirSync(dir, { recursive: true });
  cpSync(join(from, 'src'), join(dir, 'src'), { recursive: true });
  for (const file of ['tsconfig.json', 'package.json']) cpSync(join(from, file), join(dir, file));
  // Built files to start from, so that builds are incremental: the base copy's for a
  // mutant, the repository's own (when built) for the base copy. tsc compares sources
  // with its build info by content, so whatever is stale is rebuilt. The dashboard's
  // bundle (dist/web) is not needed.
  const built = join(from, 'dist');
  if (existsSync(join(built, '.tsbuildinfo'))) {
    cpSync(built, join(dir, 'dist'), { recursive: true, filter: (path) => path !== join(built, 'web') });
  }
  symlinkSync(realpathSync(join(root, 'node_modules')), join(dir, 'node_modules'), 'dir');
}

const seedLine = /^seed (\d+) nodes=\d+ .*: (?:ok|\d+ violation\(s\): (\S+))( \[\d+ ms\])?$/;

/** Runs `keel sim` of the build in `dir` over the seeds; one outcome per seed. */
async function simulate(dir, options) {
  const seeds = [];
  const result = await run(
    process.execPath,
    ['dist/cli/main.js', 'sim', '--seeds', String(options.seeds), '--start', String(options.start), '--trace-lines', '1'],
    {
      cwd: dir,
      // A mutant may loop for ever; a healthy seed takes well under a second.
      timeoutMs: 60_000 + options.seeds * 5_000,
      onLine: (line) => {
        const match = seedLine.exec(line);
        if (match) seeds.push({ seed: Number(match[1]), kind: match[2] });
      },
    },
  );
  const caught = seeds.filter((s) => s.kind !== undefined);
  const kinds = [...new Set(caught.map((s) => s.kind))];
  let abort;
  if (result.code === 'timeout') abort = 'timeout';
  else if (seeds.length < options.seeds && result.code !== 0) abort = 'crash';
  if (abort) {
    // The seed after the last one reported hung or crashed the simulator itself.
    caught.push({ seed: options.start + seeds.length, kind: abort });
    kinds.push(abort);
  }
  return {
    ran: seeds.length + (abort ? 1 : 0),
    caught: caught.length,
    firstSeed: caught[0]?.seed,
    kinds,
    detail: abort ? result.stderr.trim().split('\n').slice(-3).join(' ') : '',
  };
}

/** Runs the unit tests of src/raft and src/storage of the build in `dir`. */
async function unitTests(dir, folders) {
  const files = folders.flatMap((folder) =>
    readdirSync(join(dir, 'dist', folder))
      .filter((name) => name.endsWith('.test.js'))
      .map((name) => join('dist', folder, name)),
  );
  const result = await run(process.execPath, ['--test', '--test-reporter=tap', ...files], { cwd: dir, timeoutMs: 300_000 });
  if (result.code === 'timeout') return { caught: true, summary: 'timeout' };
  const failed = Number(/^# fail (\d+)$/m.exec(result.stdout)?.[1] ?? 0);
  const firstFailure = /^not ok \d+ - (.*)$/m.exec(result.stdout)?.[1];
  if (result.code === 0 && failed === 0) return { caught: false, summary: 'missed' };
  return { caught: true, summary: failed > 0 ? `${failed} failed (${firstFailure ?? '?'})` : `exit ${result.code}` };
}

function describeSim(sim) {
  if (sim.caught === 0) return { cell: `missed (0/${sim.ran})`, first: '—', kinds: '—' };
  return { cell: `caught (${sim.caught}/${sim.ran})`, first: String(sim.firstSeed), kinds: sim.kinds.join(', ') };
}

/** `--check` (part of `npm run lint`): every mutation of the catalogue still applies to the code, in a second. */
function checkCatalogue() {
  const all = loadCatalogue({ quick: false });
  const problems = [];
  for (const mutation of all) {
    try {
      checkMutation(mutation, root);
    } catch (error) {
      if (!(error instanceof MutationApplyError)) throw error;
      problems.push(error.message);
    }
  }
  if (problems.length > 0) {
    console.error(`mutations: ${problems.length} of ${all.length} no longer apply:\n  ${problems.join('\n  ')}`);
    process.exit(1);
  }
  console.log(`mutations: all ${all.length} apply`);
}

async function main() {
  if (process.argv[2] === '--check') return checkCatalogue();
  const options = parseArgs(process.argv.slice(2));
  const mutations = loadCatalogue(options);
  if (mutations.length === 0) usage('no mutation selected');
  const scratch = mkdtempSync(join(tmpdir(), 'keel-mutate-'));
  const cleanUp = () => rmSync(scratch, { recursive: true, force: true });
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
      // Stop the build or run first, or it keeps writing into the scratch directory.
      for (const pid of running) process.kill(-pid, 'SIGKILL');
      cleanUp();
      process.exit(130);
    });
  }
  const problems = [];
  const rows = [];
  const started = performance.now();
  const log = (text) => console.error(`[${((performance.now() - started) / 1000).toFixed(0)} s] ${text}`);
  try {
    const base = join(scratch, 'base');
    makeCopy(base, root);
    log(`building the unmutated copy in ${base}`);
    const baseError = await compile(base, false);
    if (baseError) throw new Error(`the unmutated sources do not compile:\n${baseError}`);
    log(`control: the unmutated build over seeds ${options.start}..${options.start + options.seeds - 1}`);
    const control = await simulate(base, options);
    if (control.caught > 0) {
      problems.push(`the unmutated build fails seed ${control.firstSeed} (${control.kinds.join(', ')}): catches below would mean nothing`);
    }
    const controlSim = control.caught > 0 ? describeSim(control) : { cell: `clean (0/${control.ran})`, first: '—', kinds: '—' };
    rows.push({ name: '(control: no mutation)', expect: 'clean', sim: controlSim, unit: '—', verdict: control.caught > 0 ? 'FAILED' : 'ok' });

    for (const mutation of mutations) {
      const dir = join(scratch, mutation.name);
      makeCopy(dir, base);
      try {
        applyMutation(mutation, dir);
      } catch (error) {
        if (!(error instanceof MutationApplyError)) throw error;
        log(`${mutation.name}: does not apply`);
        problems.push(error.message);
        rows.push({ name: mutation.name, expect: mutation.expect, sim: { cell: 'does not apply', first: '—', kinds: '—' }, unit: '—', verdict: 'BROKEN' });
        rmSync(dir, { recursive: true, force: true });
        continue;
      }
      log(`${mutation.name}: building`);
      const compileError = options.quick ? await transpileEdited(dir, mutation) : await compile(dir, true);
      if (compileError) {
        log(`${mutation.name}: does not compile`);
        problems.push(`${mutation.name} does not compile:\n${compileError}`);
        rows.push({ name: mutation.name, expect: mutation.expect, sim: { cell: 'does not compile', first: '—', kinds: '—' }, unit: '—', verdict: 'BROKEN' });
        rmSync(dir, { recursive: true, force: true });
        continue;
      }
      log(`${mutation.name}: simulating ${options.seeds} seeds`);
      const sim = await simulate(dir, options);
      // The quick subset is about the simulator; the unit tests run in full elsewhere.
      if (!options.quick) log(`${mutation.name}: unit tests of ${unitFolders.join(', ')}`);
      const unit = options.quick ? { caught: false, summary: 'not run (--quick)' } : await unitTests(dir, unitFolders);
      rmSync(dir, { recursive: true, force: true });
      let verdict = 'ok';
      if (mutation.expect === 'caught' && sim.caught === 0) {
        verdict = 'MISSED';
        problems.push(
          `${mutation.name} is expected to be caught by the simulator, but no seed of ${options.start}..${options.start + options.seeds - 1} caught it`,
        );
      } else if (mutation.expect === 'missed' && sim.caught > 0) {
        verdict = 'now caught: set expect: caught';
      }
      if (sim.detail) log(`${mutation.name}: ${sim.detail}`);
      log(`${mutation.name}: simulator ${describeSim(sim).cell}, unit tests ${unit.summary}`);
      rows.push({ name: mutation.name, expect: mutation.expect, sim: describeSim(sim), unit: unit.caught ? `caught: ${unit.summary}` : unit.summary, verdict });
    }
  } catch (error) {
    problems.push(error instanceof Error ? error.message : String(error));
  } finally {
    cleanUp();
  }

  const seconds = (performance.now() - started) / 1000;
  console.log(
    `Mutation testing: ${rows.length - 1} mutation(s), seeds ${options.start}..${options.start + options.seeds - 1} each (cluster sizes 3, 5, 7 by seed), ${seconds.toFixed(0)} s\n`,
  );
  console.log('| mutation | expect | simulator (seeds caught/run) | first seed | violation kinds | unit tests | verdict |');
  console.log('|---|---|---|---|---|---|---|');
  for (const row of rows) {
    console.log(
      `| ${row.name} | ${row.expect} | ${row.sim.cell} | ${row.sim.first} | ${row.sim.kinds} | ${row.unit.replaceAll('|', '\\|')} | ${row.verdict} |`,
    );
  }
  if (problems.length > 0) {
    console.log(`\n${problems.length} problem(s):`);
    for (const problem of problems) console.log(`- ${problem}`);
    process.exitCode = 1;
  }
}

await main();
