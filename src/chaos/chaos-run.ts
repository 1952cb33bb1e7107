/**
 * One chaos run: a real cluster on a chaos network, workloads recording a history
 * through random nodes, nemeses on a schedule, then everything healed, the final
 * state read, the history checked, the results written (see results.ts).
 *
 * Bounded: the run lasts `timeSeconds` plus healing (at most `recoveryTimeoutMs`)
 * and checking (at most the checker's deadline per key); every node, namespace and
 * rule is removed at the end, pass or fail, and on SIGINT/SIGTERM.
 */
import { Cluster, type PortRange, pause } from '../harness/index.js';
import { Prng } from '../lib/index.js';
import { BankWorkload } from './bank-workload.js';
import { createNetwork } from './chaos-network.js';
import type { NetworkChoice } from './chaos-network.js';
import { FaultBoard } from './fault-board.js';
import { LoopbackNetwork } from './loopback-network.js';
import { availability, recoveries, writeGaps } from './metrics.js';
import type { Availability, FaultInterval, Recovery, WriteGap } from './metrics.js';
import type { Nemesis, NemesisContext } from './nemesis.js';
import { GrpcChaosClient } from './grpc-client.js';
import { Recorder } from './recorder.js';
import { RestChaosClient } from './rest-client.js';
import { RegisterWorkload } from './register-workload.js';
import { planFaults, Slip } from './schedule.js';
import { SetWorkload } from './set-workload.js';
import type { Workload, WorkloadContext, WorkloadName, WorkloadResult } from './workload.js';

export interface ChaosOptions {
  readonly nodes: 3 | 5;
  readonly timeSeconds: number;
  readonly nemeses: readonly Nemesis[];
  /** Draw each fault interval's nemesis at random instead of in turn. */
  readonly mixed: boolean;
  readonly workloads: readonly WorkloadName[];
  /** The API the workloads use: Keel's REST API or the etcd v3 gRPC API. */
  readonly client: 'rest' | 'grpc';
  readonly seed: number;
  readonly network: NetworkChoice;
  readonly faultSeconds: number;
  readonly quietSeconds: number;
  /** The ports the nodes may take (default: the harness's range), so runs can share a machine. */
  readonly ports?: PortRange;
  /** Progress lines, as the run goes. */
  readonly log: (line: string) => void;
}

export interface ChaosOutcome {
  readonly options: Omit<ChaosOptions, 'log' | 'nemeses'> & { readonly nemeses: readonly string[] };
  readonly networkDescription: string;
  readonly skippedNemeses: readonly string[];
  readonly intervals: readonly FaultInterval[];
  readonly workloads: readonly WorkloadResult[];
  readonly availability: Availability;
  readonly recoveries: readonly Recovery[];
  /** The longest time without an acknowledged write, per fault kind. */
  readonly writeGaps: readonly WriteGap[];
  /** The cluster came back (one leader, every node caught up) after the last heal; else why not. */
  readonly recovered: true | string;
  /** Nodes that exited without being asked to. */
  readonly crashes: readonly string[];
  /** Everything that makes the run a failure, one line each; empty when it passed. */
  readonly failures: readonly string[];
  readonly durationMs: number;
}

/** What the caller keeps of the cluster before it is removed (logs, data directories). */
export type ChaosKeep = (cluster: Cluster, outcome: ChaosOutcome) => Promise<void>;

/** The nodes' timing: a 50 ms tick, elections after 0.5-1 s, requests answered within 2 s. */
const tickMs = 50;
const electionTicks = 10;
const requestTimeoutMs = 2_000;
const recoveryTimeoutMs = 30_000;

export async function runChaos(options: ChaosOptions, keep: ChaosKeep): Promise<ChaosOutcome> {
  const ids = Array.from({ length: options.nodes }, (_, i) => i + 1);
  const random = new Prng(options.seed);
  const skippedNemeses: string[] = [];
  const nemeses: Nemesis[] = [];
  for (const nemesis of options.nemeses) {
    const why = await nemesis.unavailable?.();
    if (why) skippedNemeses.push(`${nemesis.name}: ${why}`);
    else nemeses.push(nemesis);
  }
  for (const line of skippedNemeses) options.log(`skipped nemesis ${line}`);
  const network = await createNetwork(options.network, ids);
  options.log(`network: ${network.description}`);
  let cluster: Cluster | undefined;
  try {
    cluster = await Cluster.start({
      size: options.nodes,
      tickMs,
      electionTicks,
      requestTimeoutMs,
      placement: network,
      ...(options.ports ? { ports: options.ports } : {}),
    });
    const started = cluster;
    const board = new FaultBoard(
      (id) => started.url(id),
      (id) => started.node(id).running,
    );
    if (network instanceof LoopbackNetwork) network.attach(board);
    const context: NemesisContext = {
      cluster: started,
      network,
      board,
      random: random.fork(),
      get ids() {
        return started.memberIds();
      },
      electionTimeoutMs: tickMs * electionTicks,
      leader: () => started.currentLeader(),
    };
    const outcome = await drive(options, nemeses, skippedNemeses, started, context, random, network.description);
    await keep(started, outcome);
    return outcome;
  } finally {
    await cluster?.destroy();
    await network.remove();
  }
}

async function drive(
  options: ChaosOptions,
  nemeses: readonly Nemesis[],
  skippedNemeses: readonly string[],
  cluster: Cluster,
  context: NemesisContext,
  random: Prng,
  networkDescription: string,
): Promise<ChaosOutcome> {
  const recorder = new Recorder();
  // Each attempt may take the nodes' own request timeout, plus a margin to answer.
  const attemptTimeoutMs = requestTimeoutMs + 1_000;
  const client =
    options.client === 'grpc'
      ? new GrpcChaosClient((id) => cluster.node(id).grpcEndpoint, attemptTimeoutMs)
      : new RestChaosClient((id) => cluster.url(id), attemptTimeoutMs);
  const pickRandom = random.fork();
  const workloadContext = (firstProcess: number): WorkloadContext => ({
    recorder,
    random: random.fork(),
    client,
    pickNode: () => {
      const running = cluster.runningIds();
      return running.length > 0 ? (running[pickRandom.int(running.length)] as number) : 1;
    },
    firstProcess,
  });
  const workloads: Workload[] = options.workloads.map((name, i) => {
    if (name === 'register') return new RegisterWorkload(workloadContext(i * 100));
    if (name === 'set') return new SetWorkload(workloadContext(i * 100));
    return new BankWorkload(workloadContext(i * 100));
  });
  for (const w of workloads) await w.prepare();
  for (const w of workloads) w.start();
  options.log(`workloads ${options.workloads.join(', ')} running`);

  const intervals: FaultInterval[] = [];
  const slots = nemeses.length === 0 ? [] : planFaults(options, nemeses.length, options.mixed, random.fork());
  const slip = new Slip();
  const workloadsStopped = (async () => {
    for (const slot of slots) {
      await pause(Math.max(0, slip.startOf(slot) - recorder.now()));
      const nemesis = nemeses[slot.nemesis] as Nemesis;
      const startMs = recorder.now();
      const what = await nemesis.start(context);
      options.log(`${(startMs / 1_000).toFixed(1)} s: ${nemesis.name}: ${what}`);
      await pause(Math.max(0, slip.healAt(slot, recorder.now()) - recorder.now()));
      await nemesis.stop(context);
      const endMs = recorder.now();
      slip.healed(slot, endMs);
      options.log(`${(endMs / 1_000).toFixed(1)} s: ${nemesis.name} healed`);
      intervals.push({ nemesis: nemesis.name, what, startMs, endMs });
    }
    await pause(Math.max(0, slip.endOf(options.timeSeconds * 1_000) - recorder.now()));
  })();
  await workloadsStopped;
  for (const w of workloads) await w.stop();
  const durationMs = recorder.now();

  const recovered = await healEverything(cluster, context);
  options.log(recovered === true ? 'cluster healed and caught up' : `cluster did not recover: ${recovered}`);
  const results: WorkloadResult[] = [];
  for (const w of workloads) results.push(await w.check(cluster.runningIds()[0] as number));
  client.close();
  const failures = [
    ...results.flatMap((r) => [...r.violations, ...r.lostWrites.map((l) => `lost: ${l}`), ...r.unexpected.map((u) => `unexpected: ${u}`)]),
    ...(recovered === true ? [] : [`not recovered after healing: ${recovered}`]),
    ...cluster.crashes.map((c) => `crash: ${c.split('\n')[0]}`),
  ];
  return {
    options: {
      nodes: options.nodes,
      timeSeconds: options.timeSeconds,
      nemeses: options.nemeses.map((n) => n.name),
      mixed: options.mixed,
      workloads: options.workloads,
      client: options.client,
      seed: options.seed,
      network: options.network,
      faultSeconds: options.faultSeconds,
      quietSeconds: options.quietSeconds,
      ...(options.ports ? { ports: options.ports } : {}),
    },
    networkDescription,
    skippedNemeses,
    intervals,
    workloads: results,
    availability: availability(recorder, intervals),
    recoveries: recoveries(recorder, intervals),
    writeGaps: writeGaps(recorder, intervals, durationMs),
    recovered,
    crashes: [...cluster.crashes],
    failures,
    durationMs,
  };
}

/** Heals the network and every fault, brings every node back, and waits for one leader and caught-up nodes. */
async function healEverything(cluster: Cluster, context: NemesisContext): Promise<true | string> {
  try {
    await context.network.heal();
    for (const source of ['partition', 'one-way', 'slow-lossy']) await context.board.set(source, new Map(), cluster.runningIds());
    for (const node of cluster.members()) {
      if (node.suspended) cluster.resume(node.id);
      else if (!node.running) await cluster.startNode(node.id);
    }
    await cluster.waitForLeader({ among: context.ids, timeoutMs: recoveryTimeoutMs });
    await cluster.waitForCaughtUp(context.ids, recoveryTimeoutMs);
    return true;
  } catch (error) {
    return (error as Error).message.split('\n')[0] as string;
  }
}
