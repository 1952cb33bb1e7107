import { type Command, InvalidArgumentError, Option } from 'commander';
import { defaultSimOptions, type SimOptions } from '../sim/index.js';

interface SimCommandOptions {
  readonly seeds: number;
  readonly start: number;
  readonly seed: number | undefined;
  readonly nodes: '3' | '5' | '7' | undefined;
  readonly trace: boolean | undefined;
  readonly traceLines: number;
  readonly steps: number | undefined;
}

function nonNegativeInteger(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new InvalidArgumentError('expected a non-negative integer');
  return value;
}

function positiveInteger(text: string): number {
  const value = nonNegativeInteger(text);
  if (value === 0) throw new InvalidArgumentError('expected a positive integer');
  return value;
}

/**
 * `keel sim`: runs the deterministic cluster simulator (src/sim/) over a range of
 * seeds, one summary line per run. A failing seed is replayed with tracing on and
 * its trace printed; the exit code is 1 when any run broke a rule.
 */
export function registerSim(program: Command): void {
  program
    .command('sim')
    .description('run the deterministic Raft cluster simulator over many seeds (safety, linearizability and liveness checks)')
    .option('--seeds <n>', 'how many seeds to run', nonNegativeInteger, 100)
    .option('--start <s>', 'the first seed', nonNegativeInteger, 1)
    .option('--seed <n>', 'run just this seed (with --trace: print its trace)', nonNegativeInteger)
    .addOption(new Option('--nodes <n>', 'voters in the cluster (default: 3, 5 or 7 by seed)').choices(['3', '5', '7']))
    .option('--trace', 'print the trace of each run (use with --seed)')
    .option('--trace-lines <n>', 'the newest trace lines kept', nonNegativeInteger, 20_000)
    .option('--steps <n>', `steps of each seed's fault phase (default ${defaultSimOptions.faultSteps}; a long run: 1000000 and more)`, positiveInteger)
    .action(async (options: SimCommandOptions) => {
      process.exitCode = await runSimCommand(options);
    });
}

async function runSimCommand(options: SimCommandOptions): Promise<number> {
  // The simulator is loaded when it runs, not by every `keel` command (a node's start-up included).
  const { describeFailure, runSeed, summarize } = await import('../sim/seeds.js');
  const overrides: Partial<SimOptions> = {
    ...(options.nodes === undefined ? {} : { nodes: Number(options.nodes) as 3 | 5 | 7 }),
    traceLinesMax: Math.max(1, options.traceLines),
    ...(options.steps === undefined ? {} : { faultSteps: options.steps }),
  };
  const first = options.seed ?? options.start;
  const count = options.seed === undefined ? options.seeds : 1;
  const tracing = options.trace === true;
  let failures = 0;
  let operations = 0;
  const started = performance.now();
  for (let seed = first; seed < first + count; seed++) {
    const runStarted = performance.now();
    const result = await runSeed(seed, { ...overrides, trace: tracing });
    const ms = performance.now() - runStarted;
    operations += result.operations;
    console.log(`${summarize(result)} [${ms.toFixed(0)} ms]`);
    if (tracing) console.log(result.trace);
    if (result.violations.length > 0) {
      failures += 1;
      const story = tracing ? result : await runSeed(seed, { ...overrides, trace: true });
      console.log(describeFailure(story));
    }
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `${count} seed(s) from ${first}: ${operations} client operations, ${failures} failing seed(s), ` +
      `${seconds.toFixed(1)} s (${(count / Math.max(seconds, 1e-9)).toFixed(1)} seeds/s)`,
  );
  return failures > 0 ? 1 : 0;
}
