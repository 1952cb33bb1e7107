/**
 * `keel bench`: measures throughput and latency of puts or gets against a cluster,
 * through Keel's REST client or the etcd v3 gRPC API (of Keel, or of a real etcd), with
 * a progress bar on a terminal and a plain or JSON summary at the end.
 */
import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import { exitCodes, processIo } from './cli-io.js';
import type { CliIo } from './cli-io.js';
import { benchClientsMax, benchWatchersDefault, benchWatchersMax, checkBenchOptions, formatBenchResult, prefill, runBench } from './bench.js';
import type { BenchOp, BenchOptions, BenchProgress } from './bench.js';
import { clientFor, parseEndpointList, positiveIntegerArgument, resolveTls, withConnectionOptions } from './endpoints-option.js';
import { etcdGrpcTarget, restTarget } from './bench-targets.js';
import type { BenchTarget } from './bench-targets.js';
import type { ConnectionFlags } from './endpoints-option.js';
import { describeError } from './format.js';
import type { Consistency } from '../client/index.js';

interface BenchFlags extends ConnectionFlags {
  readonly target: BenchTarget['name'];
  readonly clients: number;
  readonly op: BenchOp;
  readonly consistency: Consistency;
  readonly valueSize: number;
  readonly keys: number;
  readonly duration?: number;
  readonly requests?: number;
  readonly keyPrefix: string;
  readonly prefill: boolean;
  readonly watchers?: number;
  readonly json?: boolean;
}

/** Without --duration, a run bounded by --requests still stops after this long. */
const requestsRunDurationMaxS = 600;
const defaultDurationS = 10;

function nonNegativeIntegerArgument(text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value)) throw new InvalidArgumentError('expected a non-negative integer');
  return value;
}

function secondsArgument(text: string): number {
  const value = Number(text);
  if (!(Number.isFinite(value) && value > 0)) throw new InvalidArgumentError('expected a positive number of seconds');
  return value;
}

export function benchOptionsFrom(flags: BenchFlags): BenchOptions {
  const durationS = flags.duration ?? (flags.requests === undefined ? defaultDurationS : requestsRunDurationMaxS);
  const options: BenchOptions = {
    clients: flags.clients,
    op: flags.op,
    consistency: flags.consistency,
    valueSize: flags.valueSize,
    keys: flags.keys,
    durationMs: durationS * 1000,
    requests: flags.requests,
    keyPrefix: flags.keyPrefix,
    prefill: flags.prefill,
    watchers: flags.op === 'watch' ? (flags.watchers ?? benchWatchersDefault) : undefined,
  };
  if (flags.watchers !== undefined && flags.op !== 'watch') throw new RangeError('--watchers is for --op watch');
  checkBenchOptions(options);
  return options;
}

export function registerBench(program: Command, io: CliIo = processIo): void {
  withConnectionOptions(
    program
      .command('bench')
      .description('measure put, get, txn, keep-alive or watch fan-out throughput and latency (p50/p90/p99/max) with concurrent clients')
      .addOption(
        new Option(
          '--target <api>',
          `rest: Keel's REST API through the client library; etcd-grpc: the etcd v3 gRPC KV API of Keel or etcd (--endpoints host:port,..., default ${defaultGrpcEndpoints.join(',')})`,
        )
          .choices(['rest', 'etcd-grpc'])
          .default('rest'),
      )
      .option('--clients <n>', `concurrent clients, each with one request in flight (1..${benchClientsMax})`, positiveIntegerArgument, 16)
      .addOption(
        new Option(
          '--op <op>',
          'the operation (keepalive: each client renews its own lease; txn: a compare and a put in one transaction; watch: the clients put while --watchers watchers receive every put; txn and watch through --target etcd-grpc)',
        )
          .choices(['put', 'get', 'keepalive', 'txn', 'watch'])
          .default('put'),
      )
      .option(
        '--watchers <n>',
        `for watch: watchers of the key prefix, each its own stream (1..${benchWatchersMax}, default ${benchWatchersDefault})`,
        positiveIntegerArgument,
      )
      .addOption(new Option('--consistency <level>', 'for get').choices(['linearizable', 'serializable']).default('linearizable'))
      .option('--value-size <bytes>', 'bytes per value', nonNegativeIntegerArgument, 256)
      .option('--keys <n>', 'size of the key space; each request picks a key at random', positiveIntegerArgument, 1000)
      .option('--duration <s>', `run this many seconds (default ${defaultDurationS}, or at most ${requestsRunDurationMaxS} with --requests)`, secondsArgument)
      .option('--requests <n>', 'stop after N requests', positiveIntegerArgument)
      .option('--key-prefix <prefix>', 'prefix of the benchmark keys', 'bench/')
      .option('--no-prefill', 'for get: do not write the key space first')
      .option('--json', 'print the result as JSON'),
  ).action(async (flags: BenchFlags) => {
    try {
      const options = benchOptionsFrom(flags);
      const target = targetFor(flags, io);
      let result;
      try {
        if (options.op === 'get' && options.prefill) {
          io.err(`prefilling ${options.keys} keys...\n`);
          await prefill(target, options);
        }
        const bar = io.errIsTty ? await progressBar(options) : undefined;
        result = await runBench(target, options, bar ? { onProgress: bar.update, progressEveryMs: 200 } : {});
        bar?.stop();
      } finally {
        target.close();
      }
      io.out(flags.json ? `${JSON.stringify(result, null, 2)}\n` : formatBenchResult(result));
      if (result.ok === 0) io.setExitCode(exitCodes.failed);
    } catch (error) {
      const { code, message } = describeError(error);
      io.err(`keel bench: ${message}\n`);
      io.setExitCode(code);
    }
  });
}

/** `keel cluster up`'s client ports, which serve gRPC too. */
const defaultGrpcEndpoints = ['127.0.0.1:7001', '127.0.0.1:7002', '127.0.0.1:7003'] as const;

/**
 * The REST target takes --endpoints or KEEL_ENDPOINTS (client URLs); the etcd-grpc
 * target only --endpoints (client URLs or host:port, of Keel or of etcd).
 */
function targetFor(flags: BenchFlags, io: CliIo): BenchTarget {
  if (flags.target === 'rest') return restTarget(clientFor(flags, io));
  const endpoints = flags.endpoints === undefined ? [...defaultGrpcEndpoints] : parseEndpointList(flags.endpoints).map((url) => new URL(url).host);
  return etcdGrpcTarget(endpoints, flags.timeout, resolveTls(flags, io.env));
}

/** A bar on stderr counting requests (with --requests) or seconds. */
async function progressBar(options: BenchOptions): Promise<{ update: (p: BenchProgress) => void; stop: () => void }> {
  // Loaded only for a bar, not by every `keel` command (a node's start-up included).
  const { default: cliProgress } = await import('cli-progress');
  const byRequests = options.requests !== undefined;
  const total = byRequests ? options.requests! : Math.round(options.durationMs / 1000);
  const bar = new cliProgress.SingleBar(
    {
      format: `${options.op} |{bar}| {value}/{total} ${byRequests ? 'requests' : 's'} | {rate} ops/s | {errors} errors`,
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { rate: '0', errors: 0 });
  return {
    update: (p) => {
      const value = byRequests ? p.started : Math.min(total, Math.floor(p.elapsedMs / 1000));
      const rate = p.elapsedMs > 0 ? ((p.ok / p.elapsedMs) * 1000).toFixed(0) : '0';
      bar.update(value, { rate, errors: p.errors });
    },
    stop: () => bar.stop(),
  };
}
