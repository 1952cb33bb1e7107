/**
 * `keel record set|get|del`: records with named fields (the /records routes).
 *
 *   keel record set KEY name=value [name=value...]   set fields (atomically); --replace: only these
 *   keel record get KEY [FIELD]                       "field<TAB>value" lines, or one field's value
 *   keel record del KEY [FIELD]                       the whole record, or one field
 */
import type { Command } from 'commander';
import type { KeelClient, Consistency } from '../client/index.js';
import { exitCodes, processIo } from './cli-io.js';
import type { CliIo } from './cli-io.js';
import { run, type JsonFlag } from './client-commands.js';
import { positiveIntegerArgument, withConnectionOptions } from './endpoints-option.js';
import type { ConnectionFlags } from './endpoints-option.js';
import { oneLine } from './format.js';

interface SetFlags extends ConnectionFlags, JsonFlag {
  readonly replace?: boolean;
}

interface GetFlags extends ConnectionFlags, JsonFlag {
  readonly rev?: number;
  readonly consistency?: Consistency;
}

export function registerRecord(program: Command, io: CliIo = processIo): void {
  const record = program.command('record').description('records with named fields: set, get, del');

  withConnectionOptions(
    record
      .command('set')
      .description('set fields of the record KEY, atomically (name=value; name= for an empty value)')
      .argument('<key>')
      .argument('<fields...>', 'name=value pairs')
      .option('--replace', 'the record holds only these fields afterwards')
      .option('--json', 'print the answer as JSON'),
  ).action(async (key: string, pairs: string[], flags: SetFlags) =>
    run(io, 'record set', flags, async (client) => {
      const fields = parsePairs(pairs);
      const result = flags.replace ? await client.records.replace(key, fields) : await client.records.set(key, fields);
      io.out(flags.json ? `${JSON.stringify(result)}\n` : `OK (revision ${result.revision})\n`);
    }),
  );

  withConnectionOptions(
    record
      .command('get')
      .description('print the record KEY as "field<TAB>value" lines, or the value of FIELD (exit code 1 when absent)')
      .argument('<key>')
      .argument('[field]')
      .option('--rev <n>', 'read the record as it was at revision N', positiveIntegerArgument)
      .option('--consistency <level>', 'linearizable (default) or serializable')
      .option('--json', 'print the answer as JSON'),
  ).action(async (key: string, field: string | undefined, flags: GetFlags) =>
    run(io, 'record get', flags, async (client) => {
      const options = { ...(flags.rev === undefined ? {} : { revision: flags.rev }), ...(flags.consistency ? { consistency: flags.consistency } : {}) };
      const found =
        field === undefined
          ? await printRecord(client, key, options, flags.json === true, io)
          : await printField(client, key, field, options, flags.json === true, io);
      if (!found) {
        io.err(`keel record get: ${field === undefined ? `record not found: ${key}` : `field not found: ${key} ${field}`}\n`);
        io.setExitCode(exitCodes.notFound);
      }
    }),
  );

  withConnectionOptions(
    record
      .command('del')
      .alias('delete')
      .description('delete the record KEY (all its fields), or only FIELD')
      .argument('<key>')
      .argument('[field]')
      .option('--json', 'print the answer as JSON'),
  ).action(async (key: string, field: string | undefined, flags: ConnectionFlags & JsonFlag) =>
    run(io, 'record del', flags, async (client) => {
      const result = field === undefined ? await client.records.delete(key) : await client.records.deleteField(key, field);
      io.out(flags.json ? `${JSON.stringify(result)}\n` : `deleted ${result.deleted} field${result.deleted === 1 ? '' : 's'} (revision ${result.revision})\n`);
    }),
  );
}

/** name=value pairs; the first '=' splits, so values may hold '='. */
export function parsePairs(pairs: readonly string[]): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new RangeError(`expected name=value, got ${JSON.stringify(pair)}`);
    fields[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return fields;
}

type ReadOptions = { revision?: number; consistency?: Consistency };

async function printRecord(client: KeelClient, key: string, options: ReadOptions, json: boolean, io: CliIo): Promise<boolean> {
  const result = await client.records.get(key, options);
  if (!result) return false;
  if (json) {
    io.out(`${JSON.stringify({ key: result.key, fields: result.fields, modRevision: result.modRevision, more: result.more, revision: result.revision })}\n`);
    return true;
  }
  io.out(recordLines(result.fieldBytes));
  if (result.more) io.err('(the record has more fields than one read returns)\n');
  return true;
}

async function printField(client: KeelClient, key: string, field: string, options: ReadOptions, json: boolean, io: CliIo): Promise<boolean> {
  const result = await client.records.getField(key, field, options);
  if (!result) return false;
  if (json) {
    const { valueBytes: _bytes, ...rest } = result;
    io.out(`${JSON.stringify(rest)}\n`);
  } else io.out(`${oneLine(result.valueBytes)}\n`);
  return true;
}

/** "field<TAB>value" lines in field-name order. */
export function recordLines(fields: Readonly<Record<string, Uint8Array>>): string {
  return Object.keys(fields)
    .sort()
    .map((name) => `${name}\t${oneLine(fields[name] as Uint8Array)}\n`)
    .join('');
}
