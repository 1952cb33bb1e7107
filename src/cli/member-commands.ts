/**
 * `keel member list|add|remove|update|promote`: membership changes through the REST
 * API (any node; the change runs on the leader). Adding a node is two steps, as in
 * etcd: `keel member add` records it in the cluster, then the node is started with
 * `keel start --join` and learns everything from the leader.
 */
import type { Command } from 'commander';
import type { KeelClient, MemberChangeResult, MemberRecord } from '../client/index.js';
import { processIo } from './cli-io.js';
import type { CliIo } from './cli-io.js';
import { run } from './client-commands.js';
import { positiveIntegerArgument, withConnectionOptions } from './endpoints-option.js';
import type { ConnectionFlags } from './endpoints-option.js';
import { table } from './format.js';
import { memberIdOf } from './etcd-flags.js';

interface JsonFlag {
  readonly json?: boolean;
}

interface AddFlags extends ConnectionFlags, JsonFlag {
  readonly peerUrls: string;
  readonly learner?: boolean;
  readonly id?: number;
  readonly initialClusterToken?: string;
}

export function registerMemberCommands(program: Command, io: CliIo = processIo): void {
  const member = program.command('member').description('list and change the cluster members (Raft membership changes)');

  withConnectionOptions(member.command('list').description('the replicated member list').option('--json', 'print GET /members as JSON')).action(
    async (flags: ConnectionFlags & JsonFlag) =>
      run(io, 'member list', flags, async (client) => {
        const list = await client.members();
        if (flags.json) {
          io.out(`${JSON.stringify(list, null, 2)}\n`);
          return;
        }
        io.out(memberTable(list.members, list.leader));
      }),
  );

  withConnectionOptions(
    member
      .command('add')
      .description('add a member (then start it with: keel start --id ID --join --members <all members, itself included>)')
      .requiredOption('--peer-urls <urls>', "the new node's peer URLs, comma-separated (http://host:peerPort)")
      .option('--learner', 'join as a non-voting learner, to promote once caught up (recommended)')
      .option('--id <n>', "the new member's id (default: one more than any id ever used)", positiveIntegerArgument)
      .option('--initial-cluster-token <token>', 'for a node started with etcd-style flags: the id it derives from its peer URL and this token')
      .option('--json', 'print the answer as JSON'),
  ).action(async (flags: AddFlags) =>
    run(io, 'member add', flags, async (client) => {
      const peerUrls = flags.peerUrls
        .split(',')
        .map((url) => url.trim())
        .filter((url) => url !== '');
      if (flags.initialClusterToken !== undefined && flags.id !== undefined)
        throw new Error('--id and --initial-cluster-token cannot be mixed: the token derives the id');
      const newId = flags.initialClusterToken !== undefined ? memberIdOf(new URL(peerUrls[0] ?? '').origin, flags.initialClusterToken) : flags.id;
      const result = await client.memberAdd(peerUrls, { isLearner: flags.learner === true, ...(newId !== undefined ? { id: newId } : {}) });
      if (flags.json) return void io.out(`${JSON.stringify(result, null, 2)}\n`);
      const { id } = result.member;
      io.out(`Member ${id} added${result.member.isLearner ? ' as a learner' : ''} with peer URLs ${result.member.peerUrls.join(',')}.\n`);
      io.out(
        `Start it with: keel start --id ${id} --join --data-dir <empty dir> --members <every member, itself included> --peer-secret-file <the cluster's secret file>\n`,
      );
      io.out(
        'Hand the new member the same cluster secret file as the others (or, with mutual TLS alone, a peer certificate from the cluster CA): peers refuse a node that cannot prove it.\n',
      );
    }),
  );

  const change = (name: string, description: string, call: (client: KeelClient, id: number) => Promise<MemberChangeResult>, done: string): void => {
    withConnectionOptions(
      member.command(name).description(description).argument('<id>', 'member id', positiveIntegerArgument).option('--json', 'print the answer as JSON'),
    ).action(async (id: number, flags: ConnectionFlags & JsonFlag) =>
      run(io, `member ${name}`, flags, async (client) => {
        const result = await call(client, id);
        io.out(flags.json ? `${JSON.stringify(result, null, 2)}\n` : `Member ${id} ${done}.\n`);
      }),
    );
  };
  change('remove', 'remove a member (it stops by itself)', (client, id) => client.memberRemove(id), 'removed');
  change('promote', 'promote a learner to a voter once it has caught up', (client, id) => client.memberPromote(id), 'promoted to a voter');

  withConnectionOptions(
    member
      .command('update')
      .description("change a member's peer URLs (restart the node on the new address)")
      .argument('<id>', 'member id', positiveIntegerArgument)
      .requiredOption('--peer-urls <urls>', 'the new peer URLs, comma-separated')
      .option('--json', 'print the answer as JSON'),
  ).action(async (id: number, flags: ConnectionFlags & JsonFlag & { peerUrls: string }) =>
    run(io, 'member update', flags, async (client) => {
      const result = await client.memberUpdate(
        id,
        flags.peerUrls.split(',').map((url) => url.trim()),
      );
      io.out(flags.json ? `${JSON.stringify(result, null, 2)}\n` : `Member ${id} now has peer URLs ${result.member.peerUrls.join(',')}.\n`);
    }),
  );
}

function memberTable(members: readonly MemberRecord[], leader: number | null): string {
  const rows = members.map((m) => [
    String(m.id),
    m.name || '(unstarted)',
    m.isLearner ? 'learner' : 'voter',
    m.peerUrls.join(','),
    m.clientUrls.join(','),
    m.grpcUrls.join(','),
    m.id === leader ? 'leader' : '',
  ]);
  return table(['ID', 'NAME', 'KIND', 'PEER-URLS', 'CLIENT-URLS', 'GRPC-URLS', 'LEADER'], rows);
}
