/**
 * The `keel` command. Each command lives in its own file and registers itself here with
 * one line, so adding a command touches nothing else.
 */
import { Command, CommanderError } from 'commander';
import { registerCheckHistory } from './check-history-command.js';
import { registerSim } from './sim-command.js';

const program = new Command('keel').description('Keel: a replicated key-value store on Raft');
program.exitOverride();

registerCheckHistory(program);
registerSim(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (!(error instanceof CommanderError)) throw error;
  // Commander has printed the problem. A usage mistake exits with 2, as in diff and
  // grep, so that 1 keeps the meaning each command gives it.
  process.exitCode = error.exitCode === 0 ? 0 : 2;
}
