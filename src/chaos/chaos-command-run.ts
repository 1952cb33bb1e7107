/**
 * What `keel chaos` does (src/cli/chaos-command.ts parses the flags): one run, its
 * results directory, a summary on stdout; exit code 0 when nothing was violated or
 * lost, 1 otherwise.
 */
import { randomInt } from 'node:crypto';
import { portRangeFrom } from '../harness/index.js';
import { runChaos } from './chaos-run.js';
import type { NetworkChoice } from './chaos-network.js';
import { nemesesNamed } from './nemeses.js';
import { keepArtifacts, runDirectory, writeResults } from './results.js';
import { summaryLines } from './summary-text.js';
import { workloadNames } from './workload.js';
import type { WorkloadName } from './workload.js';

export interface ChaosCommandInput {
  readonly nodes: 3 | 5;
  readonly time: number;
  readonly nemesis: string;
  readonly workload: string;
  readonly seed: number | undefined;
  readonly results: string;
  readonly client: 'rest' | 'grpc';
  readonly network: NetworkChoice;
  readonly faultSeconds: number;
  readonly quietSeconds: number;
  /** First port of the block the nodes take (`--base-port`), and its size. */
  readonly basePort: number | undefined;
  readonly portCount: number;
}

export async function runChaosCommand(input: ChaosCommandInput): Promise<number> {
  const mixed = input.nemesis === 'mixed' || input.nemesis.startsWith('mixed:');
  const nemeses = nemesesNamed(mixed ? input.nemesis.slice('mixed:'.length) || 'all' : input.nemesis);
  const workloads = parseWorkloads(input.workload);
  const seed = input.seed ?? randomInt(1, 2 ** 31);
  const dir = await runDirectory(input.results, seed);
  console.log(`keel chaos: seed ${seed}, results in ${dir}`);
  const outcome = await runChaos(
    {
      nodes: input.nodes,
      timeSeconds: input.time,
      nemeses,
      mixed,
      workloads,
      client: input.client,
      seed,
      network: input.network,
      faultSeconds: input.faultSeconds,
      quietSeconds: input.quietSeconds,
      ...(input.basePort === undefined ? {} : { ports: portRangeFrom(input.basePort, input.portCount) }),
      log: (line) => console.log(`  ${line}`),
    },
    (cluster, result) => keepArtifacts(dir, cluster, result),
  );
  const report = await writeResults(dir, outcome);
  for (const line of summaryLines(outcome)) console.log(line);
  console.log(`report: ${report}`);
  return outcome.failures.length === 0 ? 0 : 1;
}

function parseWorkloads(spec: string): WorkloadName[] {
  if (spec === 'all') return [...workloadNames];
  return spec.split(',').map((name) => {
    const found = workloadNames.find((w) => w === name.trim());
    if (!found) throw new Error(`unknown workload "${name}"; known: ${workloadNames.join(', ')}, or all`);
    return found;
  });
}
