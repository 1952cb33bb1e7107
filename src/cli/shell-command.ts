/**
 * `keel shell`: an interactive session with the cluster. On a terminal it prompts,
 * keeps line history (saved to ~/.keel_history, or $KEEL_HISTORY) and survives
 * Ctrl-C; with input from a pipe or file it runs each line in turn without prompts
 * and exits non-zero if any command failed, so scripts and tests can drive it.
 */
import type { Command } from 'commander';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { KeelClient } from '../client/index.js';
import { exitCodes, processIo } from './cli-io.js';
import type { CliIo } from './cli-io.js';
import { gatherNodes, statusTable } from './cluster-view.js';
import { clientFor, withConnectionOptions } from './endpoints-option.js';
import type { ConnectionFlags } from './endpoints-option.js';
import { describeError, oneLine } from './format.js';
import { parseShellLine, shellHelp } from './shell-parse.js';
import { historyTable } from './history-command.js';
import { recordLines } from './record-command.js';
import type { ShellCommand } from './shell-parse.js';

const historyLinesMax = 1_000;

export interface ShellOptions {
  readonly client: KeelClient;
  readonly io: CliIo;
  readonly input: Readable;
  /** Where prompts and the echoed line go on a terminal. */
  readonly output: Writable;
  readonly interactive: boolean;
  /** Load and save history here (interactive only). */
  readonly historyFile?: string | undefined;
}

export function registerShell(program: Command, io: CliIo = processIo): void {
  withConnectionOptions(
    program
      .command('shell')
      .description('an interactive session: set k=v, get k, del k, scan p, history k, record set|get|del, status, help, exit')
      .option('--no-history', `do not read or write the history file (~/.keel_history, or $KEEL_HISTORY)`),
  ).action(async (flags: ConnectionFlags & { history: boolean }) => {
    let client: KeelClient;
    try {
      client = clientFor(flags, io);
    } catch (error) {
      const { code, message } = describeError(error);
      io.err(`keel shell: ${message}\n`);
      io.setExitCode(code);
      return;
    }
    const interactive = process.stdin.isTTY === true && process.stdout.isTTY === true;
    const historyFile = flags.history ? (io.env['KEEL_HISTORY'] ?? join(homedir(), '.keel_history')) : undefined;
    const failures = await runShell({ client, io, input: process.stdin, output: process.stdout, interactive, historyFile });
    if (!interactive && failures > 0) io.setExitCode(exitCodes.failed);
  });
}

/** Runs lines until exit or end of input; returns how many commands failed. */
export async function runShell(options: ShellOptions): Promise<number> {
  const { io, interactive } = options;
  const historyFile = interactive ? options.historyFile : undefined;
  const rl = createInterface({
    input: options.input,
    ...(interactive ? { output: options.output } : {}),
    terminal: interactive,
    prompt: 'keel> ',
    historySize: historyLinesMax,
    removeHistoryDuplicates: true,
    history: historyFile ? loadHistory(historyFile) : [],
  });
  if (historyFile) rl.on('history', (history: string[]) => saveHistory(historyFile, history, io));
  // Ctrl-C drops the line being typed, as in a shell; on an empty line it says how to leave.
  rl.on('SIGINT', () => {
    if (rl.line.length > 0) {
      options.output.write('^C\n');
      rl.write(null, { ctrl: true, name: 'u' });
    } else {
      options.output.write('\n(type exit or press Ctrl-D to leave)\n');
      rl.prompt();
    }
  });
  if (interactive) {
    io.out(`connected to ${options.client.endpoints().join(', ')}; type help for commands\n`);
    rl.prompt();
  }
  let failures = 0;
  try {
    for await (const line of rl) {
      const command = parseShellLine(line);
      if (command.kind === 'exit') break;
      if (!(await execute(command, options.client, io))) failures += 1;
      if (interactive) rl.prompt();
    }
  } finally {
    rl.close();
  }
  return failures;
}

/** Runs one parsed line; false when it failed. */
export async function execute(command: ShellCommand, client: KeelClient, io: CliIo): Promise<boolean> {
  try {
    switch (command.kind) {
      case 'empty':
      case 'exit':
        return true;
      case 'help':
        io.out(shellHelp);
        return true;
      case 'error':
        io.err(`error: ${command.message}\n`);
        return false;
      case 'set': {
        const { revision } = await client.put(command.key, command.value);
        io.out(`OK (revision ${revision})\n`);
        return true;
      }
      case 'get': {
        const result = await client.get(command.key);
        io.out(result ? `${oneLine(result.valueBytes)}\n` : '(not found)\n');
        return true;
      }
      case 'del': {
        const { deleted } = await client.delete(command.key);
        io.out(`deleted ${deleted}\n`);
        return true;
      }
      case 'scan': {
        const result = await client.scan(command.prefix, command.limit === undefined ? {} : { limit: command.limit });
        for (const kv of result.kvs) io.out(`${oneLine(kv.keyBytes)}\t${oneLine(kv.valueBytes)}\n`);
        io.out(`(${result.kvs.length}${result.more ? ` of ${result.count}` : ''} key${result.count === 1 ? '' : 's'})\n`);
        return true;
      }
      case 'history': {
        const result = await client.history(command.key, command.limit === undefined ? {} : { limit: command.limit });
        io.out(result.versions.length === 0 ? '(no history)\n' : historyTable(result));
        return true;
      }
      case 'recordSet': {
        const { revision } = await client.records.set(command.key, command.fields);
        io.out(`OK (revision ${revision})\n`);
        return true;
      }
      case 'recordGet': {
        if (command.field === undefined) {
          const record = await client.records.get(command.key);
          io.out(record ? recordLines(record.fieldBytes) : '(not found)\n');
        } else {
          const field = await client.records.getField(command.key, command.field);
          io.out(field ? `${oneLine(field.valueBytes)}\n` : '(not found)\n');
        }
        return true;
      }
      case 'recordDel': {
        const { deleted } =
          command.field === undefined ? await client.records.delete(command.key) : await client.records.deleteField(command.key, command.field);
        io.out(`deleted ${deleted}\n`);
        return true;
      }
      case 'status':
        io.out(statusTable(await gatherNodes(client)));
        return true;
    }
  } catch (error) {
    io.err(`error: ${describeError(error).message}\n`);
    return false;
  }
}

/** History lines, newest first (readline's order); the file keeps them oldest first. */
function loadHistory(file: string): string[] {
  if (!existsSync(file)) return [];
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .slice(-historyLinesMax)
      .reverse();
  } catch {
    return [];
  }
}

let historyWarned = false;

function saveHistory(file: string, history: readonly string[], io: CliIo): void {
  try {
    writeFileSync(file, `${[...history].reverse().join('\n')}\n`, { mode: 0o600 });
  } catch (error) {
    if (!historyWarned) io.err(`(history not saved to ${file}: ${error instanceof Error ? error.message : String(error)})\n`);
    historyWarned = true;
  }
}
