/**
 * `keel snapshot save FILE`: download one node's whole store (its snapshot, with its
 * SHA-256 checksum, kv/snapshot-format.ts), check it, and keep it only whole: written to
 * FILE.part, fsynced, then renamed.
 * `keel snapshot restore FILE --data-dir DIR --id N --members ...`: a data directory for
 * member N of a NEW cluster seeded with it (server/restore-data-dir.ts); restore each
 * member's directory from the same file with the same --members, then start them. FILE
 * may also be the etcd snapshot `etcdctl snapshot save` wrote from a Keel cluster.
 */
import type { Command } from 'commander';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { decodeSnapshot, keelSnapshotIn } from '../kv/index.js';
import { downloadSnapshot } from '../client/index.js';
import { restoreDataDir } from '../server/index.js';
import { exitCodes, processIo } from './cli-io.js';
import type { CliIo } from './cli-io.js';
import { positiveIntegerArgument, resolveEndpoints, resolveTls, withConnectionOptions } from './endpoints-option.js';
import type { ConnectionFlags } from './endpoints-option.js';
import { parseMembers } from './node-config.js';

interface RestoreFlags {
  readonly dataDir: string;
  readonly id: number;
  readonly members: string;
}

/** Member ids from `1,2,3` or from the `id=host:peer:client[:grpc],...` list `keel start` takes. */
function memberIds(text: string): number[] {
  if (text.includes('=')) return parseMembers(text).map((m) => m.id);
  return text.split(',').map((part) => positiveIntegerArgument(part.trim()));
}

export function registerSnapshot(program: Command, io: CliIo = processIo): void {
  const snapshot = program.command('snapshot').description('save a snapshot of the store, or restore one into a new cluster');

  withConnectionOptions(snapshot.command('save').description("save the first endpoint's whole store to FILE").argument('<file>')).action(
    async (file: string, flags: ConnectionFlags) => {
      const part = `${file}.part`;
      try {
        const endpoint = resolveEndpoints(flags.endpoints, io.env)[0] as string;
        const download = await downloadSnapshot(endpoint, flags.timeout ?? 10 * 60_000, resolveTls(flags, io.env));
        decodeSnapshot(download.data);
        const handle = await open(part, 'w');
        try {
          await handle.writeFile(download.data);
          await handle.sync();
        } finally {
          await handle.close();
        }
        await rename(part, file);
        io.out(`Snapshot saved at ${file} (${download.data.length} bytes, revision ${download.revision}, from ${endpoint})\n`);
      } catch (error) {
        await rm(part, { force: true });
        io.err(`keel snapshot save: ${error instanceof Error ? error.message : String(error)}\n`);
        io.setExitCode(exitCodes.failed);
      }
    },
  );

  snapshot
    .command('restore')
    .description('create the data directory of member --id of a NEW cluster from a saved snapshot')
    .argument('<file>')
    .requiredOption('--data-dir <dir>', 'the directory to create (must not exist or be empty)')
    .requiredOption('--id <n>', 'this member of the new cluster', positiveIntegerArgument)
    .requiredOption('--members <list>', 'the new cluster: ids (1,2,3) or the member list keel start takes')
    .action(async (file: string, flags: RestoreFlags) => {
      try {
        const data = await keelSnapshotIn(new Uint8Array(await readFile(file)));
        const result = await restoreDataDir({ snapshot: data, dataDir: flags.dataDir, id: flags.id, memberIds: memberIds(flags.members) });
        io.out(
          `Restored ${file} into ${flags.dataDir} for member ${flags.id}: revision ${result.revision}, ${result.keys} keys, compacted up to ${result.compactedRevision}\n`,
        );
      } catch (error) {
        io.err(`keel snapshot restore: ${error instanceof Error ? error.message : String(error)}\n`);
        io.setExitCode(exitCodes.failed);
      }
    });
}
