/**
 * `keel history KEY`: the key's versions still in the cluster's history, one line each
 * (revision, put or delete, version, create revision, value), newest first.
 */
import { Option } from 'commander';
import type { Command } from 'commander';
import type { HistoryResult, Consistency } from '../client/index.js';
import { processIo } from './cli-io.js';
import type { CliIo } from './cli-io.js';
import { run, type JsonFlag } from './client-commands.js';
import { positiveIntegerArgument, withConnectionOptions } from './endpoints-option.js';
import type { ConnectionFlags } from './endpoints-option.js';
import { oneLine, table } from './format.js';

interface HistoryFlags extends ConnectionFlags, JsonFlag {
  readonly limit?: number;
  readonly order?: 'ascend' | 'descend';
  readonly rev?: number;
  readonly minRev?: number;
  readonly consistency?: Consistency;
}

export function registerHistory(program: Command, io: CliIo = processIo): void {
  withConnectionOptions(
    program
      .command('history')
      .description("KEY's versions still in the history (puts and deletions), newest first")
      .argument('<key>')
      .option('--limit <n>', 'at most N versions (default and maximum 1000)', positiveIntegerArgument)
      .addOption(new Option('--order <order>', 'descend (newest first, default) or ascend (oldest first)').choices(['ascend', 'descend']))
      .option('--rev <n>', 'versions written at or before revision N', positiveIntegerArgument)
      .option('--min-rev <n>', 'versions written at or after revision N', positiveIntegerArgument)
      .addOption(new Option('--consistency <level>', 'linearizable (default) or serializable').choices(['linearizable', 'serializable']))
      .option('--json', 'print the answer as JSON: {versions, more, revision, compactRevision}'),
  ).action(async (key: string, flags: HistoryFlags) =>
    run(io, 'history', flags, async (client) => {
      const result = await client.history(key, {
        ...(flags.limit === undefined ? {} : { limit: flags.limit }),
        ...(flags.order ? { order: flags.order } : {}),
        ...(flags.rev === undefined ? {} : { revision: flags.rev }),
        ...(flags.minRev === undefined ? {} : { minRevision: flags.minRev }),
        ...(flags.consistency ? { consistency: flags.consistency } : {}),
      });
      if (flags.json) {
        io.out(`${JSON.stringify(historyJson(result))}\n`);
        return;
      }
      io.out(historyTable(result));
      if (result.more) {
        const last = result.versions.at(-1)?.modRevision ?? 0;
        const next = flags.order === 'ascend' ? `--order ascend --min-rev ${last + 1}` : `--rev ${last - 1}`;
        io.err(`(${result.versions.length} versions shown; more with ${next})\n`);
      }
    }),
  );
}

export function historyTable(result: HistoryResult): string {
  const rows = result.versions.map((v) =>
    v.type === 'delete'
      ? [String(v.modRevision), 'delete', '', '', '']
      : [String(v.modRevision), 'put', String(v.version), String(v.createRevision), oneLine(v.valueBytes)],
  );
  return table(['REVISION', 'EVENT', 'VERSION', 'CREATED', 'VALUE'], rows, new Set([0, 2, 3]));
}

function historyJson(result: HistoryResult): object {
  return {
    versions: result.versions.map((v) =>
      v.type === 'delete'
        ? v
        : { type: 'put', value: v.value, createRevision: v.createRevision, modRevision: v.modRevision, version: v.version, lease: v.lease },
    ),
    more: result.more,
    revision: result.revision,
    compactRevision: result.compactRevision,
  };
}
