/**
 * The client commands: `keel put` (with --lease or --ttl), `get`, `del`, `scan`, `status`, `members`. Each
 * talks to the cluster through KeelClient (so it finds the leader and retries safely),
 * prints plain text or, with --json, the REST API's JSON, and exits with the codes of
 * cli-io.ts.
 */
import { Option } from 'commander';
import type { Command } from 'commander';
import type { KeelClient, Consistency, SortOrder, SortTarget } from '../client/index.js';
import { exitCodes, processIo } from './cli-io.js';
import type { CliIo } from './cli-io.js';
import { gatherNodes, statusJson, statusTable } from './cluster-view.js';
import { clientFor, positiveIntegerArgument, withConnectionOptions } from './endpoints-option.js';
import type { ConnectionFlags } from './endpoints-option.js';
import { describeError, getJson, oneLine, recordJson, table } from './format.js';

export interface JsonFlag {
  readonly json?: boolean;
}

interface PutFlags extends ConnectionFlags, JsonFlag {
  readonly lease?: number;
  readonly ttl?: number;
}

interface GetFlags extends ConnectionFlags, JsonFlag {
  readonly consistency?: Consistency;
  readonly rev?: number;
  readonly raw?: boolean;
}

interface ScanFlags extends ConnectionFlags, JsonFlag {
  readonly consistency?: Consistency;
  readonly limit?: number;
  readonly rev?: number;
  readonly end?: string;
  readonly sortBy?: SortTarget;
  readonly order?: SortOrder;
  readonly keysOnly?: boolean;
  readonly countOnly?: boolean;
}

export function registerClientCommands(program: Command, io: CliIo = processIo): void {
  const consistencyOption = (): Option =>
    new Option('--consistency <level>', 'linearizable (default) or serializable (may be stale, served by any node)').choices(['linearizable', 'serializable']);

  withConnectionOptions(
    program
      .command('put')
      .description('set KEY to VALUE ("-" reads the value from standard input)')
      .argument('<key>')
      .argument('<value>')
      .option('--lease <id>', 'attach an existing lease (see keel lease grant)', positiveIntegerArgument)
      .option('--ttl <seconds>', 'grant a new lease of this many seconds for the key', positiveIntegerArgument)
      .option('--json', 'print the answer as JSON'),
  ).action(async (key: string, value: string, flags: PutFlags) =>
    run(io, 'put', flags, async (client) => {
      const bytes = value === '-' ? await io.readStdin() : value;
      const result = await client.put(key, bytes, {
        ...(flags.lease === undefined ? {} : { lease: flags.lease }),
        ...(flags.ttl === undefined ? {} : { ttl: flags.ttl }),
      });
      const lease = result.lease === undefined ? '' : `, lease ${result.lease} with TTL ${result.ttl}s`;
      io.out(flags.json ? `${JSON.stringify(result)}\n` : `OK (revision ${result.revision}${lease})\n`);
    }),
  );

  withConnectionOptions(
    program
      .command('get')
      .description("print KEY's value (exit code 1 when the key does not exist)")
      .argument('<key>')
      .addOption(consistencyOption())
      .option('--rev <n>', 'read the key as it was at revision N', positiveIntegerArgument)
      .option('--raw', 'print the value exactly, without a newline after it')
      .option('--json', 'print the whole record as JSON (value as text, or valueBase64)'),
  ).action(async (key: string, flags: GetFlags) =>
    run(io, 'get', flags, async (client) => {
      const result = await client.get(key, {
        ...(flags.consistency ? { consistency: flags.consistency } : {}),
        ...(flags.rev === undefined ? {} : { revision: flags.rev }),
      });
      if (!result) {
        if (flags.json) io.out('null\n');
        io.err(`keel get: key not found: ${key}\n`);
        io.setExitCode(exitCodes.notFound);
        return;
      }
      if (flags.json) io.out(`${JSON.stringify(getJson(result))}\n`);
      else if (flags.raw) io.out(result.valueBytes);
      else {
        io.out(result.valueBytes);
        io.out('\n');
      }
    }),
  );

  withConnectionOptions(
    program
      .command('del')
      .alias('delete')
      .description('delete KEY (prints how many keys were deleted: 0 or 1)')
      .argument('<key>')
      .option('--json', 'print the answer as JSON'),
  ).action(async (key: string, flags: ConnectionFlags & JsonFlag) =>
    run(io, 'del', flags, async (client) => {
      const result = await client.delete(key);
      io.out(flags.json ? `${JSON.stringify(result)}\n` : `deleted ${result.deleted} (revision ${result.revision})\n`);
    }),
  );

  withConnectionOptions(
    program
      .command('scan')
      .description('list keys starting with PREFIX (all keys when omitted), or in [PREFIX, --end), one "key<TAB>value" per line')
      .argument('[prefix]', 'key prefix (with --end: the first key of the range)', '')
      .option('--end <key>', 'scan the range [PREFIX, END) instead of a prefix ("" for every key from PREFIX on)')
      .option('--limit <n>', 'at most N keys', positiveIntegerArgument)
      .option('--rev <n>', 'read the keys as they were at revision N', positiveIntegerArgument)
      .addOption(
        new Option('--sort-by <target>', 'sort by key (default), version, create, mod (revisions) or value').choices([
          'key',
          'version',
          'create',
          'mod',
          'value',
        ]),
      )
      .addOption(new Option('--order <order>', 'ascend or descend (default ascend; with --sort-by, the order of that target)').choices(['ascend', 'descend']))
      .option('--keys-only', 'print keys only')
      .option('--count-only', 'print only how many keys match')
      .addOption(consistencyOption())
      .option('--json', 'print the answer as JSON: {kvs, count, more, revision}'),
  ).action(async (prefix: string, flags: ScanFlags) =>
    run(io, 'scan', flags, async (client) => {
      const result = await client.scan(prefix, {
        ...(flags.limit === undefined ? {} : { limit: flags.limit }),
        ...(flags.consistency ? { consistency: flags.consistency } : {}),
        ...(flags.rev === undefined ? {} : { revision: flags.rev }),
        ...(flags.end === undefined ? {} : { end: flags.end }),
        ...(flags.sortBy ? { sortBy: flags.sortBy } : {}),
        ...(flags.order ? { order: flags.order } : {}),
        ...(flags.keysOnly ? { keysOnly: true } : {}),
        ...(flags.countOnly ? { countOnly: true } : {}),
      });
      if (flags.countOnly && !flags.json) {
        io.out(`${result.count}\n`);
        return;
      }
      if (flags.keysOnly && !flags.json) {
        for (const kv of result.kvs) io.out(`${oneLine(kv.keyBytes)}\n`);
        if (result.more) io.err(`(${result.kvs.length} of ${result.count} keys shown; raise --limit for more)\n`);
        return;
      }
      if (flags.json) {
        io.out(`${JSON.stringify({ kvs: result.kvs.map(recordJson), count: result.count, more: result.more, revision: result.revision })}\n`);
        return;
      }
      for (const kv of result.kvs) io.out(`${oneLine(kv.keyBytes)}\t${oneLine(kv.valueBytes)}\n`);
      if (result.more) io.err(`(${result.kvs.length} of ${result.count} keys shown; raise --limit for more)\n`);
    }),
  );

  withConnectionOptions(
    program
      .command('status')
      .description("a table of every member's state: role, term, leader, commit and applied index, revision, health")
      .option('--json', 'print the nodes as JSON'),
  ).action(async (flags: ConnectionFlags & JsonFlag) =>
    run(
      io,
      'status',
      flags,
      async (client) => {
        const nodes = await gatherNodes(client);
        io.out(flags.json ? `${JSON.stringify(statusJson(nodes), null, 2)}\n` : statusTable(nodes));
        if (nodes.every((n) => n.status === undefined)) {
          io.err(`keel status: no node answered (${nodes.map((n) => n.endpoint).join(', ')})\n`);
          io.setExitCode(exitCodes.failed);
        }
      },
      { retries: 1 },
    ),
  );

  withConnectionOptions(
    program.command('members').description('list the cluster members and mark the leader').option('--json', 'print /cluster/info as JSON'),
  ).action(async (flags: ConnectionFlags & JsonFlag) =>
    run(io, 'members', flags, async (client) => {
      const info = await client.clusterInfo();
      if (flags.json) {
        io.out(`${JSON.stringify(info, null, 2)}\n`);
        return;
      }
      const rows = info.members.map((m) => [
        String(m.id),
        m.clientUrl,
        `${m.host}:${m.peerPort}`,
        m.voter ? 'voter' : 'learner',
        m.id === info.leader ? 'leader' : '',
      ]);
      io.out(table(['ID', 'CLIENT-URL', 'PEER', 'KIND', 'LEADER'], rows));
    }),
  );
}

/** Builds the client, runs the command, turns an error into a message and an exit code. */
/** Builds the client, runs the command, turns an error into a message and an exit code (every client command uses it). */
export async function run(
  io: CliIo,
  name: string,
  flags: ConnectionFlags,
  body: (client: KeelClient) => Promise<void>,
  clientOptions: { readonly retries?: number } = {},
): Promise<void> {
  try {
    await body(clientFor(flags, io, clientOptions));
  } catch (error) {
    const { code, message } = describeError(error);
    io.err(`keel ${name}: ${message}\n`);
    io.setExitCode(code);
  }
}
