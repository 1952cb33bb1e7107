/**
 * Maintenance commands, after etcdctl's: `keel endpoint status|health|hashkv`,
 * `keel alarm list|disarm`, `keel defrag`, `keel move-leader`. Commands about nodes ask
 * each endpoint given (or, with --cluster, every member /cluster/info lists) directly,
 * so one dead node shows as such without hiding the others.
 */
import type { Command } from 'commander';
import type { KeelClient, NodeStatus } from '../client/index.js';
import { exitCodes, processIo } from './cli-io.js';
import type { CliIo } from './cli-io.js';
import { run } from './client-commands.js';
import { positiveIntegerArgument, withConnectionOptions } from './endpoints-option.js';
import type { ConnectionFlags } from './endpoints-option.js';
import { table } from './format.js';

interface NodeFlags extends ConnectionFlags {
  readonly cluster?: boolean;
  readonly json?: boolean;
}

/** The endpoints to ask: every member's with --cluster, else the ones given. */
async function targets(client: KeelClient, flags: NodeFlags): Promise<readonly string[]> {
  if (!flags.cluster) return client.endpoints();
  const info = await client.clusterInfo();
  return info.members.map((m) => m.clientUrl);
}

/** Runs `ask` on every endpoint at once; failures are reported, not thrown. */
async function eachNode<T>(
  endpoints: readonly string[],
  ask: (endpoint: string) => Promise<T>,
): Promise<Array<{ endpoint: string; value?: T; error?: string }>> {
  return Promise.all(
    endpoints.map(async (endpoint) => {
      try {
        return { endpoint, value: await ask(endpoint) };
      } catch (error) {
        return { endpoint, error: error instanceof Error ? error.message : String(error) };
      }
    }),
  );
}

function nodeCommand(program: Command, name: string, description: string): Command {
  return withConnectionOptions(program.command(name).description(description))
    .option('--cluster', 'ask every member listed by /cluster/info, not only the endpoints given')
    .option('--json', 'print JSON');
}

const mib = (bytes: number): string => (bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(0)} kB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`);

function statusErrors(s: NodeStatus): string {
  return s.alarms.map((a) => `alarm:${a.alarm} (member ${a.memberId})`).join(', ');
}

export function registerMaintenanceCommands(program: Command, io: CliIo = processIo): void {
  const endpoint = program.command('endpoint').description("each endpoint's status, health or key-space hash");

  nodeCommand(endpoint, 'status', 'version, database size, leader, Raft term and indexes, and alarms of each endpoint').action(async (flags: NodeFlags) =>
    run(
      io,
      'endpoint status',
      flags,
      async (client) => {
        const answers = await eachNode(await targets(client, flags), (e) => client.status(e));
        if (flags.json)
          io.out(
            `${JSON.stringify(
              answers.map((a) => ({ endpoint: a.endpoint, ...(a.value ? { status: a.value } : { error: a.error }) })),
              null,
              2,
            )}\n`,
          );
        else {
          const rows = answers.map(({ endpoint: url, value: s, error }) =>
            s
              ? [
                  url,
                  String(s.id),
                  s.version,
                  mib(s.dbSize),
                  mib(s.dbSizeInUse),
                  String(s.leader === s.id),
                  String(s.isLearner),
                  String(s.term),
                  String(s.commit),
                  String(s.applied),
                  statusErrors(s),
                ]
              : [url, '-', '-', '-', '-', '-', '-', '-', '-', '-', `unreachable: ${error}`],
          );
          io.out(
            table(['ENDPOINT', 'ID', 'VERSION', 'DB SIZE', 'IN USE', 'IS LEADER', 'IS LEARNER', 'RAFT TERM', 'RAFT INDEX', 'APPLIED INDEX', 'ERRORS'], rows),
          );
        }
        if (answers.some((a) => a.error !== undefined)) io.setExitCode(exitCodes.failed);
      },
      { retries: 0 },
    ),
  );

  nodeCommand(endpoint, 'health', 'whether each endpoint knows a leader and the cluster has no alarm (exit code 3 if any is unhealthy)').action(
    async (flags: NodeFlags) =>
      run(
        io,
        'endpoint health',
        flags,
        async (client) => {
          const answers = await eachNode(await targets(client, flags), async (e) => {
            const started = performance.now();
            const status = await client.status(e);
            const problems: string[] = [];
            if (status.leader === null) problems.push('no leader');
            const errors = statusErrors(status);
            if (errors) problems.push(`active alarm(s): ${errors}`);
            return { healthy: problems.length === 0, tookMs: performance.now() - started, problems };
          });
          if (flags.json) io.out(`${JSON.stringify(answers, null, 2)}\n`);
          for (const a of answers) {
            if (flags.json) break;
            if (a.value?.healthy) io.out(`${a.endpoint} is healthy: took ${a.value.tookMs.toFixed(1)} ms\n`);
            else io.err(`${a.endpoint} is unhealthy: ${a.value ? a.value.problems.join('; ') : a.error}\n`);
          }
          if (answers.some((a) => !a.value?.healthy)) io.setExitCode(exitCodes.failed);
        },
        { retries: 0 },
      ),
  );

  nodeCommand(endpoint, 'hashkv', "a hash of each endpoint's key-space history up to a revision; equal on every member at one revision")
    .option('--rev <n>', "hash up to revision N (default: each node's current revision)", positiveIntegerArgument)
    .action(async (flags: NodeFlags & { readonly rev?: number }) =>
      run(
        io,
        'endpoint hashkv',
        flags,
        async (client) => {
          const answers = await eachNode(await targets(client, flags), (e) => client.hashKv(e, flags.rev ?? 0));
          if (flags.json) io.out(`${JSON.stringify(answers, null, 2)}\n`);
          else {
            const rows = answers.map(({ endpoint: url, value: h, error }) =>
              h ? [url, String(h.id), String(h.hash), String(h.revision), String(h.compactRevision)] : [url, '-', `error: ${error}`, '-', '-'],
            );
            io.out(table(['ENDPOINT', 'ID', 'HASH', 'HASH REVISION', 'COMPACT REVISION'], rows));
          }
          if (answers.some((a) => a.error !== undefined)) io.setExitCode(exitCodes.failed);
        },
        { retries: 0 },
      ),
    );

  const alarm = program.command('alarm').description('alarms: NOSPACE (storage quota exceeded: writes refused) and CORRUPT');
  withConnectionOptions(alarm.command('list').description('list active alarms')).action(async (flags: ConnectionFlags) =>
    run(io, 'alarm list', flags, async (client) => {
      for (const a of await client.alarms()) io.out(`memberID:${a.memberId} alarm:${a.alarm}\n`);
    }),
  );
  withConnectionOptions(alarm.command('disarm').description('clear every active alarm (after freeing space: compact, defrag)')).action(
    async (flags: ConnectionFlags) =>
      run(io, 'alarm disarm', flags, async (client) => {
        for (const a of await client.alarms()) {
          for (const cleared of await client.setAlarm('deactivate', a)) io.out(`memberID:${cleared.memberId} alarm:${cleared.alarm}\n`);
        }
      }),
  );

  nodeCommand(program, 'defrag', "rewrite each endpoint's key-value file without its free pages (the node pauses meanwhile)").action(async (flags: NodeFlags) =>
    run(
      io,
      'defrag',
      flags,
      async (client) => {
        const answers = await eachNode(await targets(client, flags), (e) => client.defragment(e, { timeoutMs: 10 * 60_000 }));
        if (flags.json) io.out(`${JSON.stringify(answers, null, 2)}\n`);
        for (const a of answers) {
          if (flags.json) break;
          if (a.value) io.out(`Finished defragmenting ${a.endpoint}: ${mib(a.value.beforeBytes)} -> ${mib(a.value.afterBytes)}\n`);
          else io.err(`Failed to defragment ${a.endpoint}: ${a.error}\n`);
        }
        if (answers.some((a) => a.error !== undefined)) io.setExitCode(exitCodes.failed);
      },
      { retries: 0 },
    ),
  );

  withConnectionOptions(
    program.command('move-leader').description('make node ID the leader; waits until it leads').argument('<id>', 'the new leader', positiveIntegerArgument),
  )
    .option('--wait <ms>', 'how long the new leader may take to take over', positiveIntegerArgument)
    .action(async (id: number, flags: ConnectionFlags & { readonly wait?: number }) =>
      run(io, 'move-leader', flags, async (client) => {
        await client.moveLeader(id, flags.wait === undefined ? {} : { waitMs: flags.wait });
        io.out(`Leadership transferred to node ${id}\n`);
      }),
    );
}
