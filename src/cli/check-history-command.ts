/**
 * `keel check-history FILE`: is a recorded history linearizable? Exit codes: 0 yes,
 * 1 no, 2 unknown (timed out) or unusable input.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import {
  HistoryError,
  pairOperations,
  parseHistoryWithLines,
  type Operation,
  checkOperations,
  type CheckResult,
  describeOperation,
  renderTimelineHtml,
} from '../check/index.js';

const checkHistoryExitCodes = { linearizable: 0, 'not linearizable': 1, unknown: 2, badInput: 2 } as const;

interface CheckHistoryOptions {
  readonly timeout?: number;
  readonly html?: string;
}

export function registerCheckHistory(program: Command): void {
  program
    .command('check-history')
    .description('check that a history of operations is linearizable')
    .argument('<file>', 'the history: one JSON event per line')
    .option('--timeout <seconds>', 'give up after this long and answer unknown', parseSeconds)
    .option('--html <file>', 'also draw the history as a timeline per key into this HTML file')
    .addHelpText('after', '\nExit codes: 0 linearizable, 1 not linearizable, 2 unknown (timed out) or unusable input.')
    .action((file: string, options: CheckHistoryOptions) => {
      process.exitCode = checkHistoryFile(file, options);
    });
}

function parseSeconds(text: string): number {
  const seconds = Number(text);
  if (!(seconds > 0)) throw new InvalidArgumentError('expected a positive number of seconds');
  return seconds;
}

function checkHistoryFile(file: string, options: CheckHistoryOptions): number {
  const history = readHistory(file);
  if (history === undefined) return checkHistoryExitCodes.badInput;
  const operations = pairOperations(history.events);
  const deadline = deadlineAfter(options.timeout);
  const result = checkOperations(operations, deadline ? { deadline } : {});
  process.stdout.write(report(result, history.lineNumbers));
  if (options.html !== undefined && !writeHtml(options.html, { title: file, operations, result, lineNumbers: history.lineNumbers })) {
    return checkHistoryExitCodes.badInput;
  }
  return checkHistoryExitCodes[result.status];
}

function readHistory(file: string): ReturnType<typeof parseHistoryWithLines> | undefined {
  try {
    return parseHistoryWithLines(readFileSync(file, 'utf8'));
  } catch (error) {
    const problem = error instanceof HistoryError ? error.message : `cannot read it: ${(error as Error).message}`;
    process.stderr.write(`keel check-history: ${file}: ${problem}\n`);
    return undefined;
  }
}

function deadlineAfter(seconds: number | undefined): (() => boolean) | undefined {
  if (seconds === undefined) return undefined;
  const end = performance.now() + seconds * 1000;
  return () => performance.now() >= end;
}

function report(result: CheckResult, lineNumbers: readonly number[]): string {
  const size = `${result.operations} operations on ${result.keys} keys`;
  switch (result.status) {
    case 'linearizable':
      return `linearizable\n  checked ${size}\n`;
    case 'unknown':
      return `unknown (${result.reason})\n  history of ${size}\n`;
    case 'not linearizable':
      return [
        'not linearizable',
        `  key:       ${JSON.stringify(result.key)}`,
        `  process:   ${result.operation.process}`,
        `  operation: ${describeOperation(result.operation)}`,
        `  line:      ${linesOf(result.operation, lineNumbers)}`,
        `  cannot be placed after the longest linearizable prefix found: ${result.longestPrefix.length} operations, leaving ${JSON.stringify(result.key)} = ${JSON.stringify(result.valueAfterPrefix)}`,
        '',
      ].join('\n');
  }
}

function linesOf(operation: Operation, lineNumbers: readonly number[]): string {
  const invoked = `${lineNumbers[operation.invokeEvent]} (invoke)`;
  if (operation.completionEvent === undefined) return `${invoked}, never completed`;
  return `${invoked}, ${lineNumbers[operation.completionEvent]} (completion)`;
}

function writeHtml(file: string, timeline: Parameters<typeof renderTimelineHtml>[0]): boolean {
  try {
    writeFileSync(file, renderTimelineHtml(timeline));
    return true;
  } catch (error) {
    process.stderr.write(`keel check-history: cannot write ${file}: ${(error as Error).message}\n`);
    return false;
  }
}
