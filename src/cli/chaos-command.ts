/**
 * `keel chaos`: fault testing of a real cluster (src/chaos/). The harness is loaded
 * only when the command runs: it brings the test cluster harness with it, whose
 * signal handlers must not sit in every other `keel` command (a node's graceful
 * SIGTERM among them).
 */
import { type Command, InvalidArgumentError, Option } from 'commander';

interface ChaosCommandOptions {
  readonly nodes: '3' | '5';
  readonly time: number;
  readonly nemesis: string;
  readonly workload: string;
  readonly seed: number | undefined;
  readonly results: string;
  readonly client: 'rest' | 'grpc';
  readonly network: 'auto' | 'netns' | 'loopback';
  readonly faultSeconds: number;
  readonly quietSeconds: number;
  readonly basePort: number | undefined;
  readonly portCount: number;
}

function positiveInteger(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) throw new InvalidArgumentError('expected a positive integer');
  return value;
}

export function registerChaos(program: Command): void {
  program
    .command('chaos')
    .description('start a real cluster, inject faults while clients work, check the history (netns + iptables as root, loopback + fault hooks otherwise)')
    .addOption(new Option('--nodes <n>', 'cluster size').choices(['3', '5']).default('3'))
    .option('--time <seconds>', 'how long the clients work (faults included)', positiveInteger, 60)
    .option('--nemesis <spec>', 'a nemesis, a comma-separated list (in turn), "all", or "mixed" / "mixed:a,b" (drawn at random)', 'mixed')
    .option('--workload <list>', 'register, set, bank, a comma-separated list, or all', 'all')
    .option('--seed <n>', "seeds the fault schedule and the clients' choices (default: random)", positiveInteger)
    .option('--results <dir>', 'where each run gets its directory of results', 'results/chaos')
    .addOption(new Option('--client <kind>', 'the client the workloads use').choices(['rest', 'grpc']).default('rest'))
    .addOption(new Option('--network <kind>', 'netns needs root; auto picks netns when it can').choices(['auto', 'netns', 'loopback']).default('auto'))
    .option('--fault-seconds <s>', 'length of each fault interval', positiveInteger, 6)
    .option('--quiet-seconds <s>', 'healthy time between fault intervals', positiveInteger, 4)
    .option(
      '--base-port <port>',
      'the nodes take ports from this one on (default: anywhere from 10000 to the ephemeral range), so runs can share a machine',
      positiveInteger,
    )
    .option('--port-count <n>', 'how many ports from --base-port the run may take (3 per node, nodes added by member churn included)', positiveInteger, 1000)
    .action(async (options: ChaosCommandOptions) => {
      const { runChaosCommand } = await import('../chaos/chaos-command-run.js');
      process.exitCode = await runChaosCommand({ ...options, nodes: Number(options.nodes) as 3 | 5 });
    });
}
