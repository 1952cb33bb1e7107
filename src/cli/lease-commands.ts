/**
 * `keel lease grant|revoke|keep-alive|ttl|list`: leases through KeelClient, printed as
 * text or, with --json, as the REST API's JSON. An unknown (expired or revoked) lease
 * exits with 1, as `keel get` does for a missing key.
 */
import type { Command } from 'commander';
import { KeelClientError, sleep } from '../client/index.js';
import { exitCodes, processIo } from './cli-io.js';
import type { CliIo } from './cli-io.js';
import { run } from './client-commands.js';
import { positiveIntegerArgument, withConnectionOptions } from './endpoints-option.js';
import type { ConnectionFlags } from './endpoints-option.js';
import { oneLine, table } from './format.js';

interface JsonFlag extends ConnectionFlags {
  readonly json?: boolean;
}

export function registerLeaseCommands(program: Command, io: CliIo = processIo): void {
  const lease = program.command('lease').description('grant, renew, inspect and revoke leases (keys attached to a lease go when it does)');
  const notFound = (id: number): void => {
    io.err(`keel lease: lease ${id} not found (expired or revoked)\n`);
    io.setExitCode(exitCodes.notFound);
  };
  const gone = (error: unknown): boolean => error instanceof KeelClientError && error.code === 'LEASE_NOT_FOUND';

  withConnectionOptions(
    lease
      .command('grant')
      .description('grant a lease of TTL seconds (raised to the cluster minimum) and print its id')
      .argument('<ttl>', 'seconds', positiveIntegerArgument)
      .option('--id <id>', 'the lease id to use (default: chosen by the server)', positiveIntegerArgument)
      .option('--json', 'print the answer as JSON'),
  ).action(async (ttl: number, flags: JsonFlag & { readonly id?: number }) =>
    run(io, 'lease grant', flags, async (client) => {
      const granted = await client.leaseGrant(ttl, flags.id === undefined ? {} : { id: flags.id });
      io.out(flags.json ? `${JSON.stringify(granted)}\n` : `lease ${granted.id} granted with TTL ${granted.ttl}s\n`);
    }),
  );

  withConnectionOptions(
    lease
      .command('revoke')
      .description('revoke a lease, deleting every key attached to it')
      .argument('<id>', 'lease id', positiveIntegerArgument)
      .option('--json', 'print the answer as JSON'),
  ).action(async (id: number, flags: JsonFlag) =>
    run(io, 'lease revoke', flags, async (client) => {
      try {
        const result = await client.leaseRevoke(id);
        io.out(flags.json ? `${JSON.stringify(result)}\n` : `lease ${id} revoked, ${result.deleted} keys deleted (revision ${result.revision})\n`);
      } catch (error) {
        if (!gone(error)) throw error;
        notFound(id);
      }
    }),
  );

  withConnectionOptions(
    lease
      .command('keep-alive')
      .description('renew a lease every TTL/3 seconds until interrupted (or once with --once)')
      .argument('<id>', 'lease id', positiveIntegerArgument)
      .option('--once', 'renew once and exit')
      .option('--json', 'print each answer as JSON'),
  ).action(async (id: number, flags: JsonFlag & { readonly once?: boolean }) =>
    run(io, 'lease keep-alive', flags, async (client) => {
      // Bounded like every loop here: a lease outliving this many renewals needs a new run.
      for (let renewalsLeft = flags.once ? 1 : 1_000_000; renewalsLeft > 0; renewalsLeft--) {
        let renewed;
        try {
          renewed = await client.leaseKeepAlive(id);
        } catch (error) {
          if (!gone(error)) throw error;
          notFound(id);
          return;
        }
        io.out(flags.json ? `${JSON.stringify(renewed)}\n` : `lease ${id} keepalived with TTL ${renewed.ttl}s\n`);
        // etcd's clients renew at a third of the TTL: two renewals may fail before it runs out.
        if (renewalsLeft > 1) await sleep((renewed.ttl * 1000) / 3);
      }
    }),
  );

  withConnectionOptions(
    lease
      .command('ttl')
      .alias('timetolive')
      .description("print a lease's seconds left and granted TTL (exit code 1 when it is gone)")
      .argument('<id>', 'lease id', positiveIntegerArgument)
      .option('--keys', 'also list the keys attached to it')
      .option('--json', 'print the answer as JSON'),
  ).action(async (id: number, flags: JsonFlag & { readonly keys?: boolean }) =>
    run(io, 'lease ttl', flags, async (client) => {
      const info = await client.leaseTimeToLive(id, { keys: flags.keys === true });
      if (!info) return notFound(id);
      if (flags.json) {
        io.out(`${JSON.stringify({ ...info, keys: info.keys.map((k) => k.key) })}\n`);
        return;
      }
      io.out(`lease ${id}: ${info.ttl}s left of ${info.grantedTtl}s\n`);
      for (const key of info.keys) io.out(`${oneLine(key.keyBytes)}\n`);
    }),
  );

  withConnectionOptions(lease.command('list').description('list every lease with its granted TTL').option('--json', 'print the answer as JSON')).action(
    async (flags: JsonFlag) =>
      run(io, 'lease list', flags, async (client) => {
        const list = await client.leases();
        io.out(
          flags.json
            ? `${JSON.stringify(list)}\n`
            : table(
                ['ID', 'GRANTED-TTL'],
                list.leases.map((l) => [String(l.id), `${l.grantedTtl}s`]),
              ),
        );
      }),
  );
}
