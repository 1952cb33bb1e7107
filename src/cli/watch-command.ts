/**
 * `keel watch KEY [--prefix] [--rev N] [--prev-kv] [--json]`: prints each change as it
 * is applied, one line per event (`PUT<TAB>key<TAB>value`, `DELETE<TAB>key`, with
 * `--prev-kv` the previous value after another tab), or with --json one JSON object
 * per revision batch. Runs until Ctrl-C; resumes on another node by itself.
 */
import type { Command } from 'commander';
import type { WatchBatch } from '../client/index.js';
import { processIo, type CliIo } from './cli-io.js';
import { clientFor, positiveIntegerArgument, withConnectionOptions, type ConnectionFlags } from './endpoints-option.js';
import { describeError, oneLine, recordJson } from './format.js';

interface WatchFlags extends ConnectionFlags {
  readonly prefix?: boolean;
  readonly rev?: number;
  readonly prevKv?: boolean;
  readonly json?: boolean;
}

export function registerWatchCommand(program: Command, io: CliIo = processIo): void {
  withConnectionOptions(
    program
      .command('watch')
      .description('print changes to KEY (or, with --prefix, every key under it) as they happen, until Ctrl-C')
      .argument('<key>')
      .option('--prefix', 'watch every key starting with KEY')
      .option('--rev <n>', 'start at revision N (replays history from there)', positiveIntegerArgument)
      .option('--prev-kv', 'also print the value before each change')
      .option('--json', 'one JSON object per batch: {"revision", "events": [...]}'),
  ).action(async (key: string, flags: WatchFlags) => {
    const stop = new AbortController();
    const onSignal = (): void => stop.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      const client = clientFor(flags, io);
      for await (const batch of client.watch(key, {
        ...(flags.prefix ? { prefix: true } : {}),
        ...(flags.rev === undefined ? {} : { revision: flags.rev }),
        ...(flags.prevKv ? { prevKv: true } : {}),
        signal: stop.signal,
      })) {
        io.out(flags.json ? `${JSON.stringify(batchJson(batch))}\n` : batchLines(batch, flags.prevKv === true));
      }
    } catch (error) {
      const { code, message } = describeError(error);
      io.err(`keel watch: ${message}\n`);
      io.setExitCode(code);
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  });
}

function batchLines(batch: WatchBatch, withPrev: boolean): string {
  return batch.events
    .map((e) => {
      const fields = e.type === 'put' ? ['PUT', oneLine(e.kv.keyBytes), oneLine(e.kv.valueBytes)] : ['DELETE', oneLine(e.kv.keyBytes)];
      if (withPrev && e.prevKv) fields.push(oneLine(e.prevKv.valueBytes));
      return `${fields.join('\t')}\n`;
    })
    .join('');
}

function batchJson(batch: WatchBatch): Record<string, unknown> {
  return {
    revision: batch.revision,
    events: batch.events.map((e) => ({ type: e.type, kv: recordJson(e.kv), ...(e.prevKv ? { prevKv: recordJson(e.prevKv) } : {}) })),
  };
}
